//! The container files: `docker/compose.yaml` is valid YAML, every `TESSERA_*` variable it
//! sets is a configuration key and, taken together, they make a configuration that loads;
//! the Dockerfile runs as a non-root user with a health check. No Docker engine runs here, so
//! this is what can be checked without one.

use std::collections::BTreeMap;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Every `TESSERA_*` key of every mapping in the document (anchors included), with its value.
fn tessera_vars(v: &serde_yaml_ng::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_yaml_ng::Value::Mapping(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    (Some(k), serde_yaml_ng::Value::String(s)) if k.starts_with("TESSERA_") => {
                        out.insert(k.to_string(), s.clone());
                    }
                    (Some(k), other) if k.starts_with("TESSERA_") => {
                        panic!("{k} must be a string in compose.yaml (quote it), not {other:?}")
                    }
                    _ => tessera_vars(v, out),
                }
            }
        }
        serde_yaml_ng::Value::Sequence(s) => s.iter().for_each(|v| tessera_vars(v, out)),
        serde_yaml_ng::Value::Tagged(t) => tessera_vars(&t.value, out),
        _ => {}
    }
}

#[test]
fn every_variable_the_compose_file_sets_is_a_configuration_key() {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&repo_file("docker/compose.yaml")).unwrap();
    let services = doc["services"].as_mapping().expect("services");
    for node in ["tessera-a", "tessera-b", "proxy", "postgres", "redis", "mailpit"] {
        assert!(services.contains_key(node), "compose.yaml has a {node} service");
    }
    let mut vars = BTreeMap::new();
    tessera_vars(&doc, &mut vars);
    assert!(vars.len() >= 8, "{vars:?}");
    for must in ["TESSERA_DATABASE_URL", "TESSERA_REDIS_URL", "TESSERA_CLUSTER", "TESSERA_MASTER_KEY"] {
        assert!(vars.contains_key(must), "{must} is set for the nodes");
    }
    // Values the shell fills in (`${VAR:?message}`) get a valid stand-in.
    let env: Vec<(String, String)> = vars
        .into_iter()
        .map(|(k, v)| {
            let v = if v.starts_with("${") { tessera::crypto::sealed::MasterKey::generate_base64() } else { v };
            (k, v)
        })
        .collect();
    // One key at a time, so that a wrong one is named.
    for (k, v) in &env {
        if let Err(e) = tessera::Config::load(None, [(k.clone(), v.clone())]) {
            assert_ne!(e.key, k.trim_start_matches("TESSERA_").to_lowercase(), "{k}={v}: {e}");
            assert!(!e.message.contains("unknown field"), "{k} is not a configuration key: {e}");
        }
    }
    let config = tessera::Config::load(None, env).unwrap_or_else(|e| panic!("compose.yaml's environment: {e}"));
    assert!(config.database_url.starts_with("postgres://"));
}

#[test]
fn the_image_runs_as_non_root_with_a_health_check() {
    let dockerfile = repo_file("docker/Dockerfile");
    let stages = dockerfile.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "a multi-stage build");
    assert!(dockerfile.lines().any(|l| l.starts_with("USER nonroot")), "a non-root runtime user");
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("\"healthcheck\""));
    // The health check's command exists in the binary.
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera")).args(["healthcheck", "--help"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

//! The `tessera` command: configuration errors, migrations and client management.

use std::process::Command;

fn tessera(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_clear()
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap()
}

#[test]
fn clients_are_created_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(
        dir.path(),
        &["client", "create", "--name", "Shop", "--redirect-uri", "https://shop.example/cb", "--json"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    assert_eq!(created["client_secret"].as_str().unwrap().len(), 43);

    let out = tessera(
        dir.path(),
        &["client", "create", "--name", "App", "--redirect-uri", "com.example.app:/cb", "--public", "--json"],
    );
    let public: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(public["client_secret"].is_null());

    let out = tessera(dir.path(), &["client", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(created["client_secret"].as_str().unwrap()));

    assert!(tessera(dir.path(), &["client", "delete", &id]).status.success());
    let out = tessera(dir.path(), &["client", "delete", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client"));

    let out = tessera(dir.path(), &["client", "create", "--name", "Bad", "--redirect-uri", "http://shop.example/cb"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("https"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_bad_configuration_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["migrate"])
        .env_clear()
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_ISSUER", "ftp://id.example")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("issuer") && err.contains("TESSERA_ISSUER"), "{err}");

    let file = dir.path().join("tessera.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9999\"\ncode_ttl_secs = \"soon\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("code_ttl_secs"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(dir.path(), &["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("tessera.db").exists());
}

#[test]
fn connectors_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "cli-secret-value-77";
    let out = tessera(
        dir.path(),
        &[
            "connector",
            "create",
            "--id",
            "gh",
            "--kind",
            "github",
            "--name",
            "GitHub",
            "--client-id",
            "abc",
            "--client-secret",
            secret,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["authorization_endpoint"], "https://github.com/login/oauth/authorize");
    assert_eq!(created["has_secret"], true);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));

    let out = tessera(dir.path(), &["connector", "update", "gh", "--name", "GitHub.com", "--json"]);
    let updated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((updated["display_name"].as_str(), updated["has_secret"].as_bool()), (Some("GitHub.com"), Some(true)));
    assert_eq!(updated["callback_path"], "/login/federated/gh/callback");
    let out = tessera(dir.path(), &["connector", "update", "gh", "--trusted-amr", "mfa,hwk", "--json"]);
    let updated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(updated["trusted_amr"], serde_json::json!(["mfa", "hwk"]));
    let out = tessera(dir.path(), &["connector", "update", "gh", "--trusted-amr", "whatever"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 8176"));
    let out = tessera(dir.path(), &["connector", "disable", "gh"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("disabled"));
    let out = tessera(dir.path(), &["connector", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("gh"));
    // Bad input is refused with the reason.
    let out =
        tessera(dir.path(), &["connector", "create", "--id", "x", "--kind", "nope", "--name", "X", "--client-id", "c"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kind must be"));
    assert!(tessera(dir.path(), &["connector", "delete", "gh"]).status.success());
    assert!(!tessera(dir.path(), &["connector", "delete", "gh"]).status.success());
}

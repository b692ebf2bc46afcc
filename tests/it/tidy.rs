//! The layering rules, made executable: axum only in `routes.rs`, `web/` and `app.rs`, sqlx
//! only in `store/`, no store calls in route files, no feature imports under `web/`, no
//! `login` imports under `oidc/`, no two features importing each other both ways, no source
//! file over 400 lines, every source file opens with a `//!` line, and every migration has
//! its pair (with the same schema) for the other backend.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn layering_size_and_headers() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let http_allowed = rel.ends_with("routes.rs") || rel.starts_with("web/") || rel == "app.rs";
        // A handler parses, calls one feature function and renders: no store calls.
        if rel.ends_with("routes.rs") && text.contains(".store.") {
            problems.push(format!("{rel}: calls the store directly (call a feature function)"));
        }
        // A use of the crate, not a mention of its name in a string or comment.
        let uses = |krate: &str| text.contains(&format!("{krate}::")) || text.contains(&format!("use {krate}"));
        if !http_allowed && uses("axum") {
            problems.push(format!("{rel}: axum outside routes.rs and web/"));
        }
        // web/ is plumbing below every feature; the provider protocol never reaches into how
        // people sign in (login uses oidc's stored request, not the other way round).
        if rel.starts_with("web/") {
            for feature in ["accounts", "admin", "events", "federation", "login", "oidc"] {
                if uses(&format!("crate::{feature}")) {
                    problems.push(format!("{rel}: web/ imports the feature `{feature}`"));
                }
            }
        }
        if rel.starts_with("oidc/") && uses("crate::login") {
            problems.push(format!("{rel}: oidc/ imports login"));
        }
        if !rel.starts_with("store/") && uses("sqlx") {
            problems.push(format!("{rel}: sqlx outside store/"));
        }
        let lines = text.lines().count();
        if lines > 400 {
            problems.push(format!("{rel}: {lines} lines (over 400)"));
        }
        if !text.starts_with("//!") {
            problems.push(format!("{rel}: does not start with a //! line"));
        }
    }
    assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
}

/// Features (top-level folders of `src/`) never import each other both ways: the arrows of
/// ARCHITECTURE.md point one way. `app.rs`, `state.rs` and `worker.rs` (composition roots)
/// are files, not features, and may see everything.
#[test]
fn no_two_features_import_each_other() {
    let src = root().join("src");
    let features: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let imports = |from: &str, to: &str| {
        let mut files = Vec::new();
        rust_files(&src.join(from), &mut files);
        files.iter().any(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains(&format!("crate::{to}::")) || text.contains(&format!("crate::{to};"))
        })
    };
    let mut both_ways = Vec::new();
    for (i, a) in features.iter().enumerate() {
        for b in &features[i + 1..] {
            if imports(a, b) && imports(b, a) {
                both_ways.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(both_ways.is_empty(), "features importing each other both ways: {both_ways:?}");
}

#[test]
fn every_migration_has_its_pair() {
    let names = |backend: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root().join("migrations").join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

/// The schema statements of a migration (CREATE, ALTER, DROP), with comments dropped,
/// whitespace collapsed and the backends' type names made one (`BIGINT`/`INTEGER`,
/// `BYTEA`/`BLOB`). Data statements (backfills) may differ by dialect; the schema may not.
fn schema_of(sql: &str) -> Vec<String> {
    let without_comments: String =
        sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join(" ");
    without_comments
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase())
        .filter(|s| s.starts_with("CREATE") || s.starts_with("ALTER") || s.starts_with("DROP"))
        .map(|s| s.replace("BIGINT", "INTEGER").replace("BYTEA", "BLOB"))
        .collect()
}

#[test]
fn both_backends_get_the_same_schema_from_each_migration() {
    let dir = root().join("migrations");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir.join("sqlite")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let sqlite = std::fs::read_to_string(dir.join("sqlite").join(&name)).unwrap();
        let Ok(postgres) = std::fs::read_to_string(dir.join("postgres").join(&name)) else { continue };
        if schema_of(&sqlite) != schema_of(&postgres) {
            problems.push(name);
        }
    }
    problems.sort();
    assert!(problems.is_empty(), "schema differs between the backends in: {problems:?}");
    // The check itself: a column added to one backend alone is caught.
    let one = "CREATE TABLE t (a INTEGER); ALTER TABLE t ADD COLUMN b BLOB;";
    let other = "CREATE TABLE t (a BIGINT);";
    assert_ne!(schema_of(one), schema_of(other));
    assert_eq!(schema_of(one), schema_of("create table t (a BIGINT); -- x\nALTER TABLE t ADD COLUMN b BYTEA;"));
}

//! Files that hold secrets at rest: the data folder (database, master key, outbox of
//! sign-in mails) is created 0700 and every file in it 0600, each file created with its
//! final mode so it is never readable by others, not even for a moment.

use std::io::{self, Write};
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Create `dir` (and missing parents) readable only by this user. An existing folder is left
/// as it is, with a warning when others may read it.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), "this folder holds secrets but others may read it: chmod 700 it");
    }
    Ok(())
}

fn new_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Create `path` with `contents`, mode 0600, atomically: the contents are written to a
/// temporary file first and linked into place, so no reader ever sees a partial file and of
/// two processes racing, exactly one wins (the other gets `AlreadyExists`).
pub fn create_file_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", super::secrets::random_id()));
    let written = new_file_options().open(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Create `path` empty with mode 0600 if it does not exist yet (e.g. a database file, before
/// the database library creates it with the default, world-readable mode).
pub fn create_if_missing(path: &Path) -> io::Result<()> {
    match new_file_options().open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Write a new file with mode 0600 (never replacing one), off the async runtime's threads.
pub async fn write_new_file(path: &Path, contents: Vec<u8>) -> io::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &contents).await?;
    tokio::io::AsyncWriteExt::flush(&mut file).await
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private_and_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let dir = root.join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!((mode(&root.join("a")), mode(&dir)), (0o700, 0o700));
        let key = dir.join("master.key");
        create_file_atomically(&key, b"one").unwrap();
        assert_eq!(mode(&key), 0o600);
        let again = create_file_atomically(&key, b"two").unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left behind");
        let db = dir.join("db");
        create_if_missing(&db).unwrap();
        create_if_missing(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }
}

//! The token path's statements on SQLite, run on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own: each statement is sent to that
//! thread and its rows sent back, two thread hand-offs a statement. A profile of the full code
//! flow on one pinned core put a third of the server's time in those switches (README,
//! "Performance"), while SQLite itself answers an indexed lookup in a few microseconds. So the
//! few statements every sign-in, token and userinfo request runs are also prepared here, on
//! connections of our own to the same database file, and run where the request is:
//!
//! - **Same text, same rules.** Each statement is the one text the pool path runs (`$n`
//!   placeholders bound by name), with the same pragmas (WAL, `synchronous = NORMAL`,
//!   `foreign_keys`), so durability and constraints are what they are on the pool.
//! - **Never waits.** The connections have no busy timeout: when another writer holds the
//!   database (a long admin transaction on the pool's writer), a statement here fails at once
//!   with `SQLITE_BUSY` and the caller runs the same statement on the pool, which waits on its
//!   own thread. Nothing was written by the statement that failed (a write here is one
//!   statement, or one `BEGIN IMMEDIATE` transaction that takes the lock first or not at all),
//!   so the fallback never writes twice. Any other error also falls back, so the pool path
//!   reports it as it always did.
//! - **Checkpoints off the request.** The writer here does not checkpoint on commit (that
//!   would run an `fsync` on the request's thread); every `CHECKPOINT_EVERY` commits, a
//!   `RESTART` checkpoint runs on the blocking pool (with a busy handler that retries every
//!   20 µs, not SQLite's millisecond sleeps). It must not be `PASSIVE`: under a steady
//!   stream of writes a passive checkpoint never catches up with the log, so the WAL is never
//!   started again from its beginning and grows without end (measured: 1.3 GB in 25 s of
//!   refreshes, every append zero-filling new file blocks, and the rate falling with it).
//!   `RESTART` holds writers off while it copies, so the next write starts the log again at
//!   its beginning; a token-path write that meets it waits for its end (`Inline::settled`)
//!   and runs here then, rather than on the pool, whose busy handler sleeps in steps of up to
//!   100 ms.
//! - **One warm page cache.** SQLite drops a connection's page cache whenever another
//!   connection has written; so reads use the writer's connection when it is free (on one
//!   core, nearly always), and the reading connections only when it is not.
//!
//! Only `store/` uses it; PostgreSQL has no such threads, and a database in memory is one
//! connection's alone, so neither has an `Inline`.

use rusqlite::types::{FromSql, ToSql};
use rusqlite::{Connection, OpenFlags, Row, Statement};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

/// A checkpoint runs after this many commits here (a token-path commit writes 4 to 8 pages;
/// SQLite's own default is every 1000 pages).
const CHECKPOINT_EVERY: u64 = 128;

pub(super) struct Inline {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    commits: AtomicU64,
    checkpoint: Arc<Checkpoint>,
}

/// The checkpointing connection, and whether (and when no longer) a checkpoint holds the log.
struct Checkpoint {
    connection: Mutex<Connection>,
    running: AtomicBool,
    ended: tokio::sync::Notify,
}

/// A statement that could not run here; the caller runs it on the pool.
#[derive(Debug)]
pub(super) struct Fallback;

impl From<rusqlite::Error> for Fallback {
    fn from(e: rusqlite::Error) -> Fallback {
        if !matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) {
            tracing::debug!(error = %e, "inline SQLite statement failed; running it on the pool");
        }
        Fallback
    }
}

pub(super) type Inlined<T> = Result<T, Fallback>;

fn open(file: &Path, readers: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let c = Connection::open_with_flags(file, flags)?;
    // rusqlite waits 5 s by default; here a busy database means "use the pool" at once.
    c.busy_timeout(std::time::Duration::ZERO)?;
    // A larger page cache than SQLite's 2 MB default (the token indexes outgrow it within
    // seconds of load), and reads through a memory map rather than a read call per page.
    c.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456;",
    )?;
    if readers {
        c.execute_batch("PRAGMA query_only = ON;")?;
    }
    c.set_prepared_statement_cache_capacity(32);
    Ok(c)
}

impl Inline {
    /// Open `readers` reading connections and one writer on the (migrated, WAL) database file.
    pub(super) fn open(file: PathBuf, readers: usize) -> anyhow::Result<Inline> {
        let mut rs = Vec::with_capacity(readers.max(1));
        for _ in 0..readers.max(1) {
            rs.push(Mutex::new(open(&file, true)?));
        }
        Ok(Inline {
            writer: Mutex::new(open(&file, false)?),
            readers: rs,
            next_reader: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            checkpoint: Arc::new(Checkpoint {
                connection: Mutex::new(open(&file, false)?),
                running: AtomicBool::new(false),
                ended: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Run `f` on the writer's connection when it is free (its page cache is the one that
    /// stays warm), else on a free reading connection, else wait for the next.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> Inlined<T>) -> Inlined<T> {
        if let Ok(c) = self.writer.try_lock() {
            return f(&c);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            match self.readers[(start + i) % self.readers.len()].try_lock() {
                Ok(c) => return f(&c),
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Poisoned(_)) => return Err(Fallback),
            }
        }
        let c = self.readers[start % self.readers.len()].lock().map_err(|_| Fallback)?;
        f(&c)
    }

    /// Run `f` on the writer, inside `BEGIN IMMEDIATE … COMMIT` (rolled back when `f` fails).
    /// Fails at once, having written nothing, when another connection holds the write lock.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Connection) -> Inlined<T>) -> Inlined<T> {
        let c = match self.writer.try_lock() {
            Ok(c) => c,
            // Another request of this process is writing here: the pool path waits instead.
            Err(_) => return Err(Fallback),
        };
        c.execute_batch("BEGIN IMMEDIATE")?;
        let done = f(&c).and_then(|v| c.execute_batch("COMMIT").map(|_| v).map_err(Fallback::from));
        if done.is_err() && !c.is_autocommit() {
            let _ = c.execute_batch("ROLLBACK");
        }
        drop(c);
        if done.is_ok() {
            self.committed();
        }
        done
    }

    /// Each connection's busy timeout in ms: all zero, so a busy database never holds the
    /// request's thread.
    #[cfg(test)]
    pub(super) fn busy_timeouts(&self) -> Vec<i64> {
        let timeout = |c: &Connection| c.pragma_query_value(None, "busy_timeout", |r| r.get(0)).unwrap_or(-1);
        let mut all: Vec<i64> = self.readers.iter().map(|r| r.lock().map_or(-1, |c| timeout(&c))).collect();
        all.push(self.writer.lock().map_or(-1, |c| timeout(&c)));
        all
    }

    /// After a write here failed: wait for the checkpoint to end when one is running (then
    /// try again here: `true`), or `false`: another connection writes, use the pool.
    pub(super) async fn settled(&self) -> bool {
        let ended = self.checkpoint.ended.notified();
        if !self.checkpoint.running.load(Ordering::Acquire) {
            return false;
        }
        ended.await;
        true
    }

    fn committed(&self) {
        if !(self.commits.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(CHECKPOINT_EVERY) {
            return;
        }
        let checkpoint = self.checkpoint.clone();
        let run = move || {
            // One checkpoint at a time. It waits (up to its busy timeout) for writers and
            // readers of older snapshots to finish, then the log restarts; if it times out,
            // the next one catches up.
            let Ok(c) = checkpoint.connection.try_lock() else { return };
            checkpoint.running.store(true, Ordering::Release);
            let done =
                c.busy_handler(Some(wait_briefly)).and_then(|_| c.execute_batch("PRAGMA wal_checkpoint(RESTART)"));
            checkpoint.running.store(false, Ordering::Release);
            checkpoint.ended.notify_waiters();
            if let Err(e) = done {
                tracing::debug!(error = %e, "checkpoint");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(run)),
            Err(_) => run(),
        }
    }
}

/// The checkpoint's busy handler. SQLite's own sleeps 1, 2, 5, 10 … ms between tries, and a
/// `RESTART` checkpoint holds writers off while it waits for readers that finish in
/// microseconds: measured, those sleeps left a quarter of the core idle. This one tries again
/// every 20 µs, for up to about 2 s.
fn wait_briefly(tries: i32) -> bool {
    if tries >= 100_000 {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_micros(20));
    true
}

/// Bind `args` to `$1`, `$2`, … by name: SQLite numbers `$n` parameters in the order they first
/// appear, which is not always `n`.
fn bind(stmt: &mut Statement<'_>, args: &[&dyn ToSql]) -> rusqlite::Result<()> {
    const NAMES: [&str; 12] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12"];
    if args.len() > NAMES.len() {
        return Err(rusqlite::Error::InvalidParameterCount(args.len(), NAMES.len()));
    }
    for (name, a) in NAMES.iter().zip(args) {
        if let Some(at) = stmt.parameter_index(name)? {
            stmt.raw_bind_parameter(at, a)?;
        }
    }
    Ok(())
}

/// One row or none.
pub(super) fn optional<T>(
    c: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Inlined<Option<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    Ok(match rows.next()? {
        Some(row) => Some(map(row)?),
        None => None,
    })
}

/// Every row.
pub(super) fn all<T>(
    c: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Inlined<Vec<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(map(row)?);
    }
    Ok(found)
}

/// Run a statement; returns the rows it changed.
pub(super) fn execute(c: &Connection, sql: &str, args: &[&dyn ToSql]) -> Inlined<usize> {
    let mut stmt = c.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    Ok(stmt.raw_execute()?)
}

/// Column `name` of `row`.
pub(super) fn col<T: FromSql>(row: &Row<'_>, name: &str) -> rusqlite::Result<T> {
    row.get(name)
}

//! The SQL implementation of the store traits for SQLite and PostgreSQL: the core (pools, backend, opening,
//! migrations, list helper) here, one file per domain beside it.

mod chains;
mod console;
mod customers;
mod deployment;
mod exchange;
mod guards;
mod idempotency;
mod intel;
mod ledger;
mod notify;
mod operators;
mod pinned;
mod policies;
mod siwx;
mod trades;
mod transfers;
mod users;
mod wallets;
mod webhooks;
mod withdrawals;
mod x402;

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, FromRow};

use self::exchange::ExchangeWriter;
use self::intel::IntelWriter;
use self::pinned::Pinned;
use crate::{Backend, BaseStore, ListQuery, Page, Result, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

pub(super) const SORTABLE: &[&str] = &["created_at", "updated_at"];

/// Store over `sqlx::Any`: SQLite (one writer connection, a pool of readers) or PostgreSQL (one pool).
pub struct SqlStore {
    pub(crate) write: AnyPool,
    pub(crate) read: AnyPool,
    /// Shared request guards (PostgreSQL: its own pool, asynchronous commit; see `guards.rs`).
    pub(crate) guard: AnyPool,
    pub(crate) backend: Backend,
    pub(super) url: String,
    /// The Intel biller's group writer (with its pinned PostgreSQL connection).
    intel: IntelWriter,
    /// The exchange sequencer's group writer (with its pinned PostgreSQL connection).
    exchange: ExchangeWriter,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &self.backend).finish_non_exhaustive()
    }
}

fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

fn sqlite_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        // An embedded file does not go stale in the pool (sqlx tests it on release anyway).
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                Ok(())
            })
        })
}

impl SqlStore {
    /// Connect and migrate. `url` is `sqlite://path[?mode=rwc]` or `postgres://...`.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url).ok_or_else(|| {
            StoreError::Db(sqlx::Error::Configuration(
                format!("unsupported database URL (use sqlite://PATH or postgres://...): {}", redact(url)).into(),
            ))
        })?;
        match backend {
            Backend::Sqlite => {
                private_sqlite_file(url)?;
                let url = if url.contains("mode=") {
                    url.to_string()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                let write = sqlite_pool(1).connect(&url).await?;
                SQLITE_MIGRATIONS.run(&write).await?;
                let read = sqlite_pool(8).connect(&url).await?;
                let (intel, exchange) = (IntelWriter::new(&write, backend), ExchangeWriter::new(&write, backend));
                Ok(Self { guard: write.clone(), write, read, backend, url, intel, exchange })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                let guard = AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET synchronous_commit = off").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(url)?;
                Ok(Self {
                    guard,
                    intel: IntelWriter::new(&pool, backend),
                    exchange: ExchangeWriter::new(&pool, backend),
                    write: pool.clone(),
                    read: pool,
                    backend,
                    url: url.to_string(),
                })
            }
        }
    }

    pub(crate) fn lock_suffix(&self) -> &'static str {
        lock_suffix(self.backend)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn list<T>(
        &self,
        cols: &str,
        from: &str,
        scope: &str,
        scope_binds: &[&str],
        filterable: &[&str],
        sortable: &[&str],
        q: &ListQuery,
    ) -> Result<Page<T>>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        let (cond, tail, binds) =
            q.render(filterable, sortable, scope_binds.len() + 1).map_err(StoreError::BadFilter)?;
        let count_sql = format!("SELECT COUNT(*) FROM {from} WHERE {scope}{cond}");
        let mut cq = sqlx::query_scalar::<Any, i64>(&count_sql);
        for b in scope_binds {
            cq = cq.bind(b.to_string());
        }
        for b in &binds {
            cq = cq.bind(b.clone());
        }
        let total = cq.fetch_one(&self.read).await?;
        let sql = format!("SELECT {cols} FROM {from} WHERE {scope}{cond}{tail}");
        let mut lq = sqlx::query_as::<Any, T>(&sql);
        for b in scope_binds {
            lq = lq.bind(b.to_string());
        }
        for b in &binds {
            lq = lq.bind(b.clone());
        }
        let items = lq.fetch_all(&self.read).await?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0) })
    }
}

/// The row-lock clause a `SELECT` ends with on this backend (SQLite's single writer needs none).
pub(super) fn lock_suffix(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// Hide the password of a database URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(super) fn dec(s: &str) -> Result<Decimal> {
    Decimal::from_str(s).map_err(|e| StoreError::Corrupt(format!("amount {s}: {e}")))
}

#[async_trait::async_trait]
impl BaseStore for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}

/// Create the SQLite database file with mode 0600 before SQLite does (its `-wal` and `-shm` files take the database
/// file's mode), or tighten an existing one: balances, hashed keys and the exchange's log are the server's alone.
fn private_sqlite_file(url: &str) -> Result<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') || url.contains("mode=memory") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Db(sqlx::Error::Io(e));
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for p in [path.to_string(), format!("{path}-wal"), format!("{path}-shm")] {
                    match std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                        _ => {}
                    }
                }
            }
            // A directory that does not exist yet, say: SQLite's own error says it better.
            Err(_) => {}
        }
    }
    Ok(())
}

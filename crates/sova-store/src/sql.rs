//! The SQL implementation of the store traits for SQLite and PostgreSQL.

use std::str::FromStr;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use rust_decimal::Decimal;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, FromRow, Transaction};

use crate::*;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL notification channel for auth-cache invalidation.
const AUTH_CHANNEL: &str = "sova_auth";

const CUSTOMER_COLS: &str = "customer_id, email, entity_name, status, created_by, created_at, updated_at";
const CUSTOMER_FILTER: &[&str] = &["customer_id", "email", "entity_name", "status"];
const CREDENTIAL_COLS: &str = "id, customer_id, name, prefix, secret_hash, created_at, last_used_at, expires_at, \
                               revoked_at, access_key, hmac_salt, passphrase_hash";
const USER_COLS: &str = "user_id, customer_id, user_type, email, first_name, last_name, phone, date_of_birth, \
                         country, status, created_at, updated_at";
const USER_FILTER: &[&str] = &["user_type", "email", "first_name", "last_name", "phone", "country", "status"];
const TOKEN_COLS: &str = "id, user_id, customer_id, token_hash, created_at, expires_at, revoked_at";
const WALLET_COLS: &str = "wallet_id, customer_id, user_id, name, currency, status, created_at, updated_at";
const WALLET_FILTER: &[&str] = &["user_id", "name", "currency", "status"];
const ADDRESS_COLS: &str = "address_id, wallet_id, customer_id, user_id, currency, network, address, family, \
                            derivation_index, derivation_path, status, created_at";
const ADDRESS_FILTER: &[&str] = &["wallet_id", "currency", "network", "address", "status"];
const DEPOSIT_COLS: &str = "deposit_id, wallet_id, customer_id, address_id, address, currency, network, amount, \
                            status, tx_hash, sandbox, created_at, updated_at, completed_at";
const DEPOSIT_FILTER: &[&str] = &["wallet_id", "address", "currency", "network", "status", "tx_hash"];
const INTEL_ACCOUNT_COLS: &str = "id, owner, credits, created_at, updated_at";
const INTEL_KEY_COLS: &str = "id, account_id, key_hash, prefix, created_at, revoked_at";
const PAYMENT_COLS: &str = "message_hash, tx_signature, payer, amount, network, resource, status, locked_until, detail, \
                            created_at, updated_at";
const SORTABLE: &[&str] = &["created_at", "updated_at"];
const CUSTOMER_SORT: &[&str] = &["created_at", "updated_at", "customer_id", "entity_name"];
const USER_SORT: &[&str] = &["created_at", "updated_at", "email", "last_name"];
const WALLET_SORT: &[&str] = &["created_at", "updated_at", "name"];

/// Wallet joined with its two ledger balances.
#[derive(FromRow)]
struct WalletJoined {
    wallet_id: String,
    customer_id: String,
    user_id: String,
    name: String,
    currency: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    balance: String,
    pending: String,
}

impl From<WalletJoined> for WalletView {
    fn from(j: WalletJoined) -> Self {
        WalletView {
            wallet: Wallet {
                wallet_id: j.wallet_id,
                customer_id: j.customer_id,
                user_id: j.user_id,
                name: j.name,
                currency: j.currency,
                status: j.status,
                created_at: j.created_at,
                updated_at: j.updated_at,
            },
            balance: j.balance,
            pending: j.pending,
        }
    }
}

const WALLET_JOINED: &str = "(SELECT w.seq, w.wallet_id, w.customer_id, w.user_id, w.name, w.currency, w.status, \
     w.created_at, w.updated_at, COALESCE(a.balance, '0') AS balance, COALESCE(p.balance, '0') AS pending \
     FROM wallets w \
     LEFT JOIN ledger_accounts a ON a.account = 'wallet:' || w.wallet_id \
     LEFT JOIN ledger_accounts p ON p.account = 'wallet-pending:' || w.wallet_id) wj";
const WALLET_JOINED_COLS: &str =
    "wallet_id, customer_id, user_id, name, currency, status, created_at, updated_at, balance, pending";

/// Store over `sqlx::Any`: SQLite (one writer connection, a pool of readers) or PostgreSQL (one pool).
pub struct SqlStore {
    pub(crate) write: AnyPool,
    pub(crate) read: AnyPool,
    pub(crate) backend: Backend,
    url: String,
    /// PostgreSQL connection held for the Intel biller's groups.
    pub(crate) billing: Pinned,
    /// PostgreSQL connection held for the exchange sequencer's groups.
    pub(crate) sequencer: Pinned,
}

/// A connection kept out of the pool for one serial caller that writes a group per round trip (the Intel biller,
/// the exchange sequencer). sqlx pings every connection it takes back into the pool, a second round trip per
/// statement; a pinned connection is neither acquired nor released per group. After a failed statement the
/// connection is let go (the pool tests it and drops it if broken) and the next group takes another. Like the pool's
/// test on acquire, a connection that sat unused for [`PINNED_IDLE_CHECK`] is pinged before use, so a database
/// restart during a quiet spell costs no failed group.
#[derive(Default)]
pub(crate) struct Pinned(std::sync::Mutex<Option<(sqlx::pool::PoolConnection<Any>, std::time::Instant)>>);

/// How long a pinned connection may sit unused before it is tested.
const PINNED_IDLE_CHECK: Duration = Duration::from_secs(10);

/// The pinned connection while its caller uses it; [`PinnedConn::keep`] puts it back after a success.
pub(crate) struct PinnedConn<'a> {
    home: &'a Pinned,
    conn: sqlx::pool::PoolConnection<Any>,
}

impl Pinned {
    pub(crate) async fn take(&self, pool: &AnyPool) -> Result<PinnedConn<'_>> {
        let idle = self.0.lock().map_or(None, |mut slot| slot.take());
        // A connection broken while idle is let go (the pool tests and drops it) for a fresh one.
        if let Some((mut conn, since)) = idle
            && (since.elapsed() < PINNED_IDLE_CHECK || sqlx::Connection::ping(&mut *conn).await.is_ok())
        {
            return Ok(PinnedConn { home: self, conn });
        }
        Ok(PinnedConn { home: self, conn: pool.acquire().await? })
    }
}

impl PinnedConn<'_> {
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.conn
    }

    /// The statement succeeded: keep the connection for the next group.
    pub(crate) fn keep(self) {
        if let Ok(mut slot) = self.home.0.lock() {
            *slot = Some((self.conn, std::time::Instant::now()));
        }
    }
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
                Ok(Self { write, read, backend, url, billing: Pinned::default(), sequencer: Pinned::default() })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Ok(Self {
                    write: pool.clone(),
                    read: pool,
                    backend,
                    url: url.to_string(),
                    billing: Pinned::default(),
                    sequencer: Pinned::default(),
                })
            }
        }
    }

    pub(crate) fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn list<T>(
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

    /// The common case on PostgreSQL, in one statement (one round trip, one commit): debits only, one account, and
    /// enough credits for all of them. The balance update and the usage rows are one data-modifying CTE; if the
    /// credits do not cover the group, nothing is written and `None` sends the caller to the general path.
    async fn debit_in_one_statement(
        conn: &mut sqlx::AnyConnection,
        charges: &[Charge],
        now: i64,
    ) -> Result<Option<Vec<std::result::Result<i64, i64>>>> {
        let account = charges[0].account_id.as_str();
        if charges.len() > 1000 || charges.iter().any(|c| c.cost <= 0 || c.account_id != account) {
            return Ok(None);
        }
        let total: i64 = charges.iter().map(|c| c.cost).sum();
        // Balances relative to the final one: after charge i, `final + (total - cum_i)`.
        let mut cum = 0i64;
        let offsets: Vec<i64> = charges
            .iter()
            .map(|c| {
                cum += c.cost;
                total - cum
            })
            .collect();
        let rows = aggregate(charges.iter().zip(&offsets).map(|(c, off)| (c, *off)));
        let mut sql = String::from(
            "WITH upd AS (UPDATE intel_accounts SET credits = credits - $1, updated_at = $2 \
             WHERE id = $3 AND credits >= $1 RETURNING credits), \
             rows (key_id, kind, endpoint, cost, calls, off, trace_id) AS (VALUES ",
        );
        for i in 0..rows.len() {
            let b = 4 + i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${b}::text, ${}::text, ${}::text, ${}::bigint, ${}::bigint, ${}::bigint, ${}::text)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
        }
        sql.push_str(
            ") INSERT INTO intel_usage (account_id, key_id, kind, endpoint, cost, calls, balance, trace_id, created_at) \
             SELECT $3, rows.key_id, rows.kind, rows.endpoint, rows.cost, rows.calls, upd.credits + rows.off, \
             rows.trace_id, $2 FROM rows, upd RETURNING balance",
        );
        let mut q = sqlx::query_scalar::<Any, i64>(&sql).bind(total).bind(now).bind(account.to_string());
        for r in &rows {
            q = q
                .bind(r.key_id.clone())
                .bind(r.kind.clone())
                .bind(r.endpoint.clone())
                .bind(r.cost)
                .bind(r.calls)
                .bind(r.balance)
                .bind(r.trace_id.clone());
        }
        let balances = q.fetch_all(conn).await?;
        let Some(final_balance) = balances.iter().min().copied() else { return Ok(None) };
        let last_off = rows.iter().map(|r| r.balance).min().unwrap_or(0);
        let final_balance = final_balance - last_off;
        Ok(Some(offsets.into_iter().map(|off| Ok(final_balance + off)).collect()))
    }

    /// Charges in one transaction, locking each account once in a fixed order (any mix of accounts, debits and
    /// refunds; a debit the balance cannot cover is refused and the rest go on).
    async fn charge_in_transaction(
        &self,
        mut tx: Transaction<'_, Any>,
        charges: &[Charge],
        now: i64,
    ) -> Result<Vec<std::result::Result<i64, i64>>> {
        let mut balances: std::collections::BTreeMap<&str, i64> = Default::default();
        for c in charges {
            balances.entry(c.account_id.as_str()).or_default();
        }
        let select = format!("SELECT credits FROM intel_accounts WHERE id = $1{}", self.lock_suffix());
        for (id, bal) in balances.iter_mut() {
            *bal = sqlx::query_scalar::<Any, i64>(&select)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        }
        let mut results = Vec::with_capacity(charges.len());
        let mut applied: Vec<(&Charge, i64)> = Vec::with_capacity(charges.len());
        for c in charges {
            let bal = balances.get_mut(c.account_id.as_str()).ok_or(StoreError::NotFound)?;
            if c.cost > 0 && *bal < c.cost {
                results.push(Err(*bal));
                continue;
            }
            *bal -= c.cost;
            results.push(Ok(*bal));
            applied.push((c, *bal));
        }
        for (id, bal) in &balances {
            sqlx::query("UPDATE intel_accounts SET credits = $1, updated_at = $2 WHERE id = $3")
                .bind(*bal)
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        // One usage row per (account, key, kind, endpoint) of the group, in multi-row INSERTs.
        let rows = aggregate(applied.iter().map(|(c, bal)| (*c, *bal)));
        for chunk in rows.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO intel_usage (account_id, key_id, kind, endpoint, cost, calls, balance, trace_id, created_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 9;
                if i > 0 {
                    sql.push_str(", ");
                }
                let ps: Vec<String> = (1..=9).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!("({})", ps.join(", ")));
            }
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.account_id.clone())
                    .bind(r.key_id.clone())
                    .bind(r.kind.clone())
                    .bind(r.endpoint.clone())
                    .bind(r.cost)
                    .bind(r.calls)
                    .bind(r.balance)
                    .bind(r.trace_id.clone())
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(results)
    }

    async fn with_account(&self, key: Option<IntelKeyRow>) -> Result<Option<(IntelKeyRow, IntelAccount)>> {
        let Some(key) = key else { return Ok(None) };
        let account = sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE id = $1"
        ))
        .bind(key.account_id.clone())
        .fetch_optional(&self.read)
        .await?;
        Ok(account.map(|a| (key, a)))
    }

    async fn post_tx(
        &self,
        tx: &mut Transaction<'_, Any>,
        kind: &str,
        reference: &str,
        postings: &[Posting],
        now: i64,
    ) -> Result<()> {
        let mut sums: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for p in postings {
            *sums.entry(p.currency.as_str()).or_default() += p.amount;
        }
        if let Some((cur, s)) = sums.iter().find(|(_, s)| !s.is_zero()) {
            return Err(StoreError::Unbalanced(format!("{kind}/{reference}: {cur} legs sum to {s}")));
        }
        let txn_id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO ledger_transactions (id, kind, reference, created_at) VALUES ($1, $2, $3, $4)")
            .bind(txn_id.clone())
            .bind(kind.to_string())
            .bind(reference.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::unique(e, "ledger transaction"))?;
        // Lock accounts in a fixed order so concurrent transactions cannot deadlock.
        let mut ordered: Vec<&Posting> = postings.iter().collect();
        ordered.sort_by(|a, b| a.account.cmp(&b.account));
        let select = format!("SELECT balance FROM ledger_accounts WHERE account = $1{}", self.lock_suffix());
        for p in ordered {
            sqlx::query(
                "INSERT INTO ledger_accounts (account, currency, balance, may_go_negative, updated_at) \
                 VALUES ($1, $2, '0', $3, $4) ON CONFLICT (account) DO NOTHING",
            )
            .bind(p.account.clone())
            .bind(p.currency.clone())
            .bind(i64::from(p.may_go_negative))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let old: String =
                sqlx::query_scalar::<Any, String>(&select).bind(p.account.clone()).fetch_one(&mut **tx).await?;
            let old = Decimal::from_str(&old).map_err(|e| StoreError::Corrupt(format!("{}: {e}", p.account)))?;
            let new = old + p.amount;
            if new.is_sign_negative() && !new.is_zero() && !p.may_go_negative {
                return Err(StoreError::InsufficientFunds(p.account.clone()));
            }
            sqlx::query("UPDATE ledger_accounts SET balance = $1, updated_at = $2 WHERE account = $3")
                .bind(new.normalize().to_string())
                .bind(now)
                .bind(p.account.clone())
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO ledger_entries (txn_id, account, currency, amount, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(txn_id.clone())
            .bind(p.account.clone())
            .bind(p.currency.clone())
            .bind(p.amount.normalize().to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
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

fn dec(s: &str) -> Result<Decimal> {
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

#[async_trait::async_trait]
impl OperatorStore for SqlStore {
    async fn create_operator(&self, op: &Operator) -> Result<()> {
        sqlx::query("INSERT INTO operators (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(op.id.clone())
            .bind(op.email.to_lowercase())
            .bind(op.password_hash.clone())
            .bind(op.created_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "operator email"))?;
        Ok(())
    }

    async fn operator_by_email(&self, email: &str) -> Result<Option<Operator>> {
        Ok(sqlx::query_as::<Any, Operator>(
            "SELECT id, email, password_hash, created_at FROM operators WHERE email = $1",
        )
        .bind(email.to_lowercase())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn operator(&self, id: &str) -> Result<Option<Operator>> {
        Ok(sqlx::query_as::<Any, Operator>("SELECT id, email, password_hash, created_at FROM operators WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    async fn operator_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar::<Any, i64>("SELECT COUNT(*) FROM operators").fetch_one(&self.read).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait::async_trait]
impl CustomerStore for SqlStore {
    async fn create_customer(&self, c: &Customer) -> Result<()> {
        sqlx::query(&format!("INSERT INTO customers ({CUSTOMER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(c.customer_id.clone())
            .bind(c.email.clone())
            .bind(c.entity_name.clone())
            .bind(c.status.clone())
            .bind(c.created_by.clone())
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "customer_id"))?;
        Ok(())
    }

    async fn customer(&self, customer_id: &str) -> Result<Option<Customer>> {
        Ok(sqlx::query_as::<Any, Customer>(&format!("SELECT {CUSTOMER_COLS} FROM customers WHERE customer_id = $1"))
            .bind(customer_id.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    async fn list_customers(&self, q: &ListQuery) -> Result<Page<Customer>> {
        self.list(CUSTOMER_COLS, "customers", "1 = 1", &[], CUSTOMER_FILTER, CUSTOMER_SORT, q).await
    }

    async fn update_customer(&self, customer_id: &str, p: &CustomerPatch, now: i64) -> Result<Customer> {
        let r = sqlx::query(
            "UPDATE customers SET email = COALESCE($1, email), entity_name = COALESCE($2, entity_name), \
             status = COALESCE($3, status), updated_at = $4 WHERE customer_id = $5",
        )
        .bind(p.email.clone())
        .bind(p.entity_name.clone())
        .bind(p.status.clone())
        .bind(now)
        .bind(customer_id.to_string())
        .execute(&self.write)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query_as::<Any, Customer>(&format!("SELECT {CUSTOMER_COLS} FROM customers WHERE customer_id = $1"))
            .bind(customer_id.to_string())
            .fetch_optional(&self.write)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn create_credential(&self, c: &CredentialRow) -> Result<()> {
        insert_credential(&self.write, c).await
    }

    async fn list_credentials(&self, customer_id: &str, q: &ListQuery) -> Result<Page<CredentialRow>> {
        self.list(CREDENTIAL_COLS, "credentials", "customer_id = $1", &[customer_id], &["name", "prefix"], SORTABLE, q)
            .await
    }

    async fn credential(&self, customer_id: &str, id: &str) -> Result<Option<CredentialRow>> {
        Ok(sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE customer_id = $1 AND id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn credential_by_hash(&self, hash: &str) -> Result<Option<(CredentialRow, String)>> {
        let row = sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE secret_hash = $1"
        ))
        .bind(hash.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: Option<String> =
            sqlx::query_scalar::<Any, String>("SELECT status FROM customers WHERE customer_id = $1")
                .bind(row.customer_id.clone())
                .fetch_optional(&self.read)
                .await?;
        Ok(status.map(|s| (row, s)))
    }

    async fn credential_by_access_key(&self, access_key: &str) -> Result<Option<(CredentialRow, String)>> {
        let row = sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE access_key = $1"
        ))
        .bind(access_key.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: Option<String> =
            sqlx::query_scalar::<Any, String>("SELECT status FROM customers WHERE customer_id = $1")
                .bind(row.customer_id.clone())
                .fetch_optional(&self.read)
                .await?;
        Ok(status.map(|s| (row, s)))
    }

    async fn revoke_credential(&self, customer_id: &str, id: &str, now: i64) -> Result<CredentialRow> {
        sqlx::query("UPDATE credentials SET revoked_at = COALESCE(revoked_at, $1) WHERE customer_id = $2 AND id = $3")
            .bind(now)
            .bind(customer_id.to_string())
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE customer_id = $1 AND id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.write)
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn rotate_credential(
        &self,
        customer_id: &str,
        old_id: &str,
        new: &CredentialRow,
        old_expires_at: Option<i64>,
        now: i64,
    ) -> Result<CredentialRow> {
        let mut tx = self.write.begin().await?;
        let old = sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE customer_id = $1 AND id = $2{}",
            self.lock_suffix()
        ))
        .bind(customer_id.to_string())
        .bind(old_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if old.status(now) != "ACTIVE" {
            return Err(StoreError::InvalidState(format!(
                "credential is {}; only an ACTIVE one can be rotated",
                old.status(now)
            )));
        }
        match old_expires_at {
            Some(at) => {
                sqlx::query(
                    "UPDATE credentials SET expires_at = $1 WHERE id = $2 AND (expires_at IS NULL OR expires_at > $1)",
                )
                .bind(at)
                .bind(old_id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("UPDATE credentials SET revoked_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(old_id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        insert_credential(&mut *tx, new).await?;
        let old =
            sqlx::query_as::<Any, CredentialRow>(&format!("SELECT {CREDENTIAL_COLS} FROM credentials WHERE id = $1"))
                .bind(old_id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(old)
    }

    async fn touch_credential(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE credentials SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, u: &User) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(u.user_id.clone())
        .bind(u.customer_id.clone())
        .bind(u.user_type.clone())
        .bind(u.email.clone())
        .bind(u.first_name.clone())
        .bind(u.last_name.clone())
        .bind(u.phone.clone())
        .bind(u.date_of_birth.clone())
        .bind(u.country.clone())
        .bind(u.status.clone())
        .bind(u.created_at)
        .bind(u.updated_at)
        .execute(&self.write)
        .await
        .map_err(|e| StoreError::unique(e, "user_id"))?;
        Ok(())
    }

    async fn user(&self, customer_id: &str, user_id: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as::<Any, User>(&format!(
            "SELECT {USER_COLS} FROM users WHERE customer_id = $1 AND user_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn list_users(&self, customer_id: &str, q: &ListQuery) -> Result<Page<User>> {
        self.list(USER_COLS, "users", "customer_id = $1", &[customer_id], USER_FILTER, USER_SORT, q).await
    }

    async fn update_user(&self, customer_id: &str, user_id: &str, p: &UserPatch, now: i64) -> Result<User> {
        let r = sqlx::query(
            "UPDATE users SET email = COALESCE($1, email), first_name = COALESCE($2, first_name), \
             last_name = COALESCE($3, last_name), phone = COALESCE($4, phone), \
             date_of_birth = COALESCE($5, date_of_birth), country = COALESCE($6, country), \
             status = COALESCE($7, status), updated_at = $8 WHERE customer_id = $9 AND user_id = $10",
        )
        .bind(p.email.clone())
        .bind(p.first_name.clone())
        .bind(p.last_name.clone())
        .bind(p.phone.clone())
        .bind(p.date_of_birth.clone())
        .bind(p.country.clone())
        .bind(p.status.clone())
        .bind(now)
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .execute(&self.write)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query_as::<Any, User>(&format!("SELECT {USER_COLS} FROM users WHERE user_id = $1"))
            .bind(user_id.to_string())
            .fetch_one(&self.write)
            .await
            .map_err(StoreError::from)
    }

    async fn create_user_token(&self, t: &UserTokenRow) -> Result<()> {
        sqlx::query(&format!("INSERT INTO user_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(t.id.clone())
            .bind(t.user_id.clone())
            .bind(t.customer_id.clone())
            .bind(t.token_hash.clone())
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.revoked_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "token"))?;
        Ok(())
    }

    async fn user_token_by_hash(&self, hash: &str) -> Result<Option<UserTokenRow>> {
        Ok(sqlx::query_as::<Any, UserTokenRow>(&format!("SELECT {TOKEN_COLS} FROM user_tokens WHERE token_hash = $1"))
            .bind(hash.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    async fn list_user_tokens(&self, customer_id: &str, user_id: &str) -> Result<Vec<UserTokenRow>> {
        Ok(sqlx::query_as::<Any, UserTokenRow>(&format!(
            "SELECT {TOKEN_COLS} FROM user_tokens WHERE customer_id = $1 AND user_id = $2 ORDER BY seq DESC"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn revoke_user_token(&self, customer_id: &str, user_id: &str, id: &str, now: i64) -> Result<UserTokenRow> {
        sqlx::query(
            "UPDATE user_tokens SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE customer_id = $2 AND user_id = $3 AND id = $4",
        )
        .bind(now)
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .bind(id.to_string())
        .execute(&self.write)
        .await?;
        sqlx::query_as::<Any, UserTokenRow>(&format!(
            "SELECT {TOKEN_COLS} FROM user_tokens WHERE customer_id = $1 AND user_id = $2 AND id = $3"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.write)
        .await?
        .ok_or(StoreError::NotFound)
    }
}

#[async_trait::async_trait]
impl WalletStore for SqlStore {
    async fn create_wallet(&self, w: &Wallet) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!("INSERT INTO wallets ({WALLET_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(w.wallet_id.clone())
            .bind(w.customer_id.clone())
            .bind(w.user_id.clone())
            .bind(w.name.clone())
            .bind(w.currency.clone())
            .bind(w.status.clone())
            .bind(w.created_at)
            .bind(w.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "wallet_id"))?;
        for account in [wallet_account(&w.wallet_id), wallet_pending_account(&w.wallet_id)] {
            sqlx::query(
                "INSERT INTO ledger_accounts (account, currency, balance, may_go_negative, updated_at) \
                 VALUES ($1, $2, '0', 0, $3)",
            )
            .bind(account)
            .bind(w.currency.clone())
            .bind(w.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Option<WalletView>> {
        Ok(sqlx::query_as::<Any, WalletJoined>(&format!(
            "SELECT {WALLET_JOINED_COLS} FROM {WALLET_JOINED} WHERE customer_id = $1 AND wallet_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(wallet_id.to_string())
        .fetch_optional(&self.read)
        .await?
        .map(WalletView::from))
    }

    async fn list_wallets(&self, customer_id: &str, user_id: Option<&str>, q: &ListQuery) -> Result<Page<WalletView>> {
        let page: Page<WalletJoined> = match user_id {
            Some(u) => {
                self.list(
                    WALLET_JOINED_COLS,
                    WALLET_JOINED,
                    "customer_id = $1 AND user_id = $2",
                    &[customer_id, u],
                    WALLET_FILTER,
                    WALLET_SORT,
                    q,
                )
                .await?
            }
            None => {
                self.list(
                    WALLET_JOINED_COLS,
                    WALLET_JOINED,
                    "customer_id = $1",
                    &[customer_id],
                    WALLET_FILTER,
                    WALLET_SORT,
                    q,
                )
                .await?
            }
        };
        Ok(Page { items: page.items.into_iter().map(WalletView::from).collect(), total: page.total })
    }

    async fn update_wallet(&self, customer_id: &str, wallet_id: &str, p: &WalletPatch, now: i64) -> Result<WalletView> {
        let r = sqlx::query(
            "UPDATE wallets SET name = COALESCE($1, name), status = COALESCE($2, status), updated_at = $3 \
             WHERE customer_id = $4 AND wallet_id = $5",
        )
        .bind(p.name.clone())
        .bind(p.status.clone())
        .bind(now)
        .bind(customer_id.to_string())
        .bind(wallet_id.to_string())
        .execute(&self.write)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query_as::<Any, WalletJoined>(&format!(
            "SELECT {WALLET_JOINED_COLS} FROM {WALLET_JOINED} WHERE customer_id = $1 AND wallet_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(wallet_id.to_string())
        .fetch_one(&self.write)
        .await
        .map(WalletView::from)
        .map_err(StoreError::from)
    }

    async fn create_address(&self, a: &NewAddress, derive: DeriveFn<'_>) -> Result<AddressRow> {
        let mut tx = self.write.begin().await?;
        let index: i64 = sqlx::query_scalar::<Any, i64>(
            "INSERT INTO derivation_counters (family, next_index) VALUES ($1, 1) \
             ON CONFLICT (family) DO UPDATE SET next_index = derivation_counters.next_index + 1 \
             RETURNING next_index - 1",
        )
        .bind(a.family.clone())
        .fetch_one(&mut *tx)
        .await?;
        let idx = u32::try_from(index)
            .ok()
            .filter(|i| *i < 0x8000_0000)
            .ok_or_else(|| StoreError::Derivation(format!("derivation index {index} exhausted for {}", a.family)))?;
        let (address, path) = derive(idx).map_err(StoreError::Derivation)?;
        let row = AddressRow {
            address_id: a.address_id.clone(),
            wallet_id: a.wallet_id.clone(),
            customer_id: a.customer_id.clone(),
            user_id: a.user_id.clone(),
            currency: a.currency.clone(),
            network: a.network.clone(),
            address,
            family: a.family.clone(),
            derivation_index: index,
            derivation_path: path,
            status: "ACTIVE".into(),
            created_at: a.created_at,
        };
        sqlx::query(&format!(
            "INSERT INTO addresses ({ADDRESS_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(row.address_id.clone())
        .bind(row.wallet_id.clone())
        .bind(row.customer_id.clone())
        .bind(row.user_id.clone())
        .bind(row.currency.clone())
        .bind(row.network.clone())
        .bind(row.address.clone())
        .bind(row.family.clone())
        .bind(row.derivation_index)
        .bind(row.derivation_path.clone())
        .bind(row.status.clone())
        .bind(row.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "address"))?;
        tx.commit().await?;
        Ok(row)
    }

    async fn address(&self, customer_id: &str, address_id: &str) -> Result<Option<AddressRow>> {
        Ok(sqlx::query_as::<Any, AddressRow>(&format!(
            "SELECT {ADDRESS_COLS} FROM addresses WHERE customer_id = $1 AND address_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(address_id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn address_by_value(&self, network: &str, address: &str, currency: &str) -> Result<Option<AddressRow>> {
        Ok(sqlx::query_as::<Any, AddressRow>(&format!(
            "SELECT {ADDRESS_COLS} FROM addresses WHERE network = $1 AND address = $2 AND currency = $3"
        ))
        .bind(network.to_string())
        .bind(address.to_string())
        .bind(currency.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn list_addresses(
        &self,
        customer_id: &str,
        wallet_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<AddressRow>> {
        match wallet_id {
            Some(w) => {
                self.list(
                    ADDRESS_COLS,
                    "addresses",
                    "customer_id = $1 AND wallet_id = $2",
                    &[customer_id, w],
                    ADDRESS_FILTER,
                    SORTABLE,
                    q,
                )
                .await
            }
            None => {
                self.list(ADDRESS_COLS, "addresses", "customer_id = $1", &[customer_id], ADDRESS_FILTER, SORTABLE, q)
                    .await
            }
        }
    }

    async fn create_deposit(&self, d: &DepositRow) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO deposits ({DEPOSIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(d.deposit_id.clone())
        .bind(d.wallet_id.clone())
        .bind(d.customer_id.clone())
        .bind(d.address_id.clone())
        .bind(d.address.clone())
        .bind(d.currency.clone())
        .bind(d.network.clone())
        .bind(d.amount.clone())
        .bind(d.status.clone())
        .bind(d.tx_hash.clone())
        .bind(d.sandbox)
        .bind(d.created_at)
        .bind(d.updated_at)
        .bind(d.completed_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "deposit"))?;
        let amount = dec(&d.amount)?;
        let postings = [
            Posting {
                account: external_account(&d.network, &d.currency),
                currency: d.currency.clone(),
                amount: -amount,
                may_go_negative: true,
            },
            Posting {
                account: wallet_pending_account(&d.wallet_id),
                currency: d.currency.clone(),
                amount,
                may_go_negative: false,
            },
        ];
        self.post_tx(&mut tx, "deposit-seen", &d.deposit_id, &postings, d.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn complete_deposit(&self, customer_id: &str, deposit_id: &str, now: i64) -> Result<DepositRow> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE deposits SET status = 'COMPLETED', completed_at = $1, updated_at = $1 \
             WHERE customer_id = $2 AND deposit_id = $3 AND status = 'PENDING'",
        )
        .bind(now)
        .bind(customer_id.to_string())
        .bind(deposit_id.to_string())
        .execute(&mut *tx)
        .await?;
        let d = sqlx::query_as::<Any, DepositRow>(&format!(
            "SELECT {DEPOSIT_COLS} FROM deposits WHERE customer_id = $1 AND deposit_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(deposit_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::InvalidState(format!("deposit is already {}", d.status)));
        }
        let amount = dec(&d.amount)?;
        let postings = [
            Posting {
                account: wallet_pending_account(&d.wallet_id),
                currency: d.currency.clone(),
                amount: -amount,
                may_go_negative: false,
            },
            Posting {
                account: wallet_account(&d.wallet_id),
                currency: d.currency.clone(),
                amount,
                may_go_negative: false,
            },
        ];
        self.post_tx(&mut tx, "deposit-completed", &d.deposit_id, &postings, now).await?;
        tx.commit().await?;
        Ok(d)
    }

    async fn deposit(&self, customer_id: &str, deposit_id: &str) -> Result<Option<DepositRow>> {
        Ok(sqlx::query_as::<Any, DepositRow>(&format!(
            "SELECT {DEPOSIT_COLS} FROM deposits WHERE customer_id = $1 AND deposit_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(deposit_id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn list_deposits(
        &self,
        customer_id: &str,
        wallet_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<DepositRow>> {
        match wallet_id {
            Some(w) => {
                self.list(
                    DEPOSIT_COLS,
                    "deposits",
                    "customer_id = $1 AND wallet_id = $2",
                    &[customer_id, w],
                    DEPOSIT_FILTER,
                    SORTABLE,
                    q,
                )
                .await
            }
            None => {
                self.list(DEPOSIT_COLS, "deposits", "customer_id = $1", &[customer_id], DEPOSIT_FILTER, SORTABLE, q)
                    .await
            }
        }
    }

    async fn addresses_by_value(&self, address: &str) -> Result<Vec<AddressRow>> {
        Ok(sqlx::query_as::<Any, AddressRow>(&format!(
            "SELECT {ADDRESS_COLS} FROM addresses WHERE address = $1 ORDER BY seq"
        ))
        .bind(address.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn all_address_values(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar::<Any, String>("SELECT DISTINCT address FROM addresses").fetch_all(&self.read).await?)
    }

    async fn deposits_to(&self, address: &str, limit: i64, skip: i64) -> Result<(Vec<DepositRow>, u64)> {
        let total: i64 = sqlx::query_scalar::<Any, i64>("SELECT COUNT(*) FROM deposits WHERE address = $1")
            .bind(address.to_string())
            .fetch_one(&self.read)
            .await?;
        let rows = sqlx::query_as::<Any, DepositRow>(&format!(
            "SELECT {DEPOSIT_COLS} FROM deposits WHERE address = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3"
        ))
        .bind(address.to_string())
        .bind(limit)
        .bind(skip)
        .fetch_all(&self.read)
        .await?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }
}

#[async_trait::async_trait]
impl LedgerStore for SqlStore {
    async fn post(&self, kind: &str, reference: &str, postings: &[Posting], now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        self.post_tx(&mut tx, kind, reference, postings, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn balance(&self, account: &str) -> Result<String> {
        Ok(sqlx::query_scalar::<Any, String>("SELECT balance FROM ledger_accounts WHERE account = $1")
            .bind(account.to_string())
            .fetch_optional(&self.read)
            .await?
            .unwrap_or_else(|| "0".into()))
    }

    async fn ledger_entries(&self, account: &str) -> Result<Vec<LedgerEntry>> {
        Ok(sqlx::query_as::<Any, LedgerEntry>(
            "SELECT txn_id, account, currency, amount, created_at FROM ledger_entries WHERE account = $1 ORDER BY seq",
        )
        .bind(account.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn ledger_totals(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as::<Any, (String, String)>("SELECT currency, amount FROM ledger_entries")
                .fetch_all(&self.read)
                .await?;
        let mut sums: std::collections::BTreeMap<String, Decimal> = Default::default();
        for (c, a) in rows {
            *sums.entry(c).or_default() += dec(&a)?;
        }
        Ok(sums.into_iter().map(|(c, s)| (c, s.normalize().to_string())).collect())
    }
}

#[async_trait::async_trait]
impl IntelStore for SqlStore {
    async fn create_intel_key(&self, owner: &str, credits: i64, key: &IntelKeyRow, now: i64) -> Result<IntelAccount> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE owner = $1{}",
            self.lock_suffix()
        ))
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let account_id = match existing {
            Some(a) => {
                if credits > 0 {
                    let balance = a.credits + credits;
                    sqlx::query("UPDATE intel_accounts SET credits = $1, updated_at = $2 WHERE id = $3")
                        .bind(balance)
                        .bind(now)
                        .bind(a.id.clone())
                        .execute(&mut *tx)
                        .await?;
                    insert_usage(&mut tx, &a.id, None, "topup", "", -credits, balance, "-", now).await?;
                }
                a.id
            }
            None => {
                sqlx::query(&format!("INSERT INTO intel_accounts ({INTEL_ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5)"))
                    .bind(key.account_id.clone())
                    .bind(owner.to_string())
                    .bind(credits)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::unique(e, "intel account"))?;
                if credits > 0 {
                    insert_usage(&mut tx, &key.account_id, None, "topup", "", -credits, credits, "-", now).await?;
                }
                key.account_id.clone()
            }
        };
        sqlx::query(&format!("INSERT INTO intel_keys ({INTEL_KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(key.id.clone())
            .bind(account_id.clone())
            .bind(key.key_hash.clone())
            .bind(key.prefix.clone())
            .bind(key.created_at)
            .bind(key.revoked_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "intel key"))?;
        let account = sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE id = $1"
        ))
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn intel_key_by_hash(&self, hash: &str) -> Result<Option<(IntelKeyRow, IntelAccount)>> {
        let key =
            sqlx::query_as::<Any, IntelKeyRow>(&format!("SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE key_hash = $1"))
                .bind(hash.to_string())
                .fetch_optional(&self.read)
                .await?;
        self.with_account(key).await
    }

    async fn intel_key(&self, id: &str) -> Result<Option<(IntelKeyRow, IntelAccount)>> {
        let key = sqlx::query_as::<Any, IntelKeyRow>(&format!("SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        self.with_account(key).await
    }

    async fn intel_account_by_owner(&self, owner: &str) -> Result<Option<IntelAccount>> {
        Ok(sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE owner = $1"
        ))
        .bind(owner.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn intel_account(&self, id: &str) -> Result<Option<IntelAccount>> {
        Ok(sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn intel_keys(&self, account_id: &str) -> Result<Vec<IntelKeyRow>> {
        Ok(sqlx::query_as::<Any, IntelKeyRow>(&format!(
            "SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE account_id = $1 ORDER BY seq DESC"
        ))
        .bind(account_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn revoke_intel_key(&self, id: &str, now: i64) -> Result<IntelKeyRow> {
        sqlx::query("UPDATE intel_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        sqlx::query_as::<Any, IntelKeyRow>(&format!("SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.write)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn apply_charges(&self, charges: &[Charge], now: i64) -> Result<Vec<std::result::Result<i64, i64>>> {
        if charges.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend == Backend::Postgres {
            let mut pinned = self.billing.take(&self.write).await?;
            let results = match Self::debit_in_one_statement(pinned.conn(), charges, now).await? {
                Some(results) => results,
                None => {
                    let tx = sqlx::Connection::begin(pinned.conn()).await?;
                    self.charge_in_transaction(tx, charges, now).await?
                }
            };
            pinned.keep();
            return Ok(results);
        }
        let tx = self.write.begin().await?;
        self.charge_in_transaction(tx, charges, now).await
    }

    async fn intel_usage(&self, account_id: &str, key_id: Option<&str>, limit: i64) -> Result<Vec<UsageRow>> {
        let cols = "account_id, key_id, kind, endpoint, cost, calls, balance, trace_id, created_at";
        let rows =
            match key_id {
                Some(k) => sqlx::query_as::<Any, UsageRow>(&format!(
                    "SELECT {cols} FROM intel_usage WHERE account_id = $1 AND key_id = $2 ORDER BY seq DESC LIMIT $3"
                ))
                .bind(account_id.to_string())
                .bind(k.to_string())
                .bind(limit)
                .fetch_all(&self.read)
                .await?,
                None => {
                    sqlx::query_as::<Any, UsageRow>(&format!(
                        "SELECT {cols} FROM intel_usage WHERE account_id = $1 ORDER BY seq DESC LIMIT $2"
                    ))
                    .bind(account_id.to_string())
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
                }
            };
        Ok(rows)
    }
}

#[async_trait::async_trait]
impl X402Store for SqlStore {
    async fn claim_payment(&self, p: &X402Payment) -> Result<PaymentClaim> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query_as::<Any, X402Payment>(&format!(
            "SELECT {PAYMENT_COLS} FROM x402_payments WHERE message_hash = $1 OR tx_signature = $2{}",
            self.lock_suffix()
        ))
        .bind(p.message_hash.clone())
        .bind(p.tx_signature.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(e) = existing {
            return Ok(if e.status == "IN_FLIGHT" && e.locked_until > p.created_at {
                PaymentClaim::InFlight
            } else {
                PaymentClaim::AlreadyUsed(e)
            });
        }
        let r = sqlx::query(&format!(
            "INSERT INTO x402_payments ({PAYMENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(p.message_hash.clone())
        .bind(p.tx_signature.clone())
        .bind(p.payer.clone())
        .bind(p.amount)
        .bind(p.network.clone())
        .bind(p.resource.clone())
        .bind(p.status.clone())
        .bind(p.locked_until)
        .bind(p.detail.clone())
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await;
        match r {
            Ok(_) => {
                tx.commit().await?;
                Ok(PaymentClaim::Claimed)
            }
            // A concurrent claim on another connection won the race.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(PaymentClaim::InFlight),
            Err(e) => Err(e.into()),
        }
    }

    async fn finish_payment(&self, message_hash: &str, status: &str, detail: Option<&str>, now: i64) -> Result<()> {
        sqlx::query("UPDATE x402_payments SET status = $1, detail = $2, updated_at = $3, locked_until = $3 WHERE message_hash = $4")
            .bind(status.to_string())
            .bind(detail.map(str::to_string))
            .bind(now)
            .bind(message_hash.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn release_payment(&self, message_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM x402_payments WHERE message_hash = $1 AND status = 'IN_FLIGHT'")
            .bind(message_hash.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn payments_with_status(&self, status: &str) -> Result<Vec<X402Payment>> {
        Ok(sqlx::query_as::<Any, X402Payment>(&format!(
            "SELECT {PAYMENT_COLS} FROM x402_payments WHERE status = $1 ORDER BY created_at"
        ))
        .bind(status.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn prune_payments(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM x402_payments WHERE created_at < $1 AND status <> 'PENDING'")
            .bind(before)
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}

#[async_trait::async_trait]
impl NotifyStore for SqlStore {
    async fn notify_auth_change(&self, key: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(AUTH_CHANNEL.to_string())
                .bind(key.to_string())
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    async fn listen_auth_changes(&self) -> Result<Option<BoxStream<'static, String>>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
        listener.listen(AUTH_CHANNEL).await?;
        // `try_recv` answers `None` when the connection dropped (it reconnects on the next call): anything may have
        // changed meanwhile, so that becomes "*", which tells the cache to drop everything.
        let stream = futures::stream::unfold(listener, |mut l| async move {
            loop {
                match l.try_recv().await {
                    Ok(Some(n)) => return Some((n.payload().to_string(), l)),
                    Ok(None) => return Some(("*".to_string(), l)),
                    Err(e) => {
                        tracing::warn!(error = %e, "auth notification listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(stream.boxed()))
    }
}

async fn insert_credential<'e, E>(ex: E, c: &CredentialRow) -> Result<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(&format!(
        "INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(c.id.clone())
    .bind(c.customer_id.clone())
    .bind(c.name.clone())
    .bind(c.prefix.clone())
    .bind(c.secret_hash.clone())
    .bind(c.created_at)
    .bind(c.last_used_at)
    .bind(c.expires_at)
    .bind(c.revoked_at)
    .bind(c.access_key.clone())
    .bind(c.hmac_salt.clone())
    .bind(c.passphrase_hash.clone())
    .execute(ex)
    .await
    .map_err(|e| StoreError::unique(e, "credential"))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_usage(
    tx: &mut Transaction<'_, Any>,
    account_id: &str,
    key_id: Option<&str>,
    kind: &str,
    endpoint: &str,
    cost: i64,
    balance: i64,
    trace_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO intel_usage (account_id, key_id, kind, endpoint, cost, balance, trace_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id.to_string())
    .bind(key_id.map(str::to_string))
    .bind(kind.to_string())
    .bind(endpoint.to_string())
    .bind(cost)
    .bind(balance)
    .bind(trace_id.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A usage row in the making: consecutive charges of one group with the same account, key, kind and endpoint.
struct UsageAgg {
    account_id: String,
    key_id: Option<String>,
    kind: String,
    endpoint: String,
    cost: i64,
    calls: i64,
    /// Balance after the row's last charge (or, on the one-statement path, its offset from the final balance).
    balance: i64,
    trace_id: String,
}

/// Fold charges (with the balance, or offset, after each) into usage rows, one per run of equal
/// (account, key, kind, endpoint).
fn aggregate<'a>(charges: impl Iterator<Item = (&'a Charge, i64)>) -> Vec<UsageAgg> {
    let mut rows: Vec<UsageAgg> = Vec::new();
    for (c, balance) in charges {
        match rows.iter_mut().find(|r| {
            r.account_id == c.account_id && r.key_id == c.key_id && r.kind == c.kind && r.endpoint == c.endpoint
        }) {
            Some(r) => {
                r.cost += c.cost;
                r.calls += 1;
                r.balance = balance;
                r.trace_id.clone_from(&c.trace_id);
            }
            None => rows.push(UsageAgg {
                account_id: c.account_id.clone(),
                key_id: c.key_id.clone(),
                kind: c.kind.to_string(),
                endpoint: c.endpoint.clone(),
                cost: c.cost,
                calls: 1,
                balance,
                trace_id: c.trace_id.clone(),
            }),
        }
    }
    rows
}

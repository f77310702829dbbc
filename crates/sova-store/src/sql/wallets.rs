//! Wallets, deposit addresses and deposits.

use rust_decimal::Decimal;
use sqlx::{Any, FromRow};

use super::idempotency::apply_effects;
use super::{SORTABLE, SqlStore, dec};
use crate::{
    AddressRow, CurrencyBalance, DepositRow, DeriveFn, Effects, ListQuery, NewAddress, Page, Posting, Result,
    StoreError, TransactionRow, Wallet, WalletPatch, WalletStore, WalletView, external_account, wallet_accounts,
    wallet_hold_account,
};

const WALLET_COLS: &str = "wallet_id, customer_id, user_id, name, currency, status, created_at, updated_at, \
                           description, wallet_type, networks";
const WALLET_FILTER: &[&str] = &["user_id", "name", "currency", "status", "wallet_type"];
const WALLET_SORT: &[&str] = &["created_at", "updated_at", "name"];
pub(super) const ADDRESS_COLS: &str = "address_id, wallet_id, customer_id, user_id, currency, network, address, family, \
                            derivation_index, derivation_path, status, created_at";
const ADDRESS_FILTER: &[&str] = &["wallet_id", "currency", "network", "address", "status"];
pub(super) const DEPOSIT_COLS: &str = "deposit_id, wallet_id, customer_id, address_id, address, currency, network, \
    amount, status, tx_hash, sandbox, created_at, updated_at, completed_at, output_index, block_hash, block_height, \
    confirmations, shortfall";
const DEPOSIT_FILTER: &[&str] = &["wallet_id", "address", "currency", "network", "status", "tx_hash"];
/// The unified history: one row shape over every kind of money movement (deposits today).
/// Deposits and withdrawals, one history (a withdrawal's `address` is its destination, its hash empty until sent).
/// `seq` orders within one millisecond: deposits and withdrawals each count their own, so ties break by kind too.
const TRANSACTIONS: &str = "(SELECT d.seq, d.deposit_id AS id, 'deposit' AS kind, 'in' AS direction, d.status, \
     w.user_id, d.wallet_id, d.customer_id, d.currency, d.amount, d.network, d.address, d.tx_hash, d.created_at, \
     d.updated_at, d.completed_at FROM deposits d JOIN wallets w ON w.wallet_id = d.wallet_id \
     UNION ALL SELECT x.seq, x.withdrawal_id AS id, 'withdrawal' AS kind, 'out' AS direction, x.status, x.user_id, \
     x.wallet_id, x.customer_id, x.currency, x.amount, x.network, x.address, COALESCE(x.tx_hash, '') AS tx_hash, \
     x.created_at, x.updated_at, x.completed_at FROM withdrawals x \
     UNION ALL SELECT c.seq, c.order_id AS id, 'trade' AS kind, CASE WHEN c.side = 'buy' THEN 'in' ELSE 'out' END \
     AS direction, c.status, c.user_id, c.wallet_id, c.customer_id, c.base_currency AS currency, c.quantity AS amount, \
     'sova-exchange' AS network, c.pair AS address, '' AS tx_hash, c.created_at, c.updated_at, c.completed_at \
     FROM connect_trades c) t";
const TRANSACTION_COLS: &str = "id, kind, direction, status, user_id, wallet_id, currency, amount, network, address, \
     tx_hash, created_at, updated_at, completed_at";
const TRANSACTION_FILTER: &[&str] = &["kind", "status", "user_id", "wallet_id", "currency", "network", "tx_hash"];
const TRANSACTION_SORT: &[&str] = &["created_at", "updated_at", "completed_at"];

/// Wallet joined with the two ledger balances of its first currency.
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
    description: Option<String>,
    wallet_type: String,
    networks: String,
    balance: String,
    pending: String,
    held: String,
}

/// `available + held`, exactly (both come from the ledger, well inside its range).
fn settled(available: &str, held: &str) -> Result<String> {
    let sum = super::ledger::exact_add(dec(available)?, dec(held)?)
        .ok_or_else(|| StoreError::OutOfRange(format!("{available} + {held}")))?;
    Ok(sum.normalize().to_string())
}

impl WalletJoined {
    fn into_view(self) -> Result<WalletView> {
        let networks = serde_json::from_str(&self.networks)
            .map_err(|e| StoreError::InvalidState(format!("wallet {} networks: {e}", self.wallet_id)))?;
        let total = settled(&self.balance, &self.held)?;
        let first = CurrencyBalance {
            currency: self.currency.clone(),
            balance: total.clone(),
            pending: self.pending.clone(),
            available: self.balance.clone(),
            held: self.held.clone(),
        };
        Ok(WalletView {
            wallet: Wallet {
                wallet_id: self.wallet_id,
                customer_id: self.customer_id,
                user_id: self.user_id,
                name: self.name,
                currency: self.currency,
                status: self.status,
                created_at: self.created_at,
                updated_at: self.updated_at,
                description: self.description,
                wallet_type: self.wallet_type,
                networks,
            },
            balance: total,
            pending: self.pending,
            balances: vec![first],
        })
    }
}

const WALLET_JOINED: &str = "(SELECT w.seq, w.wallet_id, w.customer_id, w.user_id, w.name, w.currency, w.status, \
     w.created_at, w.updated_at, w.description, w.wallet_type, w.networks, \
     COALESCE(a.balance, '0') AS balance, COALESCE(p.balance, '0') AS pending, COALESCE(h.balance, '0') AS held \
     FROM wallets w \
     LEFT JOIN ledger_accounts a ON a.account = 'wallet:' || w.wallet_id \
     LEFT JOIN ledger_accounts p ON p.account = 'wallet-pending:' || w.wallet_id \
     LEFT JOIN ledger_accounts h ON h.account = 'wallet-hold:' || w.wallet_id) wj";
const WALLET_JOINED_COLS: &str = "wallet_id, customer_id, user_id, name, currency, status, created_at, updated_at, \
                                  description, wallet_type, networks, balance, pending, held";

impl SqlStore {
    /// Views of `rows`, with the balances of every currency beyond the first (one query for the lot).
    async fn wallet_views<'e, E>(&self, ex: E, rows: Vec<WalletJoined>) -> Result<Vec<WalletView>>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let mut views = rows.into_iter().map(WalletJoined::into_view).collect::<Result<Vec<_>>>()?;
        let mut wanted = Vec::new();
        for v in &views {
            for cur in v.wallet.currencies().into_iter().skip(1) {
                let (settled, pending) = v.wallet.accounts(&cur);
                wanted.push(settled);
                wanted.push(pending);
                wanted.push(wallet_hold_account(&v.wallet.wallet_id, &v.wallet.currency, &cur));
            }
        }
        if wanted.is_empty() {
            return Ok(views);
        }
        let marks = (1..=wanted.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT account, balance FROM ledger_accounts WHERE account IN ({marks})");
        let mut q = sqlx::query_as::<Any, (String, String)>(&sql);
        for a in &wanted {
            q = q.bind(a.clone());
        }
        let found: std::collections::HashMap<String, String> = q.fetch_all(ex).await?.into_iter().collect();
        let get = |a: &str| found.get(a).cloned().unwrap_or_else(|| "0".into());
        for v in &mut views {
            for cur in v.wallet.currencies().into_iter().skip(1) {
                let (available, pending) = v.wallet.accounts(&cur);
                let (available, held) =
                    (get(&available), get(&wallet_hold_account(&v.wallet.wallet_id, &v.wallet.currency, &cur)));
                let balance = settled(&available, &held)?;
                v.balances.push(CurrencyBalance { currency: cur, balance, pending: get(&pending), available, held });
            }
        }
        Ok(views)
    }
}

#[async_trait::async_trait]
impl WalletStore for SqlStore {
    async fn create_wallet(&self, w: &Wallet) -> Result<()> {
        self.create_wallet_with(w, &[], &Effects::none()).await
    }

    async fn create_wallet_with(&self, w: &Wallet, addresses: &[AddressRow], fx: &Effects) -> Result<()> {
        let networks = serde_json::to_string(&w.networks).map_err(|e| StoreError::InvalidState(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO wallets ({WALLET_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(w.wallet_id.clone())
        .bind(w.customer_id.clone())
        .bind(w.user_id.clone())
        .bind(w.name.clone())
        .bind(w.currency.clone())
        .bind(w.status.clone())
        .bind(w.created_at)
        .bind(w.updated_at)
        .bind(w.description.clone())
        .bind(w.wallet_type.clone())
        .bind(networks)
        .execute(&mut *tx)
        .await
        .map_err(wallet_unique)?;
        for cur in w.currencies() {
            let (settled, pending) = w.accounts(&cur);
            for account in [settled, pending] {
                sqlx::query(
                    "INSERT INTO ledger_accounts (account, currency, balance, may_go_negative, updated_at) \
                     VALUES ($1, $2, '0', 0, $3)",
                )
                .bind(account)
                .bind(cur.clone())
                .bind(w.created_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        for a in addresses {
            insert_address_row(&mut tx, a).await?;
        }
        apply_effects(&mut tx, fx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reserve_derivation_index(&self, family: &str) -> Result<u32> {
        let mut tx = self.write.begin().await?;
        let idx = next_index(&mut tx, family).await?;
        tx.commit().await?;
        Ok(idx)
    }

    async fn wallet_addresses(&self, customer_id: &str, wallet_ids: &[String]) -> Result<Vec<AddressRow>> {
        if wallet_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = (2..wallet_ids.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {ADDRESS_COLS} FROM addresses WHERE customer_id = $1 AND wallet_id IN ({marks}) \
             AND status = 'ACTIVE' ORDER BY seq"
        );
        let mut q = sqlx::query_as::<Any, AddressRow>(&sql).bind(customer_id.to_string());
        for w in wallet_ids {
            q = q.bind(w.clone());
        }
        Ok(q.fetch_all(&self.read).await?)
    }

    async fn wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Option<WalletView>> {
        let row = sqlx::query_as::<Any, WalletJoined>(&format!(
            "SELECT {WALLET_JOINED_COLS} FROM {WALLET_JOINED} WHERE customer_id = $1 AND wallet_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(wallet_id.to_string())
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(r) => Ok(self.wallet_views(&self.read, vec![r]).await?.pop()),
            None => Ok(None),
        }
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
        Ok(Page { items: self.wallet_views(&self.read, page.items).await?, total: page.total })
    }

    async fn balances_by_currency(&self, customer_id: &str, user_id: Option<&str>) -> Result<Vec<CurrencyBalance>> {
        // `wallet:{id}` (first currency) and `wallet:{id}:{CUR}` (the others), and the same for `wallet-hold:`; ids
        // are UUIDs of one length, so a prefix matches no other wallet's accounts.
        let base = "SELECT a.account, a.currency, a.balance FROM wallets w \
                    JOIN ledger_accounts a ON (a.account LIKE 'wallet:' || w.wallet_id || '%' \
                    OR a.account LIKE 'wallet-hold:' || w.wallet_id || '%') WHERE w.customer_id = $1";
        let rows: Vec<(String, String, String)> = match user_id {
            Some(u) => {
                sqlx::query_as::<Any, (String, String, String)>(&format!("{base} AND w.user_id = $2"))
                    .bind(customer_id.to_string())
                    .bind(u.to_string())
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query_as::<Any, (String, String, String)>(base)
                    .bind(customer_id.to_string())
                    .fetch_all(&self.read)
                    .await?
            }
        };
        let mut sums: std::collections::BTreeMap<String, (Decimal, Decimal)> = Default::default();
        let add = |a: Decimal, b: Decimal| {
            super::ledger::exact_add(a, b).ok_or_else(|| StoreError::OutOfRange(format!("{customer_id} balances")))
        };
        for (account, currency, balance) in rows {
            let (available, held) = sums.entry(currency).or_default();
            if account.starts_with("wallet-hold:") {
                *held = add(*held, dec(&balance)?)?;
            } else {
                *available = add(*available, dec(&balance)?)?;
            }
        }
        sums.into_iter()
            .map(|(currency, (available, held))| {
                Ok(CurrencyBalance {
                    currency,
                    balance: add(available, held)?.normalize().to_string(),
                    pending: "0".into(),
                    available: available.normalize().to_string(),
                    held: held.normalize().to_string(),
                })
            })
            .collect()
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
        .await
        .map_err(wallet_unique)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query_as::<Any, WalletJoined>(&format!(
            "SELECT {WALLET_JOINED_COLS} FROM {WALLET_JOINED} WHERE customer_id = $1 AND wallet_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(wallet_id.to_string())
        .fetch_one(&self.write)
        .await?;
        self.wallet_views(&self.write, vec![row]).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn create_address(&self, a: &NewAddress, derive: DeriveFn<'_>) -> Result<AddressRow> {
        let mut tx = self.write.begin().await?;
        if a.reuse_existing {
            // The wallet's row is the lock that makes "find, else derive" one step under concurrency (PostgreSQL;
            // SQLite has one writer).
            sqlx::query(&format!("SELECT wallet_id FROM wallets WHERE wallet_id = $1{}", self.lock_suffix()))
                .bind(a.wallet_id.clone())
                .fetch_optional(&mut *tx)
                .await?;
            let existing = sqlx::query_as::<Any, AddressRow>(&format!(
                "SELECT {ADDRESS_COLS} FROM addresses WHERE wallet_id = $1 AND currency = $2 AND network = $3 \
                 AND status = 'ACTIVE' ORDER BY created_at, address_id LIMIT 1"
            ))
            .bind(a.wallet_id.clone())
            .bind(a.currency.clone())
            .bind(a.network.clone())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = existing {
                tx.commit().await?;
                return Ok(row);
            }
        }
        let row = insert_address(&mut tx, a, derive).await?;
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

    async fn list_transactions(
        &self,
        customer_id: &str,
        user_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<TransactionRow>> {
        match user_id {
            Some(u) => {
                self.list(
                    TRANSACTION_COLS,
                    TRANSACTIONS,
                    "customer_id = $1 AND user_id = $2",
                    &[customer_id, u],
                    TRANSACTION_FILTER,
                    TRANSACTION_SORT,
                    q,
                )
                .await
            }
            None => {
                self.list(
                    TRANSACTION_COLS,
                    TRANSACTIONS,
                    "customer_id = $1",
                    &[customer_id],
                    TRANSACTION_FILTER,
                    TRANSACTION_SORT,
                    q,
                )
                .await
            }
        }
    }

    async fn create_deposit(&self, d: &DepositRow, fx: &Effects) -> Result<()> {
        let mut tx = self.write.begin().await?;
        self.insert_deposit(&mut tx, d, "deposit-seen", &d.deposit_id).await?;
        apply_effects(&mut tx, fx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn complete_deposit(
        &self,
        customer_id: &str,
        deposit_id: &str,
        now: i64,
        fx: &Effects,
    ) -> Result<DepositRow> {
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
        self.post_deposit(&mut tx, &d, DepositLeg::Completed, "deposit-completed", &d.deposit_id, now).await?;
        apply_effects(&mut tx, fx).await?;
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

/// Allocate the next index of the address's family, derive, insert (inside the caller's transaction).
async fn insert_address(
    tx: &mut sqlx::Transaction<'_, Any>,
    a: &NewAddress,
    derive: DeriveFn<'_>,
) -> Result<AddressRow> {
    let idx = next_index(tx, &a.family).await?;
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
        derivation_index: i64::from(idx),
        derivation_path: path,
        status: "ACTIVE".into(),
        created_at: a.created_at,
    };
    insert_address_row(tx, &row).await?;
    Ok(row)
}

/// The next index of a derivation family (hardened indexes excluded).
async fn next_index(tx: &mut sqlx::Transaction<'_, Any>, family: &str) -> Result<u32> {
    let index: i64 = sqlx::query_scalar::<Any, i64>(
        "INSERT INTO derivation_counters (family, next_index) VALUES ($1, 1) \
         ON CONFLICT (family) DO UPDATE SET next_index = derivation_counters.next_index + 1 \
         RETURNING next_index - 1",
    )
    .bind(family.to_string())
    .fetch_one(&mut **tx)
    .await?;
    u32::try_from(index)
        .ok()
        .filter(|i| *i < 0x8000_0000)
        .ok_or_else(|| StoreError::Derivation(format!("derivation index {index} exhausted for {family}")))
}

async fn insert_address_row(tx: &mut sqlx::Transaction<'_, Any>, row: &AddressRow) -> Result<()> {
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
    .execute(&mut **tx)
    .await
    .map_err(|e| StoreError::unique(e, "address"))?;
    Ok(())
}

/// A unique violation on wallets: the user's wallet name, else the id.
fn wallet_unique(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            let text = format!("{} {}", d.constraint().unwrap_or_default(), d.message());
            StoreError::Conflict(if text.contains("wallets_user_name") { "name" } else { "wallet_id" })
        }
        _ => StoreError::Db(e),
    }
}

/// The first currency of a wallet, read inside a transaction (to name its ledger accounts).
impl SqlStore {
    /// Insert a `PENDING` deposit and post it (`external -> wallet-pending`) as ledger transaction
    /// (`kind`, `reference`), inside `tx`.
    pub(super) async fn insert_deposit(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        d: &DepositRow,
        kind: &str,
        reference: &str,
    ) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO deposits ({DEPOSIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19)"
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
        .bind(d.output_index)
        .bind(d.block_hash.clone())
        .bind(d.block_height)
        .bind(d.confirmations)
        .bind(d.shortfall.clone())
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::unique(e, "deposit"))?;
        self.post_deposit(tx, d, DepositLeg::Seen, kind, reference, d.created_at).await
    }

    /// Post one leg of a deposit's life for its full amount inside `tx`: seen (`external -> wallet-pending`),
    /// dropped (back), or completed (`wallet-pending -> wallet`).
    pub(super) async fn post_deposit(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        d: &DepositRow,
        leg: DepositLeg,
        kind: &str,
        reference: &str,
        now: i64,
    ) -> Result<()> {
        let amount = dec(&d.amount)?;
        let primary = wallet_primary(tx, &d.wallet_id).await?;
        let (settled, pending) = wallet_accounts(&d.wallet_id, &primary, &d.currency);
        let external = external_account(&d.customer_id, &d.network, &d.currency);
        let (from, to) = match leg {
            DepositLeg::Seen => (external, pending),
            DepositLeg::Dropped => (pending, external),
            DepositLeg::Completed => (pending, settled),
        };
        let leg = |account: String, amount| Posting {
            may_go_negative: account.starts_with("external:"),
            account,
            currency: d.currency.clone(),
            amount,
        };
        self.post_tx(tx, kind, reference, &[leg(from, -amount), leg(to, amount)], now).await
    }
}

/// A step of a deposit's life in the ledger (see [`SqlStore::post_deposit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DepositLeg {
    /// Seen on chain (or in the sandbox): pending.
    Seen,
    /// Its block left the chain before it was final.
    Dropped,
    /// Final: credited.
    Completed,
}

pub(super) async fn wallet_primary(tx: &mut sqlx::Transaction<'_, Any>, wallet_id: &str) -> Result<String> {
    sqlx::query_scalar::<Any, String>("SELECT currency FROM wallets WHERE wallet_id = $1")
        .bind(wallet_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

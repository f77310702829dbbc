//! Wallets, deposit addresses and deposits.

use sqlx::{Any, FromRow};

use super::idempotency::apply_effects;
use super::{SORTABLE, SqlStore, dec};
use crate::{
    AddressRow, DepositRow, DeriveFn, Effects, ListQuery, NewAddress, Page, Posting, Result, StoreError, Wallet,
    WalletPatch, WalletStore, WalletView, external_account, wallet_account, wallet_pending_account,
};

const WALLET_COLS: &str = "wallet_id, customer_id, user_id, name, currency, status, created_at, updated_at";
const WALLET_FILTER: &[&str] = &["user_id", "name", "currency", "status"];
const WALLET_SORT: &[&str] = &["created_at", "updated_at", "name"];
const ADDRESS_COLS: &str = "address_id, wallet_id, customer_id, user_id, currency, network, address, family, \
                            derivation_index, derivation_path, status, created_at";
const ADDRESS_FILTER: &[&str] = &["wallet_id", "currency", "network", "address", "status"];
const DEPOSIT_COLS: &str = "deposit_id, wallet_id, customer_id, address_id, address, currency, network, amount, \
                            status, tx_hash, sandbox, created_at, updated_at, completed_at";
const DEPOSIT_FILTER: &[&str] = &["wallet_id", "address", "currency", "network", "status", "tx_hash"];

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

#[async_trait::async_trait]
impl WalletStore for SqlStore {
    async fn create_wallet(&self, w: &Wallet) -> Result<()> {
        self.create_wallet_with(w, &Effects::none()).await
    }

    async fn create_wallet_with(&self, w: &Wallet, fx: &Effects) -> Result<()> {
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
        apply_effects(&mut tx, fx).await?;
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

    async fn balances_by_currency(&self, customer_id: &str, user_id: Option<&str>) -> Result<Vec<(String, String)>> {
        let base = "SELECT w.currency, COALESCE(a.balance, '0') FROM wallets w \
                    LEFT JOIN ledger_accounts a ON a.account = 'wallet:' || w.wallet_id WHERE w.customer_id = $1";
        let rows: Vec<(String, String)> = match user_id {
            Some(u) => {
                sqlx::query_as::<Any, (String, String)>(&format!("{base} AND w.user_id = $2"))
                    .bind(customer_id.to_string())
                    .bind(u.to_string())
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query_as::<Any, (String, String)>(base)
                    .bind(customer_id.to_string())
                    .fetch_all(&self.read)
                    .await?
            }
        };
        let mut sums: std::collections::BTreeMap<String, rust_decimal::Decimal> = Default::default();
        for (currency, balance) in rows {
            let sum = sums.entry(currency).or_default();
            *sum = super::ledger::exact_add(*sum, dec(&balance)?)
                .ok_or_else(|| StoreError::OutOfRange(format!("{customer_id} balances")))?;
        }
        Ok(sums.into_iter().map(|(c, s)| (c, s.normalize().to_string())).collect())
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
                account: external_account(&d.customer_id, &d.network, &d.currency),
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

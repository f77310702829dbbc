//! Withdrawals: each change, its event and its ledger move in one transaction.

use sqlx::{Any, Transaction};

use super::idempotency::apply_effects;
use super::{SqlStore, dec};
use crate::{
    Effects, LedgerMove, ListQuery, Page, Posting, Result, StoreError, WithdrawalChange, WithdrawalEvent,
    WithdrawalRow, WithdrawalStore, external_account, fee_account, wallet_accounts, wallet_hold_account,
};

pub(super) const COLS: &str = "withdrawal_id, customer_id, user_id, wallet_id, currency, network, address, amount, \
                    fee, total, fee_included, memo, status, sub_status, idempotency_key, fingerprint, code_hash, \
                    code_expires_at, code_tries, tx_hash, sandbox, initiator, created_at, updated_at, completed_at, \
                    policy_version, policy_rule, approvals_required, approval_expires_at";
const FILTER: &[&str] = &["user_id", "wallet_id", "currency", "network", "address", "status", "sub_status", "tx_hash"];
const SORT: &[&str] = &["created_at", "updated_at", "completed_at"];
const EVENT_COLS: &str = "withdrawal_id, status, sub_status, actor, detail, at";

#[async_trait::async_trait]
impl WithdrawalStore for SqlStore {
    async fn create_withdrawal(&self, w: &WithdrawalRow, fx: &Effects) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO withdrawals ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)"
        ))
        .bind(w.withdrawal_id.clone())
        .bind(w.customer_id.clone())
        .bind(w.user_id.clone())
        .bind(w.wallet_id.clone())
        .bind(w.currency.clone())
        .bind(w.network.clone())
        .bind(w.address.clone())
        .bind(w.amount.clone())
        .bind(w.fee.clone())
        .bind(w.total.clone())
        .bind(w.fee_included)
        .bind(w.memo.clone())
        .bind(w.status.clone())
        .bind(w.sub_status.clone())
        .bind(w.idempotency_key.clone())
        .bind(w.fingerprint.clone())
        .bind(w.code_hash.clone())
        .bind(w.code_expires_at)
        .bind(w.code_tries)
        .bind(w.tx_hash.clone())
        .bind(w.sandbox)
        .bind(w.initiator.clone())
        .bind(w.created_at)
        .bind(w.updated_at)
        .bind(w.completed_at)
        .bind(w.policy_version)
        .bind(w.policy_rule.clone())
        .bind(w.approvals_required)
        .bind(w.approval_expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "idempotency_key"))?;
        if w.status == "PENDING" {
            self.move_funds(&mut tx, w, "withdrawal-hold", LedgerMove::None, w.created_at).await?;
        }
        insert_event(&mut tx, w, &w.initiator, None, w.created_at).await?;
        apply_effects(&mut tx, fx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn withdrawal(&self, customer_id: &str, withdrawal_id: &str) -> Result<Option<WithdrawalRow>> {
        Ok(sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {COLS} FROM withdrawals WHERE customer_id = $1 AND withdrawal_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(withdrawal_id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn withdrawal_by_key(&self, customer_id: &str, key: &str) -> Result<Option<WithdrawalRow>> {
        // From the writer: a retry right after the first request must see its row.
        Ok(sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {COLS} FROM withdrawals WHERE customer_id = $1 AND idempotency_key = $2"
        ))
        .bind(customer_id.to_string())
        .bind(key.to_string())
        .fetch_optional(&self.write)
        .await?)
    }

    async fn list_withdrawals(
        &self,
        customer_id: &str,
        user_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<WithdrawalRow>> {
        match user_id {
            Some(u) => {
                self.list(COLS, "withdrawals", "customer_id = $1 AND user_id = $2", &[customer_id, u], FILTER, SORT, q)
                    .await
            }
            None => self.list(COLS, "withdrawals", "customer_id = $1", &[customer_id], FILTER, SORT, q).await,
        }
    }

    async fn withdrawal_events(&self, withdrawal_id: &str) -> Result<Vec<WithdrawalEvent>> {
        Ok(sqlx::query_as::<Any, WithdrawalEvent>(&format!(
            "SELECT {EVENT_COLS} FROM withdrawal_events WHERE withdrawal_id = $1 ORDER BY seq"
        ))
        .bind(withdrawal_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn change_withdrawal(&self, c: &WithdrawalChange) -> Result<WithdrawalRow> {
        let mut tx = self.write.begin().await?;
        let after = self.apply_change(&mut tx, c).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn wrong_withdrawal_code(&self, customer_id: &str, withdrawal_id: &str, max_tries: i64) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE withdrawals SET code_tries = code_tries + 1, \
             code_hash = CASE WHEN code_tries + 1 >= $1 THEN NULL ELSE code_hash END \
             WHERE customer_id = $2 AND withdrawal_id = $3",
        )
        .bind(max_tries)
        .bind(customer_id.to_string())
        .bind(withdrawal_id.to_string())
        .execute(&mut *tx)
        .await?;
        let tries = sqlx::query_scalar::<Any, i64>("SELECT code_tries FROM withdrawals WHERE withdrawal_id = $1")
            .bind(withdrawal_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(tries)
    }

    async fn withdrawals_from(&self, address: &str, limit: i64) -> Result<Vec<WithdrawalRow>> {
        let cols = COLS.split(", ").map(|c| format!("x.{}", c.trim())).collect::<Vec<_>>().join(", ");
        Ok(sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {cols} FROM withdrawals x WHERE x.tx_hash IS NOT NULL \
             AND x.status IN ('PENDING', 'COMPLETED') AND EXISTS (SELECT 1 FROM addresses a \
             WHERE a.address = $1 AND a.wallet_id = x.wallet_id AND a.network = x.network) \
             ORDER BY x.seq DESC LIMIT $2"
        ))
        .bind(address.to_string())
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn stale_withdrawals(&self, sub_status: &str, before: i64, limit: i64) -> Result<Vec<WithdrawalRow>> {
        Ok(sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {COLS} FROM withdrawals WHERE sub_status = $1 AND created_at < $2 ORDER BY created_at LIMIT $3"
        ))
        .bind(sub_status.to_string())
        .bind(before)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }
}

impl SqlStore {
    /// [`WithdrawalStore::change_withdrawal`] inside `tx` (a vote decides with it in its own transaction).
    pub(super) async fn apply_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        c: &WithdrawalChange,
    ) -> Result<WithdrawalRow> {
        let w = sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {COLS} FROM withdrawals WHERE customer_id = $1 AND withdrawal_id = $2{}",
            self.lock_suffix()
        ))
        .bind(c.customer_id.clone())
        .bind(c.withdrawal_id.clone())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if !c.from.contains(&w.sub_status) {
            return Err(StoreError::InvalidState(format!("withdrawal is {}/{}", w.status, w.sub_status)));
        }
        let terminal = matches!(c.status.as_str(), "COMPLETED" | "CANCELLED" | "REJECTED" | "FAILED");
        let (code_hash, code_expires_at, code_tries) = match (&c.new_code, c.clear_code) {
            (Some((h, exp)), _) => (Some(h.clone()), Some(*exp), 0),
            (None, true) => (None, None, w.code_tries),
            (None, false) => (w.code_hash.clone(), w.code_expires_at, w.code_tries),
        };
        let r = sqlx::query(
            "UPDATE withdrawals SET status = $1, sub_status = $2, code_hash = $3, code_expires_at = $4, \
             code_tries = $5, tx_hash = COALESCE($6, tx_hash), sandbox = $7, updated_at = $8, \
             completed_at = CASE WHEN $9 = 1 THEN $8 ELSE completed_at END, \
             approval_expires_at = COALESCE($12, approval_expires_at) \
             WHERE withdrawal_id = $10 AND sub_status = $11",
        )
        .bind(c.status.clone())
        .bind(c.sub_status.clone())
        .bind(code_hash)
        .bind(code_expires_at)
        .bind(code_tries)
        .bind(c.tx_hash.clone())
        .bind(i64::from(c.sandbox) | w.sandbox)
        .bind(c.now)
        .bind(i32::from(terminal))
        .bind(w.withdrawal_id.clone())
        .bind(w.sub_status.clone())
        .bind(c.approval_expires_at)
        .execute(&mut **tx)
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::InvalidState("withdrawal changed concurrently; read it again".into()));
        }
        if c.ledger != LedgerMove::None {
            let kind = match c.ledger {
                LedgerMove::Release => "withdrawal-release",
                LedgerMove::Send => "withdrawal-sent",
                LedgerMove::Refund => "withdrawal-refund",
                LedgerMove::None => unreachable!("checked above"),
            };
            self.move_funds(tx, &w, kind, c.ledger, c.now).await?;
        }
        let after =
            sqlx::query_as::<Any, WithdrawalRow>(&format!("SELECT {COLS} FROM withdrawals WHERE withdrawal_id = $1"))
                .bind(w.withdrawal_id.clone())
                .fetch_one(&mut **tx)
                .await?;
        insert_event(tx, &after, &c.actor, c.detail.as_deref(), c.now).await?;
        apply_effects(tx, &c.effects).await?;
        Ok(after)
    }

    /// Post a withdrawal's ledger move (`LedgerMove::None` here means the hold itself) inside `tx`. The ledger's
    /// unique (kind, reference) makes each move happen at most once per withdrawal.
    async fn move_funds(
        &self,
        tx: &mut Transaction<'_, Any>,
        w: &WithdrawalRow,
        kind: &str,
        how: LedgerMove,
        now: i64,
    ) -> Result<()> {
        let primary = sqlx::query_scalar::<Any, String>("SELECT currency FROM wallets WHERE wallet_id = $1")
            .bind(w.wallet_id.clone())
            .fetch_one(&mut **tx)
            .await?;
        let (wallet, _) = wallet_accounts(&w.wallet_id, &primary, &w.currency);
        let hold = wallet_hold_account(&w.wallet_id, &primary, &w.currency);
        let external = external_account(&w.customer_id, &w.network, &w.currency);
        let (amount, fee, total) = (dec(&w.amount)?, dec(&w.fee)?, dec(&w.total)?);
        let leg = |account: &str, amount, may_go_negative| Posting {
            account: account.to_string(),
            currency: w.currency.clone(),
            amount,
            may_go_negative,
        };
        let postings = match how {
            LedgerMove::None => vec![leg(&wallet, -total, false), leg(&hold, total, false)],
            LedgerMove::Release => vec![leg(&hold, -total, false), leg(&wallet, total, false)],
            LedgerMove::Send => vec![
                leg(&hold, -total, false),
                leg(&external, amount, true),
                leg(&fee_account(&w.network, &w.currency), fee, false),
            ],
            LedgerMove::Refund => vec![leg(&external, -amount, true), leg(&wallet, amount, false)],
        };
        let postings: Vec<Posting> = postings.into_iter().filter(|p| !p.amount.is_zero()).collect();
        self.post_tx(tx, kind, &w.withdrawal_id, &postings, now).await
    }
}

pub(super) async fn insert_event(
    tx: &mut Transaction<'_, Any>,
    w: &WithdrawalRow,
    actor: &str,
    detail: Option<&str>,
    at: i64,
) -> Result<()> {
    sqlx::query(&format!("INSERT INTO withdrawal_events ({EVENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
        .bind(w.withdrawal_id.clone())
        .bind(w.status.clone())
        .bind(w.sub_status.clone())
        .bind(actor.to_string())
        .bind(detail.map(String::from))
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

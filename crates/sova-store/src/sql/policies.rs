//! Policies, votes and address books.

use sqlx::Any;

use super::SqlStore;
use super::withdrawals::{COLS, insert_event};
use crate::{
    AddressBookEntry, PolicyRow, PolicyStore, Result, StoreError, VoteOutcome, VoteRow, WithdrawalRow, WithdrawalVote,
};

const POLICY_COLS: &str = "customer_id, version, document, created_by, created_at";
const BOOK_COLS: &str =
    "entry_id, customer_id, user_id, network, address, label, usable_at, status, created_at, updated_at";
const VOTE_COLS: &str = "withdrawal_id, approver, decision, reason, at";

#[async_trait::async_trait]
impl PolicyStore for SqlStore {
    async fn put_policy(&self, customer_id: &str, document: &str, created_by: &str, now: i64) -> Result<PolicyRow> {
        let mut tx = self.write.begin().await?;
        let last = sqlx::query_scalar::<Any, i64>(
            "SELECT COALESCE(MAX(version), 0) FROM withdrawal_policies WHERE customer_id = $1",
        )
        .bind(customer_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let row = PolicyRow {
            customer_id: customer_id.into(),
            version: last + 1,
            document: document.into(),
            created_by: created_by.into(),
            created_at: now,
        };
        sqlx::query(&format!("INSERT INTO withdrawal_policies ({POLICY_COLS}) VALUES ($1, $2, $3, $4, $5)"))
            .bind(row.customer_id.clone())
            .bind(row.version)
            .bind(row.document.clone())
            .bind(row.created_by.clone())
            .bind(row.created_at)
            .execute(&mut *tx)
            .await
            // Two changes at once: the second's version is taken; it may try again.
            .map_err(|e| StoreError::unique(e, "version"))?;
        tx.commit().await?;
        Ok(row)
    }

    async fn policy(&self, customer_id: &str) -> Result<Option<PolicyRow>> {
        Ok(self.policy_versions(customer_id, 1).await?.into_iter().next())
    }

    async fn policy_versions(&self, customer_id: &str, limit: i64) -> Result<Vec<PolicyRow>> {
        Ok(sqlx::query_as::<Any, PolicyRow>(&format!(
            "SELECT {POLICY_COLS} FROM withdrawal_policies WHERE customer_id = $1 ORDER BY version DESC LIMIT $2"
        ))
        .bind(customer_id.to_string())
        .bind(limit)
        .fetch_all(&self.write)
        .await?)
    }

    async fn withdrawn_since(
        &self,
        customer_id: &str,
        scope: &str,
        scope_id: &str,
        currency: &str,
        since: i64,
    ) -> Result<Vec<String>> {
        let col = match scope {
            "user_id" | "wallet_id" | "customer_id" => scope,
            _ => return Err(StoreError::InvalidState(format!("unknown velocity scope {scope}"))),
        };
        Ok(sqlx::query_scalar::<Any, String>(&format!(
            "SELECT amount FROM withdrawals WHERE customer_id = $1 AND {col} = $2 AND currency = $3 \
             AND created_at >= $4 AND status NOT IN ('CANCELLED', 'REJECTED', 'FAILED')"
        ))
        .bind(customer_id.to_string())
        .bind(scope_id.to_string())
        .bind(currency.to_string())
        .bind(since)
        .fetch_all(&self.write)
        .await?)
    }

    async fn add_address(&self, e: &AddressBookEntry) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO address_book ({BOOK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(e.entry_id.clone())
        .bind(e.customer_id.clone())
        .bind(e.user_id.clone())
        .bind(e.network.clone())
        .bind(e.address.clone())
        .bind(e.label.clone())
        .bind(e.usable_at)
        .bind(e.status.clone())
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.write)
        .await
        .map_err(|err| StoreError::unique(err, "address"))?;
        Ok(())
    }

    async fn address_book(&self, customer_id: &str, user_id: &str) -> Result<Vec<AddressBookEntry>> {
        Ok(sqlx::query_as::<Any, AddressBookEntry>(&format!(
            "SELECT {BOOK_COLS} FROM address_book WHERE customer_id = $1 AND user_id = $2 AND status = 'ACTIVE' \
             ORDER BY seq"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn address_entry(
        &self,
        customer_id: &str,
        user_id: &str,
        network: &str,
        address: &str,
    ) -> Result<Option<AddressBookEntry>> {
        Ok(sqlx::query_as::<Any, AddressBookEntry>(&format!(
            "SELECT {BOOK_COLS} FROM address_book WHERE customer_id = $1 AND user_id = $2 AND network = $3 \
             AND address = $4 AND status = 'ACTIVE'"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .bind(network.to_string())
        .bind(address.to_string())
        .fetch_optional(&self.write)
        .await?)
    }

    async fn remove_address(
        &self,
        customer_id: &str,
        user_id: &str,
        entry_id: &str,
        now: i64,
    ) -> Result<AddressBookEntry> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE address_book SET status = 'DELETED', updated_at = $1 \
             WHERE customer_id = $2 AND user_id = $3 AND entry_id = $4 AND status = 'ACTIVE'",
        )
        .bind(now)
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .bind(entry_id.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let e = sqlx::query_as::<Any, AddressBookEntry>(&format!(
            "SELECT {BOOK_COLS} FROM address_book WHERE entry_id = $1"
        ))
        .bind(entry_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(e)
    }

    async fn vote_withdrawal(&self, customer_id: &str, v: &WithdrawalVote) -> Result<VoteOutcome> {
        let mut tx = self.write.begin().await?;
        let w = sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {COLS} FROM withdrawals WHERE customer_id = $1 AND withdrawal_id = $2{}",
            self.lock_suffix()
        ))
        .bind(customer_id.to_string())
        .bind(v.vote.withdrawal_id.clone())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if w.sub_status != "PENDING_APPROVAL" {
            return Err(StoreError::InvalidState(format!("withdrawal is {}/{}", w.status, w.sub_status)));
        }
        if w.approval_expires_at.is_some_and(|exp| v.vote.at >= exp) {
            return Err(StoreError::InvalidState("the approval window has ended".into()));
        }
        sqlx::query(&format!("INSERT INTO withdrawal_approvals ({VOTE_COLS}) VALUES ($1, $2, $3, $4, $5)"))
            .bind(v.vote.withdrawal_id.clone())
            .bind(v.vote.approver.clone())
            .bind(v.vote.decision.clone())
            .bind(v.vote.reason.clone())
            .bind(v.vote.at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "approver"))?;
        let approvals = sqlx::query_scalar::<Any, i64>(
            "SELECT COUNT(*) FROM withdrawal_approvals WHERE withdrawal_id = $1 AND decision = 'APPROVE'",
        )
        .bind(v.vote.withdrawal_id.clone())
        .fetch_one(&mut *tx)
        .await?;
        let decides = v.vote.decision == "REJECT" || approvals >= w.approvals_required;
        let row = if decides {
            self.apply_change(&mut tx, &v.decided).await?
        } else {
            let detail = format!("approved by {} ({approvals} of {})", v.vote.approver, w.approvals_required);
            insert_event(&mut tx, &w, &v.vote.approver, Some(&detail), v.vote.at).await?;
            w
        };
        tx.commit().await?;
        Ok(VoteOutcome { row, approvals, decided: decides })
    }

    async fn withdrawal_votes(&self, withdrawal_id: &str) -> Result<Vec<VoteRow>> {
        Ok(sqlx::query_as::<Any, VoteRow>(&format!(
            "SELECT {VOTE_COLS} FROM withdrawal_approvals WHERE withdrawal_id = $1 ORDER BY seq"
        ))
        .bind(withdrawal_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn expired_approvals(&self, now: i64, limit: i64) -> Result<Vec<WithdrawalRow>> {
        Ok(sqlx::query_as::<Any, WithdrawalRow>(&format!(
            "SELECT {COLS} FROM withdrawals WHERE sub_status = 'PENDING_APPROVAL' AND approval_expires_at < $1 \
             ORDER BY approval_expires_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }
}

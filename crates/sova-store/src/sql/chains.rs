//! Chain watching: blocks, insert-only observations, and the deposits they make, drop, complete or reverse.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlx::{Any, Transaction};

use super::idempotency::apply_effects;
use super::wallets::{ADDRESS_COLS, DEPOSIT_COLS, DepositLeg, wallet_primary};
use super::withdrawals::COLS as WITHDRAWAL_COLS;
use super::{SqlStore, dec};
use crate::{
    AddressRow, ChainBlock, ChainPayment, ChainSend, ChainStore, DepositEventFn, DepositRow, Effects, LeaderLease,
    Posting, Result, SignFn, StoreError, Transitions, WithdrawalChange, WithdrawalEventFn, WithdrawalRow,
    external_account, wallet_accounts,
};

const BLOCK_COLS: &str = "network, height, hash, parent, seen_at";
const SEND_COLS: &str = "withdrawal_id, network, sender, nonce, tx_hash, raw_tx, max_fee_per_gas, \
                         max_priority_fee_per_gas, created_at";

async fn insert_send(tx: &mut Transaction<'static, Any>, s: &ChainSend) -> Result<()> {
    sqlx::query(&format!("INSERT INTO chain_sends ({SEND_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
        .bind(s.withdrawal_id.clone())
        .bind(s.network.clone())
        .bind(s.sender.clone())
        .bind(s.nonce)
        .bind(s.tx_hash.clone())
        .bind(s.raw_tx.clone())
        .bind(s.max_fee_per_gas.clone())
        .bind(s.max_priority_fee_per_gas.clone())
        .bind(s.created_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| StoreError::unique(e, "transaction hash"))?;
    Ok(())
}

/// The advisory lock of `network`'s watcher: "sova" in the high bytes, the network's FNV-1a hash below.
fn lock_key(network: &str) -> i64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in network.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    0x736f_7661_0000_0000 | i64::from(h)
}

/// The ledger reference of a deposit's step in one block: a transaction mined, dropped and mined again makes one
/// ledger transaction per block, and a retried step none.
fn step(d: &DepositRow, block: &str) -> String {
    format!("{}@{block}", d.deposit_id)
}

async fn deposit_by_payment(
    tx: &mut Transaction<'static, Any>,
    network: &str,
    tx_hash: &str,
    index: i64,
) -> Result<Option<DepositRow>> {
    Ok(sqlx::query_as::<Any, DepositRow>(&format!(
        "SELECT {DEPOSIT_COLS} FROM deposits WHERE network = $1 AND tx_hash = $2 AND output_index = $3"
    ))
    .bind(network.to_string())
    .bind(tx_hash.to_string())
    .bind(index)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn set_deposit(tx: &mut Transaction<'static, Any>, d: &DepositRow) -> Result<()> {
    sqlx::query(
        "UPDATE deposits SET status = $1, block_hash = $2, block_height = $3, confirmations = $4, shortfall = $5, \
         updated_at = $6, completed_at = $7 WHERE deposit_id = $8",
    )
    .bind(d.status.clone())
    .bind(d.block_hash.clone())
    .bind(d.block_height)
    .bind(d.confirmations)
    .bind(d.shortfall.clone())
    .bind(d.updated_at)
    .bind(d.completed_at)
    .bind(d.deposit_id.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqlStore {
    /// A `COMPLETED` deposit's block left the chain: take back what the wallet has available of the amount, record
    /// the rest as the shortfall, freeze the wallet.
    async fn reverse_deposit(&self, tx: &mut Transaction<'static, Any>, d: &mut DepositRow, now: i64) -> Result<()> {
        let amount = dec(&d.amount)?;
        let primary = wallet_primary(tx, &d.wallet_id).await?;
        let (settled, _) = wallet_accounts(&d.wallet_id, &primary, &d.currency);
        let held: Option<String> = sqlx::query_scalar::<Any, String>(&format!(
            "SELECT balance FROM ledger_accounts WHERE account = $1{}",
            self.lock_suffix()
        ))
        .bind(settled.clone())
        .fetch_optional(&mut **tx)
        .await?;
        let available =
            held.as_deref().map(Decimal::from_str).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let take = available.unwrap_or_default().max(Decimal::ZERO).min(amount);
        if !take.is_zero() {
            let postings = [
                Posting { account: settled, currency: d.currency.clone(), amount: -take, may_go_negative: false },
                Posting {
                    account: external_account(&d.customer_id, &d.network, &d.currency),
                    currency: d.currency.clone(),
                    amount: take,
                    may_go_negative: true,
                },
            ];
            let block = d.block_hash.clone().unwrap_or_default();
            self.post_tx(tx, "deposit-reversed", &step(d, &block), &postings, now).await?;
        }
        sqlx::query("UPDATE wallets SET status = 'FROZEN', updated_at = $1 WHERE wallet_id = $2")
            .bind(now)
            .bind(d.wallet_id.clone())
            .execute(&mut **tx)
            .await?;
        d.status = "REVERSED".into();
        d.shortfall = Some((amount - take).normalize().to_string());
        d.updated_at = now;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ChainStore for SqlStore {
    async fn chain_try_lead(&self, network: &str) -> Result<Option<Box<dyn LeaderLease>>> {
        self.try_lead(lock_key(network)).await
    }

    async fn chain_head(&self, network: &str) -> Result<Option<ChainBlock>> {
        Ok(sqlx::query_as::<Any, ChainBlock>(&format!(
            "SELECT {BLOCK_COLS} FROM chain_blocks WHERE network = $1 AND orphaned_at IS NULL \
             ORDER BY height DESC LIMIT 1"
        ))
        .bind(network.to_string())
        .fetch_optional(&self.write)
        .await?)
    }

    async fn chain_add_block(
        &self,
        block: &ChainBlock,
        payments: &[ChainPayment],
        event: DepositEventFn<'_>,
    ) -> Result<Transitions> {
        let now = block.seen_at;
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO chain_blocks ({BLOCK_COLS}, orphaned_at) VALUES ($1, $2, $3, $4, $5, NULL) \
             ON CONFLICT (network, hash) DO UPDATE SET orphaned_at = NULL"
        ))
        .bind(block.network.clone())
        .bind(block.height)
        .bind(block.hash.clone())
        .bind(block.parent.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut out = Vec::new();
        let mut fx = Effects::none();
        for p in payments {
            let Some(a) = sqlx::query_as::<Any, AddressRow>(&format!(
                "SELECT {ADDRESS_COLS} FROM addresses WHERE network = $1 AND address = $2 AND currency = $3"
            ))
            .bind(block.network.clone())
            .bind(p.address.clone())
            .bind(p.currency.clone())
            .fetch_optional(&mut *tx)
            .await?
            else {
                continue;
            };
            // An amount the ledger cannot hold exactly (more than 28 significant digits: a token with many
            // decimals, an absurd transfer) is not credited, and does not stop the chain being followed.
            let Ok(amount) = dec(&p.amount) else {
                tracing::error!(network = %block.network, tx_hash = %p.tx_hash, amount = %p.amount,
                    "a payment to an issued address is too large or too precise for the ledger; not credited");
                continue;
            };
            let existing = deposit_by_payment(&mut tx, &block.network, &p.tx_hash, p.index).await?;
            let deposit_id = match existing {
                None => {
                    let mut d = DepositRow::pending(&a, &amount.normalize().to_string(), &p.tx_hash, false, now);
                    d.output_index = Some(p.index);
                    d.block_hash = Some(block.hash.clone());
                    d.block_height = Some(block.height);
                    d.confirmations = 1;
                    let reference = step(&d, &block.hash);
                    self.insert_deposit(&mut tx, &d, "deposit-seen", &reference).await?;
                    fx = fx.with_event(event(&d, "pending", now));
                    let id = d.deposit_id.clone();
                    out.push((d, "pending"));
                    id
                }
                // Mined again after its block left the chain.
                Some(mut d) if d.status == "DROPPED" || d.status == "REVERSED" => {
                    d.status = "PENDING".into();
                    d.block_hash = Some(block.hash.clone());
                    d.block_height = Some(block.height);
                    d.confirmations = 1;
                    d.completed_at = None;
                    d.updated_at = now;
                    set_deposit(&mut tx, &d).await?;
                    let reference = step(&d, &block.hash);
                    self.post_deposit(&mut tx, &d, DepositLeg::Seen, "deposit-seen", &reference, now).await?;
                    fx = fx.with_event(event(&d, "pending", now));
                    let id = d.deposit_id.clone();
                    out.push((d, "pending"));
                    id
                }
                // Already counted in this block (or, inconsistently, in another live one: left as it is).
                Some(d) => d.deposit_id,
            };
            sqlx::query(
                "INSERT INTO chain_observations (network, tx_hash, idx, block_hash, height, address, currency, amount, \
                 deposit_id, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (network, tx_hash, idx, block_hash) DO NOTHING",
            )
            .bind(block.network.clone())
            .bind(p.tx_hash.clone())
            .bind(p.index)
            .bind(block.hash.clone())
            .bind(block.height)
            .bind(p.address.clone())
            .bind(p.currency.clone())
            .bind(p.amount.clone())
            .bind(deposit_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        apply_effects(&mut tx, &fx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn chain_orphan_block(
        &self,
        network: &str,
        hash: &str,
        now: i64,
        event: DepositEventFn<'_>,
    ) -> Result<Transitions> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE chain_blocks SET orphaned_at = $1 WHERE network = $2 AND hash = $3 AND orphaned_at IS NULL",
        )
        .bind(now)
        .bind(network.to_string())
        .bind(hash.to_string())
        .execute(&mut *tx)
        .await?;
        let hit = sqlx::query_as::<Any, DepositRow>(&format!(
            "SELECT {DEPOSIT_COLS} FROM deposits WHERE network = $1 AND block_hash = $2 \
             AND status IN ('PENDING', 'COMPLETED') ORDER BY seq"
        ))
        .bind(network.to_string())
        .bind(hash.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::new();
        let mut fx = Effects::none();
        for mut d in hit {
            let what = if d.status == "PENDING" {
                let reference = step(&d, hash);
                self.post_deposit(&mut tx, &d, DepositLeg::Dropped, "deposit-dropped", &reference, now).await?;
                d.status = "DROPPED".into();
                d.confirmations = 0;
                d.updated_at = now;
                "dropped"
            } else {
                self.reverse_deposit(&mut tx, &mut d, now).await?;
                d.confirmations = 0;
                "reversed"
            };
            set_deposit(&mut tx, &d).await?;
            fx = fx.with_event(event(&d, what, now));
            out.push((d, what));
        }
        apply_effects(&mut tx, &fx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn chain_settle(
        &self,
        network: &str,
        tip: i64,
        final_height: i64,
        now: i64,
        event: DepositEventFn<'_>,
    ) -> Result<Transitions> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE deposits SET confirmations = $1 - block_height + 1 WHERE network = $2 AND status = 'PENDING' \
             AND output_index IS NOT NULL AND block_height <= $1 AND confirmations <> $1 - block_height + 1",
        )
        .bind(tip)
        .bind(network.to_string())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query_as::<Any, DepositRow>(&format!(
            "SELECT {DEPOSIT_COLS} FROM deposits WHERE network = $1 AND status = 'PENDING' \
             AND output_index IS NOT NULL AND block_height <= $2 ORDER BY seq"
        ))
        .bind(network.to_string())
        .bind(final_height)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::new();
        let mut fx = Effects::none();
        for mut d in done {
            let block = d.block_hash.clone().unwrap_or_default();
            self.post_deposit(&mut tx, &d, DepositLeg::Completed, "deposit-completed", &step(&d, &block), now).await?;
            d.status = "COMPLETED".into();
            d.completed_at = Some(now);
            d.updated_at = now;
            set_deposit(&mut tx, &d).await?;
            fx = fx.with_event(event(&d, "completed", now));
            out.push((d, "completed"));
        }
        apply_effects(&mut tx, &fx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn chain_addresses(&self, network: &str, after: i64) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as::<Any, (String, String, i64)>(
            "SELECT address, currency, seq FROM addresses WHERE network = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(network.to_string())
        .bind(after)
        .fetch_all(&self.read)
        .await?)
    }

    async fn chain_withdrawals(&self, network: &str, sub_statuses: &[&str], limit: i64) -> Result<Vec<WithdrawalRow>> {
        let marks: Vec<String> = (0..sub_statuses.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT {WITHDRAWAL_COLS} FROM withdrawals WHERE network = $1 AND sandbox = 0 AND sub_status IN ({}) \
             ORDER BY seq LIMIT $2",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<Any, WithdrawalRow>(&sql).bind(network.to_string()).bind(limit);
        for s in sub_statuses {
            q = q.bind(s.to_string());
        }
        Ok(q.fetch_all(&self.write).await?)
    }

    async fn chain_send(
        &self,
        network: &str,
        sender: &str,
        node_nonce: i64,
        sign: SignFn<'_>,
        change: &WithdrawalChange,
        event: WithdrawalEventFn<'_>,
    ) -> Result<(WithdrawalRow, ChainSend)> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO chain_nonces (network, sender, next_nonce) VALUES ($1, $2, 0) \
             ON CONFLICT (network, sender) DO NOTHING",
        )
        .bind(network.to_string())
        .bind(sender.to_string())
        .execute(&mut *tx)
        .await?;
        let stored: i64 = sqlx::query_scalar::<Any, i64>(&format!(
            "SELECT next_nonce FROM chain_nonces WHERE network = $1 AND sender = $2{}",
            self.lock_suffix()
        ))
        .bind(network.to_string())
        .bind(sender.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let nonce = stored.max(node_nonce);
        let (tx_hash, raw_tx, max_fee, max_priority) = sign(nonce).map_err(|e| {
            tracing::warn!(error = %e, "signing a withdrawal failed");
            StoreError::Conflict("signature")
        })?;
        let send = ChainSend {
            withdrawal_id: change.withdrawal_id.clone(),
            network: network.to_string(),
            sender: sender.to_string(),
            nonce,
            tx_hash: tx_hash.clone(),
            raw_tx,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: max_priority,
            created_at: change.now,
        };
        insert_send(&mut tx, &send).await?;
        sqlx::query("UPDATE chain_nonces SET next_nonce = $1 WHERE network = $2 AND sender = $3")
            .bind(nonce + 1)
            .bind(network.to_string())
            .bind(sender.to_string())
            .execute(&mut *tx)
            .await?;
        let mut c = change.clone();
        c.tx_hash = Some(tx_hash);
        let row = self.apply_change(&mut tx, &c).await?;
        apply_effects(&mut tx, &Effects::none().with_event(event(&row))).await?;
        tx.commit().await?;
        Ok((row, send))
    }

    async fn chain_replace(&self, send: &ChainSend, change: &WithdrawalChange) -> Result<WithdrawalRow> {
        let mut tx = self.write.begin().await?;
        insert_send(&mut tx, send).await?;
        let mut c = change.clone();
        c.tx_hash = Some(send.tx_hash.clone());
        let row = self.apply_change(&mut tx, &c).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn chain_sends(&self, withdrawal_id: &str) -> Result<Vec<ChainSend>> {
        Ok(sqlx::query_as::<Any, ChainSend>(&format!(
            "SELECT {SEND_COLS} FROM chain_sends WHERE withdrawal_id = $1 ORDER BY seq"
        ))
        .bind(withdrawal_id.to_string())
        .fetch_all(&self.write)
        .await?)
    }

    async fn chain_deposit_counts(&self, network: &str) -> Result<(i64, i64)> {
        Ok(sqlx::query_as::<Any, (i64, i64)>(
            "SELECT COALESCE(SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'COMPLETED' THEN 1 ELSE 0 END), 0) \
             FROM deposits WHERE network = $1 AND output_index IS NOT NULL",
        )
        .bind(network.to_string())
        .fetch_one(&self.read)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_keys_differ_per_network() {
        let a = super::lock_key("ethereum");
        let b = super::lock_key("ethereum-sepolia");
        assert_ne!(a, b);
        assert_eq!(a >> 32, 0x736f_7661);
    }
}

//! The EVM sender of one network (`--chain-signer NETWORK=KEYFILE`): it runs inside that network's watcher (so
//! under its lease: one writer per network, hence one nonce sequence) and, each round, after the watcher has
//! settled deposits:
//!
//! 1. sends `QUEUED` withdrawals: the call (value or ERC-20 `transfer`), EIP-1559 fees from the node, the next
//!    nonce (the larger of the stored one and the node's pending count) taken, the transaction signed and stored
//!    and the withdrawal moved to `BROADCASTING` (the hold leaves the wallet) in one database transaction, then
//!    broadcast; a crash after the commit only delays the broadcast to the next round, which sends the stored bytes;
//! 2. tracks `BROADCASTING` and `CONFIRMING` ones by the receipts of every version of their transaction:
//!    mined -> `CONFIRMING`; final (the network's threshold) -> `COMPLETED`, or `FAILED` (`CHAIN_FAILED`: the
//!    amount comes back to the wallet, the fee is kept) if it reverted; gone from the chain after being mined (a
//!    reorg) -> `BROADCASTING` again and rebroadcast; not mined after `--chain-replace-secs` -> replaced (same
//!    nonce, fees raised by at least 12.5%).

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::Address;
use sova_chain::Currency;
use sova_chain::rpc::RpcError;
use sova_chain::send::{Call, EvmNode, Fees, HotWallet};
use sova_store::{ChainSend, Effects, LedgerMove, WithdrawalChange, WithdrawalRow};
use tokio::sync::OnceCell;

use super::watcher::Context;

/// Withdrawals sent or tracked per round.
const BATCH: i64 = 50;

/// One network's hot wallet and what it needs to send.
pub struct Sender {
    network: String,
    wallet: HotWallet,
    node: EvmNode,
    chain_id: OnceCell<u64>,
    tokens: HashMap<Currency, (Address, u32)>,
    replace_after_ms: i64,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("network", &self.network).field("wallet", &self.wallet).finish()
    }
}

/// Why a sender round stopped (the watcher logs it and retries).
#[derive(Debug, thiserror::Error)]
pub enum SendRoundError {
    /// The node.
    #[error("{0}")]
    Rpc(#[from] RpcError),
    /// The database.
    #[error("store: {0}")]
    Store(#[from] sova_store::StoreError),
}

impl Sender {
    /// A sender for `network` through the node at `url`, crediting `tokens` (currency -> contract, decimals).
    pub fn new(
        network: &str,
        wallet: HotWallet,
        url: &str,
        tokens: HashMap<Currency, (Address, u32)>,
        replace_after_ms: i64,
    ) -> Self {
        Self {
            network: network.to_string(),
            wallet,
            node: EvmNode::new(url),
            chain_id: OnceCell::new(),
            tokens,
            replace_after_ms,
        }
    }

    /// The hot wallet's address.
    pub fn address(&self) -> Address {
        self.wallet.address()
    }

    async fn chain_id(&self) -> Result<u64, RpcError> {
        self.chain_id.get_or_try_init(|| self.node.chain_id()).await.copied()
    }

    /// One round: send what is queued, then track what is sent, against the watcher's recorded `head` and the
    /// highest `final_height`.
    pub async fn round(&self, cx: &Context, final_height: i64) -> Result<(), SendRoundError> {
        self.send_queued(cx).await?;
        self.track(cx, final_height).await
    }

    async fn send_queued(&self, cx: &Context) -> Result<(), SendRoundError> {
        let queued = cx.store.chain_withdrawals(&self.network, &["QUEUED"], BATCH).await?;
        if queued.is_empty() {
            return Ok(());
        }
        let chain_id = self.chain_id().await?;
        let sender = self.wallet.address().to_checksum(None);
        for w in queued {
            let Some(currency) = Currency::parse(&w.currency) else { continue };
            let call = match Call::payment(currency, &w.amount, &w.address, self.tokens.get(&currency).copied()) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(network = %self.network, withdrawal_id = %w.withdrawal_id, error = %e,
                        "withdrawal cannot be sent; it stays queued");
                    continue;
                }
            };
            let fees = self.node.fees().await?;
            let node_nonce = i64::try_from(self.node.pending_nonce(self.wallet.address()).await?).unwrap_or(i64::MAX);
            let now = cx.clock.now_ms();
            let mut c = WithdrawalChange::new(
                &w.customer_id,
                &w.withdrawal_id,
                &["QUEUED"],
                ("PENDING", "BROADCASTING"),
                "chain",
                now,
            );
            c.ledger = LedgerMove::Send;
            let sign = |nonce: i64| -> Result<sova_store::SignedSend, String> {
                let nonce = u64::try_from(nonce).map_err(|e| e.to_string())?;
                let s = self.wallet.sign(chain_id, nonce, &call, fees).map_err(|e| e.to_string())?;
                Ok((s.hash, s.raw, fees.max_fee_per_gas.to_string(), fees.max_priority_fee_per_gas.to_string()))
            };
            c.detail = Some(format!("signed by the hot wallet {sender}"));
            let ev = |row: &WithdrawalRow| sova_http::outbox::withdrawal(row, "broadcast", None, now);
            let (row, send) = match cx.store.chain_send(&self.network, &sender, node_nonce, &sign, &c, &ev).await {
                Ok(x) => x,
                // Cancelled (or sent) meanwhile.
                Err(sova_store::StoreError::InvalidState(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            cx.access.outbox.notify_one();
            tracing::info!(network = %self.network, withdrawal_id = %row.withdrawal_id, tx_hash = %send.tx_hash,
                nonce = send.nonce, "withdrawal signed and stored; broadcasting");
            if let Err(e) = self.node.broadcast(&send.raw_tx).await {
                tracing::warn!(network = %self.network, tx_hash = %send.tx_hash, error = %e,
                    "broadcast failed; the stored transaction is sent again next round");
            }
        }
        Ok(())
    }

    async fn track(&self, cx: &Context, final_height: i64) -> Result<(), SendRoundError> {
        for w in cx.store.chain_withdrawals(&self.network, &["BROADCASTING", "CONFIRMING"], BATCH * 4).await? {
            let sends = cx.store.chain_sends(&w.withdrawal_id).await?;
            let Some(latest) = sends.last() else { continue };
            let mut mined = None;
            for s in sends.iter().rev() {
                if let Some(r) = self.node.receipt(&s.tx_hash).await? {
                    mined = Some((s, r));
                    break;
                }
            }
            let now = cx.clock.now_ms();
            let from = &["BROADCASTING", "CONFIRMING"];
            match mined {
                Some((s, r)) => {
                    let height = i64::try_from(r.block_number).unwrap_or(i64::MAX);
                    let mut c = if height <= final_height && r.success {
                        let mut c = WithdrawalChange::new(
                            &w.customer_id,
                            &w.withdrawal_id,
                            from,
                            ("COMPLETED", "CONFIRMED"),
                            "chain",
                            now,
                        );
                        c.detail = Some(format!("final in block {height} ({})", r.block_hash));
                        c
                    } else if height <= final_height {
                        let mut c = WithdrawalChange::new(
                            &w.customer_id,
                            &w.withdrawal_id,
                            from,
                            ("FAILED", "CHAIN_FAILED"),
                            "chain",
                            now,
                        );
                        c.ledger = LedgerMove::Refund;
                        c.detail = Some(format!(
                            "reverted on chain in block {height} ({}): the amount is returned, the fee is kept",
                            r.block_hash
                        ));
                        c
                    } else if w.sub_status == "BROADCASTING" || w.tx_hash.as_deref() != Some(s.tx_hash.as_str()) {
                        let mut c = WithdrawalChange::new(
                            &w.customer_id,
                            &w.withdrawal_id,
                            from,
                            ("PENDING", "CONFIRMING"),
                            "chain",
                            now,
                        );
                        c.detail = Some(format!("mined in block {height} ({})", r.block_hash));
                        c
                    } else {
                        continue;
                    };
                    c.tx_hash = Some(s.tx_hash.clone());
                    let mut after = w.clone();
                    (after.status, after.sub_status, after.tx_hash) =
                        (c.status.clone(), c.sub_status.clone(), Some(s.tx_hash.clone()));
                    let what = match c.status.as_str() {
                        "COMPLETED" => Some("completed"),
                        "FAILED" => Some("failed"),
                        _ => None,
                    };
                    if let Some(what) = what {
                        c.effects = Effects::none().with_event(sova_http::outbox::withdrawal(&after, what, None, now));
                    }
                    self.apply(cx, &c).await?;
                }
                None => {
                    if w.sub_status == "CONFIRMING" {
                        let mut c = WithdrawalChange::new(
                            &w.customer_id,
                            &w.withdrawal_id,
                            from,
                            ("PENDING", "BROADCASTING"),
                            "chain",
                            now,
                        );
                        c.detail = Some("its block left the chain (reorg); sent again".into());
                        self.apply(cx, &c).await?;
                    }
                    if now - latest.created_at >= self.replace_after_ms {
                        self.replace(cx, &w, latest).await?;
                    } else if let Err(e) = self.node.broadcast(&latest.raw_tx).await {
                        tracing::warn!(network = %self.network, tx_hash = %latest.tx_hash, error = %e,
                            "rebroadcast failed; trying again next round");
                    }
                }
            }
        }
        Ok(())
    }

    async fn apply(&self, cx: &Context, c: &WithdrawalChange) -> Result<(), SendRoundError> {
        match cx.store.change_withdrawal(c).await {
            Ok(row) => {
                tracing::info!(network = %self.network, withdrawal_id = %row.withdrawal_id, status = %row.status,
                    sub_status = %row.sub_status, detail = c.detail.as_deref().unwrap_or(""), "withdrawal moved");
                cx.access.outbox.notify_one();
                Ok(())
            }
            Err(sova_store::StoreError::InvalidState(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Not mined for too long: the same nonce again with higher fees (whichever version is mined settles it).
    async fn replace(&self, cx: &Context, w: &WithdrawalRow, latest: &ChainSend) -> Result<(), SendRoundError> {
        let Some(currency) = Currency::parse(&w.currency) else { return Ok(()) };
        let Ok(call) = Call::payment(currency, &w.amount, &w.address, self.tokens.get(&currency).copied()) else {
            return Ok(());
        };
        let old = Fees {
            max_fee_per_gas: latest.max_fee_per_gas.parse().unwrap_or(0),
            max_priority_fee_per_gas: latest.max_priority_fee_per_gas.parse().unwrap_or(0),
        };
        let fees = old.bumped(self.node.fees().await?);
        let nonce = u64::try_from(latest.nonce).unwrap_or(0);
        let signed = match self.wallet.sign(self.chain_id().await?, nonce, &call, fees) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(network = %self.network, error = %e, "signing a replacement failed");
                return Ok(());
            }
        };
        let now = cx.clock.now_ms();
        let send = ChainSend {
            tx_hash: signed.hash.clone(),
            raw_tx: signed.raw.clone(),
            max_fee_per_gas: fees.max_fee_per_gas.to_string(),
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas.to_string(),
            created_at: now,
            ..latest.clone()
        };
        let mut c = WithdrawalChange::new(
            &w.customer_id,
            &w.withdrawal_id,
            &["BROADCASTING"],
            ("PENDING", "BROADCASTING"),
            "chain",
            now,
        );
        c.detail = Some(format!(
            "not mined in time: replaced {} by {} (nonce {nonce}, max fee {} wei/gas)",
            latest.tx_hash, signed.hash, fees.max_fee_per_gas
        ));
        match cx.store.chain_replace(&send, &c).await {
            Ok(_) => {}
            Err(sova_store::StoreError::InvalidState(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(network = %self.network, withdrawal_id = %w.withdrawal_id, old = %latest.tx_hash,
            new = %signed.hash, "stuck withdrawal replaced with higher fees");
        if let Err(e) = self.node.broadcast(&signed.raw).await {
            tracing::warn!(network = %self.network, tx_hash = %signed.hash, error = %e, "broadcast of the replacement failed");
        }
        Ok(())
    }
}

/// A shared sender.
pub type SharedSender = Arc<Sender>;

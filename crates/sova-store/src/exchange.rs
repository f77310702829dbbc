//! Persistence of the exchange surface (seed 002): accounts by master address, the API-key registry, the nonce
//! sets and the matching engine's event log.
//!
//! The engine itself lives in memory (one sequencer); what it needs to survive a restart is its event log, written
//! together with the nonces consumed and the API keys changed by the same group of commands atomically
//! ([`ExchangeStore::ex_commit`]; on PostgreSQL one statement when no key changed). The nonce table's primary key
//! refuses a nonce accepted twice, whoever accepted it first.

use sqlx::FromRow;

use crate::Result;

/// An exchange account.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ExAccount {
    /// Numeric id (`accountID` / `aid`).
    pub account_id: i64,
    /// The master wallet's address, lower-case `0x` hex.
    pub address: String,
    /// `None` for a master account, else the master account's id.
    pub master_id: Option<i64>,
    /// A sub-account's label.
    pub label: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// A registered API key.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ExApiKey {
    /// The master's address, lower-case `0x` hex.
    pub master: String,
    /// The key's name (`X-API-Key`).
    pub name: String,
    /// 1 = EVM.
    pub key_type: i64,
    /// The key's address, lower-case `0x` hex.
    pub public_key: String,
    /// The account id given when it was added.
    pub account_id: i64,
    /// Unix ms, 0 = never.
    pub expires_at: i64,
    /// Unix ms.
    pub created_at: i64,
}

/// One row of the event log.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ExLogRow {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// The sequencer's timestamp of the command (Unix ms).
    pub ts: i64,
    /// The group's events, encoded by the exchange (opaque here).
    pub events: Vec<u8>,
}

/// What one group of commands writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExWrites {
    /// Event-log rows to append.
    pub log: Vec<ExLogRow>,
    /// Nonces accepted: (scope, nonce).
    pub nonces_added: Vec<(String, i64)>,
    /// Nonces that left their scope's 100 highest: (scope, nonce).
    pub nonces_dropped: Vec<(String, i64)>,
    /// API keys to insert (after `keys_removed` are deleted).
    pub keys_added: Vec<ExApiKey>,
    /// API keys to delete: (master, name).
    pub keys_removed: Vec<(String, String)>,
    /// Connect ledger transactions of the group (trades on quotes: the Connect side of the engine's fills).
    pub ledger: Vec<crate::LedgerPost>,
    /// Connect trade orders the group completed.
    pub trades_done: Vec<crate::TradeDone>,
    /// Webhook events of the group (`trade.completed`), put in the outbox by its commit.
    pub events: Vec<crate::OutboxEvent>,
}

impl ExWrites {
    /// Nothing to write?
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
            && self.nonces_added.is_empty()
            && self.nonces_dropped.is_empty()
            && self.keys_added.is_empty()
            && self.keys_removed.is_empty()
            && self.ledger.is_empty()
            && self.trades_done.is_empty()
            && self.events.is_empty()
    }

    /// Drop a nonce added and dropped within the same group from both lists (it never needs to be stored).
    pub fn net_nonces(&mut self) {
        if self.nonces_dropped.is_empty() {
            return;
        }
        let added: std::collections::HashSet<(String, i64)> = self.nonces_added.iter().cloned().collect();
        let both: std::collections::HashSet<(String, i64)> =
            self.nonces_dropped.iter().filter(|d| added.contains(*d)).cloned().collect();
        self.nonces_added.retain(|a| !both.contains(a));
        self.nonces_dropped.retain(|d| !both.contains(d));
    }
}

/// Exchange persistence.
#[async_trait::async_trait]
pub trait ExchangeStore: Send + Sync {
    /// The master account of `address` (lower-case), created with the next free id if absent; `true` if created.
    async fn ex_master_account(&self, address: &str, now: i64) -> Result<(ExAccount, bool)>;
    /// A new sub-account of the master account `master_id`.
    async fn ex_create_sub_account(&self, master_id: i64, label: Option<&str>, now: i64) -> Result<ExAccount>;
    /// Every account (for the sequencer at start).
    async fn ex_accounts(&self) -> Result<Vec<ExAccount>>;
    /// The accounts with an id above `after_id`, in id order (a follower learning new ones).
    async fn ex_accounts_after(&self, after_id: i64) -> Result<Vec<ExAccount>>;
    /// Every registered API key (for the sequencer at start).
    async fn ex_api_keys(&self) -> Result<Vec<ExApiKey>>;
    /// Up to `limit` log rows after `after_seq`, in order.
    async fn ex_log_after(&self, after_seq: i64, limit: i64) -> Result<Vec<ExLogRow>>;
    /// The stored nonces of `scopes`: (scope, nonce) pairs, at most 100 per scope.
    async fn ex_nonces(&self, scopes: &[String]) -> Result<Vec<(String, i64)>>;
    /// Write one group atomically. `Conflict` if a nonce was already stored (accepted elsewhere) or the log
    /// position is taken (another sequencer wrote it).
    async fn ex_commit(&self, w: &ExWrites) -> Result<()>;
    /// Try to become the exchange's leader: on PostgreSQL a session advisory lock on a connection of its own, held
    /// as long as the returned lease lives (a process that dies releases it with its session); on SQLite (one
    /// process) always granted. `None`: another replica leads.
    async fn ex_try_lead(&self) -> Result<Option<Box<dyn LeaderLease>>>;
    /// Record `url` as the leader's address.
    async fn ex_set_leader(&self, url: &str, now: i64) -> Result<()>;
    /// The leader's address and since when (Unix ms), if one was recorded.
    async fn ex_leader(&self) -> Result<Option<(String, i64)>>;
}

/// Leadership of the exchange, held while this value lives.
#[async_trait::async_trait]
pub trait LeaderLease: Send {
    /// Is it still held? (PostgreSQL: the session holding the lock still answers.)
    async fn held(&mut self) -> bool;
}

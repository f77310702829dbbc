//! The event log and its replay: each committed group is one `ex_log` row (its events, postcard-encoded); at start,
//! and after a failed commit, the state is rebuilt from the accounts, the API keys and the log, so memory never
//! holds an effect the database does not.

use std::sync::Arc;
use std::time::Duration;

use sova_store::{ExLogRow, Store};

use crate::catalog::Catalog;
use crate::core::{Core, Touched, note};
use crate::log::decode_group;

/// Rows read from the log at a time.
const REPLAY_BATCH: i64 = 5000;

impl Core {
    /// Replay one logged command's events.
    pub fn replay(&mut self, row: &ExLogRow) -> Result<(), String> {
        self.replay_noting(row, None)
    }

    /// Replay one logged group, noting what it touched (a follower pushes it on its WebSocket feeds).
    pub fn replay_noting(&mut self, row: &ExLogRow, mut touched: Option<&mut Touched>) -> Result<(), String> {
        if row.seq != self.seq + 1 {
            return Err(format!("event log row {} follows {}: a row is missing", row.seq, self.seq));
        }
        let (events, twaps, perps) =
            decode_group(&row.events).map_err(|e| format!("event log row {}: {e}", row.seq))?;
        for ev in &events {
            self.engine.apply_event(ev).map_err(|e| format!("event log row {}: {e}", row.seq))?;
            self.views.apply(ev);
            if let Some(t) = touched.as_deref_mut() {
                note(ev, t);
            }
        }
        if let Some(t) = touched.as_deref_mut() {
            t.events.extend(events.iter().cloned());
        }
        for ev in &twaps {
            self.twaps.apply(ev);
        }
        for ev in &perps {
            self.perps.apply_event(ev).map_err(|e| format!("event log row {} (perps): {e}", row.seq))?;
            self.perps_clock.observe(ev);
            if let Some(t) = touched.as_deref_mut() {
                crate::core::perps::note_perps(&self.perps, ev, t);
            }
        }
        if let Some(t) = touched {
            t.perps.extend(perps);
        }
        self.seq = row.seq;
        self.last_ts = self.last_ts.max(u64::try_from(row.ts).unwrap_or(0));
        Ok(())
    }
}

/// Rebuild the core from the store: accounts, keys, then the event log.
pub async fn load(store: &Arc<dyn Store>, catalog: Arc<Catalog>) -> anyhow::Result<Core> {
    let mut core = Core::new(catalog);
    for a in store.ex_accounts().await? {
        core.add_account(&a);
    }
    for k in store.ex_api_keys().await? {
        core.add_key(&k);
    }
    let started = std::time::Instant::now();
    let mut after = 0;
    loop {
        let rows = store.ex_log_after(after, REPLAY_BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            core.replay(r).map_err(anyhow::Error::msg)?;
        }
        if started.elapsed() > Duration::from_secs(2) {
            tracing::info!(replayed = after, "exchange: replaying the event log");
        }
    }
    if after > 0 {
        tracing::info!(
            events = after,
            ms = started.elapsed().as_millis() as u64,
            "exchange: state rebuilt from the event log"
        );
    }
    Ok(core)
}

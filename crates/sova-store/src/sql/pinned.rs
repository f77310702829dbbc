//! The pinned connection of a serial group writer ([`super::intel::IntelWriter`],
//! [`super::exchange::ExchangeWriter`]).

use std::time::Duration;

use sqlx::{Any, AnyPool};

use crate::Result;

/// A connection kept out of the pool for one serial caller that writes a group per round trip (the Intel biller,
/// the exchange sequencer). sqlx pings every connection it takes back into the pool, a second round trip per
/// statement; a pinned connection is neither acquired nor released per group. After a failed statement the
/// connection is let go (the pool tests it and drops it if broken) and the next group takes another. Like the pool's
/// test on acquire, a connection that sat unused for [`PINNED_IDLE_CHECK`] is pinged before use, so a database
/// restart during a quiet spell costs no failed group.
#[derive(Default)]
pub(super) struct Pinned(std::sync::Mutex<Option<(sqlx::pool::PoolConnection<Any>, std::time::Instant)>>);

/// How long a pinned connection may sit unused before it is tested.
const PINNED_IDLE_CHECK: Duration = Duration::from_secs(10);

/// The pinned connection while its caller uses it; [`PinnedConn::keep`] puts it back after a success.
pub(super) struct PinnedConn<'a> {
    home: &'a Pinned,
    conn: sqlx::pool::PoolConnection<Any>,
}

impl Pinned {
    pub(super) async fn take(&self, pool: &AnyPool) -> Result<PinnedConn<'_>> {
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
    pub(super) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.conn
    }

    /// The statement succeeded: keep the connection for the next group.
    pub(super) fn keep(self) {
        if let Ok(mut slot) = self.home.0.lock() {
            *slot = Some((self.conn, std::time::Instant::now()));
        }
    }
}

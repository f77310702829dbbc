//! Auth-change notifications across replicas (PostgreSQL `NOTIFY`/`LISTEN`).

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::SqlStore;
use crate::{Backend, NotifyStore, Result};

/// PostgreSQL notification channel for auth-cache invalidation.
const AUTH_CHANNEL: &str = "sova_auth";

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

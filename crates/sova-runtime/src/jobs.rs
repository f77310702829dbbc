//! Background jobs: started through one tracker, told to stop by one token, awaited at shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The server's background jobs. Cheap to clone; clones share the tracker and the token.
#[derive(Clone, Default)]
pub struct Jobs {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Jobs {
    /// No jobs yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `job` until it ends or shutdown begins (then it is dropped at its next await point). For jobs that hold
    /// nothing worth finishing: periodic sweeps, listeners.
    pub fn spawn(&self, name: &'static str, job: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => tracing::debug!(job = name, "job stopped"),
                () = job => tracing::debug!(job = name, "job ended"),
            }
        });
    }

    /// Run `job` to its end; it should watch [`Jobs::stopping`] itself (a writer that drains its queue first).
    pub fn spawn_draining(&self, job: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(job);
    }

    /// Resolves when shutdown begins.
    pub fn stopping(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.cancel.clone().cancelled_owned()
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Jobs still running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    /// Whether no job runs.
    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// Tell every job to stop and wait for them, at most `grace`; false if some were still running then.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_stops_and_awaits_every_job() {
        let jobs = Jobs::new();
        jobs.spawn("forever", std::future::pending());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stopping = jobs.stopping();
        jobs.spawn_draining(async move {
            stopping.await;
            let _ = tx.send("drained");
        });
        assert_eq!(jobs.len(), 2);
        assert!(jobs.shutdown(Duration::from_secs(5)).await);
        assert!(jobs.is_empty());
        assert_eq!(rx.await.ok(), Some("drained"));
    }
}

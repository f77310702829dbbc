//! Prometheus metrics: the process-wide recorder and the per-request counters.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The recorder, installed on first use (a second server in the same process, as in tests, reuses it).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// How often [`upkeep`] drains the recorder.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Keep the recorder's memory flat whether or not anyone scrapes `/metrics`: the Prometheus recorder keeps every
/// histogram sample until a render or an upkeep folds it in, so a server nobody scrapes grew by each request's
/// samples. A background job of the server (one per process is enough; a second is harmless).
pub async fn upkeep() {
    let mut tick = tokio::time::interval(UPKEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        prometheus().run_upkeep();
    }
}

/// The text exposition of every metric (`GET /metrics`).
pub fn render() -> String {
    prometheus().render()
}

/// Count one answered request by method, route template and status.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
    metrics::counter!("sova_http_requests_total", &labels).increment(1);
    metrics::histogram!("sova_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

//! Time as the wire shows it: Unix milliseconds and ISO 8601 UTC.

use chrono::{DateTime, SecondsFormat, Utc};

/// Format Unix milliseconds as ISO 8601 UTC with milliseconds (`2026-03-12T00:00:00.000Z`).
pub fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Current Unix milliseconds of the system clock: for what only shows the time (an envelope's `meta.timestamp`).
/// Whatever time decides (expiries, windows) reads the server's injectable [`sova_runtime::Clock`] instead.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

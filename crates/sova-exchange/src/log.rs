//! The event log's format: each committed group's events, postcard-encoded behind a format byte.

use sova_engine::Event;

/// Format byte of an event-log row: postcard (compact, serde) of `Vec<Event>`.
const LOG_POSTCARD: u8 = 1;

/// Encode a group's events for the log.
pub fn encode_events(events: &[Event]) -> Vec<u8> {
    let mut out = vec![LOG_POSTCARD];
    // Encoding into a Vec cannot fail for these types.
    out.extend(postcard::to_allocvec(events).unwrap_or_default());
    out
}

/// Decode a log row.
pub fn decode_events(bytes: &[u8]) -> Result<Vec<Event>, String> {
    match bytes.split_first() {
        Some((&LOG_POSTCARD, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        Some((other, _)) => Err(format!("unknown event-log format {other}")),
        None => Err("empty event-log row".into()),
    }
}

//! The event log's format: each committed group's events, postcard-encoded behind a format byte.
//!
//! Format 1 is the engine's events alone (`Vec<Event>`); format 2 adds the TWAP events of the group
//! (`(Vec<Event>, Vec<TwapEvent>)`). A group without TWAP events is still written in format 1, so a log without
//! TWAPs stays readable by the binaries that predate them.

use sova_engine::Event;

use crate::twap::TwapEvent;

/// Format byte of an event-log row: postcard (compact, serde) of `Vec<Event>`.
const LOG_POSTCARD: u8 = 1;
/// Format byte of a row with TWAP events: postcard of `(Vec<Event>, Vec<TwapEvent>)`.
const LOG_POSTCARD_TWAP: u8 = 2;

/// Encode a group's events for the log.
pub fn encode_events(events: &[Event]) -> Vec<u8> {
    encode_group(events, &[])
}

/// Encode a group's engine and TWAP events for the log.
pub fn encode_group(events: &[Event], twaps: &[TwapEvent]) -> Vec<u8> {
    // Encoding into a Vec cannot fail for these types.
    if twaps.is_empty() {
        let mut out = vec![LOG_POSTCARD];
        out.extend(postcard::to_allocvec(events).unwrap_or_default());
        out
    } else {
        let mut out = vec![LOG_POSTCARD_TWAP];
        out.extend(postcard::to_allocvec(&(events, twaps)).unwrap_or_default());
        out
    }
}

/// Decode a log row's engine events (its TWAP events are dropped; see [`decode_group`]).
pub fn decode_events(bytes: &[u8]) -> Result<Vec<Event>, String> {
    decode_group(bytes).map(|(e, _)| e)
}

/// Decode a log row.
pub fn decode_group(bytes: &[u8]) -> Result<(Vec<Event>, Vec<TwapEvent>), String> {
    match bytes.split_first() {
        Some((&LOG_POSTCARD, rest)) => postcard::from_bytes(rest).map(|e| (e, Vec::new())).map_err(|e| e.to_string()),
        Some((&LOG_POSTCARD_TWAP, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        Some((other, _)) => Err(format!("unknown event-log format {other}")),
        None => Err("empty event-log row".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_round_trip() {
        let events = vec![Event::Deposited { account: 1, coin: 2, amount: 3, ts: 4 }];
        let plain = encode_group(&events, &[]);
        assert_eq!(plain[0], LOG_POSTCARD);
        assert_eq!(decode_group(&plain), Ok((events.clone(), Vec::new())));
        let twaps = vec![TwapEvent::Canceled { id: 5, ts: 6 }];
        let both = encode_group(&events, &twaps);
        assert_eq!(both[0], LOG_POSTCARD_TWAP);
        assert_eq!(decode_group(&both), Ok((events.clone(), twaps)));
        assert_eq!(decode_events(&both), Ok(events));
        assert!(decode_group(&[9]).is_err());
    }
}

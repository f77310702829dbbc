//! The event log's format: each committed group's events, postcard-encoded behind a format byte.
//!
//! Format 1 is the engine's events alone (`Vec<Event>`); format 2 adds the TWAP events of the group
//! (`(Vec<Event>, Vec<TwapEvent>)`). A group without TWAP events is still written in format 1, so a log without
//! TWAPs stays readable by the binaries that predate them. Format 3 adds the perps engine's events
//! (`(Vec<Event>, Vec<TwapEvent>, Vec<sova_perps::Event>)`), written only for groups that have some.

use sova_engine::Event;
use sova_perps::Event as PerpsEvent;

use crate::twap::TwapEvent;

/// Format byte of an event-log row: postcard (compact, serde) of `Vec<Event>`.
const LOG_POSTCARD: u8 = 1;
/// Format byte of a row with TWAP events: postcard of `(Vec<Event>, Vec<TwapEvent>)`.
const LOG_POSTCARD_TWAP: u8 = 2;
/// Format byte of a row with perps events: postcard of `(Vec<Event>, Vec<TwapEvent>, Vec<sova_perps::Event>)`.
const LOG_POSTCARD_PERPS: u8 = 3;

/// One decoded log row: spot engine, TWAP and perps events.
pub type Group = (Vec<Event>, Vec<TwapEvent>, Vec<PerpsEvent>);

/// Encode a group's events for the log.
pub fn encode_events(events: &[Event]) -> Vec<u8> {
    encode_group(events, &[], &[])
}

/// Encode a group's engine, TWAP and perps events for the log (the oldest format that holds them).
pub fn encode_group(events: &[Event], twaps: &[TwapEvent], perps: &[PerpsEvent]) -> Vec<u8> {
    // Encoding into a Vec cannot fail for these types.
    if !perps.is_empty() {
        let mut out = vec![LOG_POSTCARD_PERPS];
        out.extend(postcard::to_allocvec(&(events, twaps, perps)).unwrap_or_default());
        out
    } else if twaps.is_empty() {
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
    decode_group(bytes).map(|(e, _, _)| e)
}

/// Decode a log row.
pub fn decode_group(bytes: &[u8]) -> Result<Group, String> {
    match bytes.split_first() {
        Some((&LOG_POSTCARD, rest)) => {
            postcard::from_bytes(rest).map(|e| (e, Vec::new(), Vec::new())).map_err(|e| e.to_string())
        }
        Some((&LOG_POSTCARD_TWAP, rest)) => postcard::from_bytes(rest)
            .map(|(e, t): (Vec<Event>, Vec<TwapEvent>)| (e, t, Vec::new()))
            .map_err(|e| e.to_string()),
        Some((&LOG_POSTCARD_PERPS, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
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
        let plain = encode_group(&events, &[], &[]);
        assert_eq!(plain[0], LOG_POSTCARD);
        assert_eq!(decode_group(&plain), Ok((events.clone(), Vec::new(), Vec::new())));
        let twaps = vec![TwapEvent::Canceled { id: 5, ts: 6 }];
        let both = encode_group(&events, &twaps, &[]);
        assert_eq!(both[0], LOG_POSTCARD_TWAP);
        assert_eq!(decode_group(&both), Ok((events.clone(), twaps.clone(), Vec::new())));
        assert_eq!(decode_events(&both), Ok(events.clone()));
        let perps = vec![PerpsEvent::TransferredIn { account: 1001, amount: 7, ts: 8 }];
        let all = encode_group(&events, &twaps, &perps);
        assert_eq!(all[0], LOG_POSTCARD_PERPS);
        assert_eq!(decode_group(&all), Ok((events.clone(), twaps, perps)));
        assert_eq!(decode_events(&all), Ok(events));
        assert!(decode_group(&[9]).is_err());
    }
}

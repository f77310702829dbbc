//! Address and Solana value parsers fed arbitrary text and mutations of valid addresses (issue 14, item 12): no
//! panic, and every refusal carries a message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sova_chain::Network;

const VALID: [&str; 3] = [
    "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk",
];

fn candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,120}",
        (0..VALID.len(), 0..64usize, any::<char>(), 0..3u8).prop_map(|(i, at, c, op)| {
            let mut s: Vec<char> = VALID[i].chars().collect();
            let at = at.min(s.len().saturating_sub(1));
            match op {
                0 => s[at] = c,
                1 => s.insert(at, c),
                _ => {
                    s.remove(at);
                }
            }
            s.into_iter().collect()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn addresses(s in candidate()) {
        for net in Network::all() {
            if let Err(e) = sova_chain::validate_address(*net, &s) {
                prop_assert!(!e.to_string().trim().is_empty());
            }
        }
        if let Err(e) = sova_chain::solana::parse_pubkey(&s) {
            prop_assert!(!e.to_string().trim().is_empty());
        }
        let _ = sova_chain::solana::parse_signature(&s);
        let _ = sova_chain::solana::parse_hash(&s);
    }
}

//! Every parser of untrusted input, fed arbitrary bytes and structure-aware mutations of valid inputs
//! (issue 14, item 12): none panics, and every refusal is an error with a message. proptest on stable Rust.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sova_auth::exchange::{
    Action, ApiSignature, Domain, check_chain_header, parse_add_api_key, parse_key_header, parse_nonce_header,
    parse_params,
};
use sova_auth::{cs_hmac, httpsig, siwx, x402};

fn refused<T, E: std::fmt::Display>(r: Result<T, E>) {
    if let Err(e) = r {
        assert!(!e.to_string().trim().is_empty(), "a refusal without a message");
    }
}

/// Valid inputs to mutate: a SIWE challenge, RFC 9421 fields, exchange bodies, an x402 header.
const SIWE: &str = "example.com wants you to sign in with your Ethereum account:\n\
0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n\nSign in to Sova\n\nURI: https://example.com\nVersion: 1\n\
Chain ID: 1\nNonce: 32891756\nIssued At: 2026-12-07T10:00:00Z";
const SIG_INPUT: &str =
    r#"sig1=("@method" "@authority" "@path" "content-digest");created=1618884473;keyid="k1";alg="ed25519""#;
const SIG: &str = "sig1=:dGVzdA==:";
const ORDER: &str = r#"{"accountID":1,"symbolID":1,"orders":[{"clOrdID":"a1","modifier":1,"side":1,"type":1,"timeInForce":1,"price":"100","quantity":"1"}]}"#;
const ADD_KEY: &str =
    r#"{"accountID":1,"name":"bot","type":1,"publicKey":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","expiresAt":0}"#;

/// Byte-level mutations of `base`: flip, insert, delete, truncate, duplicate a slice.
fn mutated(base: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (0..5u8, 0..len.max(1), any::<u8>(), 0..len.max(1)).prop_map(move |(op, at, byte, other)| {
        let mut v = base.as_bytes().to_vec();
        let at = at.min(v.len().saturating_sub(1));
        match op {
            0 => v[at] ^= byte | 1,
            1 => v.insert(at, byte),
            2 => {
                v.remove(at);
            }
            3 => v.truncate(at),
            _ => {
                let (a, b) = (at.min(other), at.max(other));
                let slice = v[a..b].to_vec();
                v.splice(b..b, slice);
            }
        }
        v
    })
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cs_hmac_headers(s in ".{0,80}") {
        refused(cs_hmac::parse_timestamp(&s));
        refused(cs_hmac::decode_signature(&s));
    }

    #[test]
    fn httpsig_fields(input in prop_oneof![mutated(SIG_INPUT), prop::collection::vec(any::<u8>(), 0..200)],
                      sig in prop_oneof![mutated(SIG), prop::collection::vec(any::<u8>(), 0..100)]) {
        refused(httpsig::parse_signature(Some(&input), Some(&sig), None, None));
        refused(httpsig::parse_signature(Some(&input), Some(&sig), Some("sig1"), Some("sova")));
        refused(httpsig::PublicOrigin::parse(&text(&input)));
    }

    #[test]
    fn siwe_messages_and_accounts(m in prop_oneof![mutated(SIWE), ".{0,300}".prop_map(String::into_bytes)]) {
        let s = text(&m);
        refused(siwx::parse_challenge(&s));
        refused(siwx::AccountId::parse(&s));
        refused(siwx::parse_evm_address(&s));
        refused(siwx::parse_solana_address(&s));
        refused(siwx::decode_signature_bytes(&s));
        refused(siwx::decode_eip191_signature(&s));
    }

    #[test]
    fn x402_payment_headers(s in prop_oneof![".{0,400}", "[A-Za-z0-9+/=]{0,600}"]) {
        refused(x402::decode_payment_header(&s));
    }

    #[test]
    fn exchange_bodies(body in prop_oneof![mutated(ORDER), mutated(ADD_KEY), prop::collection::vec(any::<u8>(), 0..300)]) {
        for domain in Domain::ALL {
            for action in Action::ALL {
                refused(parse_params(domain, action, &body));
            }
        }
        refused(parse_add_api_key(&body));
    }

    #[test]
    fn exchange_headers(s in ".{0,140}") {
        refused(ApiSignature::parse(&s));
        refused(parse_key_header(Some(&s)));
        refused(parse_nonce_header(Some(&s)));
        refused(check_chain_header(Some(&s), 286_623));
    }
}

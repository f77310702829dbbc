//! Requests signed by an independent implementation (Python `eth-account`, `tests/independent/sign_eth_account.py`)
//! verify with `sova_auth::exchange`, and libsecp256k1 signing reproduces them byte for byte.
//!
//! Needs `python3` with `eth-account` (`pip install eth-account`); without them the test prints why and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::str::FromStr;

use alloy_primitives::Address;
use serde::Deserialize;
use sova_auth::exchange::*;

#[derive(Debug, Deserialize)]
struct Signed {
    domain: String,
    action: String,
    body: String,
    nonce: u64,
    #[serde(rename = "chainId")]
    chain_id: u64,
    sign: String,
    address: String,
}

const SECRETS: [[u8; 32]; 2] =
    [alloy_primitives::hex!("0123456789012345678901234567890123456789012345678901234567890123"), [0x22; 32]];

/// The script's output for `chain_id`, or `None` (with the reason printed) when it cannot run here.
fn run_script(chain_id: u64) -> Option<Vec<Signed>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/independent/sign_eth_account.py");
    let out = match Command::new("python3").arg(&script).arg(chain_id.to_string()).output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!(
                "SKIPPED exchange_independent: cannot run python3 ({e}); install Python 3 and `pip install eth-account`"
            );
            return None;
        }
    };
    if out.status.code() == Some(3) {
        eprintln!("SKIPPED exchange_independent: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    assert!(out.status.success(), "the script failed: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Signed> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 10, "expected at least 10 signed requests, got {}", lines.len());
    Some(lines)
}

fn check_chain(chain_id: u64) {
    let Some(lines) = run_script(chain_id) else { return };
    let verifier = Verifier::new(chain_id);
    for s in &lines {
        assert_eq!(s.chain_id, chain_id);
        let expected = Address::from_str(&s.address).unwrap();
        let secret = SECRETS.iter().find(|k| address_of(k).unwrap() == expected).expect("a known key");
        let domain = Domain::from_name(&s.domain).unwrap();
        let action = Action::from_name(&s.action).unwrap();
        let key = if action.requires_master() { None } else { Some("bot-1") };
        let headers = verifier
            .parse_headers(Some(&s.sign), key, Some(&s.nonce.to_string()), Some(&s.chain_id.to_string()))
            .unwrap();
        let label = format!("{} {} (chain {chain_id})", s.domain, s.action);

        if action == Action::AddApiKey {
            let got =
                verifier.verify_add_api_key(s.body.as_bytes(), &headers).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(got.signer, expected, "{label}");
            assert_eq!(authorize(action, &got.key, got.signer, expected, None, s.nonce), Ok(Authorized::Master));
            let again = verifier.sign_add_api_key(secret, &got.request, s.nonce).unwrap();
            assert_eq!(again.to_header(), s.sign, "{label}: RFC 6979 signatures must match");
        } else {
            let got = verifier
                .verify_action(domain, action, s.body.as_bytes(), &headers)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(got.signer, expected, "{label}");
            assert_eq!(got.params.canonical_body(), s.body.as_bytes(), "{label}");
            let again = verifier.sign_action(secret, domain, action, s.body.as_bytes(), s.nonce).unwrap();
            assert_eq!(again.to_header(), s.sign, "{label}: RFC 6979 signatures must match");
            // The same request on the other chain recovers someone else.
            let other = Verifier::new(if chain_id == MAINNET_CHAIN_ID { TESTNET_CHAIN_ID } else { MAINNET_CHAIN_ID });
            let elsewhere = other.verify_action(domain, action, s.body.as_bytes(), &headers).unwrap();
            assert_ne!(elsewhere.signer, expected, "{label}");
        }
    }
}

#[test]
fn eth_account_signatures_verify_on_mainnet() {
    check_chain(MAINNET_CHAIN_ID);
}

#[test]
fn eth_account_signatures_verify_on_testnet() {
    check_chain(TESTNET_CHAIN_ID);
}

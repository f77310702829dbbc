//! Challenges issued by `siwx::Challenge` signed by independent implementations (`tests/independent/siwx_sign.py`:
//! PyPI `eth-account` for EIP-191, `cryptography`'s ed25519 for Solana) verify through the sign-endpoint check.
//! Skipped with a message when Python or the libraries are missing, unless `SOVA_REQUIRE_INTEROP=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sova_auth::siwx::{self, AccountId, Challenge, SignedChallenge, SiwxError, verify_signed_challenge};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/independent/siwx_sign.py");

fn python(stdin: &str) -> Option<Value> {
    let required = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let py = std::env::var("SOVA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let skip = |why: String| {
        assert!(!required, "SOVA_REQUIRE_INTEROP=1 but {why}");
        eprintln!("SKIPPED: {why} (pip install -r crates/sova-auth/tests/independent/requirements-siwx.txt)");
        None
    };
    let mut child =
        match Command::new(&py).arg(SCRIPT).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()
        {
            Ok(c) => c,
            Err(e) => return skip(format!("cannot run {py}: {e}")),
        };
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        return skip(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    assert!(out.status.success(), "{py} {SCRIPT} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Hardhat's first development account: a well-known key/address pair.
const HARDHAT_0_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const HARDHAT_0_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

#[test]
fn eth_account_signatures_verify() {
    let issued_at = Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap();
    let keys = [HARDHAT_0_KEY.to_owned(), format!("0x{}", "11".repeat(32)), format!("0x{}", "7f".repeat(32))];
    let mut cases = Vec::new();
    // First pass: ask Python for the addresses (signing an empty text), then issue challenges for them.
    let probe: Vec<Value> = keys.iter().map(|k| json!({"kind": "eip191", "key": k, "text": ""})).collect();
    let Some(addresses) = python(&Value::Array(probe).to_string()) else { return };
    assert_eq!(addresses[0]["address"], HARDHAT_0_ADDRESS);
    for (i, (key, a)) in keys.iter().zip(addresses.as_array().unwrap()).enumerate() {
        let chain = [1u64, 137, 8453][i];
        // Lower-case the CAIP-10 address: the challenge must still show EIP-55.
        let caip10 = format!("eip155:{chain}:{}", a["address"].as_str().unwrap().to_lowercase());
        let account = AccountId::parse(&caip10).unwrap();
        let statement = (i != 1).then_some("Prove you own this account for Sova onboarding.");
        let c = Challenge::new(
            "api.sova.test",
            &account,
            statement,
            "https://api.sova.test/siwx/v1",
            &siwx::new_nonce(),
            issued_at,
        )
        .unwrap();
        assert!(c.text().contains(a["address"].as_str().unwrap()));
        cases.push((key.clone(), caip10, account, c));
    }
    let request: Vec<Value> =
        cases.iter().map(|(k, _, _, c)| json!({"kind": "eip191", "key": k, "text": c.text()})).collect();
    let signed = python(&Value::Array(request).to_string()).unwrap();
    let now = issued_at + chrono::TimeDelta::minutes(5);
    for ((_, caip10, account, c), s) in cases.iter().zip(signed.as_array().unwrap()) {
        let text = c.text();
        assert_eq!(hex::encode(siwx::eip191_hash(text.as_bytes())), s["hash_hex"].as_str().unwrap());
        for sig in [s["signature_b64"].as_str().unwrap(), s["signature_hex"].as_str().unwrap()] {
            let submitted = SignedChallenge { owner_id: caip10, challenge: &c.text_base64(), signature: sig };
            verify_signed_challenge(account, &text, &submitted, now).unwrap_or_else(|e| panic!("{caip10}: {e}"));
        }
        // eth-account's v is 27/28; the 0/1 form verifies too.
        let mut raw = STANDARD.decode(s["signature_b64"].as_str().unwrap()).unwrap();
        raw[64] -= 27;
        let submitted =
            SignedChallenge { owner_id: caip10, challenge: &c.text_base64(), signature: &STANDARD.encode(&raw) };
        verify_signed_challenge(account, &text, &submitted, now).unwrap();
        // Another account's signature over the same challenge is refused.
        let other = &signed[(signed.as_array().unwrap().iter().position(|x| x == s).unwrap() + 1) % 3];
        let submitted = SignedChallenge {
            owner_id: caip10,
            challenge: &c.text_base64(),
            signature: other["signature_b64"].as_str().unwrap(),
        };
        assert!(matches!(verify_signed_challenge(account, &text, &submitted, now), Err(SiwxError::WrongSigner { .. })));
    }
}

#[test]
fn solana_signatures_from_openssl_verify() {
    let issued_at = Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap();
    let seed = "5a".repeat(32);
    let Some(probe) = python(&json!([{"kind": "solana", "key": seed, "text": ""}]).to_string()) else { return };
    let address = probe[0]["address"].as_str().unwrap().to_owned();
    let caip10 = format!("solana:{}:{address}", siwx::SOLANA_MAINNET);
    let account = AccountId::parse(&caip10).unwrap();
    let c = Challenge::new("api.sova.test", &account, Some("Sova"), "https://api.sova.test", "abcdefgh", issued_at)
        .unwrap();
    let signed = python(&json!([{"kind": "solana", "key": seed, "text": c.text()}]).to_string()).unwrap();
    let now = issued_at + chrono::TimeDelta::minutes(5);
    for sig in [signed[0]["signature_b64"].as_str().unwrap(), signed[0]["signature_hex"].as_str().unwrap()] {
        let submitted = SignedChallenge { owner_id: &caip10, challenge: &c.text_base64(), signature: sig };
        verify_signed_challenge(&account, &c.text(), &submitted, now).unwrap();
    }
    // Signed over a different text: refused.
    let other = python(&json!([{"kind": "solana", "key": seed, "text": "other"}]).to_string()).unwrap();
    let submitted = SignedChallenge {
        owner_id: &caip10,
        challenge: &c.text_base64(),
        signature: other[0]["signature_b64"].as_str().unwrap(),
    };
    assert_eq!(verify_signed_challenge(&account, &c.text(), &submitted, now), Err(SiwxError::BadSignature));
}

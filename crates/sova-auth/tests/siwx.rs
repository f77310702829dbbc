//! SIWX challenges: byte-exact rendering, CAIP-10 rules, the spruceid/siwe parsing and verification vectors, EIP-191
//! recovery with every accepted signature encoding and `v`, the sign-endpoint checks, and the Solana profile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use sova_auth::siwx::{
    self, AccountId, Challenge, Namespace, SignedChallenge, SiwxError, parse_challenge, verify_eip191,
    verify_signed_challenge,
};

const ACCOUNT: &str = "eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb";

fn issued_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap() + chrono::TimeDelta::milliseconds(678)
}

#[test]
fn challenge_text_is_byte_exact() {
    let account = AccountId::parse(ACCOUNT).unwrap();
    let c = Challenge::new(
        "api.sova.test",
        &account,
        Some("Verify ownership of this account for Sova."),
        "https://api.sova.test/siwx/v1",
        "bTyXgcQxn2htgkjJn",
        issued_at() + chrono::TimeDelta::microseconds(999),
    )
    .unwrap();
    assert_eq!(
        c.text(),
        "api.sova.test wants you to sign in with your Ethereum account:\n\
         0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb\n\
         \n\
         Verify ownership of this account for Sova.\n\
         \n\
         URI: https://api.sova.test/siwx/v1\n\
         Version: 1\n\
         Chain ID: 1\n\
         Nonce: bTyXgcQxn2htgkjJn\n\
         Issued At: 2024-01-02T03:04:05.678Z\n\
         Expiration Time: 2024-01-02T04:04:05.678Z"
    );
    assert_eq!(STANDARD.decode(c.text_base64()).unwrap(), c.text().as_bytes());
    assert_eq!(c.issued_at, issued_at());

    // No statement: the address is followed by three LFs.
    let lower = AccountId::parse(&ACCOUNT.to_lowercase()).unwrap();
    let c = Challenge::new("api.sova.test", &lower, None, "https://api.sova.test", "abcdefgh", issued_at()).unwrap();
    let text = c.text();
    assert!(text.contains("account:\n0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb\n\n\nURI: https://api.sova.test\n"));
    assert!(!text.ends_with('\n'));
    let parsed = parse_challenge(&text).unwrap();
    assert_eq!(parsed.statement, None);
    assert_eq!(parsed.account_id().unwrap(), account);
    assert_eq!(parsed.nonce, "abcdefgh");
    assert_eq!(parsed.issued_at, issued_at());
    assert_eq!(parsed.expiration_time.unwrap(), issued_at() + chrono::TimeDelta::hours(1));
    parsed.check_time(issued_at()).unwrap();
    assert_eq!(parsed.check_time(issued_at() + chrono::TimeDelta::hours(1)), Err(SiwxError::ChallengeExpired));

    // Other chains use their chain id.
    let polygon = AccountId::parse("eip155:137:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb").unwrap();
    let text = Challenge::new("api.sova.test", &polygon, None, "https://api.sova.test", "abcdefgh", issued_at())
        .unwrap()
        .text();
    assert!(text.contains("\nChain ID: 137\n"));

    let n = siwx::new_nonce();
    assert_eq!(n.len(), siwx::NONCE_LEN);
    assert!(n.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(n, siwx::new_nonce());
}

#[test]
fn challenge_fields_are_validated() {
    let a = AccountId::parse(ACCOUNT).unwrap();
    let ok = |d: &str, s: Option<&str>, u: &str, n: &str| Challenge::new(d, &a, s, u, n, issued_at());
    ok("api.sova.test:8443", Some("a b: c/d?"), "https://api.sova.test/x?y=1#z", "abcdefgh").unwrap();
    ok("[::1]:3000", None, "http://[::1]:3000", "abcdefgh").unwrap();
    for (d, s, u, n) in [
        ("", None, "https://x", "abcdefgh"),
        ("a b", None, "https://x", "abcdefgh"),
        ("#x", None, "https://x", "abcdefgh"),
        ("x", Some("two\nlines"), "https://x", "abcdefgh"),
        ("x", Some(""), "https://x", "abcdefgh"),
        ("x", Some("quote\""), "https://x", "abcdefgh"),
        ("x", None, "not a uri", "abcdefgh"),
        ("x", None, ":nope", "abcdefgh"),
        ("x", None, "https://x", "short"),
        ("x", None, "https://x", "abcdefg!"),
    ] {
        assert!(matches!(ok(d, s, u, n), Err(SiwxError::InvalidChallenge(_))), "{d:?} {s:?} {u:?} {n:?}");
    }
}

#[test]
fn caip10_rules() {
    let a = AccountId::parse(ACCOUNT).unwrap();
    assert_eq!(a.namespace(), Namespace::Eip155);
    assert_eq!(a.reference(), "1");
    assert_eq!(a.chain_id(), "eip155:1");
    assert_eq!(a.eip155_chain_id(), Some(1));
    assert_eq!(a.to_string(), ACCOUNT);
    // Single-case addresses are accepted and canonicalized to EIP-55.
    assert_eq!(AccountId::parse(&ACCOUNT.to_lowercase()).unwrap(), a);
    assert_eq!(AccountId::parse("eip155:1:0xAB16A96D359EC26A11E2C2B3D8F8B8942D5BFCDB").unwrap(), a);
    // Mixed case must be the checksum.
    assert_eq!(
        AccountId::parse("eip155:1:0xAb16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb"),
        Err(SiwxError::BadChecksum("0xAb16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb".into()))
    );
    for bad in [
        "eip155:1",
        "eip155:1:",
        "eip155:01:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "eip155:0:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "eip155:x:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "eip155:1:ab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "eip155:1:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfc",
        "eip155:1:0xzb16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "EIP155:1:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb",
        "solana:mainnet:GmaDrppBC7P5ARKV8g3djiwP89vz1jLK23V2GBjuAEGB",
    ] {
        assert!(matches!(AccountId::parse(bad), Err(SiwxError::InvalidAccountId(_))), "{bad}");
    }
    assert_eq!(
        AccountId::parse("cosmos:cosmoshub-3:cosmos1t2uflqwqe0fsj0shcfkrvpukewcw40yjj6hdc0"),
        Err(SiwxError::UnsupportedNamespace("cosmos".into()))
    );
    let s = AccountId::parse("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:GmaDrppBC7P5ARKV8g3djiwP89vz1jLK23V2GBjuAEGB")
        .unwrap();
    assert_eq!(s.namespace(), Namespace::Solana);
    assert_eq!(s.reference(), siwx::SOLANA_MAINNET);
    assert_eq!(s.eip155_chain_id(), None);
}

fn vectors() -> Value {
    serde_json::from_str(include_str!("siwx_vectors/spruceid_siwe.json")).unwrap()
}

fn ts(v: &Value) -> Option<DateTime<chrono::FixedOffset>> {
    v.as_str().map(|s| DateTime::parse_from_rfc3339(s).unwrap())
}

#[test]
fn spruceid_parsing_positive() {
    let v = vectors();
    for (name, case) in v["parsing_positive"].as_object().unwrap() {
        let f = &case["fields"];
        let m = parse_challenge(case["message"].as_str().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.domain, f["domain"].as_str().unwrap(), "{name}");
        assert_eq!(m.scheme.as_deref(), f["scheme"].as_str(), "{name}");
        assert_eq!(m.address, f["address"].as_str().unwrap(), "{name}");
        assert_eq!(m.statement.as_deref(), f["statement"].as_str(), "{name}");
        assert_eq!(m.uri, f["uri"].as_str().unwrap(), "{name}");
        assert_eq!(m.version, f["version"].as_str().unwrap(), "{name}");
        assert_eq!(m.chain_id, f["chainId"].as_u64().unwrap().to_string(), "{name}");
        assert_eq!(m.nonce, f["nonce"].as_str().unwrap(), "{name}");
        assert_eq!(Some(m.issued_at), ts(&f["issuedAt"]), "{name}");
        assert_eq!(m.expiration_time, ts(&f["expirationTime"]), "{name}");
        assert_eq!(m.not_before, ts(&f["notBefore"]), "{name}");
        assert_eq!(m.request_id.as_deref(), f["requestId"].as_str(), "{name}");
        let resources: Vec<&str> =
            f["resources"].as_array().map(|a| a.iter().map(|r| r.as_str().unwrap()).collect()).unwrap_or_default();
        assert_eq!(m.resources, resources, "{name}");
        assert_eq!(m.namespace, Namespace::Eip155);
        m.account_id().unwrap();
    }
}

#[test]
fn spruceid_parsing_negative() {
    let v = vectors();
    for (name, case) in v["parsing_negative"].as_object().unwrap() {
        let r = parse_challenge(case.as_str().unwrap());
        assert!(matches!(r, Err(SiwxError::InvalidChallenge(_))), "{name}: {r:?}");
    }
    // And a trailing LF or CRLF line ends.
    let ok = v["parsing_positive"]["no optional field"]["message"].as_str().unwrap();
    parse_challenge(ok).unwrap();
    assert!(parse_challenge(&format!("{ok}\n")).is_err());
    assert!(parse_challenge(&ok.replace('\n', "\r\n")).is_err());
}

/// EIP-4361 text from a verification vector's fields (test-side renderer, independent of `Challenge`).
fn render(f: &Value) -> String {
    let mut s = format!(
        "{} wants you to sign in with your Ethereum account:\n{}\n\n",
        f["domain"].as_str().unwrap(),
        f["address"].as_str().unwrap()
    );
    if let Some(st) = f["statement"].as_str() {
        s.push_str(st);
        s.push('\n');
    }
    s.push_str(&format!(
        "\nURI: {}\nVersion: {}\nChain ID: {}\nNonce: {}\nIssued At: {}",
        f["uri"].as_str().unwrap(),
        f["version"].as_str().unwrap(),
        f["chainId"].as_u64().unwrap(),
        f["nonce"].as_str().unwrap(),
        f["issuedAt"].as_str().unwrap()
    ));
    for (key, label) in
        [("expirationTime", "Expiration Time"), ("notBefore", "Not Before"), ("requestId", "Request ID")]
    {
        if let Some(x) = f[key].as_str() {
            s.push_str(&format!("\n{label}: {x}"));
        }
    }
    s
}

fn now_of(f: &Value) -> DateTime<Utc> {
    f["time"].as_str().map(|t| t.parse().unwrap()).unwrap_or_else(|| Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap())
}

#[test]
fn spruceid_verification_positive() {
    let v = vectors();
    for (name, f) in v["verification_positive"].as_object().unwrap() {
        let text = render(f);
        let m = parse_challenge(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        m.check_time(now_of(f)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sig = f["signature"].as_str().unwrap();
        let recovered = verify_eip191(text.as_bytes(), sig).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(recovered.to_checksum(None), f["address"].as_str().unwrap(), "{name}");
        let account = m.account_id().unwrap();
        siwx::verify_signature(&account, text.as_bytes(), sig).unwrap();
        // The same signature as Base64 of the raw bytes.
        let raw = hex::decode(&sig[2..]).unwrap();
        siwx::verify_signature(&account, text.as_bytes(), &STANDARD.encode(&raw)).unwrap();
    }
}

#[test]
fn spruceid_verification_negative() {
    let v = vectors();
    let neg = v["verification_negative"].as_object().unwrap();
    let case = |name: &str| {
        let f = &neg[name];
        let text = render(f);
        (f.clone(), text)
    };
    for name in ["expired message", "custom time"] {
        let (f, text) = case(name);
        assert_eq!(parse_challenge(&text).unwrap().check_time(now_of(&f)), Err(SiwxError::ChallengeExpired), "{name}");
    }
    let (f, text) = case("not yet valid");
    assert_eq!(parse_challenge(&text).unwrap().check_time(now_of(&f)), Err(SiwxError::ChallengeNotYetValid));
    // Domain binding / custom nonce: the signature is valid for its own text; Sova compares the submitted text with
    // the one it issued, so a text naming another domain or nonce is a mismatch.
    for (name, field, want) in [("domain binding", "domain", "domainBinding"), ("custom nonce", "nonce", "matchNonce")]
    {
        let (f, text) = case(name);
        let m = parse_challenge(&text).unwrap();
        let got = if field == "domain" { m.domain } else { m.nonce };
        assert_ne!(got, f[want].as_str().unwrap(), "{name}");
        let mut issued = f.clone();
        issued[field] = f[want].clone();
        let issued_text = render(&issued);
        let account = AccountId::parse(&format!("eip155:1:{}", f["address"].as_str().unwrap())).unwrap();
        let submitted = SignedChallenge {
            owner_id: &account.to_string(),
            challenge: &STANDARD.encode(&text),
            signature: f["signature"].as_str().unwrap(),
        };
        assert_eq!(
            verify_signed_challenge(&account, &issued_text, &submitted, now_of(&f)),
            Err(SiwxError::ChallengeMismatch),
            "{name}"
        );
    }
    let (f, text) = case("malformed signature");
    let account = parse_challenge(&text).unwrap().account_id().unwrap();
    assert!(matches!(
        siwx::verify_signature(&account, text.as_bytes(), f["signature"].as_str().unwrap()),
        Err(SiwxError::MalformedSignature(_))
    ));
    let (f, text) = case("wrong signature");
    let account = parse_challenge(&text).unwrap().account_id().unwrap();
    assert!(matches!(
        siwx::verify_signature(&account, text.as_bytes(), f["signature"].as_str().unwrap()),
        Err(SiwxError::WrongSigner { .. } | SiwxError::BadSignature)
    ));
    for name in ["invalid issuedAt", "invalid notBefore", "invalid expirationTime"] {
        let (_, text) = case(name);
        assert!(matches!(parse_challenge(&text), Err(SiwxError::InvalidChallenge(_))), "{name}");
    }
}

#[test]
fn signature_encodings_and_recovery_byte() {
    let v = vectors();
    let f = &v["verification_positive"]["example message"];
    let text = render(f);
    let want = f["address"].as_str().unwrap();
    let mut raw: [u8; 65] = hex::decode(&f["signature"].as_str().unwrap()[2..]).unwrap().try_into().unwrap();
    assert_eq!(raw[64], 27);
    let encodings = |raw: &[u8; 65]| {
        vec![
            format!("0x{}", hex::encode(raw)),
            format!("0x{}", hex::encode_upper(raw)),
            STANDARD.encode(raw),
            STANDARD.encode(raw).trim_end_matches('=').to_owned(),
            STANDARD.encode(format!("0x{}", hex::encode(raw))),
        ]
    };
    for s in encodings(&raw) {
        assert_eq!(verify_eip191(text.as_bytes(), &s).unwrap().to_checksum(None), want, "{s}");
    }
    raw[64] = 0;
    for s in encodings(&raw) {
        assert_eq!(verify_eip191(text.as_bytes(), &s).unwrap().to_checksum(None), want, "{s}");
    }
    // 28 and 1 recover another key for this signature.
    raw[64] = 1;
    let other = verify_eip191(text.as_bytes(), &STANDARD.encode(raw)).unwrap();
    assert_ne!(other.to_checksum(None), want);
    raw[64] = 28;
    assert_eq!(verify_eip191(text.as_bytes(), &STANDARD.encode(raw)).unwrap(), other);
    for bad_v in [2u8, 26, 29, 37, 38, 255] {
        raw[64] = bad_v;
        assert_eq!(verify_eip191(text.as_bytes(), &STANDARD.encode(raw)), Err(SiwxError::BadRecoveryId(bad_v)));
    }
    for bad in ["", "0x", "0x1234", "not base64!", &STANDARD.encode([1u8; 64]), &STANDARD.encode([1u8; 66])] {
        assert!(matches!(verify_eip191(text.as_bytes(), bad), Err(SiwxError::MalformedSignature(_))), "{bad}");
    }
    // r = 0 is not a valid scalar.
    let mut zero = [0u8; 65];
    zero[64] = 27;
    assert!(verify_eip191(text.as_bytes(), &STANDARD.encode(zero)).is_err());
    // The seed's example signature: Base64 of exactly 65 raw bytes with v = 28.
    let seed = siwx::decode_eip191_signature(
        "IfvwaW1eCqLvQaK0/7YjvK8HBGHWHPclHHQWH4L+w6Q3CFS8CjSzq0h8G8AhzTGMc0xRrik3TyvrDm8t1JtL9Bw=",
    )
    .unwrap();
    assert_eq!(seed[64], 28);
    // Any-length decoding, for ERC-1271 / ERC-6492 contract-wallet checks.
    assert_eq!(siwx::decode_signature_bytes("0x0102").unwrap(), vec![1, 2]);
    assert_eq!(siwx::decode_signature_bytes(&STANDARD.encode([9u8; 100])).unwrap(), vec![9u8; 100]);
    assert_eq!(siwx::decode_signature_bytes(&STANDARD.encode("0x0a0b")).unwrap(), vec![10, 11]);
    for bad in ["", "0x", "0x123", "%%"] {
        assert!(siwx::decode_signature_bytes(bad).is_err(), "{bad}");
    }
    // The EIP-191 hash.
    assert_eq!(
        hex::encode(siwx::eip191_hash(b"hello")),
        "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750"
    );
}

/// Sign an EIP-191 message with libsecp256k1 (test helper; the independent check is `siwx_interop.rs`).
fn sign_eip191(secret: [u8; 32], message: &[u8]) -> String {
    let sk = secp256k1::SecretKey::from_byte_array(secret).unwrap();
    let msg = secp256k1::Message::from_digest(siwx::eip191_hash(message));
    let sig = secp256k1::SECP256K1.sign_ecdsa_recoverable(msg, &sk);
    let (recid, rs) = sig.serialize_compact();
    let mut raw = [0u8; 65];
    raw[..64].copy_from_slice(&rs);
    raw[64] = 27 + u8::try_from(i32::from(recid)).unwrap();
    STANDARD.encode(raw)
}

fn evm_account(secret: [u8; 32]) -> AccountId {
    let sk = secp256k1::SecretKey::from_byte_array(secret).unwrap();
    let pk = secp256k1::PublicKey::from_secret_key_global(&sk).serialize_uncompressed();
    let addr = alloy_primitives::Address::from_raw_public_key(&pk[1..]);
    AccountId::parse(&format!("eip155:1:{addr}")).unwrap()
}

#[test]
fn sign_endpoint_checks() {
    let key = [0x11u8; 32];
    let account = evm_account(key);
    let c = Challenge::new("api.sova.test", &account, Some("Sova"), "https://api.sova.test", "abcdefgh12", issued_at())
        .unwrap();
    let issued = c.text();
    let sig = sign_eip191(key, issued.as_bytes());
    let b64 = c.text_base64();
    let owner = account.to_string();
    let at = issued_at() + chrono::TimeDelta::minutes(59);
    let submit = |owner: &str, challenge: &str, signature: &str, now: DateTime<Utc>| {
        verify_signed_challenge(&account, &issued, &SignedChallenge { owner_id: owner, challenge, signature }, now)
    };
    submit(&owner, &b64, &sig, at).unwrap();
    // ownerId in lower case is the same account.
    submit(&owner.to_lowercase(), &b64, &sig, at).unwrap();
    // Wrong owner.
    let other = evm_account([0x22u8; 32]);
    assert_eq!(submit(&other.to_string(), &b64, &sig, at), Err(SiwxError::OwnerMismatch));
    assert_eq!(submit("eip155:5:".to_owned().as_str(), &b64, &sig, at).unwrap_err().code(), "SIWX_INVALID_ACCOUNT_ID");
    assert_eq!(submit(&format!("eip155:5:{}", account.address()), &b64, &sig, at), Err(SiwxError::OwnerMismatch));
    // Tampered challenge (one byte), or not Base64.
    let tampered = STANDARD.encode(issued.replace("Nonce: abcdefgh12", "Nonce: abcdefgh13"));
    assert_eq!(submit(&owner, &tampered, &sig, at), Err(SiwxError::ChallengeMismatch));
    assert_eq!(submit(&owner, "%%%", &sig, at), Err(SiwxError::ChallengeMalformed));
    // Expired challenge.
    assert_eq!(submit(&owner, &b64, &sig, issued_at() + chrono::TimeDelta::hours(1)), Err(SiwxError::ChallengeExpired));
    // Signature by another key.
    let e = submit(&owner, &b64, &sign_eip191([0x22u8; 32], issued.as_bytes()), at).unwrap_err();
    assert_eq!(e, SiwxError::WrongSigner { recovered: other.address().to_owned() });
    assert_eq!(e.code(), "SIWX_WRONG_SIGNER");
    // Signature over other text by the right key.
    let e = submit(&owner, &b64, &sign_eip191(key, b"something else"), at).unwrap_err();
    assert!(matches!(e, SiwxError::WrongSigner { .. }));
    // Garbage.
    assert!(matches!(submit(&owner, &b64, "zz", at), Err(SiwxError::MalformedSignature(_))));
}

#[test]
fn solana_profile() {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let address = bs58::encode(sk.verifying_key().as_bytes()).into_string();
    let account = AccountId::parse(&format!("solana:{}:{address}", siwx::SOLANA_DEVNET)).unwrap();
    let c = Challenge::new("api.sova.test", &account, None, "https://api.sova.test", "abcdefgh", issued_at()).unwrap();
    let text = c.text();
    assert!(text.starts_with(&format!(
        "api.sova.test wants you to sign in with your Solana account:\n{address}\n\n\nURI: https://api.sova.test\n\
         Version: 1\nChain ID: {}\n",
        siwx::SOLANA_DEVNET
    )));
    let parsed = parse_challenge(&text).unwrap();
    assert_eq!(parsed.namespace, Namespace::Solana);
    assert_eq!(parsed.account_id().unwrap(), account);
    use ed25519_dalek::Signer;
    let sig = sk.sign(text.as_bytes()).to_bytes();
    let at = issued_at() + chrono::TimeDelta::minutes(1);
    for encoded in [STANDARD.encode(sig), bs58::encode(sig).into_string(), format!("0x{}", hex::encode(sig))] {
        let submitted =
            SignedChallenge { owner_id: &account.to_string(), challenge: &c.text_base64(), signature: &encoded };
        verify_signed_challenge(&account, &text, &submitted, at).unwrap();
    }
    let wrong = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]).sign(text.as_bytes()).to_bytes();
    let submitted = SignedChallenge {
        owner_id: &account.to_string(),
        challenge: &c.text_base64(),
        signature: &STANDARD.encode(wrong),
    };
    assert_eq!(verify_signed_challenge(&account, &text, &submitted, at), Err(SiwxError::BadSignature));
    // An Ethereum challenge text is not a Solana one.
    assert!(siwx::verify_solana(text.as_bytes(), &address, "AAAA").is_err());

    // The CAIP-122 Solana namespace document's example message parses.
    let example = "service.org wants you to sign in with your Solana account:\n\
        GwAF45zjfyGzUbd3i3hXxzGeuchzEZXwpRYHZM5912F1\n\n\
        I accept the ServiceOrg Terms of Service: https://service.org/tos\n\n\
        URI: https://service.org/login\nVersion: 1\nChain ID: 1\nNonce: 32891757\n\
        Issued At: 2021-09-30T16:25:24.000Z\nResources:\n\
        - ipfs://Qme7ss3ARVgxv6rXqVPiikMJ8u2NLgmgszg13pYrDKEoiu\n- https://example.com/my-web2-claim.json";
    let m = parse_challenge(example).unwrap();
    assert_eq!(m.namespace, Namespace::Solana);
    assert_eq!(m.address, "GwAF45zjfyGzUbd3i3hXxzGeuchzEZXwpRYHZM5912F1");
    assert_eq!(m.resources.len(), 2);
}

#[test]
fn base64_signatures_starting_with_0x_are_base64() {
    // About one Base64 signature in 4096 starts with "0x"; it must not be taken for hex (found by the load test).
    let secret = [0x42u8; 32];
    let want = evm_account(secret).evm_address().unwrap();
    let (message, sig) = (0u32..200_000)
        .map(|i| format!("message {i}"))
        .map(|m| {
            let s = sign_eip191(secret, m.as_bytes());
            (m, s)
        })
        .find(|(_, s)| s.starts_with("0x"))
        .expect("a Base64 signature starting with 0x");
    assert_eq!(verify_eip191(message.as_bytes(), &sig).unwrap(), want);
    assert_eq!(siwx::decode_signature_bytes(&sig).unwrap(), STANDARD.decode(&sig).unwrap());
    // Real hex still wins.
    let hex_sig = format!("0x{}", hex::encode(STANDARD.decode(&sig).unwrap()));
    assert_eq!(verify_eip191(message.as_bytes(), &hex_sig).unwrap(), want);
}

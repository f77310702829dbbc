//! Sova's RFC 9421 policy (`spec/siwx-httpsig.md`): every violation is refused with its own error, for every
//! algorithm; the `@signature-params` line is the received text verbatim; `@authority` comes from the public origin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};
use sova_auth::digest::{self, DigestError};
use sova_auth::httpsig::{
    self, Algorithm, HttpSigError, Message, Policy, PublicOrigin, SignatureParams, SigningKey, VerifyingKey,
};
use zeroize::Zeroizing;

const NOW: i64 = 1_750_000_000;
const ORIGIN: &str = "https://api.sova.test";
const PATH: &str = "/siwx/v1/customers";
const BODY: &[u8] = br#"{"chainId":"eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb","externalId":"c-1"}"#;

/// RFC 9421 B.1.1 `test-key-rsa` (PKCS#1), used here for rsa-pss-sha512 round trips.
const TEST_KEY_RSA_PRIV: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsP
BRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsd
JKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75
jfZgkne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKI
lE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZ
SFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56
vjgCgkjg3lkO1KrO3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxE
CpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL5934egm6p8DW
+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaA
yRXtK+JGxZpImTq+NHvEWWCu09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKR
Qo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5asI0J
YFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOM
cCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5Csw
DzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1
mwJ5AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RT
qn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2ZbwVOCJCtmRwmnP131lWRYfj67
B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv
9C+celgZd2PW7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bn
f3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAcQWDLRpkGybBcxqZo
81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa
/2IxKzJKWl1BKr2d4xAfR0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAG
IxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtvUvYvF22m
qQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1P
WtP+fG5Q6Dpdz3LRfm+KwBCWFKQjg7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQ
EQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=
-----END RSA PRIVATE KEY-----";

fn signing_keys() -> Vec<(&'static str, SigningKey)> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    vec![
        ("k-ed25519", SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]))),
        (
            "k-p256",
            SigningKey::EcdsaP256Sha256(
                p256::ecdsa::SigningKey::from_bytes(&p256::FieldBytes::from([9u8; 32])).unwrap(),
            ),
        ),
        ("k-hmac", SigningKey::HmacSha256(Zeroizing::new(vec![0x42; 32]))),
        ("k-rsa", SigningKey::RsaPssSha512(rsa::RsaPrivateKey::from_pkcs1_pem(TEST_KEY_RSA_PRIV).unwrap())),
    ]
}

fn ed_key() -> SigningKey {
    SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]))
}

fn sova_components() -> Vec<String> {
    ["@method", "@target-uri", "authorization", "content-digest", "content-type", "idempotency-key"]
        .map(str::to_owned)
        .to_vec()
}

fn base_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("10.0.0.7:8080"));
    h.insert("authorization", HeaderValue::from_static("Bearer sk_test_tenant"));
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("idempotency-key", HeaderValue::from_static("0f9b8f56-3f4e-4c1e-9d0a-0b8f5d1f2c3e"));
    h.insert("content-digest", HeaderValue::from_str(&digest::content_digest_sha256(BODY)).unwrap());
    h
}

fn params(keyid: &str, components: Vec<String>) -> SignatureParams {
    SignatureParams {
        components,
        created: Some(NOW),
        keyid: Some(keyid.to_owned()),
        nonce: Some("n0nce-1".to_owned()),
        ..Default::default()
    }
}

/// Sign the standard POST with `params`, returning the full header map.
fn signed(key: &SigningKey, p: &SignatureParams) -> HeaderMap {
    let mut h = base_headers();
    let origin = PublicOrigin::parse(ORIGIN).unwrap();
    let msg = Message::request(&origin, "POST", PATH, &h);
    let s = httpsig::sign(&msg, "sig1", p, key).unwrap();
    h.insert("signature-input", HeaderValue::from_str(&s.signature_input).unwrap());
    h.insert("signature", HeaderValue::from_str(&s.signature).unwrap());
    h
}

fn run(
    h: &HeaderMap,
    policy: &Policy,
    keyid: &str,
    key: &VerifyingKey,
) -> Result<httpsig::VerifiedSignature, HttpSigError> {
    run_at(h, policy, keyid, key, "POST", PATH)
}

fn run_at(
    h: &HeaderMap,
    policy: &Policy,
    keyid: &str,
    key: &VerifyingKey,
    method: &str,
    target: &str,
) -> Result<httpsig::VerifiedSignature, HttpSigError> {
    let origin = PublicOrigin::parse(ORIGIN).unwrap();
    let msg = Message::request(&origin, method, target, h);
    httpsig::verify(&msg, policy, |id| (id == keyid).then_some(key))
}

#[test]
fn every_algorithm_passes_the_sova_policy() {
    for (keyid, sk) in signing_keys() {
        let mut p = params(keyid, sova_components());
        p.alg = Some(sk.algorithm());
        let h = signed(&sk, &p);
        let v = run(&h, &Policy::sova(NOW, true), keyid, &sk.verifying_key()).unwrap();
        assert_eq!(v.keyid, keyid);
        assert_eq!(v.alg, sk.algorithm());
        assert_eq!(v.nonce.as_deref(), Some("n0nce-1"));
        assert_eq!(v.created, Some(NOW));
        assert_eq!(v.replay_until, Some(NOW + 60));
        // Without `alg` too.
        let h = signed(&sk, &params(keyid, sova_components()));
        run(&h, &Policy::sova(NOW, true), keyid, &sk.verifying_key()).unwrap();
        // Another key of the same algorithm: refused.
        let other = match &sk {
            SigningKey::HmacSha256(_) => SigningKey::HmacSha256(Zeroizing::new(vec![0x43; 32])).verifying_key(),
            SigningKey::Ed25519(_) => {
                SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[8u8; 32])).verifying_key()
            }
            SigningKey::EcdsaP256Sha256(_) => SigningKey::EcdsaP256Sha256(
                p256::ecdsa::SigningKey::from_bytes(&p256::FieldBytes::from([10u8; 32])).unwrap(),
            )
            .verifying_key(),
            SigningKey::RsaPssSha512(_) => rsa_pss_other(),
        };
        assert_eq!(
            run(&h, &Policy::sova(NOW, true), keyid, &other).unwrap_err(),
            HttpSigError::BadSignature,
            "{keyid}"
        );
    }
}

/// RFC 9421 B.1.2 `test-key-rsa-pss` public key: a different RSA key than `test-key-rsa`.
fn rsa_pss_other() -> VerifyingKey {
    VerifyingKey::from_registration(
        Algorithm::RsaPssSha512,
        "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----",
    )
    .unwrap()
}

#[test]
fn missing_component_each() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    for drop in ["@method", "@target-uri", "authorization", "content-digest", "content-type", "idempotency-key"] {
        let comps = sova_components().into_iter().filter(|c| c != drop).collect();
        let h = signed(&sk, &params("k", comps));
        let err = run(&h, &Policy::sova(NOW, true), "k", &vk).unwrap_err();
        assert!(matches!(err, HttpSigError::MissingComponent(ref m) if m.contains(drop)), "{drop}: {err:?}");
        assert_eq!(err.code(), "HTTPSIG_MISSING_COMPONENT");
    }
    // Without a body the body components are not required...
    let comps: Vec<String> = ["@method", "@target-uri", "authorization"].map(str::to_owned).to_vec();
    let h = signed(&sk, &params("k", comps));
    run(&h, &Policy::sova(NOW, false), "k", &vk).unwrap();
    // ... and @authority + @path + @query replace @target-uri, but not partially.
    let comps: Vec<String> = ["@method", "@authority", "@path", "@query", "authorization"].map(str::to_owned).to_vec();
    let h = signed(&sk, &params("k", comps));
    run(&h, &Policy::sova(NOW, false), "k", &vk).unwrap();
    let comps: Vec<String> = ["@method", "@authority", "@path", "authorization"].map(str::to_owned).to_vec();
    let h = signed(&sk, &params("k", comps));
    assert!(matches!(run(&h, &Policy::sova(NOW, false), "k", &vk), Err(HttpSigError::MissingComponent(_))));
    // A `key=` member selection does not count as covering the whole field.
    let mut comps = sova_components();
    comps[3] = r#""content-digest";key="sha-256""#.to_owned();
    let h = signed(&sk, &params("k", comps));
    assert!(matches!(run(&h, &Policy::sova(NOW, true), "k", &vk), Err(HttpSigError::MissingComponent(_))));
}

#[test]
fn created_window_and_expires() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let policy = Policy::sova(NOW, true);
    let at = |created: Option<i64>, expires: Option<i64>| {
        let mut p = params("k", sova_components());
        p.created = created;
        p.expires = expires;
        run(&signed(&sk, &p), &policy, "k", &vk)
    };
    at(Some(NOW - 60), None).unwrap();
    at(Some(NOW + 60), None).unwrap();
    let e = at(Some(NOW - 61), None).unwrap_err();
    assert_eq!(e, HttpSigError::StaleCreated { created: NOW - 61, now: NOW, max_skew: 60 });
    assert_eq!(e.code(), "HTTPSIG_STALE_CREATED");
    assert_eq!(at(Some(NOW + 61), None).unwrap_err().code(), "HTTPSIG_CREATED_IN_FUTURE");
    assert_eq!(at(None, None).unwrap_err(), HttpSigError::MissingCreated);
    assert_eq!(at(Some(NOW - 10), Some(NOW - 1)).unwrap_err(), HttpSigError::Expired { expires: NOW - 1, now: NOW });
    let v = at(Some(NOW - 10), Some(NOW + 5)).unwrap();
    assert_eq!(v.replay_until, Some(NOW + 5));
    // The skew is configurable.
    let mut wide = Policy::sova(NOW, true);
    wide.max_skew_secs = 300;
    let mut p = params("k", sova_components());
    p.created = Some(NOW - 200);
    run(&signed(&sk, &p), &wide, "k", &vk).unwrap();
}

#[test]
fn keyid_alg_and_signature() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let policy = Policy::sova(NOW, true);
    // Unknown keyid.
    let h = signed(&sk, &params("nobody", sova_components()));
    let e = run(&h, &policy, "k", &vk).unwrap_err();
    assert_eq!(e, HttpSigError::UnknownKey("nobody".into()));
    assert_eq!(e.code(), "HTTPSIG_UNKNOWN_KEYID");
    // Missing keyid.
    let mut p = params("k", sova_components());
    p.keyid = None;
    assert_eq!(run(&signed(&sk, &p), &policy, "k", &vk).unwrap_err(), HttpSigError::MissingKeyid);
    // alg naming another algorithm than the key's.
    let mut p = params("k", sova_components());
    p.alg = Some(Algorithm::HmacSha256);
    let e = run(&signed(&sk, &p), &policy, "k", &vk).unwrap_err();
    assert_eq!(e, HttpSigError::AlgMismatch { declared: "hmac-sha256".into(), key: "ed25519" });
    assert_eq!(e.code(), "HTTPSIG_ALG_MISMATCH");
    // An HMAC signature presented for an ed25519 key id (alg confusion without `alg`): fails as a signature.
    let hmac = SigningKey::HmacSha256(Zeroizing::new(vec![1; 32]));
    let h = signed(&hmac, &params("k", sova_components()));
    assert_eq!(run(&h, &policy, "k", &vk).unwrap_err(), HttpSigError::BadSignature);
    // An unknown alg name.
    let mut h = signed(&sk, &params("k", sova_components()));
    let input = h["signature-input"].to_str().unwrap().replace(";nonce=", ";alg=\"rsa-v1_5-sha256\";nonce=");
    h.insert("signature-input", HeaderValue::from_str(&input).unwrap());
    assert_eq!(run(&h, &policy, "k", &vk).unwrap_err(), HttpSigError::UnknownAlgorithm("rsa-v1_5-sha256".into()));
}

#[test]
fn tampering_is_refused() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let policy = Policy::sova(NOW, true);
    let h = signed(&sk, &params("k", sova_components()));
    run(&h, &policy, "k", &vk).unwrap();
    digest::verify_content_digest(h.get("content-digest").map(HeaderValue::as_bytes), BODY).unwrap();

    // Body swapped, digest left: the digest check refuses it.
    let other = br#"{"chainId":"eip155:1:0x0000000000000000000000000000000000000001","externalId":"c-1"}"#;
    assert_eq!(
        digest::verify_content_digest(h.get("content-digest").map(HeaderValue::as_bytes), other),
        Err(DigestError::Mismatch { algorithm: "sha-256" })
    );
    // Body swapped and digest recomputed: the signature refuses it.
    let mut swapped = h.clone();
    swapped.insert("content-digest", HeaderValue::from_str(&digest::content_digest_sha256(other)).unwrap());
    assert_eq!(run(&swapped, &policy, "k", &vk).unwrap_err(), HttpSigError::BadSignature);
    // Another covered header, the method, the target.
    let mut changed = h.clone();
    changed.insert("authorization", HeaderValue::from_static("Bearer sk_test_other"));
    assert_eq!(run(&changed, &policy, "k", &vk).unwrap_err(), HttpSigError::BadSignature);
    assert_eq!(run_at(&h, &policy, "k", &vk, "PUT", PATH).unwrap_err(), HttpSigError::BadSignature);
    assert_eq!(
        run_at(&h, &policy, "k", &vk, "POST", "/siwx/v1/customers?x=1").unwrap_err(),
        HttpSigError::BadSignature
    );
    // A covered header removed.
    let mut removed = h.clone();
    removed.remove("idempotency-key");
    assert_eq!(
        run(&removed, &policy, "k", &vk).unwrap_err(),
        HttpSigError::ComponentAbsent("\"idempotency-key\"".into())
    );
    // The signature parameters (e.g. a later created) are covered too.
    let mut later = h.clone();
    let input =
        later["signature-input"].to_str().unwrap().replace(&format!("created={NOW}"), &format!("created={}", NOW + 1));
    later.insert("signature-input", HeaderValue::from_str(&input).unwrap());
    assert_eq!(run(&later, &policy, "k", &vk).unwrap_err(), HttpSigError::BadSignature);
    // Uncovered headers may change.
    let mut extra = h.clone();
    extra.insert("user-agent", HeaderValue::from_static("x"));
    run(&extra, &policy, "k", &vk).unwrap();
}

#[test]
fn signature_params_are_used_verbatim() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let policy = Policy::sova(NOW, true);
    let origin = PublicOrigin::parse(ORIGIN).unwrap();
    // A Signature-Input with non-canonical (but valid) whitespace: the signer signed exactly this text.
    let value = format!(
        r#"("@method"  "@target-uri" "authorization" "content-digest" "content-type" "idempotency-key");created={NOW};  keyid="k""#
    );
    let mut h = base_headers();
    h.insert("signature-input", HeaderValue::from_str(&format!("sig1={value}")).unwrap());
    h.insert("signature", HeaderValue::from_static("sig1=:AAAA:"));
    let msg = Message::request(&origin, "POST", PATH, &h);
    let sig =
        httpsig::parse_signature(Some(h["signature-input"].as_bytes()), Some(h["signature"].as_bytes()), None, None)
            .unwrap();
    assert_eq!(sig.params_value, value);
    let base = httpsig::signature_base(&msg, &sig.components, &sig.params_value).unwrap();
    assert!(base.ends_with(format!("\"@signature-params\": {value}").as_bytes()));
    // The canonical re-serialization of the same parameters.
    let canonical = format!(
        r#"("@method" "@target-uri" "authorization" "content-digest" "content-type" "idempotency-key");created={NOW};keyid="k""#
    );
    let canonical_base = httpsig::signature_base(&msg, &sig.components, &canonical).unwrap();
    let good = sk.sign(&base);
    h.insert("signature", HeaderValue::from_str(&format!("sig1=:{}:", STANDARD.encode(&good))).unwrap());
    run(&h, &policy, "k", &vk).unwrap();

    // A signature over the canonical re-serialization does not verify against the received text.
    let wrong = sk.sign(&canonical_base);
    h.insert("signature", HeaderValue::from_str(&format!("sig1=:{}:", STANDARD.encode(&wrong))).unwrap());
    assert_eq!(run(&h, &policy, "k", &vk).unwrap_err(), HttpSigError::BadSignature);
}

#[test]
fn public_origin_rebuilds_authority_and_target_uri() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let h = signed(&sk, &params("k", sova_components()));
    // The Host header says 10.0.0.7:8080 (behind the proxy); the signature is over https://api.sova.test.
    assert_eq!(h["host"], "10.0.0.7:8080");
    run(&h, &Policy::sova(NOW, true), "k", &vk).unwrap();
    for (configured, ok) in [
        ("https://API.SOVA.test:443", true),
        ("https://api.sova.test/", true),
        ("http://api.sova.test", false),
        ("https://api.sova.test:8443", false),
        ("http://10.0.0.7:8080", false),
    ] {
        let origin = PublicOrigin::parse(configured).unwrap();
        let msg = Message::request(&origin, "POST", PATH, &h);
        let r = httpsig::verify(&msg, &Policy::sova(NOW, true), |_| Some(&vk));
        assert_eq!(r.is_ok(), ok, "{configured}: {r:?}");
    }
    for bad in ["api.sova.test", "https://", "https://a/b", "https://u@a", "https://a:x", "https://a:70000"] {
        assert_eq!(PublicOrigin::parse(bad).unwrap_err().code(), "HTTPSIG_INVALID_ORIGIN", "{bad}");
    }
    assert_eq!(PublicOrigin::parse("http://[::1]:80").unwrap().authority(), "[::1]");
    assert_eq!(PublicOrigin::parse("http://127.0.0.1:3000").unwrap().authority(), "127.0.0.1:3000");
}

#[test]
fn nonce_is_returned_and_can_be_required() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let mut policy = Policy::sova(NOW, true);
    policy.require_nonce = true;
    let h = signed(&sk, &params("k", sova_components()));
    assert_eq!(run(&h, &policy, "k", &vk).unwrap().nonce.as_deref(), Some("n0nce-1"));
    let mut p = params("k", sova_components());
    p.nonce = None;
    assert_eq!(run(&signed(&sk, &p), &policy, "k", &vk).unwrap_err(), HttpSigError::MissingNonce);
    assert_eq!(HttpSigError::ReplayedNonce.code(), "HTTPSIG_REPLAYED_NONCE");
}

#[test]
fn malformed_and_missing_fields() {
    let sk = ed_key();
    let vk = sk.verifying_key();
    let policy = Policy::sova(NOW, true);
    let good = signed(&sk, &params("k", sova_components()));
    let with = |input: Option<&str>, sig: Option<&str>| {
        let mut h = good.clone();
        h.remove("signature-input");
        h.remove("signature");
        if let Some(i) = input {
            h.insert("signature-input", HeaderValue::from_str(i).unwrap());
        }
        if let Some(s) = sig {
            h.insert("signature", HeaderValue::from_str(s).unwrap());
        }
        run(&h, &policy, "k", &vk).unwrap_err()
    };
    let input = good["signature-input"].to_str().unwrap().to_owned();
    let sig = good["signature"].to_str().unwrap().to_owned();
    assert_eq!(with(None, Some(&sig)), HttpSigError::MissingSignatureInput);
    assert_eq!(with(Some(&input), None), HttpSigError::MissingSignature("sig1".into()));
    assert_eq!(with(Some(&input), Some("other=:AAAA:")), HttpSigError::MissingSignature("sig1".into()));
    for bad in ["sig1=(\"@method\"", "sig1=\"@method\"", "sig1=(@method)", "sig1=(\"@METHOD\");keyid=\"k\"", "Sig1=()"]
    {
        assert!(matches!(with(Some(bad), Some(&sig)), HttpSigError::MalformedSignatureInput(_)), "{bad}");
    }
    for bad in [
        r#"sig1=("@method");created="1";keyid="k""#,
        r#"sig1=("@method");created=-5;keyid="k""#,
        r#"sig1=("@method");keyid=k"#,
    ] {
        assert!(matches!(with(Some(bad), Some(&sig)), HttpSigError::MalformedSignatureInput(_)), "{bad}");
    }
    // Two members with the same label.
    let dup = format!("{input}, {input}");
    assert!(matches!(with(Some(&dup), Some(&sig)), HttpSigError::MalformedSignatureInput(_)));
    for bad in ["sig1=AAAA", "sig1=\"AAAA\"", "sig1=:AAAA", "sig1=(:AAAA:)"] {
        assert!(matches!(with(Some(&input), Some(bad)), HttpSigError::MalformedSignature(_)), "{bad}");
    }
    // Duplicate component, unknown derived component, unsupported parameter, @signature-params listed.
    for (comps, code) in [
        (vec!["@method", "@method"], "HTTPSIG_DUPLICATE_COMPONENT"),
        (vec!["@nope"], "HTTPSIG_UNSUPPORTED_COMPONENT"),
        (vec![r#""authorization";req"#], "HTTPSIG_UNSUPPORTED_COMPONENT"),
        (vec![r#""@method";sf"#], "HTTPSIG_UNSUPPORTED_COMPONENT"),
        (vec![r#""authorization";sf"#], "HTTPSIG_UNSUPPORTED_COMPONENT"),
        (vec!["@signature-params"], "HTTPSIG_UNSUPPORTED_COMPONENT"),
        (vec!["@status"], "HTTPSIG_COMPONENT_ABSENT"),
        (vec![r#""@query-param";name="nope""#], "HTTPSIG_COMPONENT_ABSENT"),
    ] {
        let mut all: Vec<String> = comps.iter().map(|s| (*s).to_owned()).collect();
        all.extend(sova_components());
        let value =
            SignatureParams { components: all, created: Some(NOW), keyid: Some("k".into()), ..Default::default() }
                .serialize()
                .unwrap();
        let e = with(Some(&format!("sig1={value}")), Some(&sig));
        assert_eq!(e.code(), code, "{comps:?}: {e:?}");
    }
    // Several signatures, none chosen; choose by label or by tag.
    let mut p2 = params("k", sova_components());
    p2.tag = Some("sova".into());
    let second = signed(&sk, &p2);
    let both_input =
        format!("{input}, sig2={}", second["signature-input"].to_str().unwrap().trim_start_matches("sig1="));
    let both_sig = format!("{sig}, sig2={}", second["signature"].to_str().unwrap().trim_start_matches("sig1="));
    assert_eq!(with(Some(&both_input), Some(&both_sig)), HttpSigError::MultipleSignatures);
    let mut h = good.clone();
    h.insert("signature-input", HeaderValue::from_str(&both_input).unwrap());
    h.insert("signature", HeaderValue::from_str(&both_sig).unwrap());
    let mut by_tag = policy.clone();
    by_tag.tag = Some("sova".into());
    assert_eq!(run(&h, &by_tag, "k", &vk).unwrap().label, "sig2");
    let mut by_label = policy.clone();
    by_label.label = Some("sig1".into());
    assert_eq!(run(&h, &by_label, "k", &vk).unwrap().label, "sig1");
    by_label.label = Some("sig9".into());
    assert_eq!(run(&h, &by_label, "k", &vk).unwrap_err(), HttpSigError::NoMatchingSignature);
}

#[test]
fn ecdsa_signatures_are_raw_not_der() {
    let sk = p256::ecdsa::SigningKey::from_bytes(&p256::FieldBytes::from([9u8; 32])).unwrap();
    let key = SigningKey::EcdsaP256Sha256(sk.clone());
    let vk = key.verifying_key();
    let h = signed(&key, &params("k", sova_components()));
    run(&h, &Policy::sova(NOW, true), "k", &vk).unwrap();
    let raw =
        STANDARD.decode(h["signature"].to_str().unwrap().trim_start_matches("sig1=:").trim_end_matches(':')).unwrap();
    assert_eq!(raw.len(), 64);
    let der = p256::ecdsa::Signature::from_slice(&raw).unwrap().to_der();
    let mut hd = h.clone();
    hd.insert("signature", HeaderValue::from_str(&format!("sig1=:{}:", STANDARD.encode(der.as_bytes()))).unwrap());
    assert_eq!(run(&hd, &Policy::sova(NOW, true), "k", &vk).unwrap_err(), HttpSigError::BadSignature);
}

#[test]
fn key_registration_formats() {
    use p256::pkcs8::EncodePublicKey;
    // ed25519: raw Base64, DER SPKI Base64, PEM.
    let ed = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let raw = STANDARD.encode(ed.as_bytes());
    let der = ed.to_public_key_der().unwrap();
    let pem = ed.to_public_key_pem(Default::default()).unwrap();
    for text in [raw.clone(), STANDARD.encode(der.as_bytes()), pem] {
        let k = VerifyingKey::from_registration(Algorithm::Ed25519, &text).unwrap();
        assert!(matches!(k, VerifyingKey::Ed25519(v) if v == ed));
    }
    // p256: SEC1 compressed/uncompressed, DER SPKI, PEM.
    let p = *p256::ecdsa::SigningKey::from_bytes(&p256::FieldBytes::from([9u8; 32])).unwrap().verifying_key();
    for text in [
        STANDARD.encode(p.to_encoded_point(true).as_bytes()),
        STANDARD.encode(p.to_encoded_point(false).as_bytes()),
        STANDARD.encode(p.to_public_key_der().unwrap().as_bytes()),
        p.to_public_key_pem(Default::default()).unwrap(),
    ] {
        let k = VerifyingKey::from_registration(Algorithm::EcdsaP256Sha256, &text).unwrap();
        assert!(matches!(k, VerifyingKey::EcdsaP256Sha256(v) if v == p));
    }
    // hmac: Base64 of >= 32 bytes.
    VerifyingKey::from_registration(Algorithm::HmacSha256, &STANDARD.encode([1u8; 32])).unwrap();
    assert!(VerifyingKey::from_registration(Algorithm::HmacSha256, &STANDARD.encode([1u8; 31])).is_err());
    assert!(VerifyingKey::from_registration(Algorithm::HmacSha256, "not base64!").is_err());
    // rsa: SPKI PEM and PKCS#1 PEM (RFC 9421 test keys); a key for the wrong algorithm is refused.
    rsa_pss_other();
    let rsa_pub = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----";
    VerifyingKey::from_registration(Algorithm::RsaPssSha512, rsa_pub).unwrap();
    for (alg, text) in [
        (Algorithm::Ed25519, STANDARD.encode([1u8; 31])),
        (Algorithm::Ed25519, rsa_pub.to_owned()),
        (Algorithm::EcdsaP256Sha256, raw.clone()),
        (Algorithm::RsaPssSha512, raw),
    ] {
        let e = VerifyingKey::from_registration(alg, &text).unwrap_err();
        assert_eq!(e.code(), "HTTPSIG_INVALID_KEY", "{alg}");
    }
    // Debug output never shows an HMAC secret.
    let k = VerifyingKey::from_registration(Algorithm::HmacSha256, &STANDARD.encode([0xAB; 32])).unwrap();
    assert!(!format!("{k:?}").contains("171"));
    assert!(format!("{:?}", SigningKey::HmacSha256(Zeroizing::new(vec![0xAB; 32]))).contains("redacted"));
}

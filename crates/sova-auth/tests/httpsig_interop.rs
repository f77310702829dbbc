//! Interoperability with an independent RFC 9421 implementation, PyPI `http-message-signatures` 3.0
//! (`tests/independent/httpsig_interop.py`): requests it signs pass Sova's policy, and requests Sova signs verify
//! there. Skipped with a message when Python or the library is missing, unless `SOVA_REQUIRE_INTEROP=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use sova_auth::digest;
use sova_auth::httpsig::{
    self, Algorithm, HttpSigError, Message, Policy, PublicOrigin, SignatureParams, SigningKey, VerifyingKey,
};
use zeroize::Zeroizing;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/independent/httpsig_interop.py");

/// Run the script; `None` (after printing why) when the interpreter or its libraries are missing.
fn python(args: &[&str], stdin: Option<&str>) -> Option<Value> {
    let required = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let py = std::env::var("SOVA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let skip = |why: String| {
        assert!(!required, "SOVA_REQUIRE_INTEROP=1 but {why}");
        eprintln!("SKIPPED: {why} (pip install -r crates/sova-auth/tests/independent/requirements-siwx.txt)");
        None
    };
    let mut child = match Command::new(&py)
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return skip(format!("cannot run {py}: {e}")),
    };
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        return skip(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    assert!(out.status.success(), "{py} {SCRIPT} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

const TEST_KEY_ED25519_PUB: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----";
const TEST_KEY_ED25519_PRIV: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----";
const TEST_KEY_ECC_P256_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----";
const TEST_KEY_ECC_P256_PRIV: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFKbhfNZfpDsW43+0+JjUr9K+bTeuxopu653+hBaXGA7oAoGCCqGSM49
AwEHoUQDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM
4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END EC PRIVATE KEY-----";
const TEST_KEY_RSA_PSS_PUB: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----";
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
const TEST_SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

fn public_key(keyid: &str) -> Option<VerifyingKey> {
    let (alg, text) = match keyid {
        "test-key-ed25519" => (Algorithm::Ed25519, TEST_KEY_ED25519_PUB),
        "test-key-ecc-p256" => (Algorithm::EcdsaP256Sha256, TEST_KEY_ECC_P256_PUB),
        "test-key-rsa-pss" => (Algorithm::RsaPssSha512, TEST_KEY_RSA_PSS_PUB),
        "test-shared-secret" => (Algorithm::HmacSha256, TEST_SHARED_SECRET),
        _ => return None,
    };
    Some(VerifyingKey::from_registration(alg, text).unwrap())
}

struct Req {
    origin: PublicOrigin,
    method: String,
    target: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn req_of(v: &Value) -> Req {
    let url = v["url"].as_str().unwrap();
    let (scheme, rest) = url.split_once("://").unwrap();
    let slash = rest.find('/').unwrap_or(rest.len());
    let origin = PublicOrigin::parse(&format!("{scheme}://{}", &rest[..slash])).unwrap();
    let mut headers = HeaderMap::new();
    for kv in v["headers"].as_array().unwrap() {
        let (k, val) = (kv[0].as_str().unwrap(), kv[1].as_str().unwrap());
        headers.append(
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
            HeaderValue::from_str(val).unwrap(),
        );
    }
    Req {
        origin,
        method: v["method"].as_str().unwrap().to_owned(),
        target: rest[slash..].to_owned(),
        headers,
        body: STANDARD.decode(v["body_b64"].as_str().unwrap()).unwrap(),
    }
}

fn verify(r: &Req, now: i64) -> Result<httpsig::VerifiedSignature, HttpSigError> {
    let msg = Message::request(&r.origin, &r.method, &r.target, &r.headers);
    let has_body = !r.body.is_empty();
    if has_body {
        digest::verify_content_digest(r.headers.get("content-digest").map(HeaderValue::as_bytes), &r.body).unwrap();
    }
    httpsig::verify(&msg, &Policy::sova(now, has_body), public_key)
}

#[test]
fn python_signed_requests_pass_the_sova_policy() {
    const CREATED: i64 = 1_750_000_000;
    let Some(signed) = python(&["sign", &CREATED.to_string()], None) else { return };
    let signed = signed.as_array().unwrap();
    assert_eq!(signed.len(), 8);
    for v in signed {
        let alg = v["alg"].as_str().unwrap();
        let mut r = req_of(v);
        let ok = verify(&r, CREATED + 30).unwrap_or_else(|e| panic!("{alg} {}: {e}", r.method));
        assert_eq!(ok.alg.name(), alg);
        assert_eq!(ok.keyid, v["keyid"].as_str().unwrap());
        if r.method == "POST" {
            assert_eq!(ok.nonce.as_deref(), Some(format!("n-{alg}").as_str()));
            // The body swapped under the signature: refused by the digest check...
            let mut other = r.body.clone();
            other[2] ^= 1;
            assert!(
                digest::verify_content_digest(r.headers.get("content-digest").map(HeaderValue::as_bytes), &other)
                    .is_err()
            );
            // ... and by the signature when the digest is swapped too.
            let mut h = r.headers.clone();
            h.insert("content-digest", HeaderValue::from_str(&digest::content_digest_sha256(&other)).unwrap());
            let msg = Message::request(&r.origin, &r.method, &r.target, &h);
            assert_eq!(
                httpsig::verify(&msg, &Policy::sova(CREATED, true), public_key).unwrap_err(),
                HttpSigError::BadSignature
            );
        }
        // Stale at the server's clock.
        assert_eq!(verify(&r, CREATED + 61).unwrap_err().code(), "HTTPSIG_STALE_CREATED");
        // Another Authorization.
        r.headers.insert("authorization", HeaderValue::from_static("Bearer sk_test_mallory"));
        assert_eq!(verify(&r, CREATED).unwrap_err(), HttpSigError::BadSignature, "{alg}");
    }
}

#[test]
fn sova_signed_requests_verify_with_python() {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let now = i64::try_from(now).unwrap();
    let keys = [
        (
            "ed25519",
            "test-key-ed25519",
            SigningKey::Ed25519(ed25519_dalek::SigningKey::from_pkcs8_pem(TEST_KEY_ED25519_PRIV).unwrap()),
        ),
        (
            "ecdsa-p256-sha256",
            "test-key-ecc-p256",
            SigningKey::EcdsaP256Sha256(p256::SecretKey::from_sec1_pem(TEST_KEY_ECC_P256_PRIV).unwrap().into()),
        ),
        (
            "hmac-sha256",
            "test-shared-secret",
            SigningKey::HmacSha256(Zeroizing::new(STANDARD.decode(TEST_SHARED_SECRET).unwrap())),
        ),
        (
            "rsa-pss-sha512",
            "test-key-rsa",
            SigningKey::RsaPssSha512(rsa::RsaPrivateKey::from_pkcs1_pem(TEST_KEY_RSA_PRIV).unwrap()),
        ),
    ];
    let origin = PublicOrigin::parse("https://api.sova.test").unwrap();
    let body =
        br#"{"ownerId":"eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb","challenge":"AA==","signature":"AA=="}"#;
    let mut out = Vec::new();
    for (alg, keyid, key) in &keys {
        let target = "/siwx/v1/customers/6f1c2d9e-0000-4000-8000-000000000001/challenge/sign";
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer sk_test_tenant"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("idempotency-key", HeaderValue::from_static("0f9b8f56-3f4e-4c1e-9d0a-0b8f5d1f2c3e"));
        h.insert("content-digest", HeaderValue::from_str(&digest::content_digest_sha256(body)).unwrap());
        let params = SignatureParams {
            components: [
                "@method",
                "@target-uri",
                "authorization",
                "content-digest",
                "content-type",
                "idempotency-key",
            ]
            .map(str::to_owned)
            .to_vec(),
            created: Some(now),
            keyid: Some((*keyid).to_owned()),
            alg: Some(key.algorithm()),
            nonce: Some(format!("sova-{alg}")),
            ..Default::default()
        };
        let msg = Message::request(&origin, "POST", target, &h);
        let s = httpsig::sign(&msg, "sig1", &params, key).unwrap();
        let mut headers: Vec<Value> = h.iter().map(|(k, v)| json!([k.as_str(), v.to_str().unwrap()])).collect();
        headers.push(json!(["Signature-Input", s.signature_input]));
        headers.push(json!(["Signature", s.signature]));
        out.push(json!({
            "alg": alg, "keyid": keyid, "method": "POST", "url": format!("https://api.sova.test{target}"),
            "headers": headers, "body_b64": STANDARD.encode(body),
        }));
        // A GET signed with @authority + @path + @query.
        let h = {
            let mut h = HeaderMap::new();
            h.insert("authorization", HeaderValue::from_static("Bearer sk_test_tenant"));
            h
        };
        let target = "/siwx/v1/customers/6f1c2d9e-0000-4000-8000-000000000001/challenge?x=a%20b";
        let params = SignatureParams {
            components: ["@method", "@authority", "@path", "@query", "authorization"].map(str::to_owned).to_vec(),
            created: Some(now),
            keyid: Some((*keyid).to_owned()),
            ..Default::default()
        };
        let s = httpsig::sign(&Message::request(&origin, "GET", target, &h), "sova", &params, key).unwrap();
        out.push(json!({
            "alg": alg, "keyid": keyid, "method": "GET", "url": format!("https://api.sova.test{target}"),
            "headers": [["Authorization", "Bearer sk_test_tenant"], ["Signature-Input", s.signature_input], ["Signature", s.signature]],
            "body_b64": "",
        }));
    }
    let Some(results) = python(&["verify"], Some(&Value::Array(out).to_string())) else { return };
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 8);
    for r in results {
        assert_eq!(r["ok"], json!(true), "{r}");
    }
}

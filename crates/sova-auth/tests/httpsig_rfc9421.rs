//! RFC 9421 appendix B vectors: B.2.1-B.2.4 verified, B.2.5 and B.2.6 signed (byte-identical) and verified, plus the
//! section 3/4 examples that use the same test message. Keys and messages are copied from RFC 9421 appendix B.1 and
//! B.2 (as also shipped by PyPI `http-message-signatures` 3.0's test suite).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use http::{HeaderMap, HeaderName, HeaderValue};
use sova_auth::httpsig::{
    self, Algorithm, HttpSigError, Message, Policy, PublicOrigin, SignatureParams, SigningKey, VerifyingKey,
};
use zeroize::Zeroizing;

/// B.1.1 `test-key-rsa` public key (PKCS#1).
const TEST_KEY_RSA_PUB: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----";

/// B.1.2 `test-key-rsa-pss` public key (SPKI).
const TEST_KEY_RSA_PSS_PUB: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----";

/// B.1.3 `test-key-ecc-p256` public key (SPKI).
const TEST_KEY_ECC_P256_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----";

/// B.1.4 `test-key-ed25519`.
const TEST_KEY_ED25519_PUB: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----";
const TEST_KEY_ED25519_PRIV: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----";

/// B.1.5 `test-shared-secret` (Base64).
const TEST_SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

const CREATED: i64 = 1_618_884_473;

fn headers(lines: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in lines {
        h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

/// The B.2 test request: `POST /foo?param=Value&Pet=dog` to `example.com`, body `{"hello": "world"}`.
fn test_request_headers() -> HeaderMap {
    headers(&[
        ("host", "example.com"),
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", "application/json"),
        (
            "content-digest",
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        ),
        ("content-length", "18"),
    ])
}

/// The B.2 test response: `200 OK`, body `{"message": "good dog"}`.
fn test_response_headers() -> HeaderMap {
    headers(&[
        ("date", "Tue, 20 Apr 2021 02:07:56 GMT"),
        ("content-type", "application/json"),
        (
            "content-digest",
            "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:",
        ),
        ("content-length", "23"),
    ])
}

fn origin() -> PublicOrigin {
    PublicOrigin::parse("https://example.com").unwrap()
}

fn key(alg: Algorithm, text: &str) -> VerifyingKey {
    VerifyingKey::from_registration(alg, text).unwrap()
}

/// Verify `input` / `signature` on `msg` with `key`, with the clock at the vectors' `created`.
fn check(msg_headers: &HeaderMap, response: bool, input: &str, signature: &str, key: &VerifyingKey) {
    let mut h = msg_headers.clone();
    h.insert("signature-input", HeaderValue::from_str(input).unwrap());
    h.insert("signature", HeaderValue::from_str(signature).unwrap());
    let o = origin();
    let msg = if response {
        Message::response(200, &h)
    } else {
        Message::request(&o, "POST", "/foo?param=Value&Pet=dog", &h)
    };
    let policy = Policy::lenient(CREATED, 60);
    let v = httpsig::verify(&msg, &policy, |_| Some(key)).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(v.created, Some(CREATED));

    // Any change to the signature breaks it.
    let mut bad = h.clone();
    let raw = signature.split_once("=:").unwrap().1.trim_end_matches(':');
    let mut bytes = STANDARD.decode(raw).unwrap();
    bytes[5] ^= 1;
    let label = signature.split_once('=').unwrap().0;
    bad.insert("signature", HeaderValue::from_str(&format!("{label}=:{}:", STANDARD.encode(bytes))).unwrap());
    let msg = if response {
        Message::response(200, &bad)
    } else {
        Message::request(&o, "POST", "/foo?param=Value&Pet=dog", &bad)
    };
    assert_eq!(httpsig::verify(&msg, &policy, |_| Some(key)).unwrap_err(), HttpSigError::BadSignature);
}

#[test]
fn b_2_1_minimal_rsa_pss() {
    check(
        &test_request_headers(),
        false,
        r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
        "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
        &key(Algorithm::RsaPssSha512, TEST_KEY_RSA_PSS_PUB),
    );
}

#[test]
fn b_2_2_selective_rsa_pss() {
    check(
        &test_request_headers(),
        false,
        r#"sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#,
        "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
        &key(Algorithm::RsaPssSha512, TEST_KEY_RSA_PSS_PUB),
    );
}

#[test]
fn b_2_3_full_coverage_rsa_pss() {
    check(
        &test_request_headers(),
        false,
        r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
        "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
        &key(Algorithm::RsaPssSha512, TEST_KEY_RSA_PSS_PUB),
    );
}

#[test]
fn b_2_4_response_ecdsa_p256() {
    check(
        &test_response_headers(),
        true,
        r#"sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256""#,
        "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:",
        &key(Algorithm::EcdsaP256Sha256, TEST_KEY_ECC_P256_PUB),
    );
}

fn sign_vector(components: &[&str], keyid: &str, key: &SigningKey, label: &str) -> httpsig::SignedHeaders {
    let h = test_request_headers();
    let o = origin();
    let msg = Message::request(&o, "POST", "/foo?param=Value&Pet=dog", &h);
    let params = SignatureParams {
        components: components.iter().map(|s| (*s).to_owned()).collect(),
        created: Some(CREATED),
        keyid: Some(keyid.to_owned()),
        ..Default::default()
    };
    httpsig::sign(&msg, label, &params, key).unwrap()
}

#[test]
fn b_2_5_hmac_sha256_sign_and_verify() {
    let secret = Zeroizing::new(STANDARD.decode(TEST_SHARED_SECRET).unwrap());
    let signed = sign_vector(
        &["date", "@authority", "content-type"],
        "test-shared-secret",
        &SigningKey::HmacSha256(secret),
        "sig-b25",
    );
    assert_eq!(
        signed.signature_input,
        r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#
    );
    assert_eq!(signed.signature, "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:");
    check(
        &test_request_headers(),
        false,
        &signed.signature_input,
        &signed.signature,
        &key(Algorithm::HmacSha256, TEST_SHARED_SECRET),
    );
}

#[test]
fn b_2_6_ed25519_sign_and_verify() {
    let sk = ed25519_dalek::SigningKey::from_pkcs8_pem(TEST_KEY_ED25519_PRIV).unwrap();
    let signed = sign_vector(
        &["date", "@method", "@path", "@authority", "content-type", "content-length"],
        "test-key-ed25519",
        &SigningKey::Ed25519(sk),
        "sig-b26",
    );
    assert_eq!(
        signed.signature_input,
        r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
    );
    assert_eq!(
        signed.signature,
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
    );
    check(
        &test_request_headers(),
        false,
        &signed.signature_input,
        &signed.signature,
        &key(Algorithm::Ed25519, TEST_KEY_ED25519_PUB),
    );
}

#[test]
fn b_2_6_signature_base_is_the_rfcs() {
    let h = test_request_headers();
    let o = origin();
    let msg = Message::request(&o, "POST", "/foo?param=Value&Pet=dog", &h);
    let input = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
    let sig = httpsig::parse_signature(Some(input.as_bytes()), Some(b"sig-b26=:AAAA:"), None, None).unwrap();
    let base = httpsig::signature_base(&msg, &sig.components, &sig.params_value).unwrap();
    assert_eq!(
        String::from_utf8(base).unwrap(),
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@authority\": example.com\n\
         \"content-type\": application/json\n\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \
         \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
    );
}

/// RFC 9421 sections 2.5, 3.1 and 3.2 (rsa-pss-sha512 over the same request).
#[test]
fn section_3_rsa_pss_example() {
    check(
        &test_request_headers(),
        false,
        r#"sig1=("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss""#,
        "sig1=:HIbjHC5rS0BYaa9v4QfD4193TORw7u9edguPh0AW3dMq9WImrlFrCGUDih47vAxi4L2YRZ3XMJc1uOKk/J0ZmZ+wcta4nKIgBkKq0rM9hs3CQyxXGxHLMCy8uqK488o+9jrptQ+xFPHK7a9sRL1IXNaagCNN3ZxJsYapFj+JXbmaI5rtAdSfSvzPuBCh+ARHBmWuNo1UzVVdHXrl8ePL4cccqlazIJdC4QEjrF+Sn4IxBQzTZsL9y9TP5FsZYzHvDqbInkTNigBcE9cKOYNFCn4D/WM7F6TNuZO9EgtzepLWcjTymlHzK7aXq6Am6sfOrpIC49yXjj3ae6HRalVc/g==:",
        &key(Algorithm::RsaPssSha512, TEST_KEY_RSA_PSS_PUB),
    );
}

/// RFC 9421 section 4.3: the client's ecdsa-p256 `sig1` on the test request, selected by label among two
/// signatures (the proxy's `proxy_sig` is rsa-v1_5-sha256, which Sova does not accept).
#[test]
fn section_4_3_multiple_signatures() {
    let mut h = test_request_headers();
    h.insert(
        "signature-input",
        HeaderValue::from_static(
            "sig1=(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\");\
             created=1618884475;keyid=\"test-key-ecc-p256\", proxy_sig=(\"@method\" \"@authority\" \"@path\" \
             \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;\
             keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540",
        ),
    );
    h.insert(
        "signature",
        HeaderValue::from_static(
            "sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+sNalzA8ESSaHD3A==:, \
             proxy_sig=:AAAA:",
        ),
    );
    let o = origin();
    let msg = Message::request(&o, "POST", "/foo?param=Value&Pet=dog", &h);
    let k = key(Algorithm::EcdsaP256Sha256, TEST_KEY_ECC_P256_PUB);
    let mut policy = Policy::lenient(1_618_884_475, 60);
    assert_eq!(httpsig::verify(&msg, &policy, |_| Some(&k)).unwrap_err(), HttpSigError::MultipleSignatures);
    policy.label = Some("sig1".into());
    let v = httpsig::verify(&msg, &policy, |id| (id == "test-key-ecc-p256").then_some(&k)).unwrap();
    assert_eq!(v.keyid, "test-key-ecc-p256");
    assert_eq!(v.alg, Algorithm::EcdsaP256Sha256);
    policy.label = Some("proxy_sig".into());
    let rsa = key(Algorithm::RsaPssSha512, TEST_KEY_RSA_PUB);
    assert_eq!(
        httpsig::verify(&msg, &policy, |_| Some(&rsa)).unwrap_err(),
        HttpSigError::UnknownAlgorithm("rsa-v1_5-sha256".into())
    );
}

/// RFC 9421 section 2.2.8 `@query-param` values are re-encoded (space as %20, `+` decoded as space).
#[test]
fn query_param_encoding() {
    let h = HeaderMap::new();
    let o = origin();
    let msg = Message::request(
        &o,
        "GET",
        "/path?param=value&foo=bar&baz=batman&qux=&var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something",
        &h,
    );
    let input = r#"s=("@query-param";name="baz" "@query-param";name="qux" "@query-param";name="var" "@query-param";name="bar" "@query-param";name="fa%C3%A7ade%22%3A%20");created=1"#;
    let sig = httpsig::parse_signature(Some(input.as_bytes()), Some(b"s=:AAAA:"), None, None).unwrap();
    let base = httpsig::signature_base(&msg, &sig.components, &sig.params_value).unwrap();
    let base = String::from_utf8(base).unwrap();
    let lines: Vec<&str> = base.lines().collect();
    assert_eq!(
        &lines[..5],
        &[
            r#""@query-param";name="baz": batman"#,
            r#""@query-param";name="qux": "#,
            r#""@query-param";name="var": this%20is%20a%20big%0Avalue"#,
            r#""@query-param";name="bar": with%20plus%20whitespace"#,
            r#""@query-param";name="fa%C3%A7ade%22%3A%20": something"#,
        ]
    );
}

/// RFC 9421 section 2.1 / 2.2: derived components and field canonicalization.
#[test]
fn derived_components_and_fields() {
    let mut h = headers(&[
        ("x-obs-fold-header", "Obsolete\t"),
        ("cache-control", "max-age=60"),
        ("cache-control", "   must-revalidate"),
    ]);
    h.append("x-empty-header", HeaderValue::from_static(""));
    h.append("example-dict", HeaderValue::from_static(" a=1,    b=2;x=1;y=2,   c=(a   b   c)"));
    let o = PublicOrigin::parse("HTTPS://WWW.Example.com:443/").unwrap();
    assert_eq!(o.to_string(), "https://www.example.com");
    let msg = Message::request(&o, "POST", "/path?param=value", &h);
    let input = r#"s=("@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" "@query" "cache-control" "x-empty-header" "x-obs-fold-header" "example-dict";key="a" "example-dict";key="c" "cache-control";bs);created=1"#;
    let sig = httpsig::parse_signature(Some(input.as_bytes()), Some(b"s=:AAAA:"), None, None).unwrap();
    let base = String::from_utf8(httpsig::signature_base(&msg, &sig.components, &sig.params_value).unwrap()).unwrap();
    let expected = [
        r#""@method": POST"#,
        r#""@target-uri": https://www.example.com/path?param=value"#,
        r#""@authority": www.example.com"#,
        r#""@scheme": https"#,
        r#""@request-target": /path?param=value"#,
        r#""@path": /path"#,
        r#""@query": ?param=value"#,
        r#""cache-control": max-age=60, must-revalidate"#,
        r#""x-empty-header": "#,
        r#""x-obs-fold-header": Obsolete"#,
        r#""example-dict";key="a": 1"#,
        r#""example-dict";key="c": (a b c)"#,
        r#""cache-control";bs: :bWF4LWFnZT02MA==:, :bXVzdC1yZXZhbGlkYXRl:"#,
    ];
    assert_eq!(&base.lines().collect::<Vec<_>>()[..expected.len()], &expected);

    // No query: `@query` is `?`, `@target-uri` has none.
    let msg = Message::request(&o, "GET", "/", &h);
    let input = r#"s=("@query" "@target-uri");created=1"#;
    let sig = httpsig::parse_signature(Some(input.as_bytes()), Some(b"s=:AAAA:"), None, None).unwrap();
    let base = String::from_utf8(httpsig::signature_base(&msg, &sig.components, &sig.params_value).unwrap()).unwrap();
    assert!(base.starts_with("\"@query\": ?\n\"@target-uri\": https://www.example.com/\n"), "{base}");
}

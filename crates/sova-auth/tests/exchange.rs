//! The exchange surface's EIP-712 verification: every golden vector of the vendor's SDKs (copied from
//! `shared/vectors/sodex_golden_vectors.json` and `spec/exchange-eip712.md` so this file stands on its own), and
//! every rejection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use alloy_primitives::{Address, B256, U256, hex};
use alloy_sol_types::SolStruct;
use sova_auth::exchange::*;

/// The vectors' private key and its address.
const KEY: [u8; 32] = hex!("0123456789012345678901234567890123456789012345678901234567890123");
const KEY_ADDRESS: &str = "0x14791697260E4c9A71f18484C9f997B308e59325";
const API_KEY: [u8; 32] = [0x22; 32];
const NOW: u64 = 1_760_373_925_000;

struct Vector {
    name: &'static str,
    domain: &'static str,
    action: &'static str,
    payload_json: &'static str,
    payload_hash: &'static str,
    domain_separator: Option<&'static str>,
    nonce: u64,
    digest: &'static str,
    signature: &'static str,
}

/// `sodex_golden_vectors.json`, verbatim (chain 286623; signatures without `0x`).
const VECTORS: &[Vector] = &[
    Vector {
        name: "spot_scheduleCancel",
        domain: "spot",
        action: "scheduleCancel",
        payload_json: r#"{"type":"scheduleCancel","params":{"accountID":1001}}"#,
        payload_hash: "0dc2700070d2acaa9e0db0a5c897aab50cfed22d4019621e5adb655f9116630a",
        domain_separator: Some("7f4b08bc6b5452f0df86b3a598318de19ca8de243d51b12d09eec6d8086ec7cf"),
        nonce: 1,
        digest: "45d4c20c052674e5c126ca540370444753831e1508957e17d518686c98cc177a",
        signature: "019b48f761a5010ab63ad3f0ea36dc73caee5679bba457c2baf0f771bb45c1187e5fa60455003b18dccb1e7ec0a05ef43203db999b5fdc67198189854159b655a201",
    },
    Vector {
        name: "spot_batchNewOrder",
        domain: "spot",
        action: "batchNewOrder",
        payload_json: r#"{"type":"batchNewOrder","params":{"accountID":1001,"orders":[{"symbolID":42,"clOrdID":"order-001","side":1,"type":1,"timeInForce":1,"price":"50000","quantity":"0.1"}]}}"#,
        payload_hash: "79266447c6ec27cf89b94aabb305a3024db881fea07ca20fb8f9a741d27fed24",
        domain_separator: None,
        nonce: 100,
        digest: "b57d91076b378652ebe59224ad82e729f3c2efa9790ac30d762bdada62b19cea",
        signature: "01641c5ba6f66af45475184ca753c974b6fbd6115407ee22abade94142df21bd451d8c0e61405155a2ded314bae5f7e490723ae6fd0e6816c4c474d1ec88df4d1100",
    },
    Vector {
        name: "spot_batchCancelOrder",
        domain: "spot",
        action: "batchCancelOrder",
        payload_json: r#"{"type":"batchCancelOrder","params":{"accountID":1001,"cancels":[{"symbolID":42,"clOrdID":"cancel-001"}]}}"#,
        payload_hash: "0ae3c4eb5be53a2971acd3407c7034d919d34fc42631c504828c9d69ab3af709",
        domain_separator: None,
        nonce: 200,
        digest: "9abc6bc64977d2471fbf7ad75f1d0832121da761e44163aab0dedc76ef2dc1d9",
        signature: "0186c36f4c97d17798464137cf54d8d81e1f42ebd630120420fcd2ad183e0fb4d44a8888c40bc172ac7b0d34dc4246d6d17b8b54283982ab43bdc82c250bbf495201",
    },
    Vector {
        name: "spot_transferAsset",
        domain: "spot",
        action: "transferAsset",
        payload_json: r#"{"type":"transferAsset","params":{"id":1,"fromAccountID":1001,"toAccountID":999,"coinID":0,"amount":"100","type":3}}"#,
        payload_hash: "0fbe2768b86584d9e7ac0a3df6e54b1a6f44b14fa1ef03fe30bbe2c905135499",
        domain_separator: None,
        nonce: 300,
        digest: "b822398841b04569934975b43b9fa1825f1679ca19e1fc8d46772af317150373",
        signature: "01c2d07c4ffb72dfcd9e334201563a9bfcc134c8bac5bec115c8ed2a0523c92e661022c73941a934c4b4bef0db774a049ddc0d3d811fda6118e6d27ac78db7f17a00",
    },
    Vector {
        name: "spot_replaceOrder",
        domain: "spot",
        action: "replaceOrder",
        payload_json: r#"{"type":"replaceOrder","params":{"accountID":1001,"orders":[{"symbolID":42,"clOrdID":"replace-001","price":"50100","quantity":"0.2"}]}}"#,
        payload_hash: "5d53d3c1dea5ac61e3d3e46672befd3a4f9915e92fe16f93a9a8178abb9b2ac9",
        domain_separator: None,
        nonce: 400,
        digest: "0091035e6f4225ea13290d8b092a79501cd69804f3e9f99ce0524fe3909d3c26",
        signature: "0161c045c0230ced36129a02fe4dd9d60cc3f357d22a6ff4bf41db410f8fb674d1050297f2eb29b6602c4af5552f82578bd5c6bcfaf3fe274fad1e43a52a62c78100",
    },
    Vector {
        name: "perps_newOrder",
        domain: "futures",
        action: "newOrder",
        payload_json: r#"{"type":"newOrder","params":{"accountID":12345,"symbolID":1,"orders":[{"clOrdID":"my-order-1","modifier":1,"side":1,"type":2,"timeInForce":3,"quantity":"0.001","reduceOnly":false,"positionSide":1}]}}"#,
        payload_hash: "24d973a9f714c68e80bf214cbd6a39798da4022b17d43719ec6017f19f4685a7",
        domain_separator: None,
        nonce: 500,
        digest: "15f3b14b944a3d7c05e57067c89358d89634224cd37e17531c293321fb219752",
        signature: "0194b7896bc26e1f54ba4e9aeadb33a62d6c2a027a0b83658746d1d24acfdc1a1f05b86f3f596fb6ae963297aba2c386b0de137e02143814fb03c07e333c5eda6d00",
    },
    Vector {
        name: "perps_updateLeverage",
        domain: "futures",
        action: "updateLeverage",
        payload_json: r#"{"type":"updateLeverage","params":{"accountID":1001,"symbolID":1,"leverage":10,"marginMode":2}}"#,
        payload_hash: "5116a3a632bf5675abdeca809db76b0d961b8021f5549dc0b303d01a6c5495b2",
        domain_separator: None,
        nonce: 600,
        digest: "ff5cd33a0666ff52365bc2358846b3c2a5d1dcfd1f01cbee81c4aaac03017dca",
        signature: "01a1cfd4ae5d95132545ca15e4cec82f2460a7e962e92b2985b9bc2678b976fe676a37c0b81e2b856aa6a96dec6faf202a36ec05c0a43791ac62e62199c96188bd00",
    },
    Vector {
        name: "perps_updateMargin",
        domain: "futures",
        action: "updateMargin",
        payload_json: r#"{"type":"updateMargin","params":{"accountID":1001,"symbolID":1,"amount":"-50"}}"#,
        payload_hash: "5861101e1bbc37d03d5e29073ff29999b9c51e0828191e22b69f8ad4f18d937f",
        domain_separator: None,
        nonce: 700,
        digest: "2ac2cdaea3cb54583ead0febefe5d4154a7c01b2b03e558ecd58bed808a798a4",
        signature: "01162cb50c0e56bc14d7151faca2d5cdb390225ea1d5c23ed5a0347195eaddb33a339e9c0d9a468c4a8add16b8a3b52bfb51bac260624242a9f99e37f1ca45356201",
    },
];

/// `spec/exchange-eip712.md`: the AddAPIKey vector.
const ADD_KEY_BODY: &str = r#"{"accountID":1010,"name":"api-key-01","type":1,"publicKey":"0x3d4595c8742d0a58173a9963c05755b59a8f8256","expiresAt":0}"#;
const ADD_KEY_NONCE: u64 = 1_760_373_925_000;
const ADD_KEY_SIGN: &str = "0x027b8db803a8ede1748929c6686fa691a561b3e0f8a338503d8d13ccbff7d745bf51a30ca6f39a4cfd4cc762a1431fe1b5a1a40ba8869808e779ffdc28bcdd0c5201";

fn b256(s: &str) -> B256 {
    B256::from_str(s).unwrap()
}

fn key_address() -> Address {
    Address::from_str(KEY_ADDRESS).unwrap()
}

fn body_of(v: &Vector) -> &'static str {
    let prefix = format!(r#"{{"type":"{}","params":"#, v.action);
    assert!(v.payload_json.starts_with(&prefix), "{}", v.name);
    &v.payload_json[prefix.len()..v.payload_json.len() - 1]
}

fn headers(sign: &str, nonce: u64) -> SignedHeaders {
    SignedHeaders::parse(Some(sign), None, Some(&nonce.to_string()), Some("286623"), MAINNET_CHAIN_ID).unwrap()
}

fn mainnet() -> Verifier {
    Verifier::new(MAINNET_CHAIN_ID)
}

// ------------------------------------------------------------------------------------------------------------------
// Golden vectors

#[test]
fn type_strings_and_domain_separators() {
    assert_eq!(ExchangeAction::eip712_encode_type(), "ExchangeAction(bytes32 payloadHash,uint64 nonce)");
    assert_eq!(
        AddAPIKey::eip712_encode_type(),
        "AddAPIKey(uint64 accountID,string name,uint8 keyType,bytes publicKey,uint64 expiresAt,uint64 nonce)"
    );
    let d = Domains::new(MAINNET_CHAIN_ID);
    assert_eq!(d.separator(Domain::Spot), b256("7f4b08bc6b5452f0df86b3a598318de19ca8de243d51b12d09eec6d8086ec7cf"));
    assert_eq!(d.separator(Domain::Futures), b256("75e8c1550edccc0e19a57a67db1a3ed3fd35f9e6943cc6f2fbe03fdaf42bfd5a"));
    assert_eq!(
        d.separator(Domain::Universal),
        b256("543540db884635dcc8bfe9b610891746fa1b3fd8daa203e6421de3cf264d91cf")
    );
    // The testnet separators differ.
    let t = Domains::new(TESTNET_CHAIN_ID);
    for dom in Domain::ALL {
        assert_ne!(t.separator(dom), d.separator(dom));
        assert_eq!(Domain::from_name(dom.name()), Some(dom));
    }
    assert_eq!(address_of(&KEY).unwrap(), key_address());
}

#[test]
fn every_golden_vector_verifies() {
    let verifier = mainnet();
    for v in VECTORS {
        let domain = Domain::from_name(v.domain).unwrap();
        let action = Action::from_name(v.action).unwrap();
        let body = body_of(v);

        assert_eq!(payload_hash(action, body.as_bytes()), b256(v.payload_hash), "{}", v.name);
        if let Some(sep) = v.domain_separator {
            assert_eq!(verifier.domains().separator(domain), b256(sep), "{}", v.name);
        }
        let digest = verifier.domains().exchange_action_digest(domain, b256(v.payload_hash), v.nonce);
        assert_eq!(digest, b256(v.digest), "{}", v.name);
        // alloy's own signing hash agrees with the precomputed-separator path.
        let typed = ExchangeAction { payloadHash: b256(v.payload_hash), nonce: v.nonce };
        assert_eq!(typed.eip712_signing_hash(&domain.eip712_domain(MAINNET_CHAIN_ID)), digest, "{}", v.name);

        let sign = format!("0x{}", v.signature);
        let verified = verifier.verify_action(domain, action, body.as_bytes(), &headers(&sign, v.nonce)).unwrap();
        assert_eq!(verified.signer, key_address(), "{}", v.name);
        assert_eq!(verified.payload_hash, b256(v.payload_hash));
        assert_eq!(verified.key, KeySelector::Master);
        assert_eq!(verified.params.action(), action);
        assert_eq!(verified.params.canonical_body(), body.as_bytes(), "{}", v.name);
        assert_eq!(verified.nonce_scope(), NonceScope { signer: key_address(), domain });

        // libsecp256k1's RFC 6979 signing reproduces the SDK's signature byte for byte.
        let resigned = verifier.sign_action(&KEY, domain, action, body.as_bytes(), v.nonce).unwrap();
        assert_eq!(resigned.to_header(), sign, "{}", v.name);
    }
}

#[test]
fn golden_vectors_typed_params() {
    let verifier = mainnet();
    let v = &VECTORS[5]; // perps_newOrder
    let got = verifier
        .verify_action(
            Domain::Futures,
            Action::NewOrder,
            body_of(v).as_bytes(),
            &headers(&format!("0x{}", v.signature), v.nonce),
        )
        .unwrap();
    let Params::PerpsNewOrder(p) = got.params else { panic!("{:?}", got.params) };
    assert_eq!((p.account_id, p.symbol_id), (12345, 1));
    let o = &p.orders[0];
    assert_eq!(o.cl_ord_id.as_str(), "my-order-1");
    assert_eq!(
        (o.modifier, o.side, o.order_type, o.time_in_force),
        (OrderModifier::Normal, Side::Buy, OrderType::Market, TimeInForce::Ioc)
    );
    assert_eq!(o.quantity.as_ref().map(Decimal::as_str), Some("0.001"));
    assert_eq!((o.price.clone(), o.reduce_only, o.position_side), (None, false, PositionSide::Both));

    let v = &VECTORS[3]; // spot_transferAsset
    let p = parse_params(Domain::Spot, Action::TransferAsset, body_of(v).as_bytes()).unwrap();
    let Params::TransferAsset(t) = &p else { panic!() };
    assert_eq!((t.id, t.from_account_id, t.to_account_id, t.coin_id), (1, 1001, TREASURY_ACCOUNT_ID, 0));
    assert_eq!((t.amount.as_str(), t.transfer_type), ("100", TransferType::PerpsWithdraw));
    assert_eq!(p.account_id(), 1001);

    let v = &VECTORS[7]; // perps_updateMargin
    let Params::UpdateMargin(m) = parse_params(Domain::Futures, Action::UpdateMargin, body_of(v).as_bytes()).unwrap()
    else {
        panic!()
    };
    assert!(m.amount.is_negative());
    assert_eq!(m.amount.as_str(), "-50");
}

#[test]
fn add_api_key_vector() {
    let verifier = mainnet();
    let h = headers(ADD_KEY_SIGN, ADD_KEY_NONCE);
    assert_eq!(h.signature.sig_type, SignatureType::Universal);
    let got = verifier.verify_add_api_key(ADD_KEY_BODY.as_bytes(), &h).unwrap();
    assert_eq!(got.signer, key_address());
    assert_eq!(got.request.account_id, 1010);
    assert_eq!(got.request.name.as_str(), "api-key-01");
    assert_eq!(got.request.key_type, KeyType::Evm);
    assert_eq!(got.request.public_key, Address::from_str("0x3d4595c8742d0a58173a9963c05755b59a8f8256").unwrap());
    assert_eq!(got.request.expires_at, 0);
    assert_eq!(got.nonce_scope(), NonceScope { signer: key_address(), domain: Domain::Universal });
    let resigned = verifier.sign_add_api_key(&KEY, &got.request, ADD_KEY_NONCE).unwrap();
    assert_eq!(resigned.to_header(), ADD_KEY_SIGN);

    // alloy's signing hash of the typed message agrees.
    let msg = add_api_key_message(&got.request, ADD_KEY_NONCE);
    assert_eq!(
        msg.eip712_signing_hash(&Domain::Universal.eip712_domain(MAINNET_CHAIN_ID)),
        verifier.domains().add_api_key_digest(&msg)
    );

    // The body's formatting is free (its values are signed, not its bytes); the values are not.
    let pretty = ADD_KEY_BODY.replace(',', ", ").replace("0x3d45", "0x3D45");
    assert_eq!(verifier.verify_add_api_key(pretty.as_bytes(), &h).unwrap().signer, key_address());
    let other_nonce = headers(ADD_KEY_SIGN, ADD_KEY_NONCE + 1);
    assert_ne!(verifier.verify_add_api_key(ADD_KEY_BODY.as_bytes(), &other_nonce).unwrap().signer, key_address());
}

#[test]
fn revoke_api_key_in_both_forms() {
    let verifier = mainnet();
    let body = br#"{"accountID":1010,"name":"api-key-01"}"#;
    for domain in Domain::ALL {
        let sig = verifier.sign_action(&KEY, domain, Action::RevokeApiKey, body, NOW).unwrap();
        assert_eq!(sig.sig_type, domain.signature_type());
        let got = verifier.verify_action(domain, Action::RevokeApiKey, body, &headers(&sig.to_header(), NOW)).unwrap();
        assert_eq!(got.signer, key_address());
        let Params::RevokeApiKey(r) = got.params else { panic!() };
        assert_eq!(r.name.as_str(), "api-key-01");
    }
    // A universal signature does not verify as a spot one (different separator, and the type byte says so).
    let sig = verifier.sign_action(&KEY, Domain::Universal, Action::RevokeApiKey, body, NOW).unwrap();
    let err = verifier.verify_action(Domain::Spot, Action::RevokeApiKey, body, &headers(&sig.to_header(), NOW));
    assert_eq!(err.unwrap_err().code(), "SIGNATURE_TYPE_MISMATCH");
}

#[test]
fn other_chain_recovers_someone_else() {
    let v = &VECTORS[0];
    let testnet = Verifier::new(TESTNET_CHAIN_ID);
    let h = SignedHeaders::parse(Some(&format!("0x{}", v.signature)), None, Some("1"), None, TESTNET_CHAIN_ID).unwrap();
    let got = testnet.verify_action(Domain::Spot, Action::ScheduleCancel, body_of(v).as_bytes(), &h).unwrap();
    assert_ne!(got.signer, key_address());
}

#[test]
fn routes() {
    use Action::*;
    let cases = [
        (Domain::Spot, "POST", "/trade/orders", Some(NewOrder)),
        (Domain::Spot, "DELETE", "/trade/orders", Some(CancelOrder)),
        (Domain::Spot, "POST", "/trade/orders/batch", Some(BatchNewOrder)),
        (Domain::Spot, "DELETE", "/trade/orders/batch", Some(BatchCancelOrder)),
        (Domain::Spot, "POST", "/trade/orders/replace", Some(ReplaceOrder)),
        (Domain::Spot, "POST", "/trade/orders/schedule-cancel", Some(ScheduleCancel)),
        (Domain::Spot, "POST", "/accounts/transfers", Some(TransferAsset)),
        (Domain::Spot, "DELETE", "/accounts/api-keys", Some(RevokeApiKey)),
        (Domain::Spot, "POST", "/trade/leverage", None),
        (Domain::Spot, "POST", "/trade/orders/modify", None),
        (Domain::Futures, "POST", "/trade/orders", Some(NewOrder)),
        (Domain::Futures, "DELETE", "/trade/orders", Some(CancelOrder)),
        (Domain::Futures, "POST", "/trade/orders/modify", Some(ModifyOrder)),
        (Domain::Futures, "POST", "/trade/leverage", Some(UpdateLeverage)),
        (Domain::Futures, "POST", "/trade/margin", Some(UpdateMargin)),
        (Domain::Futures, "POST", "/trade/orders/batch", None),
        (Domain::Futures, "DELETE", "/accounts/api-keys", Some(RevokeApiKey)),
        (Domain::Universal, "POST", "/api-keys", Some(AddApiKey)),
        (Domain::Universal, "DELETE", "/api-keys", Some(RevokeApiKey)),
        (Domain::Universal, "POST", "/trade/orders", None),
        (Domain::Spot, "GET", "/trade/orders", None),
    ];
    for (domain, method, path, want) in cases {
        assert_eq!(Action::for_route(domain, method, path), want, "{domain} {method} {path}");
    }
    for a in Action::ALL {
        assert_eq!(Action::from_name(a.name()), Some(a));
    }
}

// ------------------------------------------------------------------------------------------------------------------
// X-API-Sign

fn vector_bytes(i: usize) -> [u8; 66] {
    let mut raw = [0u8; 66];
    hex::decode_to_slice(VECTORS[i].signature, &mut raw).unwrap();
    raw
}

fn sign_err(s: &str) -> SignatureError {
    ApiSignature::parse(s).unwrap_err()
}

#[test]
fn signature_header_shape() {
    let raw = vector_bytes(0);
    let good = format!("0x{}", hex::encode(raw));
    assert!(ApiSignature::parse(&good).is_ok());
    assert!(ApiSignature::parse(&good.to_uppercase().replacen("0X", "0x", 1)).is_ok(), "hex digits of either case");

    // Wrong type bytes.
    for t in [0x00u8, 0x03, 0x19, 0xff] {
        let mut r = raw;
        r[0] = t;
        assert_eq!(sign_err(&format!("0x{}", hex::encode(r))), SignatureError::UnknownType { got: t });
    }
    // Wrong lengths: a bare 65-byte signature, one byte too many, empty.
    assert_eq!(sign_err(&format!("0x{}", hex::encode(&raw[1..]))), SignatureError::Length { len: 65 });
    assert_eq!(sign_err(&format!("0x{}00", hex::encode(raw))), SignatureError::Length { len: 67 });
    assert_eq!(sign_err("0x"), SignatureError::Length { len: 0 });
    // Not 0x-hex.
    assert_eq!(sign_err(&hex::encode(raw)), SignatureError::NotHex);
    assert_eq!(sign_err(&format!("0x{}", hex::encode(raw)).replace('a', "g")), SignatureError::NotHex);
    assert_eq!(sign_err(&format!("0x{}0", hex::encode(raw))), SignatureError::NotHex);
    // v = 27 / 28 (and anything else above 1).
    for v in [27u8, 28, 2, 255] {
        let mut r = raw;
        r[65] = v;
        assert_eq!(sign_err(&format!("0x{}", hex::encode(r))), SignatureError::RecoveryId { got: v });
    }
    // Missing header.
    let e = SignedHeaders::parse(None, None, Some("1"), None, MAINNET_CHAIN_ID).unwrap_err();
    assert_eq!(e, VerifyError::Signature(SignatureError::Missing));
    assert_eq!(e.code(), "MISSING_SIGNATURE");
    // Every message tells the client what to send.
    assert!(SignatureError::RecoveryId { got: 27 }.to_string().contains("subtract 27"));
    assert!(SignatureError::Length { len: 65 }.to_string().contains("type byte"));
}

#[test]
fn type_byte_must_match_domain() {
    let verifier = mainnet();
    let v = &VECTORS[0];
    let mut raw = vector_bytes(0);
    raw[0] = 0x02;
    let h = headers(&format!("0x{}", hex::encode(raw)), v.nonce);
    let err = verifier.verify_action(Domain::Spot, Action::ScheduleCancel, body_of(v).as_bytes(), &h).unwrap_err();
    assert_eq!(err, VerifyError::Signature(SignatureError::TypeMismatch { got: 2, expected: 1, domain: "spot" }));
    // addAPIKey with 0x01.
    let mut raw = [0u8; 66];
    hex::decode_to_slice(&ADD_KEY_SIGN[2..], &mut raw).unwrap();
    raw[0] = 0x01;
    let h = headers(&format!("0x{}", hex::encode(raw)), ADD_KEY_NONCE);
    let err = verifier.verify_add_api_key(ADD_KEY_BODY.as_bytes(), &h).unwrap_err();
    assert_eq!(err.code(), "SIGNATURE_TYPE_MISMATCH");
}

#[test]
fn high_s_is_accepted() {
    // n - s with the other recovery id is the same signature in high-S form.
    let n = U256::from_str("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap();
    let verifier = mainnet();
    for (i, v) in VECTORS.iter().enumerate() {
        let raw = vector_bytes(i);
        let s = U256::from_be_slice(&raw[33..65]);
        let mut high = raw;
        high[33..65].copy_from_slice(&(n - s).to_be_bytes::<32>());
        high[65] ^= 1;
        let h = headers(&format!("0x{}", hex::encode(high)), v.nonce);
        let domain = Domain::from_name(v.domain).unwrap();
        let action = Action::from_name(v.action).unwrap();
        let got = verifier.verify_action(domain, action, body_of(v).as_bytes(), &h).unwrap();
        assert_eq!(got.signer, key_address(), "{}", v.name);
    }
}

#[test]
fn invalid_scalars_are_refused() {
    let digest = b256(VECTORS[0].digest);
    let raw = vector_bytes(0);
    let mut zero_r = raw;
    zero_r[1..33].fill(0);
    let mut big_s = raw;
    big_s[33..65].fill(0xff);
    let mut zero_s = raw;
    zero_s[33..65].fill(0);
    for bad in [zero_r, big_s, zero_s] {
        let sig = ApiSignature::from_bytes(&bad).unwrap();
        assert_eq!(sig.recover(&digest), Err(SignatureError::Invalid));
    }
    // The same signature over another digest recovers another (non-zero) address.
    let sig = ApiSignature::from_bytes(&raw).unwrap();
    assert_eq!(sig.recover(&digest).unwrap(), key_address());
    assert_ne!(sig.recover(&b256(VECTORS[1].digest)).unwrap(), key_address());
    assert_eq!(SignatureError::ZeroAddress.code(), "SIGNATURE_ZERO_ADDRESS");
}

#[test]
fn tampered_body_recovers_another_signer() {
    let verifier = mainnet();
    let v = &VECTORS[1];
    let body = body_of(v).replace("\"0.1\"", "\"0.2\"");
    let got = verifier
        .verify_action(
            Domain::Spot,
            Action::BatchNewOrder,
            body.as_bytes(),
            &headers(&format!("0x{}", v.signature), v.nonce),
        )
        .unwrap();
    assert_ne!(got.signer, key_address());
    let err = authorize(Action::BatchNewOrder, &got.key, got.signer, key_address(), None, NOW).unwrap_err();
    assert_eq!(err.code(), "SIGNER_MISMATCH");
}

// ------------------------------------------------------------------------------------------------------------------
// X-API-Key, X-API-Nonce, X-API-Chain

#[test]
fn key_nonce_chain_headers() {
    assert_eq!(parse_key_header(None), Ok(KeySelector::Master));
    assert_eq!(parse_key_header(Some("default")), Ok(KeySelector::Master));
    assert_eq!(parse_key_header(Some("api-key-01")), Ok(KeySelector::Named(KeyName::parse("api-key-01").unwrap())));
    assert_eq!(parse_key_header(Some(&"k".repeat(36))).map(|_| ()), Ok(()));
    for bad in ["", "has space", "0x3d4595c8742d0a58173a9963c05755b59a8f8256x", "é", &"k".repeat(37), "a.b"] {
        assert_eq!(parse_key_header(Some(bad)), Err(HeaderError::KeyName), "{bad:?}");
    }

    assert_eq!(parse_nonce_header(Some("1760373925000")), Ok(1_760_373_925_000));
    assert_eq!(parse_nonce_header(Some("18446744073709551615")), Ok(u64::MAX));
    assert_eq!(parse_nonce_header(None), Err(HeaderError::MissingNonce));
    for bad in ["", "-1", "1.0", "1e3", " 1", "18446744073709551616", "0x10", "+5"] {
        assert_eq!(parse_nonce_header(Some(bad)), Err(HeaderError::MalformedNonce), "{bad:?}");
    }

    assert_eq!(check_chain_header(None, MAINNET_CHAIN_ID), Ok(()));
    assert_eq!(check_chain_header(Some("286623"), MAINNET_CHAIN_ID), Ok(()));
    assert_eq!(
        check_chain_header(Some("138565"), MAINNET_CHAIN_ID),
        Err(HeaderError::ChainMismatch { got: 138_565, expected: 286_623 })
    );
    assert_eq!(check_chain_header(Some("mainnet"), MAINNET_CHAIN_ID), Err(HeaderError::MalformedChain));
    let e = mainnet().parse_headers(Some(ADD_KEY_SIGN), Some("api-key-01"), Some("5"), Some("138565")).unwrap_err();
    assert_eq!(e.code(), "CHAIN_MISMATCH");
    assert!(e.to_string().contains("sign with chainId 286623"), "{e}");
    let ok = mainnet().parse_headers(Some(ADD_KEY_SIGN), Some("api-key-01"), Some("5"), None).unwrap();
    assert_eq!((ok.nonce, ok.key.clone()), (5, KeySelector::Named(KeyName::parse("api-key-01").unwrap())));
}

// ------------------------------------------------------------------------------------------------------------------
// Bodies

fn perr(domain: Domain, action: Action, body: &str) -> PayloadError {
    parse_params(domain, action, body.as_bytes()).unwrap_err()
}

const SPOT_ORDER: &str =
    r#"{"accountID":1,"symbolID":2,"clOrdID":"a-1","side":1,"type":1,"timeInForce":1,"price":"0.406","quantity":"3"}"#;

#[test]
fn canonical_decimals() {
    assert!(parse_params(Domain::Spot, Action::NewOrder, SPOT_ORDER.as_bytes()).is_ok());
    let cases = [
        ("0.4060", "remove the trailing fractional zeros (send \"0.406\")"),
        ("1.0", "(send \"1\")"),
        ("1.", "remove the trailing '.' (send \"1\")"),
        ("00.406", "remove the leading zeros (send \"0.406\")"),
        ("01", "(send \"1\")"),
        ("+0.406", "remove the '+' sign (send \"0.406\")"),
        (".406", "add the leading zero (send \"0.406\")"),
        ("4.06e-1", "exponent"),
        ("1E3", "exponent"),
        ("-1", "negative"),
        ("", "empty"),
        ("1,5", "not a decimal"),
        ("0x10", "not a decimal"),
        ("1.2.3", "not a decimal"),
        (" 1", "not a decimal"),
    ];
    for (bad, why) in cases {
        let body = SPOT_ORDER.replace("\"0.406\"", &format!("\"{bad}\""));
        let e = perr(Domain::Spot, Action::NewOrder, &body);
        assert!(matches!(&e, PayloadError::InvalidDecimal { path, .. } if path == "price"), "{bad:?}: {e:?}");
        assert!(e.to_string().contains(why), "{bad:?}: {e}");
        assert_eq!(e.code(), "INVALID_DECIMAL");
    }
    // A decimal sent as a JSON number.
    let e = perr(Domain::Spot, Action::NewOrder, &SPOT_ORDER.replace("\"0.406\"", "0.406"));
    assert!(
        matches!(&e, PayloadError::InvalidDecimal { path, message } if path == "price" && message.contains("JSON string")),
        "{e:?}"
    );
    // Nested paths are named.
    let body = r#"{"accountID":1,"orders":[{"symbolID":42,"clOrdID":"a","side":1,"type":1,"timeInForce":1,"price":"1"},{"symbolID":42,"clOrdID":"b","side":1,"type":1,"timeInForce":1,"quantity":"0.10"}]}"#;
    let e = perr(Domain::Spot, Action::BatchNewOrder, body);
    assert!(matches!(&e, PayloadError::InvalidDecimal { path, .. } if path == "orders[1].quantity"), "{e:?}");
    assert!(e.to_string().starts_with("params.orders[1].quantity: "), "{e}");

    // Signed decimals (updateMargin.amount).
    let margin = |a: &str| format!(r#"{{"accountID":1,"symbolID":1,"amount":"{a}"}}"#);
    for ok in ["-50", "50", "0", "-0.5", "12.75"] {
        assert!(parse_params(Domain::Futures, Action::UpdateMargin, margin(ok).as_bytes()).is_ok(), "{ok}");
    }
    for bad in ["-0", "-50.0", "--1", "-", "-.5", "+50"] {
        let e = perr(Domain::Futures, Action::UpdateMargin, &margin(bad));
        assert_eq!(e.code(), "INVALID_DECIMAL", "{bad}: {e}");
    }
    assert_eq!(Decimal::parse("0.406").unwrap().as_str(), "0.406");
    assert!(Decimal::parse("0").unwrap().is_zero());
    assert!(Decimal::parse("0.4060").unwrap_err().contains("0.406"));
    assert!(SignedDecimal::parse("-0").unwrap_err().contains("send \"0\""));
}

#[test]
fn enums_are_known_integers() {
    let cases = [
        ("\"side\":1", "\"side\":0"),
        ("\"side\":1", "\"side\":3"),
        ("\"side\":1", "\"side\":-1"),
        ("\"side\":1", "\"side\":\"BUY\""),
        ("\"side\":1", "\"side\":\"1\""),
        ("\"side\":1", "\"side\":1.5"),
        ("\"type\":1", "\"type\":0"),
        ("\"type\":1", "\"type\":3"),
        ("\"timeInForce\":1", "\"timeInForce\":0"),
        ("\"timeInForce\":1", "\"timeInForce\":5"),
    ];
    for (from, to) in cases {
        let e = perr(Domain::Spot, Action::NewOrder, &SPOT_ORDER.replacen(from, to, 1));
        assert_eq!(e.code(), "INVALID_ENUM", "{to}: {e}");
    }
    let e = perr(Domain::Spot, Action::NewOrder, &SPOT_ORDER.replace("\"side\":1", "\"side\":3"));
    assert!(e.to_string().contains("send 1 (BUY) or 2 (SELL)"), "{e}");

    let perps = r#"{"accountID":1,"symbolID":1,"orders":[{"clOrdID":"x","modifier":1,"side":1,"type":2,"timeInForce":3,"quantity":"1","stopType":1,"triggerType":1,"reduceOnly":false,"positionSide":1}]}"#;
    assert!(parse_params(Domain::Futures, Action::NewOrder, perps.as_bytes()).is_ok());
    for (from, to) in [
        ("\"modifier\":1", "\"modifier\":0"),
        ("\"modifier\":1", "\"modifier\":5"),
        ("\"positionSide\":1", "\"positionSide\":0"),
        ("\"positionSide\":1", "\"positionSide\":4"),
        ("\"stopType\":1", "\"stopType\":3"),
        ("\"triggerType\":1", "\"triggerType\":4"),
    ] {
        let e = perr(Domain::Futures, Action::NewOrder, &perps.replace(from, to));
        assert_eq!(e.code(), "INVALID_ENUM", "{to}: {e}");
    }
    // LONG and SHORT parse (signed like any value); the exchange refuses them with POSITION_SIDE_UNSUPPORTED.
    for side in ["2", "3"] {
        let body = perps.replace("\"positionSide\":1", &format!("\"positionSide\":{side}"));
        assert!(parse_params(Domain::Futures, Action::NewOrder, body.as_bytes()).is_ok(), "{side}");
    }
    let e = perr(Domain::Futures, Action::NewOrder, &perps.replace("\"positionSide\":1", "\"positionSide\":4"));
    assert!(e.to_string().contains("only BOTH is accepted"), "{e}");

    let lev = |m: &str| format!(r#"{{"accountID":1,"symbolID":1,"leverage":10,"marginMode":{m}}}"#);
    assert!(parse_params(Domain::Futures, Action::UpdateLeverage, lev("1").as_bytes()).is_ok());
    assert_eq!(perr(Domain::Futures, Action::UpdateLeverage, &lev("0")).code(), "INVALID_ENUM");
    assert_eq!(perr(Domain::Futures, Action::UpdateLeverage, &lev("3")).code(), "INVALID_ENUM");

    let transfer =
        |t: &str| format!(r#"{{"id":1,"fromAccountID":1,"toAccountID":999,"coinID":0,"amount":"1","type":{t}}}"#);
    for t in 0..=6 {
        assert!(parse_params(Domain::Spot, Action::TransferAsset, transfer(&t.to_string()).as_bytes()).is_ok(), "{t}");
    }
    assert_eq!(perr(Domain::Spot, Action::TransferAsset, &transfer("7")).code(), "INVALID_ENUM");

    let add = ADD_KEY_BODY.replace("\"type\":1", "\"type\":2");
    assert_eq!(parse_add_api_key(add.as_bytes()).unwrap_err().code(), "INVALID_ENUM");
}

#[test]
fn names() {
    for bad in ["", "has space", "ü", "a/b", &"x".repeat(37)] {
        let e = perr(Domain::Spot, Action::NewOrder, &SPOT_ORDER.replace("\"a-1\"", &format!("{bad:?}")));
        assert!(matches!(&e, PayloadError::InvalidName { path, .. } if path == "clOrdID"), "{bad:?}: {e:?}");
    }
    assert!(
        parse_params(
            Domain::Spot,
            Action::NewOrder,
            SPOT_ORDER.replace("\"a-1\"", &format!("\"{}\"", "Z_9-".repeat(9))).as_bytes()
        )
        .is_ok()
    );
    let e = perr(Domain::Universal, Action::RevokeApiKey, r#"{"accountID":1,"name":"default"}"#);
    assert_eq!(e.code(), "INVALID_NAME");
    assert!(e.to_string().contains("master wallet"), "{e}");
    let e = parse_add_api_key(ADD_KEY_BODY.replace("api-key-01", "default").as_bytes()).unwrap_err();
    assert_eq!(e.code(), "INVALID_NAME");
    assert!(KeyName::parse("default").is_none());
    assert!(ClOrdId::parse("default").is_some());
    assert!(is_valid_name("api-key-01") && !is_valid_name("api key"));
}

#[test]
fn non_canonical_bodies() {
    let hint_of = |e: PayloadError| match e {
        PayloadError::NonCanonicalBody { hint, offset, canonical } => (hint, offset, canonical),
        other => panic!("{other:?}"),
    };
    let ok = SPOT_ORDER;
    // Whitespace, a trailing newline.
    let (hint, _, canonical) = hint_of(perr(Domain::Spot, Action::NewOrder, &ok.replace(",", ", ")));
    assert!(hint.contains("whitespace"), "{hint}");
    assert_eq!(canonical, ok);
    let (hint, offset, _) = hint_of(perr(Domain::Spot, Action::NewOrder, &format!("{ok}\n")));
    assert!(hint.contains("whitespace"));
    assert_eq!(offset, ok.len());
    // Key order.
    let swapped = ok.replace(r#""accountID":1,"symbolID":2"#, r#""symbolID":2,"accountID":1"#);
    let (hint, offset, _) = hint_of(perr(Domain::Spot, Action::NewOrder, &swapped));
    assert!(hint.contains("field order"), "{hint}");
    assert_eq!(offset, 2);
    let e = perr(Domain::Spot, Action::NewOrder, &swapped);
    assert!(e.to_string().contains(ok), "{e}");
    assert_eq!(e.code(), "NON_CANONICAL_BODY");
    // An unset optional sent as null.
    let (hint, ..) = hint_of(perr(Domain::Spot, Action::NewOrder, &ok.replace("}", ",\"funds\":null}")));
    assert!(hint.contains("null"), "{hint}");
    // Escapes in strings.
    let (hint, ..) = hint_of(perr(Domain::Spot, Action::NewOrder, &ok.replace("a-1", "a\\u002d1")));
    assert!(hint.contains("escape"), "{hint}");
    // Integers in another form are not u64 at all; a struct sent as an array parses but is not canonical.
    let e = perr(Domain::Spot, Action::NewOrder, &ok.replace("\"accountID\":1", "\"accountID\":-0"));
    assert!(matches!(&e, PayloadError::InvalidField { path, .. } if path == "accountID"), "{e:?}");
    let (hint, offset, canonical) = hint_of(perr(Domain::Spot, Action::ScheduleCancel, "[1]"));
    assert!(hint.contains("JSON object"), "{hint}");
    assert_eq!((offset, canonical.as_str()), (0, r#"{"accountID":1}"#));
    // Perps: zero values are always present.
    let perps = r#"{"accountID":1,"symbolID":1,"orders":[{"clOrdID":"x","modifier":1,"side":1,"type":2,"timeInForce":3,"quantity":"1","reduceOnly":false,"positionSide":1}]}"#;
    let e = perr(Domain::Futures, Action::NewOrder, &perps.replace(",\"reduceOnly\":false", ""));
    assert!(
        matches!(&e, PayloadError::InvalidField { path, message } if path == "orders[0]" && message.contains("reduceOnly")),
        "{e:?}"
    );
}

#[test]
fn structural_errors() {
    // Unknown and duplicate fields, wrong types, overflow, not JSON, not an object.
    let e = perr(Domain::Spot, Action::ScheduleCancel, r#"{"accountID":1,"foo":2}"#);
    assert!(
        matches!(&e, PayloadError::InvalidField { message, .. } if message.contains("unknown field `foo`")),
        "{e:?}"
    );
    let e = perr(Domain::Spot, Action::NewOrder, &SPOT_ORDER.replace("}", ",\"stopPrice\":\"1\"}"));
    assert_eq!(e.code(), "INVALID_FIELD", "{e}");
    let e = perr(Domain::Spot, Action::ScheduleCancel, r#"{"accountID":1,"accountID":1}"#);
    assert_eq!(e.code(), "INVALID_FIELD", "{e}");
    let e = perr(Domain::Spot, Action::ScheduleCancel, r#"{"accountID":"1"}"#);
    assert!(matches!(&e, PayloadError::InvalidField { path, .. } if path == "accountID"), "{e:?}");
    let e = perr(Domain::Spot, Action::ScheduleCancel, r#"{"accountID":18446744073709551616}"#);
    assert_eq!(e.code(), "INVALID_FIELD", "{e}");
    let e = perr(
        Domain::Futures,
        Action::UpdateLeverage,
        r#"{"accountID":1,"symbolID":1,"leverage":4294967296,"marginMode":1}"#,
    );
    assert!(matches!(&e, PayloadError::InvalidField { path, .. } if path == "leverage"), "{e:?}");
    assert_eq!(perr(Domain::Spot, Action::ScheduleCancel, r#"{"accountID":1"#).code(), "INVALID_JSON");
    assert_eq!(perr(Domain::Spot, Action::ScheduleCancel, r#"{"accountID":1}x"#).code(), "INVALID_JSON");
    assert_eq!(perr(Domain::Spot, Action::ScheduleCancel, "").code(), "INVALID_JSON");
    // Empty lists.
    let e = perr(Domain::Spot, Action::BatchCancelOrder, r#"{"accountID":1,"cancels":[]}"#);
    assert_eq!(e, PayloadError::InvalidField { path: "cancels".into(), message: "must hold at least one item".into() });
    // Actions outside their domain.
    for (d, a) in [
        (Domain::Spot, Action::UpdateLeverage),
        (Domain::Spot, Action::ModifyOrder),
        (Domain::Futures, Action::BatchNewOrder),
        (Domain::Universal, Action::NewOrder),
        (Domain::Universal, Action::AddApiKey),
    ] {
        assert_eq!(perr(d, a, "{}"), PayloadError::UnsupportedAction { action: a, domain: d });
    }
    // scheduleCancel with and without the timestamp.
    for body in [r#"{"accountID":1}"#, r#"{"accountID":1,"scheduledTimestamp":1760373985000}"#] {
        assert!(parse_params(Domain::Futures, Action::ScheduleCancel, body.as_bytes()).is_ok());
    }
    // addAPIKey publicKey shape.
    for bad in ["0x3d45", "3d4595c8742d0a58173a9963c05755b59a8f8256", "0x3d4595c8742d0a58173a9963c05755b59a8f825g"] {
        let e = parse_add_api_key(ADD_KEY_BODY.replace("0x3d4595c8742d0a58173a9963c05755b59a8f8256", bad).as_bytes());
        assert_eq!(e.unwrap_err().code(), "INVALID_FIELD", "{bad}");
    }
}

#[test]
fn every_action_round_trips() {
    // One canonical body per (domain, action), each parsed, re-encoded to the same bytes, signed and verified.
    let bodies: &[(Domain, Action, &str)] = &[
        (Domain::Spot, Action::NewOrder, SPOT_ORDER),
        (
            Domain::Spot,
            Action::CancelOrder,
            r#"{"accountID":1,"symbolID":2,"clOrdID":"c-1","orderID":77,"origClOrdID":"a-1"}"#,
        ),
        (
            Domain::Spot,
            Action::BatchNewOrder,
            r#"{"accountID":1,"orders":[{"symbolID":2,"clOrdID":"b","side":2,"type":2,"timeInForce":3,"funds":"10.5"}]}"#,
        ),
        (
            Domain::Spot,
            Action::BatchCancelOrder,
            r#"{"accountID":1,"cancels":[{"symbolID":2,"clOrdID":"c","orderID":9,"origClOrdID":"b"}]}"#,
        ),
        (
            Domain::Spot,
            Action::ReplaceOrder,
            r#"{"accountID":1,"orders":[{"symbolID":2,"clOrdID":"r","origOrderID":9,"origClOrdID":"b","price":"1.5","quantity":"2"}]}"#,
        ),
        (Domain::Spot, Action::ScheduleCancel, r#"{"accountID":1,"scheduledTimestamp":1760373985000}"#),
        (
            Domain::Spot,
            Action::TransferAsset,
            r#"{"id":3,"fromAccountID":1,"toAccountID":999,"coinID":2,"amount":"0.5","type":1}"#,
        ),
        (Domain::Spot, Action::RevokeApiKey, r#"{"accountID":1,"name":"k1"}"#),
        (
            Domain::Futures,
            Action::NewOrder,
            r#"{"accountID":1,"symbolID":1,"orders":[{"clOrdID":"p","modifier":3,"side":2,"type":1,"timeInForce":4,"price":"3100","quantity":"1.5","funds":"1","stopPrice":"3000","stopType":2,"triggerType":3,"reduceOnly":true,"positionSide":1}]}"#,
        ),
        (
            Domain::Futures,
            Action::CancelOrder,
            r#"{"accountID":1,"cancels":[{"symbolID":1,"orderID":5},{"symbolID":1,"clOrdID":"p"}]}"#,
        ),
        (
            Domain::Futures,
            Action::ModifyOrder,
            r#"{"accountID":1,"symbolID":1,"orderID":5,"clOrdID":"p","price":"3101","quantity":"1","stopPrice":"3001"}"#,
        ),
        (Domain::Futures, Action::UpdateLeverage, r#"{"accountID":1,"symbolID":1,"leverage":20,"marginMode":1}"#),
        (Domain::Futures, Action::UpdateMargin, r#"{"accountID":1,"symbolID":1,"amount":"7.25"}"#),
        (
            Domain::Futures,
            Action::ReplaceOrder,
            r#"{"accountID":1,"orders":[{"symbolID":1,"clOrdID":"r2","origClOrdID":"p"}]}"#,
        ),
        (Domain::Futures, Action::ScheduleCancel, r#"{"accountID":1}"#),
        (
            Domain::Futures,
            Action::TransferAsset,
            r#"{"id":4,"fromAccountID":999,"toAccountID":1,"coinID":0,"amount":"100","type":6}"#,
        ),
        (Domain::Futures, Action::RevokeApiKey, r#"{"accountID":1,"name":"k1"}"#),
        (Domain::Universal, Action::RevokeApiKey, r#"{"accountID":1,"name":"k1"}"#),
    ];
    let verifier = mainnet();
    let api = address_of(&API_KEY).unwrap();
    for (i, &(domain, action, body)) in bodies.iter().enumerate() {
        let params = parse_params(domain, action, body.as_bytes()).unwrap_or_else(|e| panic!("{domain} {action}: {e}"));
        assert_eq!(params.canonical_body(), body.as_bytes(), "{domain} {action}");
        assert_eq!(params.action(), action);
        let nonce = NOW + i as u64;
        let sig = verifier.sign_action(&API_KEY, domain, action, body.as_bytes(), nonce).unwrap();
        let h = mainnet()
            .parse_headers(Some(&sig.to_header()), Some("bot-1"), Some(&nonce.to_string()), Some("286623"))
            .unwrap();
        let got = verifier.verify_action(domain, action, body.as_bytes(), &h).unwrap();
        assert_eq!(got.signer, api, "{domain} {action}");
        assert_eq!(got.params, params);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Nonces

const DAY: u64 = 86_400_000;

#[test]
fn nonce_window() {
    assert_eq!(check_nonce_window(NOW, NOW), Ok(()));
    assert_eq!(check_nonce_window(NOW - 2 * DAY + 1, NOW), Ok(()));
    assert_eq!(check_nonce_window(NOW - 2 * DAY, NOW), Err(NonceError::TooOld { nonce: NOW - 2 * DAY, now: NOW }));
    assert_eq!(check_nonce_window(NOW + DAY - 1, NOW), Ok(()));
    assert_eq!(check_nonce_window(NOW + DAY, NOW), Err(NonceError::TooNew { nonce: NOW + DAY, now: NOW }));
    assert_eq!(check_nonce_window(1, NOW).unwrap_err().code(), "NONCE_OUT_OF_WINDOW");
    assert_eq!(check_nonce_window(u64::MAX, u64::MAX - 1), Ok(()));
    assert_eq!(check_nonce_window(0, 0), Ok(()));
    assert!(check_nonce_window(u64::MAX, 0).is_err());
    // The golden vectors' tiny nonces are refused at any real server time.
    assert!(NonceSet::new().check(VECTORS[0].nonce, NOW).is_err());
}

#[test]
fn nonce_set_rule() {
    let mut set = NonceSet::new();
    assert_eq!(set.try_insert(NOW, NOW), Ok(None));
    assert_eq!(set.try_insert(NOW, NOW), Err(NonceError::Reused { nonce: NOW }));
    assert_eq!(set.try_insert(NOW, NOW).unwrap_err().code(), "NONCE_REUSED");
    // Out of order is fine while fewer than 100 are kept.
    assert_eq!(set.try_insert(NOW - 5, NOW), Ok(None));
    for i in 1..=98 {
        assert_eq!(set.try_insert(NOW + i, NOW), Ok(None));
    }
    assert_eq!(set.len(), 100);
    assert_eq!(set.smallest(), Some(NOW - 5));
    // Full: below or at the smallest is refused, unused above it accepted (evicting the smallest).
    assert_eq!(set.check(NOW - 6, NOW), Err(NonceError::TooLow { nonce: NOW - 6, smallest: NOW - 5 }));
    assert_eq!(set.check(NOW - 5, NOW), Err(NonceError::Reused { nonce: NOW - 5 }));
    assert_eq!(set.check(NOW - 6, NOW).unwrap_err().code(), "NONCE_TOO_LOW");
    let before = set.clone();
    assert_eq!(set.try_insert(NOW - 6, NOW), Err(NonceError::TooLow { nonce: NOW - 6, smallest: NOW - 5 }));
    assert_eq!(set, before, "a refused nonce leaves the state unchanged");
    assert_eq!(set.try_insert(NOW - 1, NOW), Ok(Some(NOW - 5)));
    assert_eq!(set.len(), 100);
    assert_eq!(set.smallest(), Some(NOW - 1));
    assert_eq!(set.check(NOW - 2, NOW), Err(NonceError::TooLow { nonce: NOW - 2, smallest: NOW - 1 }));
    assert_eq!(set.check(NOW + 50, NOW), Err(NonceError::Reused { nonce: NOW + 50 }));
    assert_eq!(set.check(NOW + 1000, NOW), Ok(()));

    // The pure form returns the next state and leaves the input alone.
    let next = set.accept(NOW + 1000, NOW).unwrap();
    assert_eq!(next.len(), 100);
    assert_ne!(next, set);
    assert!(next.as_slice().contains(&(NOW + 1000)));
    assert!(next.as_slice().windows(2).all(|w| w[0] < w[1]));

    // Storage form: a JSON array, normalized on the way in.
    let json = serde_json::to_string(&NonceSet::from(vec![3, 1, 2, 2])).unwrap();
    assert_eq!(json, "[1,2,3]");
    let big: NonceSet = serde_json::from_str(&serde_json::to_string(&(0..150).collect::<Vec<u64>>()).unwrap()).unwrap();
    assert_eq!((big.len(), big.smallest()), (100, Some(50)));
    assert_eq!((0..150).rev().collect::<NonceSet>(), big);

    let scope = NonceScope { signer: key_address(), domain: Domain::Futures };
    assert_eq!(scope.to_string(), "futures:0x14791697260e4c9a71f18484c9f997b308e59325");
}

// ------------------------------------------------------------------------------------------------------------------
// API-key registry and authorization

fn record(name: &str, key: Address, expires_at: u64) -> ApiKeyRecord {
    ApiKeyRecord { name: KeyName::parse(name).unwrap(), public_key: key, expires_at }
}

#[test]
fn api_key_registry_rules() {
    let req = parse_add_api_key(ADD_KEY_BODY.as_bytes()).unwrap();
    let k = Address::repeat_byte(7);
    assert_eq!(check_add(&req, &[], NOW), Ok(()));
    let four: Vec<_> = (0..4).map(|i| record(&format!("k{i}"), k, 0)).collect();
    assert_eq!(check_add(&req, &four, NOW), Ok(()));
    let mut five = four.clone();
    five.push(record("k4", k, NOW + 1));
    assert_eq!(check_add(&req, &five, NOW), Err(ApiKeyError::LimitReached));
    assert_eq!(ApiKeyError::LimitReached.code(), "API_KEY_LIMIT");
    // An expired key frees its slot and its name.
    let mut with_expired = four.clone();
    with_expired.push(record("api-key-01", k, NOW));
    assert_eq!(check_add(&req, &with_expired, NOW), Ok(()));
    // A live key of the same name.
    let mut taken = four.clone();
    taken[0] = record("api-key-01", k, 0);
    assert_eq!(check_add(&req, &taken, NOW), Err(ApiKeyError::NameTaken(req.name.clone())));
    // Expiry in the past, zero key.
    let mut past = req.clone();
    past.expires_at = NOW;
    assert_eq!(check_add(&past, &[], NOW), Err(ApiKeyError::AlreadyExpired { expires_at: NOW, now: NOW }));
    past.expires_at = NOW + 1;
    assert_eq!(check_add(&past, &[], NOW), Ok(()));
    let mut zero = req.clone();
    zero.public_key = Address::ZERO;
    assert_eq!(check_add(&zero, &[], NOW), Err(ApiKeyError::ZeroPublicKey));
    // Revoke.
    assert_eq!(check_revoke(&req.name, &with_expired), Ok(()));
    assert_eq!(check_revoke(&req.name, &four), Err(ApiKeyError::NotFound(req.name.clone())));
    assert!(!is_expired(0, u64::MAX) && is_expired(5, 5) && !is_expired(6, 5));
}

#[test]
fn signer_authorization() {
    let master = key_address();
    let api = address_of(&API_KEY).unwrap();
    let name = KeyName::parse("bot-1").unwrap();
    let named = KeySelector::Named(name.clone());
    let live = record("bot-1", api, 0);

    assert_eq!(authorize(Action::NewOrder, &KeySelector::Master, master, master, None, NOW), Ok(Authorized::Master));
    assert_eq!(authorize(Action::NewOrder, &named, api, master, Some(&live), NOW), Ok(Authorized::ApiKey));
    assert_eq!(
        authorize(Action::RevokeApiKey, &KeySelector::Master, master, master, None, NOW),
        Ok(Authorized::Master)
    );
    // Unknown key name (the caller found no row).
    let e = authorize(Action::NewOrder, &named, api, master, None, NOW).unwrap_err();
    assert_eq!(e, ApiKeyError::UnknownKey(name.clone()));
    assert_eq!(e.code(), "UNKNOWN_API_KEY");
    // A row of another name is not this key.
    let other = record("bot-2", api, 0);
    assert_eq!(
        authorize(Action::NewOrder, &named, api, master, Some(&other), NOW),
        Err(ApiKeyError::UnknownKey(name.clone()))
    );
    // Expired key.
    let expired = record("bot-1", api, NOW);
    assert_eq!(
        authorize(Action::NewOrder, &named, api, master, Some(&expired), NOW),
        Err(ApiKeyError::KeyExpired { name: name.clone(), expires_at: NOW })
    );
    // Key-management actions need the master.
    for a in [Action::RevokeApiKey, Action::AddApiKey] {
        assert_eq!(authorize(a, &named, api, master, Some(&live), NOW), Err(ApiKeyError::MasterRequired(a)));
    }
    // Signed by the API key but presented as the master (or another master's account), and vice versa.
    let e = authorize(Action::NewOrder, &KeySelector::Master, api, master, None, NOW).unwrap_err();
    assert!(
        matches!(&e, ApiKeyError::SignerMismatch { recovered, expected, .. } if *recovered == api && *expected == master)
    );
    assert_eq!(e.code(), "SIGNER_MISMATCH");
    assert!(authorize(Action::NewOrder, &named, master, master, Some(&live), NOW).is_err());
}

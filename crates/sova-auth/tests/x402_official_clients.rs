//! Payments made by the official x402 clients, recorded once and replayed here: `@x402/svm` 2.27 + `@x402/core`
//! 2.27 (npm, `x402Client` + `ExactSvmScheme`, `encodePaymentSignatureHeader`) and `x402[svm]` 2.25 (PyPI,
//! `x402Client` + `ExactSvmScheme` + `KeypairSigner`, `encode_payment_signature_header`), each against a local RPC
//! mock answering `getAccountInfo` for the mint (82-byte mint, 6 decimals, Token program), with the offer below
//! (`extra.recentBlockhash` set, so no other RPC call). Keys: ed25519 seeds `[1; 32]` (server fee payer),
//! `[2; 32]` (client), `[3; 32]` (payTo owner).
#![allow(clippy::unwrap_used)]

use sova_auth::x402::{self, PaymentFlow, PaymentRequirements, VerifyPolicy};
use sova_chain::solana::{self, SigningKey, TOKEN_PROGRAM_ID, WireTransaction};

/// `@x402/svm` 2.27, offer without `extra.memo` (the client adds a random 32-hex-digit memo).
const TS_RANDOM_MEMO: &str = concat!(
    "eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJ0cmFuc2FjdGlvbiI6IkFnQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQjVZMUtNcmhmTTIyenY5SEczMUIv",
    "N3A0MFlOajFFWEJxS1JpSy9zVHVpNW9xVmI0NXNxbW5TRE5qUEkveE5xdzRFZEJLWExlaWpSMTFsMVhqejEvd1BnQUlCQkFpS2lP",
    "UGRkQW54bGYxUzJ5MDh1bDF5eW1jSnZ4MlVFaHZ6ZElnQnRBOXZYSUU1ZHc2b2ZSZGZWcU5VWnNOTWZzekxqWXFSdE80M29sMzJE",
    "MXVQeWJPVVZmcllVRHdjVE1JejFyYWpjbHFsVVUvdXEzaWVyeUtXYjNLaTJVTXh5VnZ0cnh1Y0ZoOXRhWXBHdWJCNENhU2hqYjlU",
    "eERLMm9rdnhzUWlEL01zaW1EdEVMTE9SSVZmeE9wTTlBVFFvTFFNclgvN05BYUxiOGJkNUJnamZBQzZuQXdaR2IrVWhGekwvN0sy",
    "NmNzT2I1N3lNNWJ2Rjl4SnJMRU9iT2tBQUFBQUZTbE5hbVNraEJrMGs2SEZnMmpoOGZEVzEzYnlTdTRIa0g2aEFRUVZFalFiZDl1",
    "SFhaYUdUMmN2aFJzN3JlYXdjdElYdFgxczNrVHFNOVlWKy93Q3Bmb3dJaDJDLzNoM2R6ekxCZnlDYmdrTHVVcXJ4TWZyTmlORHFM",
    "RzBMQnZJRUJRQUZBaUJPQUFBRkFBa0RBUUFBQUFBQUFBQUhCQU1FQWdFS0RKZzZBQUFBQUFBQUJnWUFJREpoTW1ZeU5EUTNNR1Jr",
    "TVRSak16TmxZbUUxTWpnM05XSXdOakkxWTJNekFBPT0ifSwicmVzb3VyY2UiOnsidXJsIjoiaHR0cDovL2xvY2FsaG9zdC9hcGkv",
    "djEvaW50ZWwvd2FsbGV0L3gvaHVkIn0sImFjY2VwdGVkIjp7InNjaGVtZSI6ImV4YWN0IiwibmV0d29yayI6InNvbGFuYTpFdFdU",
    "UkFCWmFZcTZpTWZlWUtvdVJ1MTY2VlUyeHFhMSIsImFtb3VudCI6IjE1MDAwIiwiYXNzZXQiOiI0ek1NQzlzcnQ1Umk1WDE0R0Fn",
    "WGhhSGlpM0duUEFFRVJZUEpnWkpEbmNEVSIsInBheVRvIjoiR3lHS3hNeWcxcDlTc0hmbTE1TWtOVXUxdTlUTjJKdFRzcGNkbXJ0",
    "R1Vkc2UiLCJtYXhUaW1lb3V0U2Vjb25kcyI6NjAsImV4dHJhIjp7ImZlZVBheWVyIjoiQUtuTDROTmYzREdXWkpTNmNQa25CdUVH",
    "blZzVjRBNG01dGdlYkxIYVJTWjkiLCJyZWNlbnRCbG9ja2hhc2giOiI5V3pEWHdCYm1rZzhaVGJOTXFVeHZRUkF5clp6RHNHWWRM",
    "Vkw5ell0QVdXTSIsImxhc3RWYWxpZEJsb2NrSGVpZ2h0IjoxMDAwfX19",
);

/// `@x402/svm` 2.27, offer with `extra.memo = "order-42"`.
const TS_ORDER_42: &str = concat!(
    "eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJ0cmFuc2FjdGlvbiI6IkFnQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBRHc5YjczM0hwNXc3Y3k2ejhVR3lG",
    "cVlBb0UxTW00U3FMUmxNbkt3cEFIcVBNN2RWL01uTkFUSVo2c1ptc0NIUVF5YVN6a0V1bHlBdzdOcUJNaTl1d0FnQUlCQkFpS2lP",
    "UGRkQW54bGYxUzJ5MDh1bDF5eW1jSnZ4MlVFaHZ6ZElnQnRBOXZYSUU1ZHc2b2ZSZGZWcU5VWnNOTWZzekxqWXFSdE80M29sMzJE",
    "MXVQeWJPVVZmcllVRHdjVE1JejFyYWpjbHFsVVUvdXEzaWVyeUtXYjNLaTJVTXh5VnZ0cnh1Y0ZoOXRhWXBHdWJCNENhU2hqYjlU",
    "eERLMm9rdnhzUWlEL01zaW1EdEVMTE9SSVZmeE9wTTlBVFFvTFFNclgvN05BYUxiOGJkNUJnamZBQzZuQXdaR2IrVWhGekwvN0sy",
    "NmNzT2I1N3lNNWJ2Rjl4SnJMRU9iT2tBQUFBQUZTbE5hbVNraEJrMGs2SEZnMmpoOGZEVzEzYnlTdTRIa0g2aEFRUVZFalFiZDl1",
    "SFhaYUdUMmN2aFJzN3JlYXdjdElYdFgxczNrVHFNOVlWKy93Q3Bmb3dJaDJDLzNoM2R6ekxCZnlDYmdrTHVVcXJ4TWZyTmlORHFM",
    "RzBMQnZJRUJRQUZBaUJPQUFBRkFBa0RBUUFBQUFBQUFBQUhCQU1FQWdFS0RKZzZBQUFBQUFBQUJnWUFDRzl5WkdWeUxUUXlBQT09",
    "In0sInJlc291cmNlIjp7InVybCI6Imh0dHA6Ly9sb2NhbGhvc3QvYXBpL3YxL2ludGVsL3dhbGxldC94L2h1ZCJ9LCJhY2NlcHRl",
    "ZCI6eyJzY2hlbWUiOiJleGFjdCIsIm5ldHdvcmsiOiJzb2xhbmE6RXRXVFJBQlphWXE2aU1mZVlLb3VSdTE2NlZVMnhxYTEiLCJh",
    "bW91bnQiOiIxNTAwMCIsImFzc2V0IjoiNHpNTUM5c3J0NVJpNVgxNEdBZ1hoYUhpaTNHblBBRUVSWVBKZ1pKRG5jRFUiLCJwYXlU",
    "byI6Ikd5R0t4TXlnMXA5U3NIZm0xNU1rTlV1MXU5VE4ySnRUc3BjZG1ydEdVZHNlIiwibWF4VGltZW91dFNlY29uZHMiOjYwLCJl",
    "eHRyYSI6eyJmZWVQYXllciI6IkFLbkw0Tk5mM0RHV1pKUzZjUGtuQnVFR25Wc1Y0QTRtNXRnZWJMSGFSU1o5IiwicmVjZW50Qmxv",
    "Y2toYXNoIjoiOVd6RFh3QmJta2c4WlRiTk1xVXh2UVJBeXJaekRzR1lkTFZMOXpZdEFXV00iLCJsYXN0VmFsaWRCbG9ja0hlaWdo",
    "dCI6MTAwMCwibWVtbyI6Im9yZGVyLTQyIn19fQ==",
);

/// `x402[svm]` 2.25 (Python), offer with `extra.memo = "order-42"`.
const PY_ORDER_42: &str = concat!(
    "eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJ0cmFuc2FjdGlvbiI6IkFnQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQlM5R1RuMDBlVU9zOVpRY0ZXMUVj",
    "SGQ3RjgvekdGcGRkZ1E2Zkl0QmpJREQzKzBKK2ZlemIxZFFIUUN1T0dXZWppUmJ0QS9QQ21wR0hGK0hxTWFMQUdnQUlCQkFpS2lP",
    "UGRkQW54bGYxUzJ5MDh1bDF5eW1jSnZ4MlVFaHZ6ZElnQnRBOXZYSUU1ZHc2b2ZSZGZWcU5VWnNOTWZzekxqWXFSdE80M29sMzJE",
    "MXVQeWJPVVZmcllVRHdjVE1JejFyYWpjbHFsVVUvdXEzaWVyeUtXYjNLaTJVTXh5VnZ0cnh1Y0ZoOXRhWXBHdWJCNENhU2hqYjlU",
    "eERLMm9rdnhzUWlEL01zaW1BTUdSbS9sSVJjeS8reXR1bkxEbStlOGpPVzd4ZmNTYXl4RG16cEFBQUFBQlVwVFdwa3BJUVpOSk9o",
    "eFlObzRmSHcxdGQyOGtydUI1QitvUUVFRlJJMEczZmJoMTJXaGs5bkw0VWJPNjNtc0hMU0Y3VjliTjVFNmpQV0ZmdjhBcVR0RUxM",
    "T1JJVmZ4T3BNOUFUUW9MUU1yWC83TkFhTGI4YmQ1QmdqZkFDNm5mb3dJaDJDLzNoM2R6ekxCZnlDYmdrTHVVcXJ4TWZyTmlORHFM",
    "RzBMQnZJRUJBQUZBaUJPQUFBRUFBa0RBUUFBQUFBQUFBQUdCQU1IQWdFS0RKZzZBQUFBQUFBQUJnVUFDRzl5WkdWeUxUUXlBQT09",
    "In0sImFjY2VwdGVkIjp7InNjaGVtZSI6ImV4YWN0IiwibmV0d29yayI6InNvbGFuYTpFdFdUUkFCWmFZcTZpTWZlWUtvdVJ1MTY2",
    "VlUyeHFhMSIsImFzc2V0IjoiNHpNTUM5c3J0NVJpNVgxNEdBZ1hoYUhpaTNHblBBRUVSWVBKZ1pKRG5jRFUiLCJhbW91bnQiOiIx",
    "NTAwMCIsInBheVRvIjoiR3lHS3hNeWcxcDlTc0hmbTE1TWtOVXUxdTlUTjJKdFRzcGNkbXJ0R1Vkc2UiLCJtYXhUaW1lb3V0U2Vj",
    "b25kcyI6NjAsImV4dHJhIjp7ImZlZVBheWVyIjoiQUtuTDROTmYzREdXWkpTNmNQa25CdUVHblZzVjRBNG01dGdlYkxIYVJTWjki",
    "LCJtZW1vIjoib3JkZXItNDIiLCJyZWNlbnRCbG9ja2hhc2giOiI5V3pEWHdCYm1rZzhaVGJOTXFVeHZRUkF5clp6RHNHWWRMVkw5",
    "ell0QVdXTSIsImxhc3RWYWxpZEJsb2NrSGVpZ2h0IjoxMDAwfX0sInJlc291cmNlIjp7InVybCI6Imh0dHA6Ly9sb2NhbGhvc3Qv",
    "YXBpL3YxL2ludGVsL3dhbGxldC94L2h1ZCJ9fQ==",
);

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn offer(memo: Option<&str>) -> PaymentRequirements {
    let fee_payer = solana::pubkey_of(&key(1)).to_string();
    let pay_to = solana::pubkey_of(&key(3)).to_string();
    assert_eq!(fee_payer, "AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9");
    assert_eq!(pay_to, "GyGKxMyg1p9SsHfm15MkNUu1u9TN2JtTspcdmrtGUdse");
    let offer = PaymentRequirements::exact(x402::SOLANA_DEVNET, 15_000, x402::USDC_DEVNET, &pay_to, 60, &fee_payer)
        .with_recent_blockhash("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", 1000);
    match memo {
        Some(memo) => offer.with_memo(memo),
        None => offer,
    }
}

fn check(header: &str, offer: &PaymentRequirements) {
    let fee_payer = key(1);
    let policy = VerifyPolicy::new([solana::pubkey_of(&fee_payer)]);
    let v = x402::verify_payment_header(header, std::slice::from_ref(offer), &policy).unwrap();
    assert_eq!(v.flow, PaymentFlow::Sponsored);
    assert_eq!(v.payer, solana::pubkey_of(&key(2)));
    assert_eq!(v.amount, 15_000);
    let pay_to = solana::pubkey_of(&key(3));
    assert_eq!(v.destination, solana::associated_token_address(&pay_to, &v.mint, &TOKEN_PROGRAM_ID));
    assert_eq!(v.transaction.instructions().len(), 4);
    let cosigned = v.co_sign(&fee_payer).unwrap();
    let tx = WireTransaction::decode(&cosigned.transaction).unwrap();
    tx.verify_signatures(false).unwrap();
    assert_eq!(tx.message_bytes(), v.transaction.message_bytes());

    // The same payment is refused when the offer asks for another memo.
    let other_memo = offer.clone().with_memo("order-43");
    let err = x402::verify_payment_header(header, &[other_memo], &policy).unwrap_err();
    assert_eq!(err.code(), "invalid_payment_requirements");
}

#[test]
fn typescript_client_payment_without_memo_is_accepted() {
    check(TS_RANDOM_MEMO, &offer(None));
}

#[test]
fn typescript_client_payment_with_memo_is_accepted() {
    check(TS_ORDER_42, &offer(Some("order-42")));
}

#[test]
fn python_client_payment_with_memo_is_accepted() {
    check(PY_ORDER_42, &offer(Some("order-42")));
}

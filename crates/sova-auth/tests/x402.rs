//! x402 payment verification against transactions built independently of the verifier with the Solana crates
//! (`solana-message` compiles and `solana-keypair` signs; instructions come from `spl-token-interface`,
//! `spl-associated-token-account-interface`, `solana-compute-budget-interface`, `spl-memo-interface`).
//!
//! Two accepted shapes (official sponsored flow, seed-document variant) and one test per rule that breaks exactly
//! that rule and expects its error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, VersionedMessage, legacy, v0};
use solana_signer::Signer;
use sova_auth::x402::{
    self, CoSigned, PaymentFlow, PaymentPayload, PaymentRequired, PaymentRequirements, ResourceInfo, SettleResponse,
    Verified, VerifyPolicy, X402Error,
};
use sova_chain::solana::{
    self, Hash, LIGHTHOUSE_PROGRAM_ID, MEMO_PROGRAM_ID, Pubkey, Signature, SigningKey, TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID, VersionedTransaction, WireTransaction,
};
use spl_associated_token_account_interface::address::get_associated_token_address_with_program_id as ata;

const AMOUNT: u64 = 15_000;
const MEMO: &str = "0123456789abcdef0123456789abcdef";

struct Fixture {
    fee_payer: Keypair,
    fee_payer_key: SigningKey,
    client: Keypair,
    pay_to: Pubkey,
    mint: Pubkey,
    offer: PaymentRequirements,
    policy: VerifyPolicy,
}

fn keypair(seed: u8) -> (Keypair, SigningKey) {
    (Keypair::new_from_array([seed; 32]), SigningKey::from_bytes(&[seed; 32]))
}

fn blockhash() -> Hash {
    Hash::new_from_array([77; 32])
}

fn fixture() -> Fixture {
    let (fee_payer, fee_payer_key) = keypair(1);
    let (client, _) = keypair(2);
    let pay_to = Keypair::new_from_array([3; 32]).pubkey();
    let mint = solana::parse_pubkey(x402::USDC_DEVNET).unwrap();
    let offer = PaymentRequirements::exact(
        x402::SOLANA_DEVNET,
        AMOUNT,
        x402::USDC_DEVNET,
        &pay_to.to_string(),
        60,
        &fee_payer.pubkey().to_string(),
    );
    let policy = VerifyPolicy::new([fee_payer.pubkey()]);
    Fixture { fee_payer, fee_payer_key, client, pay_to, mint, offer, policy }
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn serialize(tx: &VersionedTransaction) -> Vec<u8> {
    wincode::serialize(tx).unwrap()
}

impl Fixture {
    /// TransferChecked `amount` of `mint` from `authority`'s ATA to `destination`.
    fn transfer_to(&self, authority: &Pubkey, mint: &Pubkey, destination: &Pubkey, amount: u64) -> Instruction {
        let source = ata(authority, mint, &TOKEN_PROGRAM_ID);
        spl_token_interface::instruction::transfer_checked(
            &TOKEN_PROGRAM_ID,
            &source,
            mint,
            destination,
            authority,
            &[],
            amount,
            6,
        )
        .unwrap()
    }

    /// The correct transfer: the client pays `amount` USDC into the ATA of `payTo`.
    fn transfer(&self, amount: u64) -> Instruction {
        let destination = ata(&self.pay_to, &self.mint, &TOKEN_PROGRAM_ID);
        self.transfer_to(&self.client.pubkey(), &self.mint, &destination, amount)
    }

    /// What `@x402/svm` 2.27 builds: limit, price, transfer, memo.
    fn official_instructions(&self) -> Vec<Instruction> {
        vec![
            ComputeBudgetInstruction::set_compute_unit_limit(20_000),
            ComputeBudgetInstruction::set_compute_unit_price(1),
            self.transfer(AMOUNT),
            memo(MEMO),
        ]
    }

    /// v0 message with the server's fee payer in slot 0 (unsigned); each of `signers` signs its own slot.
    fn sponsored_tx_with(&self, fee_payer: &Pubkey, ixs: &[Instruction], signers: &[&Keypair]) -> Vec<u8> {
        let message = VersionedMessage::V0(v0::Message::try_compile(fee_payer, ixs, &[], blockhash()).unwrap());
        partially_signed(message, signers)
    }

    fn sponsored_tx(&self, ixs: &[Instruction]) -> Vec<u8> {
        self.sponsored_tx_with(&self.fee_payer.pubkey(), ixs, &[&self.client])
    }

    /// The `PAYMENT-SIGNATURE` header of the official client for `offer`.
    fn header_for(&self, accepted: &PaymentRequirements, tx: &[u8]) -> String {
        let resource = ResourceInfo {
            url: "http://localhost/api/v1/intel/wallet/x/hud".into(),
            description: None,
            mime_type: None,
        };
        PaymentPayload::v2(accepted.clone(), b64(tx), Some(resource)).to_header()
    }

    fn verify_header(&self, header: &str) -> Result<Verified, X402Error> {
        x402::verify_payment_header(header, std::slice::from_ref(&self.offer), &self.policy)
    }

    fn verify_sponsored(&self, ixs: &[Instruction]) -> Result<Verified, X402Error> {
        self.verify_header(&self.header_for(&self.offer, &self.sponsored_tx(ixs)))
    }

    /// The seed document's transaction: legacy, the client pays its fee, fully signed, one TransferChecked.
    fn seed_tx(&self, ixs: &[Instruction], payer: &Keypair, signers: &[&Keypair]) -> Vec<u8> {
        let message = legacy::Message::new(ixs, Some(&payer.pubkey()));
        let tx = solana_transaction::Transaction::new(signers, message, blockhash());
        serialize(&VersionedTransaction::from(tx))
    }

    fn verify_seed(&self, tx: &[u8], network: &str) -> Result<Verified, X402Error> {
        // Exactly the JSON the seed document's `buildPayment` produces.
        let json = json!({
            "x402Version": 2,
            "scheme": "exact",
            "network": network,
            "payload": { "transaction": b64(tx) },
        });
        self.verify_header(&b64(json.to_string().as_bytes()))
    }
}

fn memo(text: &str) -> Instruction {
    spl_memo_interface::instruction::build_memo(&MEMO_PROGRAM_ID, text.as_bytes(), &[])
}

fn partially_signed(message: VersionedMessage, signers: &[&Keypair]) -> Vec<u8> {
    let bytes = message.serialize();
    let keys = message.static_account_keys().to_vec();
    let mut signatures = vec![Signature::default(); usize::from(message.header().num_required_signatures)];
    for signer in signers {
        let slot = keys.iter().position(|k| *k == signer.pubkey()).unwrap();
        signatures[slot] = signer.sign_message(&bytes);
    }
    serialize(&VersionedTransaction { signatures, message })
}

fn assert_refused(result: Result<Verified, X402Error>, code: &str) -> X402Error {
    let err = result.expect_err("payment should be refused");
    assert_eq!(err.code(), code, "{err}");
    err
}

// ------------------------------------------------------------------------------------------------------------------
// Accepted payments
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn official_sponsored_payment_is_accepted_and_cosigned() {
    let f = fixture();
    let tx = f.sponsored_tx(&f.official_instructions());
    let v = f.verify_header(&f.header_for(&f.offer, &tx)).unwrap();

    let decoded: VersionedTransaction = wincode::deserialize(&tx).unwrap();
    let message_bytes = decoded.message.serialize();
    assert_eq!(v.flow, PaymentFlow::Sponsored);
    assert_eq!(v.offer_index, 0);
    assert_eq!(v.network, x402::SOLANA_DEVNET);
    assert_eq!(v.payer, f.client.pubkey());
    assert_eq!(v.amount, AMOUNT);
    assert_eq!(v.mint, f.mint);
    assert_eq!(v.destination, ata(&f.pay_to, &f.mint, &TOKEN_PROGRAM_ID));
    assert_eq!(v.token_program, TOKEN_PROGRAM_ID);
    assert_eq!(v.fee_payer, f.fee_payer.pubkey());
    assert_eq!(v.message_hash, <[u8; 32]>::from(Sha256::digest(&message_bytes)));
    assert_eq!(v.message_hash_hex(), hex::encode(Sha256::digest(&message_bytes)));
    assert_eq!(v.client_signature, decoded.signatures[1].to_string());
    assert!(v.needs_fee_payer_signature);
    assert_eq!(v.transaction_signature(), None);
    assert_eq!(v.recent_blockhash, blockhash());
    assert_eq!(v.transaction_bytes(), tx.as_slice());

    // Co-signed: identical to what the Solana crates produce when both keys sign, and every signature verifies.
    let CoSigned { transaction, signature } = v.co_sign(&f.fee_payer_key).unwrap();
    let both = VersionedTransaction::try_new(decoded.message.clone(), &[&f.fee_payer, &f.client]).unwrap();
    assert_eq!(transaction, serialize(&both));
    assert_eq!(signature, both.signatures[0].to_string());
    WireTransaction::decode(&transaction).unwrap().verify_signatures(false).unwrap();
    assert_eq!(x402::co_sign_transaction(&tx, &f.fee_payer_key).unwrap().transaction, transaction);

    // Another key cannot co-sign.
    let (_, other) = keypair(9);
    assert_refused(v.co_sign(&other).map(|_| v.clone()), "invalid_exact_svm_transaction_failed");
}

#[test]
fn sponsored_variants_are_accepted() {
    let f = fixture();
    // The smallest layout (3 instructions), legacy message.
    let ixs = &f.official_instructions()[..3];
    let message =
        VersionedMessage::Legacy(legacy::Message::new_with_blockhash(ixs, Some(&f.fee_payer.pubkey()), &blockhash()));
    let tx = partially_signed(message, &[&f.client]);
    f.verify_header(&f.header_for(&f.offer, &tx)).unwrap();

    // Wallet-injected Lighthouse instructions (7 instructions in all) and the price at its limit.
    let mut ixs = f.official_instructions();
    ixs[1] = ComputeBudgetInstruction::set_compute_unit_price(x402::MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS);
    let lighthouse = Instruction::new_with_bytes(LIGHTHOUSE_PROGRAM_ID, &[1, 2, 3], vec![]);
    ixs.splice(3..3, [lighthouse.clone(), lighthouse.clone(), lighthouse]);
    assert_eq!(ixs.len(), 7);
    f.verify_sponsored(&ixs).unwrap();

    // Token-2022.
    let mut ixs = f.official_instructions();
    let mut transfer =
        f.transfer_to(&f.client.pubkey(), &f.mint, &ata(&f.pay_to, &f.mint, &TOKEN_2022_PROGRAM_ID), AMOUNT);
    transfer.program_id = TOKEN_2022_PROGRAM_ID;
    ixs[2] = transfer;
    let v = f.verify_sponsored(&ixs).unwrap();
    assert_eq!(v.token_program, TOKEN_2022_PROGRAM_ID);
    assert_eq!(v.destination, ata(&f.pay_to, &f.mint, &TOKEN_2022_PROGRAM_ID));

    // The server's memo, a fresh blockhash in `extra` (ignored by matching) and precomputed ATAs.
    let mut f = f;
    f.offer = f.offer.clone().with_memo("order-42").with_recent_blockhash(blockhash().to_string(), 1_000);
    f.policy = f.policy.clone().with_destination(&f.pay_to, &f.mint);
    let mut ixs = f.official_instructions();
    ixs[3] = memo("order-42");
    let mut accepted = f.offer.clone();
    accepted.extra.insert("recentBlockhash".into(), json!("11111111111111111111111111111111"));
    accepted.extra.insert("lastValidBlockHeight".into(), json!(7));
    accepted.extra.insert("clientNote".into(), json!("extra fields are fine"));
    f.verify_header(&f.header_for(&accepted, &f.sponsored_tx(&ixs))).unwrap();
}

#[test]
fn seed_document_payment_is_accepted_without_cosigning() {
    let f = fixture();
    let tx = f.seed_tx(&[f.transfer(AMOUNT)], &f.client, &[&f.client]);
    let v = f.verify_seed(&tx, x402::SOLANA_DEVNET).unwrap();

    let decoded: VersionedTransaction = wincode::deserialize(&tx).unwrap();
    assert_eq!(v.flow, PaymentFlow::ClientPaid);
    assert_eq!(v.payer, f.client.pubkey());
    assert_eq!(v.fee_payer, f.client.pubkey());
    assert_eq!(v.amount, AMOUNT);
    assert_eq!(v.destination, ata(&f.pay_to, &f.mint, &TOKEN_PROGRAM_ID));
    assert!(!v.needs_fee_payer_signature);
    assert_eq!(v.client_signature, decoded.signatures[0].to_string());
    assert_eq!(v.transaction_signature(), Some(decoded.signatures[0].to_string()));
    assert_eq!(v.message_hash, <[u8; 32]>::from(Sha256::digest(decoded.message.serialize())));
    // Nothing to co-sign: the bytes are submitted as they are.
    let cosigned = v.co_sign(&f.fee_payer_key).unwrap();
    assert_eq!(cosigned.transaction, tx);
    assert_eq!(cosigned.signature, v.client_signature);

    // The v1 network name and the v1 header version are accepted in this shape.
    f.verify_seed(&tx, "solana-devnet").unwrap();
    let v1 =
        json!({"x402Version": 1, "scheme": "exact", "network": "solana-devnet", "payload": {"transaction": b64(&tx)}});
    f.verify_header(&b64(v1.to_string().as_bytes())).unwrap();
}

// ------------------------------------------------------------------------------------------------------------------
// One rule each
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn raw_pay_to_as_destination_is_refused() {
    // The seed document's warning: the transfer must go to the ATA of payTo, not to payTo itself.
    let f = fixture();
    let raw = f.transfer_to(&f.client.pubkey(), &f.mint, &f.pay_to, AMOUNT);
    let err = assert_refused(
        f.verify_seed(&f.seed_tx(std::slice::from_ref(&raw), &f.client, &[&f.client]), x402::SOLANA_DEVNET),
        "invalid_exact_svm_payload_recipient_mismatch",
    );
    assert_eq!(err.to_string(), "transfer destination does not match treasury ATA");

    let mut ixs = f.official_instructions();
    ixs[2] = raw;
    assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_recipient_mismatch");
}

#[test]
fn amount_too_low_is_refused() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    ixs[2] = f.transfer(AMOUNT - 1);
    let err = assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_amount_mismatch");
    assert_eq!(err.to_string(), "USDC amount 14999 < required 15000");

    let err = assert_refused(
        f.verify_seed(&f.seed_tx(&[f.transfer(10)], &f.client, &[&f.client]), x402::SOLANA_DEVNET),
        "invalid_exact_svm_payload_amount_mismatch",
    );
    assert_eq!(err.to_string(), "USDC amount 10 < required 15000");
}

#[test]
fn amount_too_high_is_refused() {
    // "exact": paying more is not the offer either.
    let f = fixture();
    let mut ixs = f.official_instructions();
    ixs[2] = f.transfer(AMOUNT + 1);
    let err = assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_amount_mismatch");
    assert_eq!(err.to_string(), "USDC amount 15001 > required 15000");
}

#[test]
fn wrong_mint_is_refused() {
    let f = fixture();
    let other_mint = solana::parse_pubkey(x402::USDC_MAINNET).unwrap();
    let mut ixs = f.official_instructions();
    ixs[2] = f.transfer_to(&f.client.pubkey(), &other_mint, &ata(&f.pay_to, &other_mint, &TOKEN_PROGRAM_ID), AMOUNT);
    assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_mint_mismatch");
}

#[test]
fn wrong_decimals_are_refused() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    *ixs[2].data.last_mut().unwrap() = 9;
    assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_decimals_mismatch");
}

#[test]
fn fee_payer_in_an_instructions_accounts_is_refused() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    ixs[3] = spl_memo_interface::instruction::build_memo(&MEMO_PROGRAM_ID, MEMO.as_bytes(), &[&f.fee_payer.pubkey()]);
    assert_refused(
        f.verify_sponsored(&ixs),
        "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
    );

    // As the source of the funds.
    let mut ixs = f.official_instructions();
    ixs[2].accounts[0] = AccountMeta::new(f.fee_payer.pubkey(), false);
    assert_refused(
        f.verify_sponsored(&ixs),
        "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts",
    );
}

#[test]
fn fee_payer_as_transfer_authority_is_refused() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    let fee_payer = f.fee_payer.pubkey();
    ixs[2] = f.transfer_to(&fee_payer, &f.mint, &ata(&f.pay_to, &f.mint, &TOKEN_PROGRAM_ID), AMOUNT);
    let tx = f.sponsored_tx_with(&fee_payer, &ixs, &[]);
    assert_refused(
        f.verify_header(&f.header_for(&f.offer, &tx)),
        "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
    );
}

#[test]
fn unsigned_transfer_authority_is_refused() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    ixs[2].accounts[3].is_signer = false;
    let tx = f.sponsored_tx_with(&f.fee_payer.pubkey(), &ixs, &[]);
    let err =
        assert_refused(f.verify_header(&f.header_for(&f.offer, &tx)), "invalid_exact_svm_payload_signature_invalid");
    assert!(err.to_string().contains("did not sign"), "{err}");
}

#[test]
fn extra_instruction_is_refused() {
    let f = fixture();
    let drain = Instruction::new_with_bytes(
        solana::SYSTEM_PROGRAM_ID,
        &[2, 0, 0, 0, 0, 202, 154, 59, 0, 0, 0, 0],
        vec![AccountMeta::new(f.client.pubkey(), true), AccountMeta::new(Pubkey::new_from_array([8; 32]), false)],
    );
    let mut ixs = f.official_instructions();
    ixs.push(drain.clone());
    let err = assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_unknown_fifth_instruction");
    assert!(matches!(err, X402Error::UnknownOptionalInstruction { position: 4, .. }));

    let mut ixs = f.official_instructions();
    ixs[3] = drain.clone();
    assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_unknown_fourth_instruction");

    // Eight instructions.
    let mut ixs = f.official_instructions();
    ixs.extend(std::iter::repeat_n(memo("x"), 4));
    assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_transaction_instructions_length");

    // The seed variant holds just the TransferChecked.
    let tx = f.seed_tx(&[f.transfer(AMOUNT), memo("hi")], &f.client, &[&f.client]);
    assert_refused(
        f.verify_seed(&tx, x402::SOLANA_DEVNET),
        "invalid_exact_svm_payload_transaction_instructions_length",
    );
}

#[test]
fn compute_budget_layout_is_enforced() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    ixs.swap(0, 1);
    assert_refused(
        f.verify_sponsored(&ixs),
        "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction",
    );

    let mut ixs = f.official_instructions();
    ixs[1] = ComputeBudgetInstruction::set_compute_unit_limit(20_000);
    assert_refused(
        f.verify_sponsored(&ixs),
        "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction",
    );

    let mut ixs = f.official_instructions();
    ixs[2] = memo("not a transfer");
    let tx = f.sponsored_tx_with(&f.fee_payer.pubkey(), &ixs, &[]);
    assert_refused(f.verify_header(&f.header_for(&f.offer, &tx)), "invalid_exact_svm_payload_no_transfer_instruction");
}

#[test]
fn compute_price_too_high_is_refused() {
    let f = fixture();
    let mut ixs = f.official_instructions();
    ixs[1] = ComputeBudgetInstruction::set_compute_unit_price(x402::MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS + 1);
    assert_refused(
        f.verify_sponsored(&ixs),
        "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
    );
}

#[test]
fn compute_limit_above_a_configured_bound_is_refused() {
    let mut f = fixture();
    f.policy.max_compute_units = Some(200_000);
    let mut ixs = f.official_instructions();
    ixs[0] = ComputeBudgetInstruction::set_compute_unit_limit(1_400_000);
    assert_refused(
        f.verify_sponsored(&ixs),
        "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction_too_high",
    );
}

#[test]
fn memo_mismatch_is_refused() {
    let mut f = fixture();
    f.offer = f.offer.clone().with_memo("order-42");
    let mut ixs = f.official_instructions();
    ixs[3] = memo("order-43");
    assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_memo_mismatch");

    ixs[3] = memo("order-42");
    ixs.push(memo("order-42"));
    let err = assert_refused(f.verify_sponsored(&ixs), "invalid_exact_svm_payload_memo_count");
    assert_eq!(err, X402Error::MemoCount(2));

    let ixs = &f.official_instructions()[..3];
    assert_eq!(
        assert_refused(f.verify_sponsored(ixs), "invalid_exact_svm_payload_memo_count"),
        X402Error::MemoCount(0)
    );
}

#[test]
fn bad_signature_is_refused() {
    let f = fixture();
    let mut tx = f.sponsored_tx(&f.official_instructions());
    tx[1 + 64 + 5] ^= 0x01; // inside the client's signature (slot 1)
    assert_refused(f.verify_header(&f.header_for(&f.offer, &tx)), "invalid_exact_svm_payload_signature_invalid");

    // Signed by someone else.
    let (mallory, _) = keypair(5);
    let message = VersionedMessage::V0(
        v0::Message::try_compile(&f.fee_payer.pubkey(), &f.official_instructions(), &[], blockhash()).unwrap(),
    );
    let mut decoded: VersionedTransaction = wincode::deserialize(&partially_signed(message, &[&f.client])).unwrap();
    decoded.signatures[1] = mallory.sign_message(&decoded.message.serialize());
    assert_refused(
        f.verify_header(&f.header_for(&f.offer, &serialize(&decoded))),
        "invalid_exact_svm_payload_signature_invalid",
    );

    // The seed variant checks the fee payer's signature too.
    let mut tx = f.seed_tx(&[f.transfer(AMOUNT)], &f.client, &[&f.client]);
    tx[3] ^= 0x01;
    assert_refused(f.verify_seed(&tx, x402::SOLANA_DEVNET), "invalid_exact_svm_payload_signature_invalid");
}

#[test]
fn wrong_network_is_refused() {
    let f = fixture();
    let tx = f.sponsored_tx(&f.official_instructions());
    let mut accepted = f.offer.clone();
    accepted.network = x402::SOLANA_MAINNET.into();
    assert_refused(f.verify_header(&f.header_for(&accepted, &tx)), "invalid_exact_svm_network_mismatch");

    accepted.network = "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z".into(); // testnet: not served
    assert_refused(f.verify_header(&f.header_for(&accepted, &tx)), "invalid_network");

    let seed = f.seed_tx(&[f.transfer(AMOUNT)], &f.client, &[&f.client]);
    assert_refused(f.verify_seed(&seed, x402::SOLANA_MAINNET), "invalid_exact_svm_network_mismatch");
    assert_refused(f.verify_seed(&seed, "eip155:8453"), "invalid_network");
}

#[test]
fn unsupported_scheme_is_refused() {
    let f = fixture();
    let mut accepted = f.offer.clone();
    accepted.scheme = "upto".into();
    let tx = f.sponsored_tx(&f.official_instructions());
    assert_refused(f.verify_header(&f.header_for(&accepted, &tx)), "invalid_exact_svm_unsupported_scheme");
}

#[test]
fn accepted_must_match_an_offer() {
    let f = fixture();
    let tx = f.sponsored_tx(&f.official_instructions());
    let changes: [fn(&mut PaymentRequirements); 5] = [
        |a| a.amount = "1".into(),
        |a| a.asset = x402::USDC_MAINNET.into(),
        |a| a.pay_to = Pubkey::new_from_array([4; 32]).to_string(),
        |a| a.max_timeout_seconds = 3600,
        |a| {
            a.extra.remove("feePayer");
        },
    ];
    for change in changes {
        let mut accepted = f.offer.clone();
        change(&mut accepted);
        let err = assert_refused(f.verify_header(&f.header_for(&accepted, &tx)), "invalid_payment_requirements");
        assert_eq!(err.to_string(), "No matching payment requirements");
    }
}

#[test]
fn fee_payer_rules_of_step_one_and_three() {
    let f = fixture();
    let tx = f.sponsored_tx(&f.official_instructions());

    // The offer has no fee payer.
    let mut offer = f.offer.clone();
    offer.extra.clear();
    let header = f.header_for(&offer, &tx);
    assert_refused(
        x402::verify_payment_header(&header, &[offer], &f.policy),
        "invalid_exact_svm_payload_missing_fee_payer",
    );

    // The offer's fee payer is not ours.
    let stranger = Keypair::new_from_array([6; 32]).pubkey();
    let mut offer = f.offer.clone();
    offer.extra.insert("feePayer".into(), json!(stranger.to_string()));
    let header = f.header_for(&offer, &f.sponsored_tx_with(&stranger, &f.official_instructions(), &[&f.client]));
    assert_refused(
        x402::verify_payment_header(&header, &[offer], &f.policy),
        "invalid_exact_svm_fee_payer_not_managed_by_facilitator",
    );

    // Account 0 is not extra.feePayer (the client pays its own fee in the official shape).
    let tx = f.sponsored_tx_with(&f.client.pubkey(), &f.official_instructions(), &[&f.client]);
    assert_refused(f.verify_header(&f.header_for(&f.offer, &tx)), "invalid_exact_svm_fee_payer_mismatch");

    // Seed variant with our fee payer in account 0.
    let tx = f.seed_tx(&[f.transfer(AMOUNT)], &f.fee_payer, &[&f.fee_payer, &f.client]);
    assert_refused(f.verify_seed(&tx, x402::SOLANA_DEVNET), "invalid_exact_svm_fee_payer_mismatch");
}

#[test]
fn address_table_lookups_are_refused() {
    let f = fixture();
    let ixs = f.official_instructions();
    let table = AddressLookupTableAccount {
        key: Pubkey::new_from_array([10; 32]),
        addresses: vec![ata(&f.pay_to, &f.mint, &TOKEN_PROGRAM_ID)],
    };
    let message =
        VersionedMessage::V0(v0::Message::try_compile(&f.fee_payer.pubkey(), &ixs, &[table], blockhash()).unwrap());
    assert!(!message.address_table_lookups().unwrap().is_empty());
    let tx = partially_signed(message, &[&f.client]);
    assert_refused(
        f.verify_header(&f.header_for(&f.offer, &tx)),
        "invalid_exact_svm_smart_wallet_alt_resolution_not_available",
    );
}

#[test]
fn too_many_signers_are_refused() {
    let f = fixture();
    let (a, _) = keypair(11);
    let (b, _) = keypair(12);
    let mut ixs = f.official_instructions();
    ixs[3] =
        spl_memo_interface::instruction::build_memo(&MEMO_PROGRAM_ID, MEMO.as_bytes(), &[&a.pubkey(), &b.pubkey()]);
    let tx = f.sponsored_tx_with(&f.fee_payer.pubkey(), &ixs, &[&f.client, &a, &b]);
    let err =
        assert_refused(f.verify_header(&f.header_for(&f.offer, &tx)), "invalid_exact_svm_payload_excessive_signers");
    assert_eq!(err, X402Error::ExcessiveSigners { count: 4, max: 3 });
}

#[test]
fn malformed_headers_are_refused() {
    let f = fixture();
    for header in ["not base64!", &b64(b"{not json"), &b64(b"[]"), &b64(br#"{"x402Version":2}"#), ""] {
        let err = assert_refused(f.verify_header(header), "invalid_payload");
        assert!(err.is_malformed());
    }
    // Neither `accepted` nor scheme/network.
    let bare = json!({"x402Version": 2, "payload": {"transaction": "AA=="}});
    assert_refused(f.verify_header(&b64(bare.to_string().as_bytes())), "invalid_payload");
    // Oversized.
    assert_refused(f.verify_header(&"A".repeat(x402::MAX_HEADER_LEN + 1)), "invalid_payload");
    // Unknown version.
    let v3 = json!({"x402Version": 3, "accepted": f.offer, "payload": {"transaction": "AA=="}});
    let err = assert_refused(f.verify_header(&b64(v3.to_string().as_bytes())), "invalid_x402_version");
    assert!(!err.is_malformed());
}

#[test]
fn undecodable_transactions_are_refused() {
    let f = fixture();
    let good = f.sponsored_tx(&f.official_instructions());
    for tx in ["%%%".to_string(), b64(&[]), b64(&[1, 2, 3]), b64(&good[..good.len() - 1]), "A".repeat(4000)] {
        let header = PaymentPayload::v2(f.offer.clone(), tx, None).to_header();
        assert_refused(f.verify_header(&header), "invalid_exact_svm_payload_transaction_could_not_be_decoded");
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert_refused(
        f.verify_header(&f.header_for(&f.offer, &trailing)),
        "invalid_exact_svm_payload_transaction_could_not_be_decoded",
    );
}

// ------------------------------------------------------------------------------------------------------------------
// Wire types and header codec
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn header_codec_is_lenient_about_base64_flavour() {
    let f = fixture();
    let tx = f.sponsored_tx(&f.official_instructions());
    let json = serde_json::to_vec(&PaymentPayload::v2(f.offer.clone(), b64(&tx), None)).unwrap();
    for header in [STANDARD.encode(&json), STANDARD_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(&json)] {
        f.verify_header(&format!(" {header} ")).unwrap();
    }
}

#[test]
fn wire_shapes_are_camel_case_as_specified() {
    let f = fixture();
    let required = PaymentRequired::new(
        ResourceInfo {
            url: "https://api.example/api/v1/intel/wallet/x/hud".into(),
            description: Some("wallet HUD".into()),
            mime_type: Some("application/json".into()),
        },
        vec![f.offer.clone().with_memo("m")],
    )
    .with_error("No matching payment requirements");
    assert_eq!(
        serde_json::to_value(&required).unwrap(),
        json!({
            "x402Version": 2,
            "error": "No matching payment requirements",
            "resource": {
                "url": "https://api.example/api/v1/intel/wallet/x/hud",
                "description": "wallet HUD",
                "mimeType": "application/json"
            },
            "accepts": [{
                "scheme": "exact",
                "network": x402::SOLANA_DEVNET,
                "amount": "15000",
                "asset": x402::USDC_DEVNET,
                "payTo": f.pay_to.to_string(),
                "maxTimeoutSeconds": 60,
                "extra": { "feePayer": f.fee_payer.pubkey().to_string(), "memo": "m" }
            }]
        })
    );
    let back: PaymentRequired = x402::decode_header(&required.to_header()).unwrap();
    assert_eq!(back, required);

    // The seed document's PAYMENT-REQUIRED (no resource, no extra) decodes.
    let seed = json!({"x402Version": 2, "accepts": [{"scheme": "exact", "network": x402::SOLANA_MAINNET,
        "asset": x402::USDC_MAINNET, "amount": "15000", "payTo": f.pay_to.to_string(), "maxTimeoutSeconds": 60}]});
    let decoded: PaymentRequired = x402::decode_header(&b64(seed.to_string().as_bytes())).unwrap();
    assert_eq!(decoded.accepts[0].amount, "15000");
    assert!(decoded.accepts[0].extra.is_empty());

    let payload = PaymentPayload::v2(f.offer.clone(), "AQID".into(), None);
    let value = serde_json::to_value(&payload).unwrap();
    assert_eq!(value["x402Version"], 2);
    assert_eq!(value["accepted"]["payTo"], f.pay_to.to_string());
    assert_eq!(value["payload"], json!({"transaction": "AQID"}));
    assert!(value.get("scheme").is_none() && value.get("resource").is_none());
    assert_eq!(x402::decode_payment_header(&payload.to_header()).unwrap(), payload);

    let ok = SettleResponse::success("5sig".into(), x402::SOLANA_DEVNET.into(), f.client.pubkey().to_string(), AMOUNT);
    assert_eq!(
        serde_json::to_value(&ok).unwrap(),
        json!({"success": true, "payer": f.client.pubkey().to_string(), "transaction": "5sig",
               "network": x402::SOLANA_DEVNET, "amount": "15000"})
    );
    let failed =
        SettleResponse::failure(x402::reasons::SETTLEMENT_PENDING, x402::SOLANA_DEVNET.into(), None, "5sig".into());
    assert_eq!(
        serde_json::to_value(&failed).unwrap(),
        json!({"success": false, "errorReason": "settlement_pending", "transaction": "5sig", "network": x402::SOLANA_DEVNET})
    );
    assert_eq!(x402::decode_header::<SettleResponse>(&failed.to_header()).unwrap(), failed);
}

#[test]
fn offer_matching_treats_extra_as_a_subset() {
    let f = fixture();
    let offer = f.offer.clone().with_memo("m").with_recent_blockhash("abc", 5);
    let mut accepted = offer.clone();
    assert!(x402::offer_matches(&offer, &accepted));
    accepted.extra.insert("recentBlockhash".into(), json!("other"));
    accepted.extra.remove("lastValidBlockHeight");
    accepted.extra.insert("more".into(), json!({"a": 1}));
    assert!(x402::offer_matches(&offer, &accepted));
    accepted.extra.insert("memo".into(), json!("n"));
    assert!(!x402::offer_matches(&offer, &accepted));

    let mut nested = f.offer.clone();
    nested.extra.insert("features".into(), json!({"a": 1}));
    let mut accepted = nested.clone();
    accepted.extra.insert("features".into(), json!({"a": 1, "b": 2}));
    assert!(x402::offer_matches(&nested, &accepted));
    accepted.extra.insert("features".into(), json!({"b": 2}));
    assert!(!x402::offer_matches(&nested, &accepted));

    let second = PaymentRequirements { amount: "30000".into(), ..f.offer.clone() };
    let offers = [f.offer.clone(), second.clone()];
    assert_eq!(x402::match_offer(&second, &offers).unwrap().0, 1);
}

//! `sova_chain::solana` against transactions built independently with the Solana crates
//! (`solana-transaction`, `solana-message`, `solana-keypair`, `spl-token-interface`, ...).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_message::{AddressLookupTableAccount, VersionedMessage, legacy, v0};
use solana_signer::Signer;
use solana_transaction::Transaction;
use sova_chain::solana::{
    self, ASSOCIATED_TOKEN_PROGRAM_ID, Hash, MEMO_PROGRAM_ID, Pubkey, Signature, SigningKey, SolanaTxError,
    TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, TxVersion, VersionedTransaction, WireTransaction,
};

const USDC: Pubkey = solana_address_const("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v");

const fn solana_address_const(s: &str) -> Pubkey {
    Pubkey::from_str_const(s)
}

fn keypair(seed: u8) -> (Keypair, SigningKey) {
    let secret = [seed; 32];
    (Keypair::new_from_array(secret), SigningKey::from_bytes(&secret))
}

fn blockhash() -> Hash {
    Hash::new_from_array([9; 32])
}

fn transfer_checked(owner: &Pubkey, pay_to: &Pubkey, amount: u64) -> Instruction {
    let source = spl_associated_token_account_interface::address::get_associated_token_address(owner, &USDC);
    let dest = spl_associated_token_account_interface::address::get_associated_token_address(pay_to, &USDC);
    spl_token_interface::instruction::transfer_checked(&TOKEN_PROGRAM_ID, &source, &USDC, &dest, owner, &[], amount, 6)
        .unwrap()
}

fn serialize(tx: &VersionedTransaction) -> Vec<u8> {
    wincode::serialize(tx).unwrap()
}

/// The official client's layout: v0, fee payer (unsigned) in slot 0, client signs only its own slot.
fn sponsored_v0(fee_payer: &Pubkey, client: &Keypair, pay_to: &Pubkey) -> VersionedTransaction {
    let ixs = [
        ComputeBudgetInstruction::set_compute_unit_limit(20_000),
        ComputeBudgetInstruction::set_compute_unit_price(1),
        transfer_checked(&client.pubkey(), pay_to, 15_000),
        spl_memo_interface::instruction::build_memo(&MEMO_PROGRAM_ID, b"0123456789abcdef0123456789abcdef", &[]),
    ];
    let message = v0::Message::try_compile(fee_payer, &ixs, &[], blockhash()).unwrap();
    let message = VersionedMessage::V0(message);
    let mut signatures = vec![Signature::default(); usize::from(message.header().num_required_signatures)];
    let client_slot = message.static_account_keys().iter().position(|k| *k == client.pubkey()).unwrap();
    signatures[client_slot] = client.sign_message(&message.serialize());
    VersionedTransaction { signatures, message }
}

#[test]
fn legacy_fully_signed_transaction_decodes_and_verifies() {
    let (client, _) = keypair(1);
    let pay_to = Pubkey::new_from_array([2; 32]);
    let tx = Transaction::new_signed_with_payer(
        &[transfer_checked(&client.pubkey(), &pay_to, 15_000)],
        Some(&client.pubkey()),
        &[&client],
        blockhash(),
    );
    let bytes = serialize(&VersionedTransaction::from(tx.clone()));
    let wire = WireTransaction::decode(&bytes).unwrap();

    assert_eq!(wire.version(), TxVersion::Legacy);
    assert_eq!(wire.as_bytes(), bytes.as_slice());
    assert_eq!(wire.message_bytes(), tx.message_data().as_slice());
    assert_eq!(wire.signatures(), tx.signatures.as_slice());
    assert_eq!(wire.header(), &tx.message.header);
    assert_eq!(wire.account_keys(), tx.message.account_keys.as_slice());
    assert_eq!(wire.recent_blockhash(), &blockhash());
    assert_eq!(wire.instructions(), tx.message.instructions.as_slice());
    assert!(wire.address_table_lookups().is_empty());
    assert_eq!(wire.fee_payer(), Some(&client.pubkey()));
    assert_eq!(wire.required_signers(), &[client.pubkey()]);
    assert_eq!(wire.signature_base58(0).unwrap(), tx.signatures[0].to_string());
    wire.verify_signatures(false).unwrap();

    let ix = &wire.instructions()[0];
    assert_eq!(wire.program_id(ix), Some(&TOKEN_PROGRAM_ID));
    assert_eq!(wire.instruction_account(ix, 1), Some(&USDC));
    assert_eq!(wire.instruction_account(ix, 3), Some(&client.pubkey()));
    assert_eq!(ix.data[0], 12);
}

#[test]
fn sponsored_v0_transaction_verifies_client_and_cosigns_slot_zero() {
    let (fee_payer_kp, fee_payer_key) = keypair(3);
    let (client, _) = keypair(4);
    let pay_to = Pubkey::new_from_array([5; 32]);
    let tx = sponsored_v0(&fee_payer_kp.pubkey(), &client, &pay_to);
    let bytes = serialize(&tx);
    let mut wire = WireTransaction::decode(&bytes).unwrap();

    assert_eq!(wire.version(), TxVersion::V0);
    assert_eq!(wire.fee_payer(), Some(&fee_payer_kp.pubkey()));
    assert_eq!(wire.num_required_signatures(), 2);
    assert_eq!(wire.message_bytes(), tx.message.serialize().as_slice());
    assert_eq!(wire.instructions().len(), 4);
    wire.verify_signatures(true).unwrap();
    assert_eq!(
        wire.verify_signatures(false),
        Err(SolanaTxError::InvalidSignature { index: 0, signer: fee_payer_kp.pubkey() })
    );

    // The client cannot be put in the fee payer's slot, the fee payer key signs slot 0.
    assert!(matches!(wire.sign(1, &fee_payer_key), Err(SolanaTxError::SignerMismatch { index: 1, .. })));
    assert!(matches!(wire.sign(2, &fee_payer_key), Err(SolanaTxError::NoSuchSigner { index: 2, count: 2 })));
    let signature = wire.sign(0, &fee_payer_key).unwrap();
    wire.verify_signatures(false).unwrap();
    assert_eq!(wire.signature_base58(0).unwrap(), signature.to_string());
    assert_eq!(wire.encode().unwrap(), wire.as_bytes());

    // Independent check: the Solana crates' own decoding and signing agree with the co-signed bytes.
    let decoded: VersionedTransaction = wincode::deserialize(wire.as_bytes()).unwrap();
    assert_eq!(decoded.signatures[0], fee_payer_kp.sign_message(&tx.message.serialize()));
    assert_eq!(decoded.signatures[1], tx.signatures[1]);
    let fully_signed = VersionedTransaction::try_new(tx.message.clone(), &[&fee_payer_kp, &client]).unwrap();
    assert_eq!(serialize(&fully_signed), wire.as_bytes());
}

#[test]
fn tampered_signature_or_message_is_refused() {
    let (client, _) = keypair(6);
    let pay_to = Pubkey::new_from_array([7; 32]);
    let tx = Transaction::new_signed_with_payer(
        &[transfer_checked(&client.pubkey(), &pay_to, 15_000)],
        Some(&client.pubkey()),
        &[&client],
        blockhash(),
    );
    let bytes = serialize(&VersionedTransaction::from(tx));

    let mut bad_sig = bytes.clone();
    bad_sig[10] ^= 1;
    let wire = WireTransaction::decode(&bad_sig).unwrap();
    assert!(matches!(wire.verify_signatures(false), Err(SolanaTxError::InvalidSignature { index: 0, .. })));

    // Flip one byte of the amount inside the message.
    let mut bad_msg = bytes.clone();
    let len = bad_msg.len();
    bad_msg[len - 9] ^= 1;
    let wire = WireTransaction::decode(&bad_msg).unwrap();
    assert!(wire.verify_signatures(false).is_err());

    let (_, other) = keypair(8);
    let mut wire = WireTransaction::decode(&bytes).unwrap();
    wire.set_signature(0, Signature::from(ed25519_sign(&other, wire.message_bytes()))).unwrap();
    assert!(wire.verify_signatures(false).is_err());
}

fn ed25519_sign(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer as _;
    key.sign(message).to_bytes()
}

#[test]
fn address_table_lookups_are_reported() {
    let (fee_payer, _) = keypair(9);
    let (client, _) = keypair(10);
    let pay_to = Pubkey::new_from_array([11; 32]);
    let ix = transfer_checked(&client.pubkey(), &pay_to, 15_000);
    let dest = ix.accounts[2].pubkey;
    let table = AddressLookupTableAccount { key: Pubkey::new_from_array([12; 32]), addresses: vec![dest, USDC] };
    let message =
        v0::Message::try_compile(&fee_payer.pubkey(), &[ix], std::slice::from_ref(&table), blockhash()).unwrap();
    let message = VersionedMessage::V0(message);
    let tx = VersionedTransaction::try_new(message, &[&fee_payer, &client]).unwrap();
    let wire = WireTransaction::decode(&serialize(&tx)).unwrap();

    let lookups = wire.address_table_lookups();
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].account_key, table.key);
    // The destination and mint are not static keys any more.
    assert!(!wire.account_keys().contains(&dest));
    let ix = &wire.instructions()[0];
    assert_eq!(wire.instruction_account(ix, 2), None);
    wire.verify_signatures(false).unwrap();
}

#[test]
fn malformed_bytes_are_refused() {
    let (client, _) = keypair(13);
    let pay_to = Pubkey::new_from_array([14; 32]);
    let tx = Transaction::new_signed_with_payer(
        &[transfer_checked(&client.pubkey(), &pay_to, 1)],
        Some(&client.pubkey()),
        &[&client],
        blockhash(),
    );
    let bytes = serialize(&VersionedTransaction::from(tx.clone()));

    assert!(matches!(WireTransaction::decode(&[]), Err(SolanaTxError::Decode(_))));
    assert!(matches!(WireTransaction::decode(&bytes[..bytes.len() - 1]), Err(SolanaTxError::Decode(_))));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(WireTransaction::decode(&trailing), Err(SolanaTxError::Decode(_))));
    assert!(matches!(WireTransaction::decode(&vec![1u8; 1300]), Err(SolanaTxError::TooLarge(1300))));

    // A signature count that disagrees with the header fails the runtime's sanity checks.
    let mut extra_sig = VersionedTransaction::from(tx);
    extra_sig.signatures.push(Signature::default());
    assert!(matches!(WireTransaction::decode(&serialize(&extra_sig)), Err(SolanaTxError::Sanitize(_))));

    // Account index out of range.
    let mut bad_index = legacy::Message::new(
        &[Instruction::new_with_bytes(MEMO_PROGRAM_ID, b"x", vec![AccountMeta::new_readonly(pay_to, false)])],
        Some(&client.pubkey()),
    );
    bad_index.instructions[0].accounts[0] = 40;
    let tx =
        VersionedTransaction { signatures: vec![Signature::default()], message: VersionedMessage::Legacy(bad_index) };
    assert!(matches!(WireTransaction::decode(&serialize(&tx)), Err(SolanaTxError::Sanitize(_))));

    // A non-canonical (padded) short-vec length for the signature count.
    let mut padded = vec![0x81, 0x00];
    padded.extend_from_slice(&bytes[1..]);
    assert!(WireTransaction::decode(&padded).is_err());
}

#[test]
fn associated_token_addresses_match_the_spl_crate() {
    for seed in 0..20u8 {
        let owner = Pubkey::new_from_array([seed; 32]);
        for program in [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
            let expected =
                spl_associated_token_account_interface::address::get_associated_token_address_with_program_id(
                    &owner, &USDC, &program,
                );
            assert_eq!(solana::associated_token_address(&owner, &USDC, &program), expected);
        }
    }
    assert_eq!(spl_associated_token_account_interface::program::ID, ASSOCIATED_TOKEN_PROGRAM_ID);
    assert_eq!(spl_token_interface::ID, TOKEN_PROGRAM_ID);
    let owner = solana::parse_pubkey("7VHUFJHWu2CuExkJcJrzhQPJ2oygupTWkL2A2For4BmE").unwrap();
    let ata = solana::associated_token_address(&owner, &USDC, &TOKEN_PROGRAM_ID);
    assert_eq!(ata, spl_associated_token_account_interface::address::get_associated_token_address(&owner, &USDC));
}

#[test]
fn base58_helpers() {
    let key = Pubkey::new_from_array([42; 32]);
    assert_eq!(solana::base58_encode(key.as_ref()), key.to_string());
    assert_eq!(solana::parse_pubkey(&key.to_string()).unwrap(), key);
    assert_eq!(solana::base58_decode("2g").unwrap(), vec![97]);
    assert_eq!(solana::parse_hash(&blockhash().to_string()).unwrap(), blockhash());
    let (kp, sk) = keypair(15);
    assert_eq!(solana::pubkey_of(&sk), kp.pubkey());
}

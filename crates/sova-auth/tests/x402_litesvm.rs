//! An accepted sponsored-flow payment, co-signed by the server's fee payer, executes in an in-process Solana runtime
//! (litesvm) and moves the USDC: proof that what the verifier accepts would settle on chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use litesvm::LiteSVM;
use solana_account::Account;
use sova_auth::x402::{self, PaymentPayload, PaymentRequirements, VerifyPolicy};
use sova_chain::solana::{self, ExactPayment, Pubkey, SigningKey, TOKEN_PROGRAM_ID, WireTransaction};

/// SPL Token mint account data (82 bytes): authority Some(authority), supply, decimals 6, initialized, no freeze.
fn mint_data(authority: &Pubkey, supply: u64) -> Vec<u8> {
    let mut d = vec![0u8; 82];
    d[0] = 1;
    d[4..36].copy_from_slice(authority.as_ref());
    d[36..44].copy_from_slice(&supply.to_le_bytes());
    d[44] = 6;
    d[45] = 1;
    d
}

/// SPL Token account data (165 bytes): mint, owner, amount, no delegate, initialized.
fn token_account_data(mint: &Pubkey, owner: &Pubkey, amount: u64) -> Vec<u8> {
    let mut d = vec![0u8; 165];
    d[0..32].copy_from_slice(mint.as_ref());
    d[32..64].copy_from_slice(owner.as_ref());
    d[64..72].copy_from_slice(&amount.to_le_bytes());
    d[108] = 1;
    d
}

fn token_amount(svm: &LiteSVM, account: &Pubkey) -> u64 {
    let data = svm.get_account(account).unwrap().data;
    u64::from_le_bytes(data[64..72].try_into().unwrap())
}

fn account(data: Vec<u8>, owner: Pubkey) -> Account {
    Account { lamports: 1_000_000_000, data, owner, executable: false, rent_epoch: 0 }
}

#[test]
fn cosigned_sponsored_payment_executes_and_moves_usdc() {
    let mut svm = LiteSVM::new();
    let fee_payer = SigningKey::from_bytes(&[1; 32]);
    let payer = SigningKey::from_bytes(&[2; 32]);
    let treasury = solana::pubkey_of(&SigningKey::from_bytes(&[3; 32]));
    let (fee_payer_pk, payer_pk) = (solana::pubkey_of(&fee_payer), solana::pubkey_of(&payer));
    let mint = solana::parse_pubkey(x402::USDC_DEVNET).unwrap();
    let payer_ata = solana::associated_token_address(&payer_pk, &mint, &TOKEN_PROGRAM_ID);
    let treasury_ata = solana::associated_token_address(&treasury, &mint, &TOKEN_PROGRAM_ID);
    svm.airdrop(&fee_payer_pk, 1_000_000_000).unwrap();
    svm.set_account(mint, account(mint_data(&fee_payer_pk, 1_000_000), TOKEN_PROGRAM_ID)).unwrap();
    svm.set_account(payer_ata, account(token_account_data(&mint, &payer_pk, 1_000_000), TOKEN_PROGRAM_ID)).unwrap();
    svm.set_account(treasury_ata, account(token_account_data(&mint, &treasury, 0), TOKEN_PROGRAM_ID)).unwrap();

    // The offer, and the client's payment for it (the payer signs its slot only).
    let blockhash = svm.latest_blockhash();
    let offer = PaymentRequirements::exact(
        x402::SOLANA_DEVNET,
        15_000,
        x402::USDC_DEVNET,
        &treasury.to_string(),
        60,
        &fee_payer_pk.to_string(),
    )
    .with_recent_blockhash(blockhash.to_string(), 1_000);
    let p = ExactPayment {
        fee_payer: fee_payer_pk,
        pay_to: treasury,
        mint,
        amount: 15_000,
        decimals: 6,
        recent_blockhash: blockhash,
        memo: "litesvm settlement".into(),
    };
    let tx = solana::build_exact_payment(&payer, &p).unwrap();
    let header = PaymentPayload::v2(offer.clone(), STANDARD.encode(&tx), None).to_header();

    // Verified as the server does, then co-signed.
    let verified = x402::verify_payment_header(&header, &[offer], &VerifyPolicy::new([fee_payer_pk])).unwrap();
    assert_eq!((verified.amount, verified.payer), (15_000, payer_pk));

    // Without the fee payer's signature the runtime refuses it.
    let unsigned = WireTransaction::decode(&tx).unwrap().into_transaction();
    assert!(svm.send_transaction(unsigned).is_err(), "an un-co-signed transaction must not execute");

    let signed = verified.co_sign(&fee_payer).unwrap();
    let tx = WireTransaction::decode(&signed.transaction).unwrap().into_transaction();
    let result = svm.send_transaction(tx);
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(token_amount(&svm, &payer_ata), 1_000_000 - 15_000);
    assert_eq!(token_amount(&svm, &treasury_ata), 15_000);
}

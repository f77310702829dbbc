//! x402 payment verification per second on one core: base64 + JSON header decode, transaction decode, ed25519
//! (`verify_strict`) and the rules of steps 1-6, for the official sponsored flow and the seed-document variant.
//!
//! `cargo bench -p sova-auth --bench x402`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_message::{VersionedMessage, legacy, v0};
use solana_signer::Signer;
use sova_auth::x402::{self, PaymentPayload, PaymentRequirements, VerifyPolicy};
use sova_chain::solana::{self, Hash, MEMO_PROGRAM_ID, Pubkey, Signature, TOKEN_PROGRAM_ID, VersionedTransaction};
use spl_associated_token_account_interface::address::get_associated_token_address as ata;

struct Setup {
    offer: PaymentRequirements,
    sponsored_header: String,
    seed_header: String,
    pay_to: Pubkey,
    mint: Pubkey,
    fee_payer: Pubkey,
    sponsored_tx: Vec<u8>,
}

fn setup() -> Setup {
    let fee_payer = Keypair::new_from_array([1; 32]);
    let client = Keypair::new_from_array([2; 32]);
    let pay_to = Keypair::new_from_array([3; 32]).pubkey();
    let mint = solana::parse_pubkey(x402::USDC_DEVNET).unwrap();
    let offer = PaymentRequirements::exact(
        x402::SOLANA_DEVNET,
        15_000,
        x402::USDC_DEVNET,
        &pay_to.to_string(),
        60,
        &fee_payer.pubkey().to_string(),
    );
    let blockhash = Hash::new_from_array([7; 32]);
    let transfer = spl_token_interface::instruction::transfer_checked(
        &TOKEN_PROGRAM_ID,
        &ata(&client.pubkey(), &mint),
        &mint,
        &ata(&pay_to, &mint),
        &client.pubkey(),
        &[],
        15_000,
        6,
    )
    .unwrap();

    let ixs = [
        ComputeBudgetInstruction::set_compute_unit_limit(20_000),
        ComputeBudgetInstruction::set_compute_unit_price(1),
        transfer.clone(),
        spl_memo_interface::instruction::build_memo(&MEMO_PROGRAM_ID, b"0123456789abcdef0123456789abcdef", &[]),
    ];
    let message = VersionedMessage::V0(v0::Message::try_compile(&fee_payer.pubkey(), &ixs, &[], blockhash).unwrap());
    let mut signatures = vec![Signature::default(); 2];
    signatures[1] = client.sign_message(&message.serialize());
    let sponsored_tx = wincode::serialize(&VersionedTransaction { signatures, message }).unwrap();
    let sponsored_header = PaymentPayload::v2(offer.clone(), STANDARD.encode(&sponsored_tx), None).to_header();

    let message = legacy::Message::new(&[transfer], Some(&client.pubkey()));
    let seed_tx = solana_transaction::Transaction::new(&[&client], message, blockhash);
    let seed_tx = wincode::serialize(&VersionedTransaction::from(seed_tx)).unwrap();
    let seed_header = PaymentPayload::seed_variant(x402::SOLANA_DEVNET, STANDARD.encode(&seed_tx)).to_header();

    Setup { offer, sponsored_header, seed_header, pay_to, mint, fee_payer: fee_payer.pubkey(), sponsored_tx }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let offers = std::slice::from_ref(&s.offer);
    let policy = VerifyPolicy::new([s.fee_payer]).with_destination(&s.pay_to, &s.mint);
    let uncached = VerifyPolicy::new([s.fee_payer]);
    x402::verify_payment_header(&s.sponsored_header, offers, &policy).unwrap();
    x402::verify_payment_header(&s.seed_header, offers, &policy).unwrap();

    let mut g = c.benchmark_group("x402_verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sponsored_header", |b| {
        b.iter(|| x402::verify_payment_header(black_box(&s.sponsored_header), offers, &policy).unwrap())
    });
    g.bench_function("sponsored_header_ata_not_precomputed", |b| {
        b.iter(|| x402::verify_payment_header(black_box(&s.sponsored_header), offers, &uncached).unwrap())
    });
    g.bench_function("seed_variant_header", |b| {
        b.iter(|| x402::verify_payment_header(black_box(&s.seed_header), offers, &policy).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("x402_parts");
    g.throughput(Throughput::Elements(1));
    let wire = solana::WireTransaction::decode(&s.sponsored_tx).unwrap();
    g.bench_function("decode_header_json", |b| {
        b.iter(|| x402::decode_payment_header(black_box(&s.sponsored_header)).unwrap())
    });
    g.bench_function("decode_transaction", |b| {
        b.iter(|| solana::WireTransaction::decode(black_box(&s.sponsored_tx)).unwrap())
    });
    g.bench_function("ed25519_verify_strict", |b| b.iter(|| black_box(&wire).verify_signature(1).unwrap()));
    g.bench_function("associated_token_address", |b| {
        b.iter(|| solana::associated_token_address(black_box(&s.pay_to), &s.mint, &TOKEN_PROGRAM_ID))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The integration suite: one binary, real HTTP against servers on 127.0.0.1:0, driven through `sova-client`.
//! Every scenario runs on SQLite; with `SOVA_TEST_DATABASE_URL=postgres://...` each also runs on PostgreSQL
//! (in a fresh database per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod addresses;
mod bad_input;
mod chain_evm;
mod chain_scripted;
mod clock;
mod connections;
mod console;
mod credentials;
mod exchange;
mod hmac;
mod intel;
mod isolation;
mod ledger;
mod observability;
mod perps;
mod quickstart;
mod reference;
mod replicas;
mod siwx;
mod trading;
mod webhooks;
mod withdrawal_controls;
mod withdrawals;
mod x402;

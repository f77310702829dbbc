//! Pure verification of Sova's authentication schemes: no I/O, no clock reads the caller does not pass in.
//!
//! - [`cs_hmac`]: the `Cs-*` HMAC request signatures (seed 004).
//! - [`digest`]: RFC 9530 `Content-Digest` (sha-256, sha-512) over the raw body bytes (seed 003).
//! - [`exchange`]: EIP-712 signed actions of the exchange surface (seed 002): payload hashing, `X-API-*` headers,
//!   ecrecover, the nonce rule and the API-key registry rules.
//! - [`httpsig`]: RFC 9421 HTTP Message Signatures under the SIWX policy (seed 003).
//! - [`keys`]: random secrets, the keyed hash under which API secrets are stored, constant-time comparison.
//! - [`password`]: argon2id password hashing for operator logins.
//! - [`session`]: signed session tokens (JWT, HS256) for operator logins.
//! - [`siwx`]: CAIP-122 / EIP-4361 ownership challenges, EIP-191 and Solana ed25519 verification (seed 003).
//! - [`x402`]: x402 v2 pay-per-call on Solana (seed 001): wire types, header codec, offer matching and the payment
//!   verification list for the sponsored flow and the seed-document variant.

pub mod cs_hmac;
pub mod digest;
pub mod exchange;
pub mod httpsig;
pub mod keys;
pub mod password;
pub mod session;
pub mod siwx;
pub mod webhook;
pub mod x402;

pub use secrecy::{ExposeSecret, SecretString};

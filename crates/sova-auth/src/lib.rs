//! Pure verification of Sova's authentication schemes: no I/O, no clock reads the caller does not pass in.
//!
//! - [`cs_hmac`]: the `Cs-*` HMAC request signatures (seed 004).
//! - [`keys`]: random secrets, the keyed hash under which API secrets are stored, constant-time comparison.
//! - [`password`]: argon2id password hashing for operator logins.
//! - [`session`]: signed session tokens (JWT, HS256) for operator logins.

pub mod cs_hmac;
pub mod keys;
pub mod password;
pub mod session;

pub use secrecy::{ExposeSecret, SecretString};

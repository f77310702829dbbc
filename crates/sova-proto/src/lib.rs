//! Wire types shared by `sova-server` and `sova-client`.
//!
//! Everything a client sends or receives is defined here once: the envelopes, the request and response bodies,
//! and the stable error codes. The server derives its OpenAPI document from these types, so the document and the
//! code cannot drift apart.

pub mod connect;
pub mod error;
pub mod exchange;
pub mod intel;
pub mod openapi;

pub use error::ErrorCode;
pub mod siwx;

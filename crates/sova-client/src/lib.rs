//! sova-client

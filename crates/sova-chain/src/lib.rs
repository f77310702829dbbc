//! sova-chain

//! sova-store

//! sova-auth

//! sova-server

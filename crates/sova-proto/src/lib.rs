//! sova-proto

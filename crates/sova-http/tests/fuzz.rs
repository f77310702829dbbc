//! The shared request parsers fed arbitrary input (issue 14, item 12): list filters (`filter[where][...]`,
//! `filter[limit]`, `filter[sort]`) and amounts. No panic; every refusal names a field and says what to fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sova_http::filters::Filters;

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("filter[limit]".to_string()),
        Just("filter[skip]".to_string()),
        Just("filter[sort]".to_string()),
        "filter\\[where\\]\\[[a-z_]{0,12}\\](\\[[a-z]{0,6}\\])?",
        ".{0,20}",
    ];
    prop::collection::vec((key, ".{0,24}"), 0..6)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn filters(q in query()) {
        let f = Filters::parse(&q);
        if let Err(e) = f.to_query(&["status", "currency", "user_id"], &["created_at"]) {
            prop_assert!(!e.message.trim().is_empty());
        }
    }

    #[test]
    fn amounts(v in prop_oneof![".{0,40}", "[0-9.eE+ -]{0,40}"], decimals in 0u32..19) {
        if let Err(e) = sova_http::validate::amount("amount", &v, decimals, 21_000_000, "BTC") {
            prop_assert_eq!(e.field.as_deref(), Some("amount"));
            prop_assert!(!e.message.trim().is_empty());
        }
    }
}

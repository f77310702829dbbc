//! External index feeds of the perps markets (`spec/perps.md` section 5: the index is the median of the
//! operator's feeds, else Sova's spot book). `--perps-index-feed SYMBOL=URL[#/json/pointer]` names one feed of a
//! market (repeatable; several per market give their median). Every second the leader fetches each feed (2 s
//! timeout), reads the decimal at the JSON pointer (default `/price`; a string or a number), rounds it to the
//! market's tick and hands the median of the answers to the sequencer as one logged command
//! ([`sova_exchange::perps::PerpsRequest::FeedIndex`]). A feed that fails is left out of that second's median
//! (with a warning and `sova_perps_index_feed_errors_total`); when all of a market's feeds fail for 10 s, the spot
//! book gives its index again. Followers do not fetch.
//!
//! Examples: Binance `https://api.binance.com/api/v3/ticker/price?symbol=BTCUSDT` (`/price`, the default),
//! Coinbase `https://api.coinbase.com/v2/prices/BTC-USD/spot#/data/amount`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use sova_exchange::perps::PerpsRequest;
use sova_exchange::{Catalog, Exchange, Request};

/// One configured feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// Perps market id.
    pub market: u32,
    /// The market's name, for the logs.
    pub symbol: String,
    /// What is fetched (without the fragment).
    pub url: String,
    /// Where the price is in the answer (RFC 6901).
    pub pointer: String,
}

/// The feeds of `--perps-index-feed` entries (`SYMBOL=URL[#pointer]`), or why one is refused.
pub fn parse(entries: &[String], catalog: &Catalog) -> anyhow::Result<Vec<Feed>> {
    let mut out = Vec::new();
    for e in entries {
        let (symbol, rest) = e
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("perps_index_feed {e:?}: expected SYMBOL=URL[#/json/pointer]"))?;
        let m = catalog.perp_by_name(symbol.trim()).ok_or_else(|| {
            let names: Vec<&str> = catalog.perps.iter().map(|m| m.config.market.name.as_str()).collect();
            anyhow::anyhow!("perps_index_feed {e:?}: {symbol:?} is not a perps market ({})", names.join(", "))
        })?;
        let (url, pointer) = match rest.trim().split_once('#') {
            Some((u, p)) => (u.to_string(), p.to_string()),
            None => (rest.trim().to_string(), "/price".to_string()),
        };
        let parsed = reqwest::Url::parse(&url).map_err(|err| anyhow::anyhow!("perps_index_feed {e:?}: {err}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!("perps_index_feed {e:?}: the URL must be http or https");
        }
        if !pointer.is_empty() && !pointer.starts_with('/') {
            anyhow::bail!("perps_index_feed {e:?}: the part after # is a JSON pointer and starts with /");
        }
        out.push(Feed { market: m.id(), symbol: m.config.market.name.clone(), url, pointer });
    }
    Ok(out)
}

/// The price in a feed's answer, in ticks of `m` (rounded to the nearest tick), or why not.
pub fn price_in(body: &[u8], pointer: &str, m: &sova_perps::PerpMarketSpec) -> Result<u64, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let at = v.pointer(pointer).ok_or_else(|| format!("nothing at {pointer}"))?;
    let text = match at {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(format!("{pointer} is {other}, not a price")),
    };
    let d = Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| format!("{text:?} is not a decimal"))?;
    let cfg = &m.config.market;
    let unit = Decimal::new(i64::try_from(cfg.tick_size).map_err(|_| "tick too large")?, u32::from(cfg.price_decimals));
    let ticks = (d / unit).round();
    let ticks: u64 = ticks.try_into().map_err(|_| format!("{text} is out of range"))?;
    if ticks == 0 || ticks > sova_perps::MAX_PRICE {
        return Err(format!("{text} is out of range"));
    }
    Ok(ticks)
}

/// The median of `v` (sorted here; the mean of the two middle ones, rounded down, for an even count).
fn median(mut v: Vec<u64>) -> Option<u64> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2),
    }
}

/// The feed job: every second, while this replica leads, fetch every feed and send each market's median.
pub async fn run(exchange: Arc<Exchange>, feeds: Vec<Feed>) {
    let http = match reqwest::Client::builder().timeout(Duration::from_secs(2)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "perps index feeds: no HTTP client");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if !exchange.role.is_leader() {
            continue;
        }
        let answers = futures::future::join_all(feeds.iter().map(|f| fetch(&http, &exchange.catalog, f))).await;
        let mut by_market: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for (f, a) in feeds.iter().zip(answers) {
            match a {
                Ok(p) => by_market.entry(f.market).or_default().push(p),
                Err(e) => {
                    metrics::counter!("sova_perps_index_feed_errors_total", "symbol" => f.symbol.clone()).increment(1);
                    tracing::warn!(symbol = %f.symbol, url = %f.url, error = %e, "perps index feed failed");
                }
            }
        }
        for (market, prices) in by_market {
            let Some(price) = median(prices) else { continue };
            if let Err(e) = exchange.submit(Request::Perps(PerpsRequest::FeedIndex { market, price })).await {
                tracing::warn!(market, error = %e.message, "perps index feed: the sequencer refused the index");
            }
        }
    }
}

async fn fetch(http: &reqwest::Client, catalog: &Catalog, f: &Feed) -> Result<u64, String> {
    let m = catalog.perp(u64::from(f.market)).ok_or("the market is gone")?;
    let r = http.get(&f.url).send().await.map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("HTTP {}", r.status()));
    }
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    price_in(&body, &f.pointer, m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn feeds_prices_and_medians() {
        let catalog = Catalog::new(&Default::default()).unwrap();
        let feeds = parse(
            &["BTC-USD=http://127.0.0.1:1/p".into(), "eth_usd=https://x.example/q#/data/amount".into()],
            &catalog,
        )
        .unwrap();
        assert_eq!((feeds[0].pointer.as_str(), feeds[1].pointer.as_str()), ("/price", "/data/amount"));
        assert_eq!(feeds[1].symbol, "ETH-USD");
        for bad in ["BTC-USD", "NOPE-USD=http://x", "BTC-USD=ftp://x", "BTC-USD=http://x#price"] {
            assert!(parse(&[bad.into()], &catalog).is_err(), "{bad}");
        }
        let btc = catalog.perp_by_name("BTC-USD").unwrap();
        let tick = |s: &str| btc.spec.parse_price(s).unwrap();
        assert_eq!(price_in(br#"{"price":"50000.004"}"#, "/price", btc), Ok(tick("50000")));
        assert_eq!(
            price_in(br#"{"data":{"amount":50000.5}}"#, "/data/amount", btc).map(|t| t >= tick("50000")),
            Ok(true)
        );
        assert!(price_in(br#"{"price":"-1"}"#, "/price", btc).is_err());
        assert!(price_in(br#"{"price":true}"#, "/price", btc).is_err());
        assert!(price_in(b"<html>", "/price", btc).is_err());
        assert_eq!(median(vec![3, 1, 2]), Some(2));
        assert_eq!(median(vec![4, 1]), Some(2));
        assert_eq!(median(vec![]), None);
    }
}

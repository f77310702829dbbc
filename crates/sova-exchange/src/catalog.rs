//! Coins and markets of the exchange: configured (TOML `[[exchange.coins]]`, `[[exchange.markets]]`) or the
//! sandbox defaults BTC/USDC, ETH/USDC, SOL/USDC; turned into the engine's fixed-point configuration.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sova_engine::{CoinConfig, MarketConfig, MarketSpec};

/// A coin as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoinDef {
    /// `coinID`.
    pub id: u32,
    /// Symbol, e.g. `USDC`.
    pub symbol: String,
    /// Fixed-point decimals of the engine for this coin (balances are whole multiples of 10^-decimals).
    pub decimals: u8,
    /// The name answered for the coin (`coin`, `name`, `a`, `baseCoin`, ...), e.g. `vUSDC` to mirror the vendor's
    /// listing; default: `coin_name_prefix` + the symbol. Requests accept the symbol and the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A market as configured; sizes and fees are decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketDef {
    /// `symbolID`.
    pub id: u32,
    /// Base coin symbol.
    pub base: String,
    /// Quote coin symbol.
    pub quote: String,
    /// Price increment, e.g. `0.01`.
    pub tick_size: String,
    /// Quantity increment in base coin, e.g. `0.0001`.
    pub lot_size: String,
    /// Smallest order value in quote coin, e.g. `5`.
    pub min_notional: String,
    /// Maker fee rate, e.g. `0.0001`.
    pub maker_fee: String,
    /// Taker fee rate, e.g. `0.0004`.
    pub taker_fee: String,
    /// The path-safe name answered for the market (`name`, every `symbol` / `s`), e.g. `vBTC_vUSDC`; default:
    /// the coins' names joined by `_` (`BTC_USDC`). Paths, filters and subscriptions accept it, the display name,
    /// `BASE_QUOTE`, `BASE-QUOTE` and the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `displayName`; default `BASE/QUOTE` of the symbols (`BTC/USDC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A perpetual market as configured (spec/perps.md section 4): ticks, lots, minimum notional and fees are those
/// of the spot market of the same base quoted in the collateral coin (USDC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpDef {
    /// `symbolID` of the perps market (its own numbering, beside spot's).
    pub id: u32,
    /// Base coin symbol; a spot market `BASE/USDC` must be configured.
    pub base: String,
    /// Largest leverage (one margin tier, maintenance rate 1 / (2 x max)).
    pub max_leverage: u32,
    /// Leverage of an account that never set one (default 10, at most `max_leverage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_leverage: Option<u32>,
    /// Impact notional of the funding premium in USDC (default 20 000 for BTC and ETH, 6 000 others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_notional: Option<u64>,
}

fn default_perps() -> Vec<PerpDef> {
    let p = |id, base: &str, max_leverage| PerpDef {
        id,
        base: base.into(),
        max_leverage,
        init_leverage: None,
        impact_notional: None,
    };
    vec![p(1, "BTC", 40), p(2, "ETH", 25), p(3, "SOL", 20)]
}

/// The collateral coin of perps.
pub const PERPS_COLLATERAL: &str = "USDC";
/// The perps engine's fee account (the spot engine's fee account id).
pub const PERPS_FEE_ACCOUNT: u64 = 0;
/// The perps engine's insurance (liquidator, backstop) account.
pub const PERPS_INSURANCE_ACCOUNT: u64 = 1000;

/// The exchange's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// EIP-712 chain id: 286623 (mainnet) or 138565 (testnet).
    #[serde(default = "default_chain_id")]
    pub chain_id: u64,
    /// Coins.
    #[serde(default = "default_coins")]
    pub coins: Vec<CoinDef>,
    /// Markets.
    #[serde(default = "default_markets")]
    pub markets: Vec<MarketDef>,
    /// Put in front of every coin's symbol to make its default name (`v` gives the vendor's `vBTC`, `vUSDC` and
    /// markets `vBTC_vUSDC`); default none.
    #[serde(default)]
    pub coin_name_prefix: String,
    /// Perpetual markets (default BTC-USD 40x, ETH-USD 25x, SOL-USD 20x).
    #[serde(default = "default_perps")]
    pub perps: Vec<PerpDef>,
}

fn default_chain_id() -> u64 {
    sova_auth::exchange::MAINNET_CHAIN_ID
}

fn default_coins() -> Vec<CoinDef> {
    let c = |id, symbol: &str, decimals| CoinDef { id, symbol: symbol.into(), decimals, name: None };
    vec![c(1, "USDC", 6), c(2, "BTC", 8), c(3, "ETH", 9), c(4, "SOL", 9)]
}

fn default_markets() -> Vec<MarketDef> {
    let m = |id, base: &str, tick: &str, lot: &str| MarketDef {
        id,
        base: base.into(),
        quote: "USDC".into(),
        tick_size: tick.into(),
        lot_size: lot.into(),
        min_notional: "1".into(),
        maker_fee: "0.0001".into(),
        taker_fee: "0.0004".into(),
        name: None,
        display_name: None,
    };
    vec![m(1, "BTC", "0.01", "0.0001"), m(2, "ETH", "0.01", "0.001"), m(3, "SOL", "0.001", "0.01")]
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            chain_id: default_chain_id(),
            coins: default_coins(),
            markets: default_markets(),
            coin_name_prefix: String::new(),
            perps: default_perps(),
        }
    }
}

/// Resolved coins and markets (immutable for the life of the server).
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Coins in id order.
    pub coins: Vec<CoinConfig>,
    /// Markets in id order.
    pub markets: Vec<MarketSpec>,
    /// Perpetual markets in id order.
    pub perps: Vec<sova_perps::PerpMarketSpec>,
    /// The perps engine's configuration (collateral, reserved accounts).
    pub perps_config: sova_perps::PerpsConfig,
    by_symbol: HashMap<String, u32>,
    coin_by_symbol: HashMap<String, u32>,
    display_names: HashMap<u32, String>,
}

/// A name clients send in paths and match on: 1 to 64 characters from `A-Z a-z 0-9 _ - .`.
fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok { Ok(()) } else { anyhow::bail!("{what} name {name:?}: use 1 to 64 characters from A-Z a-z 0-9 _ - .") }
}

fn decimals_of(s: &str) -> u8 {
    s.split_once('.').map(|(_, f)| f.trim_end_matches('0').len()).unwrap_or(0) as u8
}

/// Parse a non-negative decimal to an integer scaled by 10^decimals (exact, else an error naming `what`).
fn scaled(s: &str, decimals: u8, what: &str) -> anyhow::Result<u64> {
    sova_engine::parse_decimal(s, decimals)
        .ok_or_else(|| anyhow::anyhow!("{what} {s:?} is not a decimal with at most {decimals} fractional digits"))
}

/// The perps markets: each copies the units of the spot market `BASE/USDC` and is named `BASE-USD`.
fn perps_of(
    cfg: &ExchangeConfig,
    markets: &[MarketSpec],
) -> anyhow::Result<(Vec<sova_perps::PerpMarketSpec>, sova_perps::PerpsConfig)> {
    let symbol = |c: &CoinDef| c.symbol.to_uppercase();
    let Some(usdc) = cfg.coins.iter().find(|c| symbol(c) == PERPS_COLLATERAL) else {
        if cfg.perps.is_empty() {
            return Ok((Vec::new(), sova_perps::PerpsConfig::default()));
        }
        anyhow::bail!("perps markets need the collateral coin {PERPS_COLLATERAL} among the coins");
    };
    let perps_config = sova_perps::PerpsConfig {
        collateral: usdc.id,
        collateral_decimals: usdc.decimals,
        fee_account: PERPS_FEE_ACCOUNT,
        insurance_account: PERPS_INSURANCE_ACCOUNT,
        ..sova_perps::PerpsConfig::default()
    };
    let mut out: Vec<sova_perps::PerpMarketSpec> = Vec::new();
    for p in &cfg.perps {
        let base = cfg
            .coins
            .iter()
            .find(|c| symbol(c) == p.base.to_uppercase())
            .ok_or_else(|| anyhow::anyhow!("perps market {}: unknown coin {}", p.id, p.base))?;
        let spot = markets
            .iter()
            .find(|m| m.config.base == base.id && m.config.quote == usdc.id)
            .ok_or_else(|| anyhow::anyhow!("perps market {}: no spot market {}/{PERPS_COLLATERAL}", p.id, p.base))?;
        let mut market = spot.config.clone();
        market.id = p.id;
        market.name = format!("{}-USD", symbol(base));
        let mut config = sova_perps::PerpMarketConfig::new(market, base.decimals, usdc.decimals, p.max_leverage);
        config.init_leverage = p.init_leverage.unwrap_or(10).min(p.max_leverage.max(1));
        let unit = 10u64.saturating_pow(u32::from(usdc.decimals));
        let impact =
            p.impact_notional.unwrap_or(if matches!(symbol(base).as_str(), "BTC" | "ETH") { 20_000 } else { 6_000 });
        config.funding.impact_notional = unit.saturating_mul(impact);
        let name = config.market.name.clone();
        let spec = sova_perps::PerpMarketSpec::new(config, usdc.id, usdc.decimals)
            .ok_or_else(|| anyhow::anyhow!("perps market {name}: invalid leverage or units"))?;
        if out.iter().any(|m| m.id() == p.id || m.config.market.name == name) {
            anyhow::bail!("perps market {name} (id {}) is configured twice", p.id);
        }
        out.push(spec);
    }
    out.sort_by_key(|m| m.id());
    Ok((out, perps_config))
}

impl Catalog {
    /// Validate a configuration and build the engine's units. Errors say which market or coin is wrong.
    pub fn new(cfg: &ExchangeConfig) -> anyhow::Result<Catalog> {
        let mut coins: Vec<CoinConfig> = Vec::new();
        let mut coin_by_symbol = HashMap::new();
        for c in &cfg.coins {
            if c.decimals > 18 {
                anyhow::bail!("coin {}: decimals {} above 18", c.symbol, c.decimals);
            }
            if coin_by_symbol.insert(c.symbol.to_uppercase(), c.id).is_some() || coins.iter().any(|x| x.id == c.id) {
                anyhow::bail!("coin {} (id {}) is configured twice", c.symbol, c.id);
            }
            coins.push(CoinConfig { id: c.id, symbol: c.symbol.to_uppercase(), decimals: c.decimals });
        }
        // The names answered for the coins (the symbols by default).
        let mut coin_names: HashMap<u32, String> = HashMap::new();
        for c in &cfg.coins {
            let name = c.name.clone().unwrap_or_else(|| format!("{}{}", cfg.coin_name_prefix, c.symbol.to_uppercase()));
            check_name(&format!("coin {}", c.symbol), &name)?;
            if coin_names.values().any(|n| n.eq_ignore_ascii_case(&name)) {
                anyhow::bail!("coin name {name} is configured twice");
            }
            if let Some(other) = coin_by_symbol.get(&name.to_uppercase()).filter(|id| **id != c.id) {
                anyhow::bail!("coin name {name} is the symbol of coin {other}");
            }
            coin_names.insert(c.id, name);
        }
        coins.sort_by_key(|c| c.id);
        let mut markets = Vec::new();
        let mut by_symbol = HashMap::new();
        let mut display_names = HashMap::new();
        for m in &cfg.markets {
            let coin = |s: &str| {
                coins
                    .iter()
                    .find(|c| c.symbol.eq_ignore_ascii_case(s))
                    .ok_or_else(|| anyhow::anyhow!("market {}: unknown coin {s}", m.id))
            };
            let (base, quote) = (coin(&m.base)?, coin(&m.quote)?);
            let name = format!("{}/{}", base.symbol, quote.symbol);
            let named = |c: &CoinConfig| coin_names.get(&c.id).cloned().unwrap_or_else(|| c.symbol.clone());
            // The engine's name of the market is the answered name with `_` read as `/` (the default `BTC/USDC`
            // answers `BTC_USDC`); a configured name is kept as given.
            let answered = match &m.name {
                Some(n) => {
                    check_name(&format!("market {}", m.id), n)?;
                    n.clone()
                }
                None => format!("{}/{}", named(base), named(quote)),
            };
            let display = m.display_name.clone().unwrap_or_else(|| name.clone());
            let price_decimals = decimals_of(&m.tick_size);
            let tick_size = scaled(&m.tick_size, price_decimals, "tick_size")?;
            let lot_size = scaled(&m.lot_size, base.decimals, "lot_size")?;
            let min_notional = scaled(&m.min_notional, quote.decimals, "min_notional")?;
            let ppm = |s: &str, what| -> anyhow::Result<u32> {
                let v = scaled(s, 6, what)?;
                u32::try_from(v).ok().filter(|v| *v <= 1_000_000).ok_or_else(|| anyhow::anyhow!("{what} {s} above 1"))
            };
            let config = MarketConfig {
                id: m.id,
                name: answered.clone(),
                base: base.id,
                quote: quote.id,
                price_decimals,
                tick_size,
                lot_size,
                min_notional,
                maker_fee_ppm: ppm(&m.maker_fee, "maker_fee")?,
                taker_fee_ppm: ppm(&m.taker_fee, "taker_fee")?,
            };
            let spec = MarketSpec::new(config, base.decimals, quote.decimals).ok_or_else(|| {
                anyhow::anyhow!(
                    "market {name}: tick_size x lot_size must be a whole number of {} atoms (10^-{})",
                    quote.symbol,
                    quote.decimals
                )
            })?;
            if by_symbol.insert(name.clone(), m.id).is_some()
                || markets.iter().any(|x: &MarketSpec| x.config.id == m.id)
            {
                anyhow::bail!("market {name} (id {}) is configured twice", m.id);
            }
            by_symbol.insert(name.replace('/', "_"), m.id);
            by_symbol.insert(name.replace('/', "-"), m.id);
            for alias in [answered.replace('/', "_"), answered.replace('/', "-"), answered.clone(), display.clone()] {
                if let Some(other) = by_symbol.insert(alias.to_uppercase(), m.id).filter(|o| *o != m.id) {
                    anyhow::bail!("market {} is named {alias}, a name of market {other}", m.id);
                }
            }
            display_names.insert(m.id, display);
            markets.push(spec);
        }
        markets.sort_by_key(|m| m.config.id);
        // Coins answer their names from here on; requests still find them by symbol or name.
        for c in &mut coins {
            if let Some(n) = coin_names.get(&c.id) {
                coin_by_symbol.insert(n.to_uppercase(), c.id);
                c.symbol = n.clone();
            }
        }
        let (perps, perps_config) = perps_of(cfg, &markets)?;
        Ok(Catalog { coins, markets, perps, perps_config, by_symbol, coin_by_symbol, display_names })
    }

    /// Perps market by `symbolID`.
    pub fn perp(&self, id: u64) -> Option<&sova_perps::PerpMarketSpec> {
        self.perps.iter().find(|m| u64::from(m.config.market.id) == id)
    }

    /// Perps market by name (`BTC-USD`, `BTC_USD`, `BTCUSD`, any case) or id.
    pub fn perp_by_name(&self, name: &str) -> Option<&sova_perps::PerpMarketSpec> {
        if let Ok(id) = name.parse::<u64>() {
            return self.perp(id);
        }
        let want: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
        self.perps.iter().find(|m| {
            m.config.market.name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase()
                == want
        })
    }

    /// The spot market quoting the same base as perps market `m` in the collateral coin (the index source).
    pub fn spot_of_perp(&self, m: &sova_perps::PerpMarketSpec) -> Option<&MarketSpec> {
        self.markets.iter().find(|s| s.config.base == m.config.market.base && s.config.quote == m.config.market.quote)
    }

    /// Market by `symbolID`.
    pub fn market(&self, id: u64) -> Option<&MarketSpec> {
        self.markets.iter().find(|m| u64::from(m.config.id) == id)
    }

    /// Market by name: `BTC/USDC`, `BTC_USDC`, `BTC-USDC` (any case), or its numeric id.
    pub fn market_by_name(&self, name: &str) -> Option<&MarketSpec> {
        if let Ok(id) = name.parse::<u64>() {
            return self.market(id);
        }
        let id = self.by_symbol.get(&name.to_uppercase())?;
        self.market(u64::from(*id))
    }

    /// The market's `displayName` (`BTC/USDC` unless configured).
    pub fn display_name(&self, m: &MarketSpec) -> String {
        self.display_names.get(&m.config.id).cloned().unwrap_or_else(|| m.config.name.clone())
    }

    /// Coin by id.
    pub fn coin(&self, id: u64) -> Option<&CoinConfig> {
        self.coins.iter().find(|c| u64::from(c.id) == id)
    }

    /// Coin by symbol (any case).
    pub fn coin_by_symbol(&self, symbol: &str) -> Option<&CoinConfig> {
        let id = self.coin_by_symbol.get(&symbol.to_uppercase())?;
        self.coin(u64::from(*id))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Catalog::new(&ExchangeConfig::default()).expect("default catalog");
        assert_eq!(c.markets.len(), 3);
        let btc = c.market_by_name("btc_usdc").expect("BTC_USDC");
        assert_eq!(btc.config.name, "BTC/USDC");
        assert_eq!(btc.parse_price("50000.01"), Ok(5_000_001));
        assert_eq!(btc.parse_quantity("0.0001"), Ok(1));
        assert_eq!(c.coin_by_symbol("usdc").map(|c| c.id), Some(1));
    }

    #[test]
    fn names_mirror_the_vendor_listing() {
        let mut cfg = ExchangeConfig { coin_name_prefix: "v".into(), ..ExchangeConfig::default() };
        cfg.markets[2].name = Some("SOLANA_SPOT".into());
        cfg.markets[2].display_name = Some("SOL/USDC (spot)".into());
        let c = Catalog::new(&cfg).expect("vendor names");
        let btc = c.market_by_name("vBTC_vUSDC").expect("vBTC_vUSDC");
        assert_eq!(
            (btc.config.id, btc.config.name.as_str(), c.display_name(btc)),
            (1, "vBTC/vUSDC", "BTC/USDC".into())
        );
        for alias in ["BTC/USDC", "btc_usdc", "BTC-USDC", "vbtc-vusdc", "1"] {
            assert_eq!(c.market_by_name(alias).map(|m| m.config.id), Some(1), "{alias}");
        }
        assert_eq!(c.market_by_name("SOLANA_SPOT").map(|m| m.config.id), Some(3));
        assert_eq!(c.coin(1).map(|c| c.symbol.as_str()), Some("vUSDC"));
        assert_eq!(c.coin_by_symbol("usdc").map(|c| c.id), Some(1));
        assert_eq!(c.coin_by_symbol("vUSDC").map(|c| c.id), Some(1));
        cfg.markets[1].name = Some("SOLANA_SPOT".into());
        assert!(Catalog::new(&cfg).is_err(), "two markets, one name");
        cfg.markets[1].name = Some("bad/name".into());
        assert!(Catalog::new(&cfg).expect_err("slash").to_string().contains("A-Z a-z"));
    }

    #[test]
    fn bad_market_is_explained() {
        let mut cfg = ExchangeConfig::default();
        cfg.markets[0].lot_size = "0.00000001".into();
        let e = Catalog::new(&cfg).expect_err("sub-atom notional");
        assert!(e.to_string().contains("whole number"), "{e}");
    }
}

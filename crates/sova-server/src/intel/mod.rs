//! Intel API (`/api/v1/intel`, seed 001): wallet intelligence over what this Sova has seen, metered by credits
//! (`X-Api-Key: ak_<hex>`, or `Cs-*` signatures of a customer that owns an Intel account) or paid per call with
//! x402 v2 (Solana USDC). See [`meter`] and [`x402`].

mod addresses;
pub mod keys;
pub mod meter;
pub mod x402;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRef, Path, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use rust_decimal::Decimal;
use sova_chain::{Chain, Network};
use sova_proto::connect::Envelope;
use sova_proto::intel as wire;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sova_http::access::Access;
use sova_http::cache::{Cache, Invalidations};
use sova_http::envelope::{list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::filters::Filters;
use sova_http::time::iso;
use sova_store::Store;

use crate::config::Config;
use sova_exchange::Exchange;

/// What the Intel handlers reach.
pub struct IntelState {
    /// Authentication, limits, the invalidation bus.
    pub access: Arc<Access>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Prices and settings.
    pub config: Arc<Config>,
    /// Credit billing (group commit).
    pub biller: meter::Biller,
    /// x402 settings and keys.
    pub x402: x402::X402,
    /// The exchange, for the HUD's exchange section.
    pub exchange: Arc<Exchange>,
    /// `ak_` keys by keyed hash.
    pub keys: Cache<meter::CachedIntelKey>,
    /// Intel account ids by owner (Connect customer id), for `Cs-*` callers. An account never changes owner, so
    /// only a found account is cached and nothing invalidates it but a full clear.
    pub owners: Cache<String>,
    /// Issued deposit addresses.
    pub addresses: Arc<addresses::AddressIndex>,
    /// The time that decides payment windows.
    pub clock: sova_runtime::Clock,
}

impl IntelState {
    /// Build (starting the biller), registering the Intel caches on the bus.
    pub fn new(
        access: Arc<Access>,
        bus: &Arc<Invalidations>,
        config: Arc<Config>,
        x402: x402::X402,
        exchange: Arc<Exchange>,
    ) -> Arc<Self> {
        let addresses = Arc::new(addresses::AddressIndex::default());
        bus.register(addresses.clone());
        Arc::new(Self {
            store: access.store.clone(),
            biller: meter::Biller::start(access.store.clone(), &access.jobs, access.clock.clone()),
            clock: access.clock.clone(),
            access,
            config,
            x402,
            exchange,
            keys: Cache::builder("intel").build(bus),
            owners: Cache::builder("intel-owner").build(bus),
            addresses,
        })
    }
}

/// The state type of the Intel routes.
pub type Ctx = Arc<IntelState>;

/// Most addresses in one batch lookup.
pub const MAX_BATCH: usize = 25;

/// The Intel routes, relative to `/api/v1/intel` (metering is layered on by the app).
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: FromRef<S>,
    Arc<Access>: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(hud)).routes(routes!(activity)).routes(routes!(batch_hud))
}

/// Normalise an address for lookup: EVM addresses to their EIP-55 form (Sova stores them so), others as given; with
/// its chain and the networks it is valid on (one decode of the string).
fn normalise(address: &str) -> Result<(String, Chain, Vec<Network>), ApiError> {
    let a = address.trim();
    let networks = sova_chain::address_networks(a);
    let Some(chain) = networks.first().map(Network::chain) else {
        return Err(ApiError::validation(
            "address",
            format!("`{a}` is not a Bitcoin, EVM or Solana address (checksums are verified)"),
        ));
    };
    if chain == Chain::Evm {
        let mut raw = [0u8; 20];
        if hex::decode_to_slice(&a[2..], &mut raw).is_err() {
            return Err(ApiError::validation("address", "EVM addresses are 0x and 40 hex digits"));
        }
        return Ok((sova_chain::eip55_checksum(&raw), chain, networks));
    }
    Ok((a.to_string(), chain, networks))
}

fn chain_name(chain: Chain) -> &'static str {
    match chain {
        Chain::Bitcoin => "bitcoin",
        Chain::Evm => "evm",
        Chain::Solana => "solana",
    }
}

/// The exchange accounts of an EVM address (a master wallet there) and its newest trade (ms), read between the
/// sequencer's groups.
async fn exchange_hud(ctx: &Ctx, addr: &str) -> ApiResult<Option<(wire::HudExchange, Option<i64>)>> {
    let Ok(master) = addr.parse::<alloy_primitives::Address>() else { return Ok(None) };
    ctx.exchange
        .read(move |core| sova_exchange::hud(core, &master, iso))
        .await
        .map_err(|e| ApiError::internal(format!("exchange read: {}", e.message)))
}

/// A count and its totals per (currency, network).
fn flow(count: u64, totals: BTreeMap<(String, String), Decimal>) -> wire::Flow {
    wire::Flow {
        count,
        totals: totals
            .into_iter()
            .map(|((currency, network), amount)| wire::FlowTotal {
                currency,
                network,
                amount: amount.normalize().to_string(),
            })
            .collect(),
    }
}

async fn build_hud(ctx: &Ctx, address: &str) -> ApiResult<wire::Hud> {
    let (addr, chain, networks) = normalise(address)?;
    let networks: Vec<String> = networks.iter().map(|n| n.as_str().to_string()).collect();
    let (exchange, traded) = match chain {
        Chain::Evm => exchange_hud(ctx, &addr).await?.map_or((None, None), |(x, t)| (Some(x), t)),
        _ => (None, None),
    };
    // Most lookups are of addresses this Sova never issued: answer those without touching the database.
    if !ctx.addresses.contains(ctx.store.as_ref(), &addr).await? {
        return Ok(wire::Hud {
            chain: chain_name(chain).into(),
            address: addr,
            networks,
            known: false,
            wallets: Vec::new(),
            deposits: wire::Flow::default(),
            withdrawals: wire::Flow::default(),
            exchange,
            first_seen: None,
            last_seen: traded.map(iso),
        });
    }
    let issued = ctx.store.addresses_by_value(&addr).await?;
    let mut wallets = Vec::new();
    for a in &issued {
        let balance =
            ctx.store.wallet(&a.customer_id, &a.wallet_id).await?.map(|w| w.balance).unwrap_or_else(|| "0".into());
        wallets.push(wire::HudWallet {
            wallet_id: a.wallet_id.clone(),
            currency: a.currency.clone(),
            network: a.network.clone(),
            balance,
            issued_at: iso(a.created_at),
        });
    }
    let (deposits, count) = ctx.store.deposits_to(&addr, 10_000, 0).await?;
    let mut totals: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for d in &deposits {
        *totals.entry((d.currency.clone(), d.network.clone())).or_default() +=
            Decimal::from_str(&d.amount).unwrap_or_default();
    }
    let sent = ctx.store.withdrawals_from(&addr, 10_000).await?;
    let mut sent_totals: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for w in &sent {
        *sent_totals.entry((w.currency.clone(), w.network.clone())).or_default() +=
            Decimal::from_str(&w.amount).unwrap_or_default();
    }
    let first = deposits.iter().map(|d| d.created_at).chain(issued.iter().map(|a| a.created_at)).min();
    let last = deposits
        .iter()
        .map(|d| d.updated_at)
        .chain(issued.iter().map(|a| a.created_at))
        .chain(sent.iter().map(|w| w.updated_at))
        .chain(traded)
        .max();
    Ok(wire::Hud {
        address: addr,
        chain: chain_name(chain).into(),
        networks,
        known: !issued.is_empty(),
        wallets,
        deposits: flow(count, totals),
        withdrawals: flow(sent.len() as u64, sent_totals),
        exchange,
        first_seen: first.map(iso),
        last_seen: last.map(iso),
    })
}

/// What Sova knows of an address: chain, whether it is one of ours, deposits, balances, first and last seen.
#[utoipa::path(get, path = "/wallet/{address}/hud", tag = "intel", params(("address" = String, Path)),
    security(("intel_key" = []), ("x402" = [])),
    responses((status = 200, body = Envelope<wire::Hud>), (status = 400), (status = 401), (status = 402)))]
pub async fn hud(State(ctx): State<Ctx>, Path(address): Path<String>) -> ApiResult<Response> {
    Ok(ok(build_hud(&ctx, &address).await?))
}

/// An address's activity, newest first (`filter[limit]`, `filter[skip]`).
#[utoipa::path(get, path = "/wallet/{address}/activity", tag = "intel", params(("address" = String, Path)),
    security(("intel_key" = []), ("x402" = [])), responses((status = 200, body = Envelope<Vec<wire::Activity>>)))]
pub async fn activity(State(ctx): State<Ctx>, Path(address): Path<String>, f: Filters) -> ApiResult<Response> {
    let (addr, ..) = normalise(&address)?;
    let q = f.to_query(&[], &["created_at"])?;
    if !ctx.addresses.contains(ctx.store.as_ref(), &addr).await? {
        return Ok(list(Vec::<wire::Activity>::new(), 0, q.limit, q.skip));
    }
    let (rows, total) = ctx.store.deposits_to(&addr, q.limit as i64, q.skip as i64).await?;
    let items = rows
        .into_iter()
        .map(|d| wire::Activity {
            kind: "deposit".into(),
            currency: d.currency,
            network: d.network,
            amount: d.amount,
            status: d.status,
            tx_hash: d.tx_hash,
            at: iso(d.created_at),
        })
        .collect();
    Ok(list(items, total, q.limit, q.skip))
}

/// Look up 1 to 25 addresses at once; an invalid address gets an error in its item, not a failed call.
#[utoipa::path(post, path = "/wallets/hud", tag = "intel", request_body = wire::BatchHudRequest,
    security(("intel_key" = []), ("x402" = [])), responses((status = 200, body = Envelope<Vec<wire::BatchHudItem>>)))]
pub async fn batch_hud(State(ctx): State<Ctx>, JsonBody(req): JsonBody<wire::BatchHudRequest>) -> ApiResult<Response> {
    if req.addresses.is_empty() || req.addresses.len() > MAX_BATCH {
        return Err(ApiError::validation("addresses", format!("send 1 to {MAX_BATCH} addresses")));
    }
    let mut out = Vec::with_capacity(req.addresses.len());
    for a in req.addresses {
        match build_hud(&ctx, &a).await {
            Ok(h) => out.push(wire::BatchHudItem { address: a, hud: Some(h), error: None }),
            Err(e) if e.status.is_client_error() => {
                out.push(wire::BatchHudItem { address: a, hud: None, error: Some(e.message) })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ok(out))
}

/// CORS for the Intel API (browsers and agents calling it directly, x402 headers exposed); the other surfaces are
/// server-to-server and get no CORS headers. The app applies it before routing so preflights never reach a 405.
pub async fn cors(req: Request, next: Next) -> Response {
    use tower::{Layer, ServiceExt};
    use tower_http::cors::{Any, CorsLayer};
    // Built once: the header lists are joined into header values at construction.
    static CORS: std::sync::LazyLock<CorsLayer> = std::sync::LazyLock::new(|| {
        let h = axum::http::HeaderName::from_static;
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([axum::http::header::CONTENT_TYPE, h("x-api-key"), h("payment-signature"), h("x-payment")])
            .expose_headers([
                h("payment-required"),
                h("payment-response"),
                h("x-payment-response"),
                h("x-credits-cost"),
                h("x-credits-remaining"),
            ])
    });
    if !req.uri().path().starts_with("/api/v1/intel/") {
        return next.run(req).await;
    }
    // Only browsers need CORS headers, and they always send `Origin` on a cross-origin call; agents and SDKs do not,
    // so their answers skip the layer and carry only `Vary: Origin` (a shared cache keeps the two kinds apart).
    if req.method() != Method::OPTIONS && !req.headers().contains_key(axum::http::header::ORIGIN) {
        let mut resp = next.run(req).await;
        resp.headers_mut().append(axum::http::header::VARY, HeaderValue::from_static("origin"));
        return resp;
    }
    match CORS.layer(next).oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

//! Intel API (`/api/v1/intel`, seed 001): wallet intelligence over what this Sova has seen, metered by credits
//! (`X-Api-Key: ak_<hex>`, or `Cs-*` signatures of a customer that owns an Intel account) or paid per call with
//! x402 v2 (Solana USDC). See [`meter`] and [`x402`].

pub mod meter;
pub mod x402;

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::{Path, State};
use axum::response::Response;
use rust_decimal::Decimal;
use sova_chain::{Chain, Network};
use sova_proto::connect::Envelope;
use sova_proto::intel as wire;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::envelope::{iso, list, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::filters::Filters;
use crate::state::ApiContext;

/// Most addresses in one batch lookup.
pub const MAX_BATCH: usize = 25;

/// The Intel routes, relative to `/api/v1/intel` (metering is layered on by the app).
pub fn router() -> OpenApiRouter<ApiContext> {
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
async fn exchange_hud(ctx: &ApiContext, addr: &str) -> ApiResult<Option<(wire::HudExchange, Option<i64>)>> {
    let Ok(master) = addr.parse::<alloy_primitives::Address>() else { return Ok(None) };
    ctx.exchange
        .read(move |core| sova_exchange::hud(core, &master, crate::envelope::iso))
        .await
        .map_err(|e| ApiError::internal(format!("exchange read: {}", e.message)))
}

async fn build_hud(ctx: &ApiContext, address: &str) -> ApiResult<wire::Hud> {
    let (addr, chain, networks) = normalise(address)?;
    let networks: Vec<String> = networks.iter().map(|n| n.as_str().to_string()).collect();
    let (exchange, traded) = match chain {
        Chain::Evm => exchange_hud(ctx, &addr).await?.map_or((None, None), |(x, t)| (Some(x), t)),
        _ => (None, None),
    };
    // Most lookups are of addresses this Sova never issued: answer those without touching the database.
    if !ctx.auth.addresses.contains(ctx.store.as_ref(), &addr).await? {
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
    let first = deposits.iter().map(|d| d.created_at).chain(issued.iter().map(|a| a.created_at)).min();
    let last = deposits.iter().map(|d| d.updated_at).chain(issued.iter().map(|a| a.created_at)).chain(traded).max();
    Ok(wire::Hud {
        address: addr,
        chain: chain_name(chain).into(),
        networks,
        known: !issued.is_empty(),
        wallets,
        deposits: wire::Flow {
            count,
            totals: totals
                .into_iter()
                .map(|((currency, network), amount)| wire::FlowTotal {
                    currency,
                    network,
                    amount: amount.normalize().to_string(),
                })
                .collect(),
        },
        withdrawals: wire::Flow::default(),
        exchange,
        first_seen: first.map(iso),
        last_seen: last.map(iso),
    })
}

/// What Sova knows of an address: chain, whether it is one of ours, deposits, balances, first and last seen.
#[utoipa::path(get, path = "/wallet/{address}/hud", tag = "intel", params(("address" = String, Path)),
    security(("intel_key" = []), ("x402" = [])),
    responses((status = 200, body = Envelope<wire::Hud>), (status = 400), (status = 401), (status = 402)))]
pub async fn hud(State(ctx): State<ApiContext>, Path(address): Path<String>) -> ApiResult<Response> {
    Ok(ok(build_hud(&ctx, &address).await?))
}

/// An address's activity, newest first (`filter[limit]`, `filter[skip]`).
#[utoipa::path(get, path = "/wallet/{address}/activity", tag = "intel", params(("address" = String, Path)),
    security(("intel_key" = []), ("x402" = [])), responses((status = 200, body = Envelope<Vec<wire::Activity>>)))]
pub async fn activity(State(ctx): State<ApiContext>, Path(address): Path<String>, f: Filters) -> ApiResult<Response> {
    let (addr, ..) = normalise(&address)?;
    let q = f.to_query(&[], &["created_at"])?;
    if !ctx.auth.addresses.contains(ctx.store.as_ref(), &addr).await? {
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
pub async fn batch_hud(
    State(ctx): State<ApiContext>,
    JsonBody(req): JsonBody<wire::BatchHudRequest>,
) -> ApiResult<Response> {
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

//! `sova-load`: a closed-loop HTTP/1.1 load generator (like `wrk -t1`) for Sova's benchmarks, measuring several
//! routes one after the other in one run. Unlike wrk it can sign every request with the `Cs-*` HMAC scheme, giving
//! each a unique target (`?n=<i>`) so that no signature repeats (Sova accepts each signature once).
//!
//! ```text
//! sova-load --url http://127.0.0.1:8080 --path /sovx/v1/users/<id> --api-key K \
//!           --access-key AK --secret-key SK --passphrase P --routes health,api-key,hmac
//! ```

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;

#[derive(Debug, Parser)]
struct Args {
    /// Server base URL (http only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Authenticated path to read (e.g. /sovx/v1/users/<id>).
    #[arg(long, default_value = "/sovx/v1/health")]
    path: String,
    /// Owner key for the `api-key` route.
    #[arg(long)]
    api_key: Option<String>,
    /// `Cs-Access-Key` for the `hmac` route.
    #[arg(long)]
    access_key: Option<String>,
    /// HMAC secret key.
    #[arg(long)]
    secret_key: Option<String>,
    /// `Cs-Passphrase`.
    #[arg(long)]
    passphrase: Option<String>,
    /// Routes to measure, in order: health, api-key, hmac, x402 (`--path` must then be an Intel route), and for the
    /// exchange ex-recover (signature recovery alone, sandbox route) and ex-order (accepted signed spot orders).
    #[arg(long, value_delimiter = ',', default_value = "health,api-key,hmac")]
    routes: Vec<String>,
    /// Exchange routes: chain id the server runs with.
    #[arg(long, default_value_t = 286_623)]
    chain_id: u64,
    /// Exchange routes: signing accounts (each funded by the sandbox faucet).
    #[arg(long, default_value_t = 32)]
    signers: u64,
    /// Exchange routes: pre-signed requests per second of `--duration` (signing happens before the clock starts).
    #[arg(long, default_value_t = 30_000)]
    presign_rate: u64,
    /// Seconds per route.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Instead of measuring, print this many pre-signed `Cs-*` requests for `bench/cs_hmac.lua` (wrk), one per line:
    /// `target<TAB>timestamp<TAB>signature`, each target unique (`?n=<i>`), timestamped `--ts-ahead` seconds ahead.
    #[arg(long)]
    emit: Option<u64>,
    /// With `--emit`: seconds ahead of now for the timestamps (the server accepts up to its window).
    #[arg(long, default_value_t = 20)]
    ts_ahead: u64,
}

#[derive(Clone)]
enum Auth {
    None,
    ApiKey(String),
    Hmac {
        access_key: String,
        secret_key: String,
        passphrase: String,
    },
    /// Pay every call with a fresh x402 payment for this offer (`accepts[0]` of the server's 402).
    X402 {
        offer: Rc<sova_auth::x402::PaymentRequirements>,
        payment: Rc<sova_chain::solana::ExactPayment>,
        payer: sova_chain::solana::SigningKey,
    },
    /// POST pre-built signed exchange requests, each once (or cycling when `cycle`).
    Presigned {
        reqs: Rc<Vec<Presigned>>,
        next: Rc<std::cell::Cell<usize>>,
        cycle: bool,
    },
}

/// One signed exchange request.
struct Presigned {
    sign: String,
    nonce: String,
    body: Bytes,
}

struct Stats {
    hist: Histogram<u64>,
    ok: u64,
    bad: u64,
}

async fn connection(
    host: String,
    path: String,
    auth: Auth,
    id: usize,
    deadline: Instant,
    stats: Rc<RefCell<Stats>>,
) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(&host).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let mut n = 0u64;
    while Instant::now() < deadline {
        if let Auth::Presigned { reqs, next, cycle } = &auth {
            let i = next.get();
            next.set(i + 1);
            let Some(r) = reqs.get(if *cycle { i % reqs.len().max(1) } else { i }) else { break };
            let req = Request::post(path.as_str())
                .header("host", &host)
                .header("content-type", "application/json")
                .header("x-api-sign", &r.sign)
                .header("x-api-nonce", &r.nonce)
                .body(http_body_util::Full::new(r.body.clone()))?;
            let start = Instant::now();
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            resp.into_body().collect().await?;
            record(&stats, start, status.is_success());
            n += 1;
            continue;
        }
        let target = match &auth {
            Auth::Hmac { .. } => format!("{path}?n={id}-{n}"),
            _ => path.clone(),
        };
        let mut b = Request::get(target.as_str()).header("host", &host);
        match &auth {
            Auth::None | Auth::Presigned { .. } => {}
            Auth::ApiKey(k) => b = b.header("x-api-key", k),
            Auth::X402 { offer, payment, payer } => {
                use base64::Engine;
                let mut p = (**payment).clone();
                p.memo = format!("sova-load {id}-{n}");
                let tx = sova_chain::solana::build_exact_payment(payer, &p)?;
                let b64 = base64::engine::general_purpose::STANDARD.encode(tx);
                let header = sova_auth::x402::PaymentPayload::v2((**offer).clone(), b64, None).to_header();
                b = b.header("payment-signature", header);
            }
            Auth::Hmac { access_key, secret_key, passphrase } => {
                let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs().to_string();
                let sig = sova_auth::cs_hmac::sign(secret_key, &ts, "GET", &target, b"");
                b = b
                    .header("cs-access-key", access_key)
                    .header("cs-signature", sig)
                    .header("cs-timestamp", ts)
                    .header("cs-passphrase", passphrase);
            }
        }
        let req = b.body(http_body_util::Full::new(Bytes::new()))?;
        let start = Instant::now();
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        resp.into_body().collect().await?;
        record(&stats, start, status.is_success());
        n += 1;
    }
    Ok(())
}

fn record(stats: &Rc<RefCell<Stats>>, start: Instant, ok: bool) {
    let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let mut s = stats.borrow_mut();
    let _ = s.hist.record(us.max(1));
    if ok {
        s.ok += 1;
    } else {
        s.bad += 1;
    }
}

async fn post_json(host: &str, path: &str, body: String) -> anyhow::Result<serde_json::Value> {
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let req = Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(Bytes::from(body)))?;
    let resp = sender.send_request(req).await?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

/// Fund `--signers` accounts through the sandbox faucet and sign `count` spot orders round-robin over them:
/// alternately buying and selling 0.0001 BTC at 50000, so they trade with each other and the book stays small.
async fn presign_orders(args: &Args, host: &str, count: u64) -> anyhow::Result<Vec<Presigned>> {
    use sova_auth::exchange::{Action, Domain, Verifier, address_of};
    let verifier = Verifier::new(args.chain_id);
    let mut signers = Vec::new();
    for k in 0..args.signers {
        let mut secret = [0x5au8; 32];
        secret[..8].copy_from_slice(&(k + 1).to_be_bytes());
        let addr = address_of(&secret).map_err(|_| anyhow::anyhow!("bad key"))?;
        let mut account = 0;
        for (coin, amount) in [("USDC", "1000000000"), ("BTC", "100000")] {
            let body = serde_json::json!({"address": format!("{addr:#x}"), "coin": coin, "amount": amount});
            let v = post_json(host, "/api/v1/sandbox/faucet", body.to_string()).await?;
            account = v["data"]["accountID"].as_u64().with_context(|| format!("faucet answered {v}"))?;
        }
        signers.push((secret, account));
    }
    // Nonces continue above those of an earlier run in this process (each signer keeps its 100 highest).
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    let n = signers.len() as u64;
    let start = now.max(LAST.load(std::sync::atomic::Ordering::Relaxed) + 1);
    LAST.store(start + count / n + 1, std::sync::atomic::Ordering::Relaxed);
    let mut out = Vec::with_capacity(count as usize);
    for j in 0..count {
        let (secret, account) = signers[(j % n) as usize];
        let side = if (j / n).is_multiple_of(2) { 1 } else { 2 };
        let body = format!(
            r#"{{"accountID":{account},"symbolID":1,"clOrdID":"L{start}-{j}","side":{side},"type":1,"timeInForce":1,"price":"50000","quantity":"0.0001"}}"#
        );
        let nonce = start + j / n;
        let sig = verifier
            .sign_action(&secret, Domain::Spot, Action::NewOrder, body.as_bytes(), nonce)
            .map_err(|_| anyhow::anyhow!("bad key"))?;
        out.push(Presigned { sign: sig.to_header(), nonce: nonce.to_string(), body: Bytes::from(body) });
    }
    Ok(out)
}

async fn measure(args: &Args, host: &str, route: &str) -> anyhow::Result<(f64, f64, f64, u64)> {
    let (path, auth) = match route {
        "health" => ("/sovx/v1/health".to_string(), Auth::None),
        "api-key" => (args.path.clone(), Auth::ApiKey(args.api_key.clone().context("--api-key")?)),
        "hmac" => (
            args.path.clone(),
            Auth::Hmac {
                access_key: args.access_key.clone().context("--access-key")?,
                secret_key: args.secret_key.clone().context("--secret-key")?,
                passphrase: args.passphrase.clone().context("--passphrase")?,
            },
        ),
        "x402" => {
            // Fetch the offer once; each call then pays with its own transaction (a unique memo).
            let resp = reqwest_offer(host, &args.path).await?;
            let get = |k: &str| resp.extra.get(k).and_then(|v| v.as_str()).map(str::to_string).context(k.to_string());
            let key = |s: &str| sova_chain::solana::parse_pubkey(s).map_err(|e| anyhow::anyhow!("{e}"));
            let payment = sova_chain::solana::ExactPayment {
                fee_payer: key(&get("feePayer")?)?,
                pay_to: key(&resp.pay_to)?,
                mint: key(&resp.asset)?,
                amount: resp.amount.parse()?,
                decimals: 6,
                recent_blockhash: sova_chain::solana::parse_hash(&get("recentBlockhash")?)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                memo: String::new(),
            };
            let payer = sova_chain::solana::SigningKey::from_bytes(&sova_auth::keys::random_bytes::<32>());
            (args.path.clone(), Auth::X402 { offer: Rc::new(resp), payment: Rc::new(payment), payer })
        }
        "ex-recover" | "ex-order" => {
            let count = if route == "ex-recover" { 10_000 } else { args.presign_rate * (args.duration + 1) };
            let reqs = presign_orders(args, host, count).await?;
            let path = if route == "ex-recover" {
                "/api/v1/sandbox/recover/spot/trade/orders"
            } else {
                "/api/v1/spot/trade/orders"
            };
            let cycle = route == "ex-recover";
            (path.to_string(), Auth::Presigned { reqs: Rc::new(reqs), next: Rc::new(std::cell::Cell::new(0)), cycle })
        }
        other => anyhow::bail!("unknown route {other}"),
    };
    let stats = Rc::new(RefCell::new(Stats { hist: Histogram::new(3)?, ok: 0, bad: 0 }));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for id in 0..args.connections {
        tasks.push(tokio::task::spawn_local(connection(
            host.to_string(),
            path.clone(),
            auth.clone(),
            id,
            deadline,
            stats.clone(),
        )));
    }
    for t in tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let s = stats.borrow();
    let total = s.ok + s.bad;
    Ok((
        total as f64 / secs,
        s.hist.value_at_quantile(0.5) as f64 / 1000.0,
        s.hist.value_at_quantile(0.99) as f64 / 1000.0,
        s.bad,
    ))
}

/// The x402 offer of `path` (the server answers 402 without credentials).
async fn reqwest_offer(host: &str, path: &str) -> anyhow::Result<sova_auth::x402::PaymentRequirements> {
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let resp = sender.send_request(Request::get(path).header("host", host).body(Empty::<Bytes>::new())?).await?;
    let header =
        resp.headers().get("payment-required").context("no PAYMENT-REQUIRED on the 402")?.to_str()?.to_string();
    let required: sova_auth::x402::PaymentRequired = sova_auth::x402::decode_header(&header)?;
    required.accepts.into_iter().next().context("the 402 offers nothing")
}

/// Print pre-signed requests (see `--emit`).
fn emit(args: &Args, count: u64) -> anyhow::Result<()> {
    use std::io::Write;
    let secret = args.secret_key.as_deref().context("--secret-key")?;
    let ts =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() + args.ts_ahead).to_string();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for n in 0..count {
        let target = format!("{}?n={n}", args.path);
        let sig = sova_auth::cs_hmac::sign(secret, &ts, "GET", &target, b"");
        writeln!(out, "{target}\t{ts}\t{sig}")?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(n) = args.emit {
        return emit(&args, n);
    }
    let host =
        args.url.strip_prefix("http://").context("--url must be http://host:port")?.trim_end_matches('/').to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        // Warm up every route briefly.
        let warm = Args { duration: 1, connections: 8, ..Args::parse() };
        for r in &args.routes {
            measure(&warm, &host, r).await?;
        }
        println!("sova-load: {} connections, {} s per route, one client thread", args.connections, args.duration);
        let mut first = None;
        for r in &args.routes {
            let (rps, p50, p99, bad) = measure(&args, &host, r).await?;
            let base = *first.get_or_insert(rps);
            println!(
                "{r:<8} {rps:>10.0} req/s  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  non-2xx {bad:<6} vs first {:.2}",
                rps / base
            );
        }
        Ok(())
    })
}

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
    /// SIWX: the tenant's `customer_secret` (sent as `Authorization: Bearer`).
    #[arg(long)]
    siwx_secret: Option<String>,
    /// SIWX: keyid of the tenant's ed25519 key (`ed25519` key = 32 bytes of `--siwx-seed`).
    #[arg(long, default_value = "bench-ed25519")]
    siwx_ed25519_keyid: String,
    /// SIWX: keyid of the tenant's P-256 key (scalar = 32 bytes of `--siwx-seed`).
    #[arg(long, default_value = "bench-p256")]
    siwx_p256_keyid: String,
    /// SIWX: the byte the benchmark keys are made of (`siwx-keys` prints their public halves).
    #[arg(long, default_value_t = 7)]
    siwx_seed: u8,
    /// Routes to measure, in order: health, api-key, hmac, x402 (`--path` must then be an Intel route),
    /// ex-recover (exchange signature recovery alone, sandbox route), ex-order (accepted signed spot orders),
    /// ex-perps-recover, ex-perps-order (the same for perps `newOrder`s, margin checked),
    /// trade (a Connect quote and the order on it, `--trade-wallet`),
    /// ex-book (`GET` the BTC_USDC order book, 20 levels a side, after resting `--book-levels` orders a side),
    /// ex-balances (`GET` a funded account's balances),
    /// siwx-ed25519, siwx-p256 (RFC 9421-signed GET of `--path`), siwx-ed25519-nonce (with a nonce, recorded in the
    /// database), siwx-sign (a full onboarding round trip: create a customer, EIP-191-sign its challenge, submit it).
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
    /// ex-book: price levels rested on each side of the book before measuring.
    #[arg(long, default_value_t = 100)]
    book_levels: u64,
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
    /// `deposit` route: the body of `POST /sovx/v1/sandbox/deposits` (sent with `--api-key`).
    #[arg(long)]
    deposit_body: Option<String>,
    /// `withdrawal` route: the user's withdrawals path (`/sovx/v1/users/<id>/accounts/crypto/withdrawals`).
    #[arg(long)]
    withdrawal_path: Option<String>,
    /// `withdrawal` route: the body of each withdrawal (each gets its own idempotency key from the server).
    #[arg(long)]
    withdrawal_body: Option<String>,
    /// `trade` route: the Connect wallet that trades (quote then order per round trip, owner key `--api-key`).
    #[arg(long)]
    trade_wallet: Option<String>,
    /// `trade` route: the quote body.
    #[arg(long, default_value = r#"{"pair":"btcusdc","side":"buy","quantity":"0.0001"}"#)]
    trade_body: String,
    /// Instead of measuring, receive webhooks on this address and report deliveries per second and the time from
    /// each event's `timestamp` (its commit) to its arrival, once no delivery came for `--sink-idle` seconds.
    #[arg(long)]
    webhook_sink: Option<String>,
    /// With `--webhook-sink`: seconds without a delivery that end the measurement.
    #[arg(long, default_value_t = 3)]
    sink_idle: u64,
}

#[derive(Clone)]
enum Auth {
    None,
    /// A Connect trade round trip: `POST` the quote body to the route's path, then the order on the quote.
    Trade {
        key: String,
        order_path: String,
        body: Bytes,
    },
    ApiKey(String),
    Hmac {
        access_key: String,
        secret_key: String,
        passphrase: String,
    },
    /// RFC 9421-sign every request (SIWX).
    Siwx(Rc<Siwx>),
    /// Pay every call with a fresh x402 payment for this offer (`accepts[0]` of the server's 402).
    X402 {
        offer: Rc<sova_auth::x402::PaymentRequirements>,
        payment: Rc<sova_chain::solana::ExactPayment>,
        payer: sova_chain::solana::SigningKey,
    },
    /// POST the same JSON body with an owner key (a new resource each time).
    Post {
        key: String,
        body: Bytes,
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

struct Siwx {
    secret: String,
    keyid: String,
    key: sova_auth::httpsig::SigningKey,
    origin: sova_auth::httpsig::PublicOrigin,
    nonce: bool,
    /// Onboarding round trips instead of signed reads.
    onboard: bool,
}

fn siwx_keys(seed: u8) -> anyhow::Result<(sova_auth::httpsig::SigningKey, sova_auth::httpsig::SigningKey)> {
    use sova_auth::httpsig::SigningKey;
    let ed = SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]));
    let p256 = SigningKey::EcdsaP256Sha256(p256::ecdsa::SigningKey::from_slice(&[seed; 32])?);
    Ok((ed, p256))
}

impl Siwx {
    /// The headers of a signed request.
    fn headers(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
        tag: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        use sova_auth::httpsig::{Message, SignatureParams};
        let mut h = http::HeaderMap::new();
        h.insert("authorization", http::HeaderValue::from_str(&format!("Bearer {}", self.secret))?);
        let mut components = vec!["@method".to_string(), "@target-uri".into(), "authorization".into()];
        if let Some(b) = body {
            h.insert("content-type", http::HeaderValue::from_static("application/json"));
            h.insert("content-digest", http::HeaderValue::from_str(&sova_auth::digest::content_digest_sha256(b))?);
            h.insert("idempotency-key", http::HeaderValue::from_str(&uuid_like(tag))?);
            components.extend(["content-digest".into(), "content-type".into(), "idempotency-key".into()]);
        }
        let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let params = SignatureParams {
            components,
            created: Some(i64::try_from(created)?),
            keyid: Some(self.keyid.clone()),
            alg: Some(self.key.algorithm()),
            nonce: self.nonce.then(|| tag.to_string()),
            ..Default::default()
        };
        let signed =
            sova_auth::httpsig::sign(&Message::request(&self.origin, method, target, &h), "sig1", &params, &self.key)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut out: Vec<(String, String)> =
            h.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
        out.push(("signature-input".into(), signed.signature_input));
        out.push(("signature".into(), signed.signature));
        Ok(out)
    }
}

/// A UUID-shaped idempotency key unique per run, connection and request.
fn uuid_like(tag: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(tag.as_bytes()));
    format!("{}-{}-4{}-8{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>,
    host: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> anyhow::Result<(u16, Bytes)> {
    let mut b = Request::builder().method(method).uri(target).header("host", host);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    let resp = sender.send_request(b.body(http_body_util::Full::new(Bytes::from(body)))?).await?;
    let status = resp.status().as_u16();
    Ok((status, resp.into_body().collect().await?.to_bytes()))
}

/// One SIWX connection: signed reads of `path`, or onboarding round trips (create, sign the challenge, submit).
async fn siwx_connection(
    host: String,
    path: String,
    s: Rc<Siwx>,
    id: usize,
    deadline: Instant,
    stats: Rc<RefCell<Stats>>,
) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(&host).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let run = sova_auth::keys::random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut n = 0u64;
    // Signed reads without a nonce may repeat within a second (the server verifies every one anyway), so the
    // generator signs once per second per connection: what is measured is the server, not the client's signing.
    let mut cached: Option<(u64, Vec<(String, String)>)> = None;
    while Instant::now() < deadline {
        let tag = format!("{run}-{id}-{n}");
        let start = Instant::now();
        let ok = if s.onboard {
            let wallet = sova_auth::keys::random_bytes::<32>();
            let address = sova_auth::exchange::address_of(&wallet).map_err(|e| anyhow::anyhow!("{e}"))?;
            let account = format!("eip155:1:{}", address.to_checksum(None));
            let body = serde_json::to_vec(&serde_json::json!({"chainId": account, "externalId": tag}))?;
            let h = s.headers("POST", "/siwx/v1/customers", Some(&body), &format!("c{tag}"))?;
            let (status, resp) = send(&mut sender, &host, "POST", "/siwx/v1/customers", &h, body).await?;
            if status != 201 {
                eprintln!("sova-load: create {status} {}", String::from_utf8_lossy(&resp));
                false
            } else {
                let v: serde_json::Value = serde_json::from_slice(&resp)?;
                let cid = v["data"]["id"].as_str().context("id")?.to_string();
                let ch = v["data"]["challenge"].as_str().context("challenge")?.to_string();
                use base64::Engine;
                let text = base64::engine::general_purpose::STANDARD.decode(&ch)?;
                let digest = sova_auth::siwx::eip191_hash(&text).into();
                let sig =
                    sova_auth::exchange::sign_digest(&wallet, &digest, sova_auth::exchange::SignatureType::Universal)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut raw = sig.r.to_vec();
                raw.extend_from_slice(sig.s.as_slice());
                raw.push(sig.v + 27);
                let signature = base64::engine::general_purpose::STANDARD.encode(raw);
                let body = serde_json::to_vec(
                    &serde_json::json!({"ownerId": account, "challenge": ch, "signature": signature}),
                )?;
                let target = format!("/siwx/v1/customers/{cid}/challenge/sign");
                let h = s.headers("POST", &target, Some(&body), &format!("s{tag}"))?;
                let (status, resp) = send(&mut sender, &host, "POST", &target, &h, body).await?;
                if status != 204 {
                    eprintln!("sova-load: sign {status} {}", String::from_utf8_lossy(&resp));
                }
                status == 204
            }
        } else {
            let sec = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
            let h = match &cached {
                Some((at, h)) if *at == sec && !s.nonce => h.clone(),
                _ => {
                    let h = s.headers("GET", &path, None, &tag)?;
                    cached = Some((sec, h.clone()));
                    h
                }
            };
            let (status, body) = send(&mut sender, &host, "GET", &path, &h, Vec::new()).await?;
            if !(200..300).contains(&status) && n < 2 {
                eprintln!("sova-load: {status} {}", String::from_utf8_lossy(&body));
            }
            (200..300).contains(&status)
        };
        let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut st = stats.borrow_mut();
        let _ = st.hist.record(us.max(1));
        if ok {
            st.ok += 1;
        } else {
            st.bad += 1;
        }
        n += 1;
    }
    Ok(())
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
        if let Auth::Trade { key, order_path, body } = &auth {
            // One round trip: a quote, then the order on it.
            let post = |p: &str, b: Bytes| {
                Request::post(p)
                    .header("host", &host)
                    .header("content-type", "application/json")
                    .header("x-api-key", key)
                    .body(http_body_util::Full::new(b))
            };
            let start = Instant::now();
            let resp = sender.send_request(post(path.as_str(), body.clone())?).await?;
            let quoted = resp.status().is_success();
            let q: serde_json::Value = serde_json::from_slice(&resp.into_body().collect().await?.to_bytes())?;
            let ok = if quoted {
                let b = Bytes::from(serde_json::json!({"quote_id": q["data"]["quote_id"]}).to_string());
                let resp = sender.send_request(post(order_path.as_str(), b)?).await?;
                let status = resp.status();
                resp.into_body().collect().await?;
                status.is_success()
            } else {
                false
            };
            record(&stats, start, ok);
            n += 1;
            continue;
        }
        if let Auth::Post { key, body } = &auth {
            let req = Request::post(path.as_str())
                .header("host", &host)
                .header("content-type", "application/json")
                .header("x-api-key", key)
                .body(http_body_util::Full::new(body.clone()))?;
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
            Auth::None | Auth::Presigned { .. } | Auth::Post { .. } | Auth::Trade { .. } | Auth::Siwx(_) => {}
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
/// With `perps`, each signer also moves 10 000 000 USDC into perps (a signed transfer to 999) and the orders are
/// perps `newOrder`s of one item in BTC-USD (margin checked on every one).
async fn presign_orders(args: &Args, host: &str, count: u64, perps: bool) -> anyhow::Result<Vec<Presigned>> {
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
        if perps {
            let body = format!(
                r#"{{"id":1,"fromAccountID":{account},"toAccountID":999,"coinID":1,"amount":"10000000","type":3}}"#
            );
            let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
            let sig = verifier
                .sign_action(&secret, Domain::Spot, Action::TransferAsset, body.as_bytes(), nonce)
                .map_err(|_| anyhow::anyhow!("bad key"))?;
            let p = Presigned { sign: sig.to_header(), nonce: nonce.to_string(), body: Bytes::from(body) };
            let v = post_signed(host, "/api/v1/spot/accounts/transfers", &p).await?;
            anyhow::ensure!(v["code"] == 0, "the transfer into perps answered {v}");
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
        let body = if perps {
            format!(
                r#"{{"accountID":{account},"symbolID":1,"orders":[{{"clOrdID":"P{start}-{j}","modifier":1,"side":{side},"type":1,"timeInForce":1,"price":"50000","quantity":"0.0001","reduceOnly":false,"positionSide":1}}]}}"#
            )
        } else {
            format!(
                r#"{{"accountID":{account},"symbolID":1,"clOrdID":"L{start}-{j}","side":{side},"type":1,"timeInForce":1,"price":"50000","quantity":"0.0001"}}"#
            )
        };
        let nonce = start + j / n;
        let domain = if perps { Domain::Futures } else { Domain::Spot };
        let sig = verifier
            .sign_action(&secret, domain, Action::NewOrder, body.as_bytes(), nonce)
            .map_err(|_| anyhow::anyhow!("bad key"))?;
        out.push(Presigned { sign: sig.to_header(), nonce: nonce.to_string(), body: Bytes::from(body) });
    }
    Ok(out)
}

/// POST a pre-signed request.
async fn post_signed(host: &str, path: &str, p: &Presigned) -> anyhow::Result<serde_json::Value> {
    let stream = tokio::net::TcpStream::connect(host).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let req = Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .header("x-api-sign", p.sign.as_str())
        .header("x-api-nonce", p.nonce.as_str())
        .body(http_body_util::Full::new(p.body.clone()))?;
    let resp = sender.send_request(req).await?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

/// Fund one master account (USDC and BTC) and rest `levels` buys below and `levels` sells above 50000 in BTC_USDC,
/// one price level each; answers the master's address.
async fn seed_book(args: &Args, host: &str, levels: u64) -> anyhow::Result<String> {
    use sova_auth::exchange::{Action, Domain, Verifier, address_of};
    let verifier = Verifier::new(args.chain_id);
    let secret = [0x6bu8; 32];
    let addr = format!("{:#x}", address_of(&secret).map_err(|_| anyhow::anyhow!("bad key"))?);
    let mut account = 0;
    for (coin, amount) in [("USDC", "1000000000"), ("BTC", "100000")] {
        let body = serde_json::json!({"address": addr, "coin": coin, "amount": amount});
        let v = post_json(host, "/api/v1/sandbox/faucet", body.to_string()).await?;
        account = v["data"]["accountID"].as_u64().with_context(|| format!("faucet answered {v}"))?;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    for j in 0..levels * 2 {
        let (side, price) = if j % 2 == 0 { (1, 49_000 - j / 2) } else { (2, 51_000 + j / 2) };
        let body = format!(
            r#"{{"accountID":{account},"symbolID":1,"clOrdID":"S{now}-{j}","side":{side},"type":1,"timeInForce":1,"price":"{price}","quantity":"0.001"}}"#
        );
        let nonce = now + j;
        let sig = verifier
            .sign_action(&secret, Domain::Spot, Action::NewOrder, body.as_bytes(), nonce)
            .map_err(|_| anyhow::anyhow!("bad key"))?;
        let p = Presigned { sign: sig.to_header(), nonce: nonce.to_string(), body: Bytes::from(body) };
        let v = post_signed(host, "/api/v1/spot/trade/orders", &p).await?;
        anyhow::ensure!(v["code"] == 0, "seeding the book: {v}");
    }
    Ok(addr)
}

async fn measure(args: &Args, host: &str, route: &str) -> anyhow::Result<(f64, f64, f64, u64)> {
    let (path, auth) = match route {
        "health" => ("/sovx/v1/health".to_string(), Auth::None),
        "ex-book" => {
            seed_book(args, host, args.book_levels).await?;
            ("/api/v1/spot/markets/BTC_USDC/orderbook?limit=20".to_string(), Auth::None)
        }
        "ex-balances" => {
            let addr = seed_book(args, host, 0).await?;
            (format!("/api/v1/spot/accounts/{addr}/balances"), Auth::None)
        }
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
        "ex-recover" | "ex-order" | "ex-perps-recover" | "ex-perps-order" => {
            let cycle = route.ends_with("recover");
            let perps = route.starts_with("ex-perps");
            let count = if cycle { 10_000 } else { args.presign_rate * (args.duration + 1) };
            let reqs = presign_orders(args, host, count, perps).await?;
            let path = match route {
                "ex-recover" => "/api/v1/sandbox/recover/spot/trade/orders",
                "ex-order" => "/api/v1/spot/trade/orders",
                "ex-perps-recover" => "/api/v1/sandbox/recover/perps/trade/orders",
                _ => "/api/v1/perps/trade/orders",
            };
            (path.to_string(), Auth::Presigned { reqs: Rc::new(reqs), next: Rc::new(std::cell::Cell::new(0)), cycle })
        }
        "siwx-ed25519" | "siwx-p256" | "siwx-ed25519-nonce" | "siwx-sign" => {
            let (ed, p256) = siwx_keys(args.siwx_seed)?;
            let (keyid, key) = if route == "siwx-p256" {
                (args.siwx_p256_keyid.clone(), p256)
            } else {
                (args.siwx_ed25519_keyid.clone(), ed)
            };
            let origin = sova_auth::httpsig::PublicOrigin::parse(&format!("http://{host}"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let s = Siwx {
                secret: args.siwx_secret.clone().context("--siwx-secret")?,
                keyid,
                key,
                origin,
                nonce: route == "siwx-ed25519-nonce",
                onboard: route == "siwx-sign",
            };
            (args.path.clone(), Auth::Siwx(Rc::new(s)))
        }
        "deposit" => (
            "/sovx/v1/sandbox/deposits".to_string(),
            Auth::Post {
                key: args.api_key.clone().context("--api-key")?,
                body: Bytes::from(args.deposit_body.clone().context("--deposit-body")?),
            },
        ),
        "trade" => {
            let wallet = args.trade_wallet.clone().context("--trade-wallet")?;
            seed_book(args, host, args.book_levels).await?;
            (
                format!("/sovx/v1/users/{wallet}/trading/quotes"),
                Auth::Trade {
                    key: args.api_key.clone().context("--api-key")?,
                    order_path: format!("/sovx/v1/users/{wallet}/trading/orders"),
                    body: Bytes::from(args.trade_body.clone()),
                },
            )
        }
        "withdrawal" => (
            args.withdrawal_path.clone().context("--withdrawal-path")?,
            Auth::Post {
                key: args.api_key.clone().context("--api-key")?,
                body: Bytes::from(args.withdrawal_body.clone().context("--withdrawal-body")?),
            },
        ),
        other => anyhow::bail!("unknown route {other}"),
    };
    let stats = Rc::new(RefCell::new(Stats { hist: Histogram::new(3)?, ok: 0, bad: 0 }));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for id in 0..args.connections {
        if let Auth::Siwx(s) = &auth {
            let c = siwx_connection(host.to_string(), path.clone(), s.clone(), id, deadline, stats.clone());
            tasks.push(tokio::task::spawn_local(c));
            continue;
        }
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
    if args.routes.iter().any(|r| r == "siwx-keys") {
        // The public halves to register (POST /sovx/v1/customers/{id}/signing-keys).
        use base64::Engine;
        let (ed, p256) = siwx_keys(args.siwx_seed)?;
        for (keyid, k) in [(&args.siwx_ed25519_keyid, ed), (&args.siwx_p256_keyid, p256)] {
            let public = match &k {
                sova_auth::httpsig::SigningKey::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
                sova_auth::httpsig::SigningKey::EcdsaP256Sha256(k) => {
                    k.verifying_key().to_encoded_point(false).as_bytes().to_vec()
                }
                _ => Vec::new(),
            };
            let b64 = base64::engine::general_purpose::STANDARD.encode(public);
            println!("{keyid}\t{}\t{b64}", k.algorithm());
        }
        return Ok(());
    }
    if let Some(n) = args.emit {
        return emit(&args, n);
    }
    if let Some(addr) = &args.webhook_sink {
        return webhook_sink(addr, args.sink_idle);
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
                "{r:<18} {rps:>10.0} req/s  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  non-2xx {bad:<6} vs first {:.2}",
                rps / base
            );
        }
        Ok(())
    })
}

/// The webhook receiver of the dispatch benchmark: answers 200 to every delivery, and records when it arrived and
/// how long after its event's `timestamp` (the commit of the change that wrote it).
fn webhook_sink(addr: &str, idle_secs: u64) -> anyhow::Result<()> {
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("webhook sink on {addr}");
        let seen: std::sync::Arc<std::sync::Mutex<(Vec<Instant>, Histogram<u64>)>> =
            std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), Histogram::new(3)?)));
        let idle = Duration::from_secs(idle_secs);
        let acceptor = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = acceptor.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let now_ms = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map(|d| d.as_millis() as i64)
                                .unwrap_or(0);
                            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                            let ts = v["timestamp"].as_str().and_then(chrono_ms).unwrap_or(now_ms);
                            if let Ok(mut g) = seen.lock() {
                                g.0.push(Instant::now());
                                let _ = g.1.record(u64::try_from((now_ms - ts).max(0)).unwrap_or(0));
                            }
                            Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(Bytes::from_static(
                                b"ok",
                            ))))
                        }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        // Done once deliveries started and then none came for `idle`.
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let last = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.0.last().copied();
            if last.is_some_and(|l| l.elapsed() >= idle) {
                break;
            }
        }
        let g = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let (times, hist) = (&g.0, &g.1);
        let span = match (times.first(), times.last()) {
            (Some(a), Some(b)) if b > a => b.duration_since(*a).as_secs_f64(),
            _ => 0.0,
        };
        println!(
            "deliveries {}  per second {:.0}  commit-to-arrival p50 {} ms  p99 {} ms  max {} ms",
            times.len(),
            if span > 0.0 { times.len() as f64 / span } else { 0.0 },
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.max()
        );
        Ok(())
    })
}

/// Unix ms of an RFC 3339 time (`2026-12-07T10:00:00.123Z`, as Sova writes them).
fn chrono_ms(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.timestamp_millis())
}

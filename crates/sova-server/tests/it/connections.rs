//! Connection limits (issue 14, item 4): slow headers, idle keep-alive connections and stalled bodies are closed
//! after their timeouts, and no more than `max_connections` are served at once.

use std::time::Duration;

use sova_testkit_app::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read until the server closes the connection (or 20 s pass, which fails the test): what it sent before closing.
async fn until_closed(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read_all).await.expect("the server never closed the connection");
    String::from_utf8_lossy(&got).into_owned()
}

async fn short_timeouts(header_timeout_secs: i64, max_connections: usize) -> TestApp {
    spawn_app_with(Backend::Sqlite, move |c| {
        c.header_timeout_secs = header_timeout_secs;
        c.body_timeout_secs = 1;
        c.max_connections = max_connections;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_stalled_connections_are_closed() {
    let app = short_timeouts(1, 100).await;
    let addr = app.running.addr;

    // Slowloris: half a request head, then nothing.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /sovx/v1/health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    until_closed(&mut slow).await;

    // Idle keep-alive: one answered request, then silence.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /sovx/v1/health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // A body that stops arriving: 408 in the envelope, then the connection is closed.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"POST /sovx/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
        .await
        .unwrap();
    let answer = until_closed(&mut stalled).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"REQUEST_TIMEOUT\""), "{answer}");

    // Never opened: the server still answers.
    assert!(app.client.health().await.is_ok());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_wait_for_a_slot() {
    let app = short_timeouts(30, 2).await;
    let addr = app.running.addr;
    let a = TcpStream::connect(addr).await.unwrap();
    let _b = TcpStream::connect(addr).await.unwrap();
    // Both slots are taken (the server accepted a and b): c is not served while they are held.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /sovx/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), c.read(&mut byte)).await;
    assert!(early.is_err(), "a third connection was served beyond max_connections = 2");
    // A slot frees: c is answered.
    drop(a);
    let answer = until_closed(&mut c).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.stop().await;
}

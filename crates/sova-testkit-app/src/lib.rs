//! `spawn_app`: a server per test on 127.0.0.1:0, on SQLite or PostgreSQL, with the fixtures the suites build on.
//! The database half (`TestDb`, `on_both!`) is `sova-testkit`; [`prelude`] brings both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod chains;

use std::path::Path;

use sova_client::Client;
use sova_proto::connect as wire;
use sova_runtime::Clock;
use sova_server::{Config, Running};

use sova_testkit::db::{Backend, TestDb, drop_pg_database};

pub use sova_testkit::on_both;

/// Everything a server suite uses, in one import: the database half and this crate.
pub mod prelude {
    pub use crate::{
        OPERATOR_EMAIL, OPERATOR_PASSWORD, TestApp, copy_replica_keys, spawn_app, spawn_app_at, spawn_app_at_with,
        spawn_app_with, spawn_on, spawn_replica, spawn_replica_at_with, user_req, write_secret,
    };
    pub use sova_testkit::prelude::*;
}

/// The operator every test server has.
pub const OPERATOR_EMAIL: &str = "ops@example.com";
pub const OPERATOR_PASSWORD: &str = "correct horse battery staple";

/// A running server with its database and data directory.
pub struct TestApp {
    pub running: Running,
    /// Unauthenticated client.
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub database_url: String,
}

impl TestApp {
    /// Stop the server and drop its PostgreSQL database.
    pub async fn stop(self) {
        self.running.stop().await.unwrap();
        drop_pg_database(&self.database_url).await;
    }

    /// Stop the server only (the database is shared with another replica).
    pub async fn stop_server(self) {
        self.running.stop().await.unwrap();
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    /// A logged-in operator client.
    pub async fn operator(&self) -> Client {
        let s = self.client.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await.expect("login");
        self.client.with_session(&s.token)
    }

    /// A customer with an owner key: (customer_id, owner client).
    pub async fn customer(&self, slug: &str) -> (String, Client) {
        let ops = self.operator().await;
        let c = ops
            .create_customer(&wire::CreateCustomerRequest {
                email: format!("{slug}@example.com"),
                customer_id: slug.into(),
                entity_name: format!("{slug} Ltd"),
            })
            .await
            .expect("create customer");
        let cred = ops.create_credential(&c.customer_id).await.expect("credential");
        (c.customer_id, self.client.with_api_key(&cred.customer_secret))
    }
}

/// The seed's create-user body for `email`.
pub fn user_req(email: &str) -> wire::CreateUserRequest {
    wire::CreateUserRequest {
        user_type: Some("individual".into()),
        email: email.into(),
        first_name: "John".into(),
        last_name: "Doe".into(),
        date_of_birth: Some("1990-01-01".into()),
        country: Some("US".into()),
        ..Default::default()
    }
}

/// A server on a fresh database with the test defaults.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// A server on a fresh database, its configuration changed by `tweak` first.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend).await;
    spawn_on(db.dir, db.url, tweak).await
}

/// A server on a fresh database whose time is `clock` (e.g. [`Clock::manual`]).
pub async fn spawn_app_at(backend: Backend, clock: Clock) -> TestApp {
    spawn_app_at_with(backend, clock, |_| {}).await
}

/// [`spawn_app_at`] with the configuration changed by `tweak` first.
pub async fn spawn_app_at_with(backend: Backend, clock: Clock, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new(backend).await;
    start(db.dir, db.url, tweak, clock).await
}

/// A server on an existing database (a second replica), with its own data dir but the same server key.
pub async fn spawn_replica(of: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(of.dir.path().join("server.key"), dir.path().join("server.key")).expect("copy key");
    copy_replica_keys(of.dir.path(), dir.path());
    spawn_on(dir, of.database_url.clone(), |_| {}).await
}

/// A second replica on `of`'s database, on `clock`, its configuration changed by `tweak`.
pub async fn spawn_replica_at_with(of: &TestApp, clock: Clock, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_replica_keys(of.dir.path(), dir.path());
    start(dir, of.database_url.clone(), tweak, clock).await
}

/// Copy what replicas on one database must share (the server key, the sandbox seed, the x402 keys) from one data
/// directory to another (README, "Replicas").
pub fn copy_replica_keys(from: &Path, to: &Path) {
    for f in REPLICA_KEY_FILES {
        std::fs::copy(from.join(f), to.join(f)).unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
}

/// The files of a data directory every replica must share.
pub const REPLICA_KEY_FILES: [&str; 4] =
    ["server.key", "sandbox-seed.txt", "x402-fee-payer.json", "x402-treasury.json"];

/// A server on `database_url` with `dir` as its data directory.
pub async fn spawn_on(dir: tempfile::TempDir, database_url: String, tweak: impl FnOnce(&mut Config)) -> TestApp {
    start(dir, database_url, tweak, Clock::system()).await
}

/// [`spawn_on`] whose time is `clock` (a restart on a manual clock).
pub async fn spawn_on_at(
    dir: tempfile::TempDir,
    database_url: String,
    clock: Clock,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    start(dir, database_url, tweak, clock).await
}

async fn start(dir: tempfile::TempDir, database_url: String, tweak: impl FnOnce(&mut Config), clock: Clock) -> TestApp {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        rate_limit_per_minute: 100_000,
        ..Config::default()
    };
    tweak(&mut config);
    let running = sova_server::start_with(config, clock, std::future::pending()).await.expect("server starts");
    if running.ctx.store.operator_by_email(OPERATOR_EMAIL).await.unwrap().is_none() {
        let hash = sova_auth::password::hash_password(OPERATOR_PASSWORD).unwrap();
        let op = sova_store::Operator {
            id: uuid::Uuid::new_v4().to_string(),
            email: OPERATOR_EMAIL.into(),
            password_hash: hash,
            created_at: 0,
        };
        running.ctx.store.create_operator(&op).await.unwrap();
    }
    let client = Client::new(running.url());
    TestApp { running, client, dir, database_url }
}

/// Write a secret file with mode 0600.
pub fn write_secret(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

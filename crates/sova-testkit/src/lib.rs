//! The test kit every Sova suite shares.
//!
//! - [`db`]: a fresh database per test, on SQLite (a temporary file) or PostgreSQL (a new database on the server
//!   named by `SOVA_TEST_DATABASE_URL`, dropped afterwards). It does not depend on `sova-store`, so the store's own
//!   suites use it too.
//! - [`on_both!`]: one scenario, two tests (`sqlite`, `postgres`); the PostgreSQL one is skipped with a message when
//!   `SOVA_TEST_DATABASE_URL` is unset.
//! - The server half, `spawn_app` and its fixtures, is the crate `sova-testkit-app` (a crate of its own, so that the
//!   store's suites never build the server when it changes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod db;
pub use db::{Backend, TestDb, pg_url};

/// Run an `async fn(Backend)` scenario once per backend: `on_both!(scenario);` defines a module `scenario` holding
/// the tests `sqlite` and `postgres`. Callers need `tokio` (with the `macros` and `rt-multi-thread` features).
#[macro_export]
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::pg_url().is_none() {
                    eprintln!("SOVA_TEST_DATABASE_URL not set: PostgreSQL pass skipped");
                    return;
                }
                super::$name($crate::Backend::Postgres).await;
            }
        }
    };
}

/// Everything a suite uses, in one import.
pub mod prelude {
    pub use crate::db::{Backend, TestDb, drop_pg_database, fresh_pg_database, pg_url};
    pub use crate::on_both;
}

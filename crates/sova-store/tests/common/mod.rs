//! A fresh store per scenario, from the shared test kit's databases.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;

use sova_store::Store;
pub use sova_testkit::prelude::*;

/// Run `scenario` on a store over a fresh database on `backend`, then drop the database.
pub async fn with_store<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDb::new(backend).await;
    let store = sova_store::open(&db.url).await.expect("open the store");
    scenario(store.clone()).await;
    drop(store);
    db.drop().await;
}

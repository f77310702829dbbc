//! A fresh store per test: SQLite in a temporary directory, or a new PostgreSQL database (dropped by
//! [`Db::close`]) when `SOVA_TEST_DATABASE_URL` is set.
#![allow(dead_code)]

use std::sync::Arc;

use sova_store::Store;
use sqlx::Connection;

pub struct Db {
    pub store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    drop_pg: Option<(String, String)>,
}

impl Db {
    /// The PostgreSQL database's name (none on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        self.drop_pg.as_ref().map(|(_, name)| name.as_str())
    }

    pub async fn close(self) {
        if let Some((admin, name)) = self.drop_pg {
            drop(self.store);
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await.unwrap();
        }
    }
}

pub async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = sova_store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    Db { store, _dir: dir, drop_pg: None }
}

pub async fn postgres() -> Option<Db> {
    let admin = std::env::var("SOVA_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())?;
    let name = format!("sova_t_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
    let base = &admin[..admin.rfind('/').unwrap()];
    let store = sova_store::open(&format!("{base}/{name}")).await.unwrap();
    Some(Db { store, _dir: tempfile::tempdir().unwrap(), drop_pg: Some((admin, name)) })
}

//! A fresh database per test.

use sqlx::Connection;

/// Which database a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests may create databases on (`SOVA_TEST_DATABASE_URL`), if any.
pub fn pg_url() -> Option<String> {
    std::env::var("SOVA_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty())
}

/// A database of its own for one test: its URL, a temporary directory (the SQLite file lives there; servers use it
/// as their data directory) and, on PostgreSQL, the database to drop in [`TestDb::drop`].
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    /// A new database on `backend`. Panics on PostgreSQL without `SOVA_TEST_DATABASE_URL` (the [`on_both!`](crate::on_both)
    /// macro skips those tests before getting here).
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("sova.db").display()),
            Backend::Postgres => fresh_pg_database().await,
        };
        TestDb { backend, url, dir }
    }

    /// A PostgreSQL database, or `None` when `SOVA_TEST_DATABASE_URL` is unset.
    pub async fn postgres() -> Option<TestDb> {
        pg_url()?;
        Some(TestDb::new(Backend::Postgres).await)
    }

    /// The PostgreSQL database's name (none on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        pg_name(&self.url)
    }

    /// Drop the PostgreSQL database (closing any connection still open to it) and the directory.
    pub async fn drop(self) {
        drop_pg_database(&self.url).await;
    }
}

/// A fresh PostgreSQL database on the `SOVA_TEST_DATABASE_URL` server; returns its URL.
pub async fn fresh_pg_database() -> String {
    let admin = pg_url().expect("SOVA_TEST_DATABASE_URL");
    let name = format!("sova_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to SOVA_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    let (head, query) = match admin.find('?') {
        Some(q) => (&admin[..q], &admin[q..]),
        None => (admin.as_str(), ""),
    };
    let authority = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority..].find('/') {
        Some(i) => &head[..authority + i],
        None => head,
    };
    format!("{base}/{name}{query}")
}

fn pg_name(url: &str) -> Option<&str> {
    let start = url.find("/sova_t_")? + 1;
    let len = url[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(url.len() - start);
    Some(&url[start..start + len])
}

/// Drop a database made by [`fresh_pg_database`], closing its connections (a no-op for any other URL).
pub async fn drop_pg_database(url: &str) {
    let (Some(admin), Some(name)) = (pg_url(), pg_name(url)) else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .expect("drop database");
}

#[cfg(test)]
mod tests {
    use super::pg_name;

    #[test]
    fn names_of_test_databases() {
        assert_eq!(pg_name("postgres://u@h:5432/sova_t_abc12?sslmode=disable"), Some("sova_t_abc12"));
        assert_eq!(pg_name("postgres://u@h/sova_t_x"), Some("sova_t_x"));
        assert_eq!(pg_name("postgres://u@h/test"), None);
        assert_eq!(pg_name("sqlite:///tmp/x/sova.db"), None);
    }
}

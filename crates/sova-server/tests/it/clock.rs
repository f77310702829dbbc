//! The server's clock is injectable: a server started on a manual clock tells that time and moves only with it.

use sova_runtime::Clock;
use sova_server::Config;

use crate::common::Backend;

async fn manual_clock_is_the_servers_time(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("sova.db").display()),
        Backend::Postgres => crate::common::fresh_pg_database().await,
    };
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        ..Config::default()
    };
    let clock = Clock::manual(1_700_000_000_000);
    let running = sova_server::start_with(config, clock.clone(), std::future::pending()).await.unwrap();
    let client = sova_client::Client::new(running.url());
    let t = client.server_time().await.unwrap();
    assert_eq!((t.epoch, t.iso.as_str()), (1_700_000_000, "2023-11-14T22:13:20.000Z"));
    clock.advance(90_000);
    assert_eq!(client.server_time().await.unwrap().epoch, 1_700_000_090);
    running.stop().await.unwrap();
    crate::common::drop_pg_database(&database_url).await;
}

crate::on_both!(manual_clock_is_the_servers_time);

//! The server's clock is injectable: a server started on a manual clock tells that time and moves only with it.

use sova_runtime::Clock;
use sova_testkit_app::prelude::*;

async fn manual_clock_is_the_servers_time(backend: Backend) {
    let clock = Clock::manual(1_700_000_000_000);
    let app = spawn_app_at(backend, clock.clone()).await;
    let t = app.client.server_time().await.unwrap();
    assert_eq!((t.epoch, t.iso.as_str()), (1_700_000_000, "2023-11-14T22:13:20.000Z"));
    clock.advance(90_000);
    assert_eq!(app.client.server_time().await.unwrap().epoch, 1_700_000_090);
    app.stop().await;
}

on_both!(manual_clock_is_the_servers_time);

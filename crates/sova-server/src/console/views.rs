//! The console's HTML: one layout (skip link, labelled navigation, main landmark), tables with right-aligned
//! amounts and their currency, times in UTC with a relative hint. Readable without JavaScript; maud escapes every
//! interpolated value.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use super::Signed;

/// The stylesheet (embedded; served at `/console/assets/console.css`).
pub const CSS: &str = include_str!("console.css");

/// A page in the layout, for `who` (none on the sign-in page).
pub fn page(title: &str, who: Option<&Signed>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sova console" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    span.brand { "Sova console" }
                    @if let Some(who) = who {
                        nav aria-label="Console" {
                            a href="/console" { "Overview" }
                            a href="/console/customers" { "Customers" }
                            a href="/console/withdrawals" { "Approvals" }
                            a href="/console/search" { "Search" }
                            a href="/console/audit" { "Audit log" }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(who.csrf);
                            span.who { (who.email) }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A page with a message only.
pub fn message(title: &str, text: &str) -> Html<String> {
    page(title, None, html! { p { (text) } })
}

/// A time in UTC with a relative hint (`2026-12-07 23:14:05 UTC (3 min ago)`), as a `<time>`.
pub fn time(ms: i64, now: i64) -> Markup {
    let iso = sova_http::time::iso(ms);
    let shown = iso.replace('T', " ").split('.').next().unwrap_or_default().to_string() + " UTC";
    html! { time datetime=(iso) { (shown) " " span.hint { "(" (relative(now - ms)) ")" } } }
}

fn relative(ago_ms: i64) -> String {
    let s = ago_ms / 1000;
    match s {
        i64::MIN..=-1 => "in the future".into(),
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// An amount with its currency, for a right-aligned cell.
pub fn amount(value: &str, currency: &str) -> Markup {
    html! { td.num { (value) " " abbr { (currency.to_ascii_uppercase()) } } }
}

/// An error line above a form (role=alert, so screen readers announce it).
pub fn error(text: Option<&str>) -> Markup {
    html! { @if let Some(t) = text { p.error role="alert" { (t) } } }
}

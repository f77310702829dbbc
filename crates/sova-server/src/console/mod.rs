//! The operator console at `/console` (issue 19): server-rendered pages (maud templates, no JavaScript needed, no
//! CDN: the one stylesheet is embedded), signed in with the operators' email and password (the API's operators and
//! brute-force limit). The session is a random token in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the
//! public origin is https), stored as a keyed hash with its CSRF token; signing out revokes it, so a copied cookie
//! stops working. Every form carries the session's CSRF token (the sign-in form a double-submitted one); every
//! change is written to the audit log, with who and when, and shown.

mod pages;
mod views;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sova_http::access::Access;
use sova_store::{AuditEntry, Store};

/// The session cookie.
pub const COOKIE: &str = "sova_console";
/// The sign-in form's double-submit cookie.
pub const PRE_COOKIE: &str = "sova_console_pre";
/// How long a console session lasts (8 hours: a working day).
pub const SESSION_MS: i64 = 8 * 3600 * 1000;

/// What the console reaches.
pub struct ConsoleState {
    /// Authentication, limits, the keyed hasher.
    pub access: Arc<Access>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Sandbox or production.
    pub sandbox: bool,
    /// Cookies are `Secure` (the public origin is https).
    pub secure: bool,
    /// Networks whose withdrawals a hot wallet sends (not the sandbox).
    pub live: std::collections::BTreeSet<String>,
}

/// The state type of the console.
pub type Ctx = Arc<ConsoleState>;

impl ConsoleState {
    /// Build.
    pub fn new(
        access: Arc<Access>,
        sandbox: bool,
        public_origin: Option<&str>,
        live: std::collections::BTreeSet<String>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store: access.store.clone(),
            access,
            sandbox,
            secure: public_origin.is_some_and(|o| o.starts_with("https://")),
            live,
        })
    }

    /// A `Set-Cookie` value for `name`, scoped to `/console`.
    fn cookie(&self, name: &str, value: &str, max_age_secs: i64) -> String {
        let c = cookie::Cookie::build((name.to_string(), value.to_string()))
            .path("/console")
            .http_only(true)
            .same_site(cookie::SameSite::Strict)
            .secure(self.secure)
            .max_age(cookie::time::Duration::seconds(max_age_secs))
            .build();
        c.to_string()
    }

    async fn audit(&self, who: &Signed, action: &str, target: &str, detail: Option<String>) {
        let e = AuditEntry {
            operator_id: who.operator_id.clone(),
            email: who.email.clone(),
            action: action.into(),
            target: target.into(),
            detail,
            at: self.access.clock.now_ms(),
        };
        if let Err(err) = self.store.audit(&e).await {
            tracing::error!(error = %err, action, "the console's audit entry could not be written");
        }
    }
}

/// A random token (32 bytes, hex).
fn token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The value of cookie `name` in the request.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The signed-in operator of a console request (else a redirect to the sign-in page).
#[derive(Debug, Clone)]
pub struct Signed {
    /// Operator id.
    pub operator_id: String,
    /// Their email.
    pub email: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The keyed hash of the session's token.
    token_hash: String,
}

impl Signed {
    /// The refusal (403) of a form whose CSRF token is not the session's; `None` when it is.
    pub fn refusal(&self, given: Option<&str>) -> Option<Response> {
        let ok = given.is_some_and(|g| sova_auth::keys::ct_eq(g.as_bytes(), self.csrf.as_bytes()));
        (!ok).then(forbidden)
    }
}

fn forbidden() -> Response {
    let body = views::message(
        "Refused",
        "This form was not sent from a page of this console session (its CSRF token is missing or stale). \
         Reload the page and send it again.",
    );
    (StatusCode::FORBIDDEN, body).into_response()
}

impl<S> FromRequestParts<S> for Signed
where
    S: Send + Sync,
    Ctx: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_ref(state);
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let Some(token) = cookie_value(&parts.headers, COOKIE) else { return Err(to_sign_in()) };
        let hash = ctx.access.hasher.hash(&token).as_str().to_string();
        let now = ctx.access.clock.now_ms();
        let session = match ctx.store.console_session(&hash, now).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_sign_in()),
            Err(e) => {
                tracing::error!(error = %e, "console session lookup failed");
                return Err((StatusCode::SERVICE_UNAVAILABLE, "the database does not answer").into_response());
            }
        };
        let email = match ctx.store.operator(&session.operator_id).await {
            Ok(Some(op)) => op.email,
            _ => return Err(to_sign_in()),
        };
        Ok(Signed { operator_id: session.operator_id, email, csrf: session.csrf, token_hash: hash })
    }
}

/// The console's routes (absolute paths under `/console`).
pub fn router<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: FromRef<S>,
{
    axum::Router::new()
        .route("/console", get(pages::overview))
        .route("/console/", get(|| async { Redirect::permanent("/console") }))
        .route("/console/assets/console.css", get(pages::stylesheet))
        .route("/console/sign-in", get(pages::sign_in_form).post(pages::sign_in))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/customers", get(pages::customers).post(pages::create_customer))
        .route("/console/customers/{id}", get(pages::customer))
        .route("/console/customers/{id}/status", post(pages::customer_status))
        .route("/console/customers/{id}/credentials", post(pages::mint_credential))
        .route("/console/customers/{id}/credentials/{credential_id}/revoke", post(pages::revoke_credential))
        .route("/console/customers/{id}/webhooks/{endpoint_id}", get(pages::endpoint))
        .route("/console/customers/{id}/webhooks/{endpoint_id}/redeliver", post(pages::redeliver))
        .route("/console/customers/{id}/webhooks/{endpoint_id}/replay", post(pages::replay))
        .route("/console/search", get(pages::search))
        .route("/console/withdrawals", get(pages::withdrawals))
        .route("/console/withdrawals/{customer_id}/{withdrawal_id}/{decision}", post(pages::decide))
        .route("/console/audit", get(pages::audit))
}

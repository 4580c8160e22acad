//! The playground page (`--playground`): a policy editor, a conversation,
//! a transcript's figures and the policy's tests, in the browser. Its
//! HTML, CSS and JavaScript are compiled into the binary and load nothing
//! from elsewhere (the Content-Security-Policy says so to the browser);
//! the page calls `/v1/check`, `/v1/preview`, `/v1/tests` and `/v1/stats`.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;

const PAGE: &str = include_str!("../assets/playground.html");
const SCRIPT: &str = include_str!("../assets/playground.js");
const STYLE: &str = include_str!("../assets/playground.css");

/// Nothing from another origin: no scripts, styles, fonts or requests.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether a route is the page's (open without the token: it holds no data,
/// and the page sends the token it is given to the API).
pub fn is_page(route: &str) -> bool {
    route == "/playground" || route.starts_with("/playground/")
}

/// The page's routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/playground",
            get(|| async { asset(PAGE, "text/html; charset=utf-8") }),
        )
        .route(
            "/playground/playground.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/playground/playground.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/playground/default.yaml",
            get(|| async { asset(escalate::DEFAULT_POLICY, "text/yaml; charset=utf-8") }),
        )
        .route(
            "/playground/default.tests.yaml",
            get(|| async { asset(escalate::DEFAULT_TESTS, "text/yaml; charset=utf-8") }),
        )
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

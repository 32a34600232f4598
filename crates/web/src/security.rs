//! Headers every response carries, and the caching rule that keeps personal data out of shared caches.
//!
//! Caching is denied by default: a response is `Cache-Control: no-store, private` with `Vary: Cookie` unless its
//! handler explicitly marks it public with [`public`]. A new route therefore cannot leak a personal page through a
//! proxy by forgetting a header — the failure of 1 April 2020 is impossible by construction, not by discipline.
//!
//! And a response that hands out a per-visitor token — a `Set-Cookie` header from any handler or layer, or the
//! waiting room's renewed pass in [`TOKEN_HEADERS`] — is `no-store, private` whatever its handler said: a public page
//! that also renews a pass would otherwise give that pass to every stranger the shared cache serves it to. The rule
//! sits in [`headers`], the outermost layer, so no route and no layer inside it can get around it.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The content security policy: only this origin's scripts, styles, images and fonts; no inline code; no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// What personal responses say to caches.
pub const PRIVATE: &str = "no-store, private";

/// Response headers that carry a token of one visitor: besides `Set-Cookie`, the gate's renewed pass for JSON
/// clients (`Sportello-Pass`, `gate::PASS_HEADER`). A response carrying one is never public.
pub const TOKEN_HEADERS: [HeaderName; 2] = [header::SET_COOKIE, HeaderName::from_static("sportello-pass")];

/// Marks a response as public and cacheable for `max_age` seconds by shared caches. Use only for responses that are
/// the same for everyone (no personal data, no per-user token); one that turns out to carry a token when it leaves
/// the server is made private by [`headers`].
pub fn public(max_age: u32, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// What responses whose URL changes with their content say to caches: keep for a year, never revalidate.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Marks a response as public and [`IMMUTABLE`]. Use only for content that is the same for everyone and whose URL
/// names its version or content hash (the static files).
pub fn immutable(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    response
}

/// How long a 503 that does not say otherwise asks the client to wait (seconds).
pub const DEFAULT_RETRY_AFTER: &str = "10";

/// Middleware adding the security headers, the private caching default where a handler did not choose (and on
/// every response handing out a token, whatever was chosen), and `Retry-After` on a 503 that has none (a database
/// outage, a timeout): every 503 says when to come back.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let unavailable = response.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    if unavailable && !headers.contains_key(header::RETRY_AFTER) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(DEFAULT_RETRY_AFTER));
    }
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(headers, header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    let public =
        headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("public"));
    let hands_out_a_token = TOKEN_HEADERS.iter().any(|name| headers.contains_key(name));
    if !public || hands_out_a_token {
        set(headers, header::CACHE_CONTROL, PRIVATE);
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
    }
    response
}

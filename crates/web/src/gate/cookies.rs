//! The gate's tokens in cookies and headers: a browser keeps them in `__Host-` cookies, a JSON client sends them in
//! headers. `SameSite=Lax`: the tokens matter only on this site, and a link from elsewhere needs none of them.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};

/// Longer than any token the gate signs; anything longer is not one.
const MAX_TOKEN: usize = 512;

/// The token in header `header_name`, else in cookie `cookie_name`.
pub fn token<'a>(headers: &'a HeaderMap, header_name: &str, cookie_name: &str) -> Option<&'a str> {
    headers
        .get(header_name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .or_else(|| cookie(headers, cookie_name))
        .filter(|v| !v.is_empty() && v.len() <= MAX_TOKEN)
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    crate::auth::session::cookie_at_most(headers, name, MAX_TOKEN)
}

/// Sets cookie `name` for the browser session, or until `expires_at` (`now` by the gate's clock).
pub fn set(headers: &mut HeaderMap, name: &str, value: &str, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
    let max_age = expires_at.map(|at| format!("; Max-Age={}", (at - now).num_seconds().max(1)));
    let text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax{}", max_age.unwrap_or_default());
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Removes cookie `name`.
pub fn clear(headers: &mut HeaderMap, name: &str) {
    let text = format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.append(header::SET_COOKIE, value);
    }
}

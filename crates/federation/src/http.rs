//! How the relying party talks to the federation: a small trait (GET, form POST, GET with a bearer token) and its
//! adapter on reqwest. A provider that does not answer in time, or answers 5xx, is [`FederationError::Unavailable`]
//! (the door shows 503 with `Retry-After`); any other answer is read by the caller and believed only if it verifies.

use std::time::Duration;

use crate::error::FederationError;

/// An answer, whole.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body as text (statements and tokens are ASCII).
    pub body: String,
}

/// The federation's side of the wire.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// `GET url`.
    async fn get(&self, url: &str) -> Result<Answer, FederationError>;
    /// `POST url` with a form body.
    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, FederationError>;
    /// `GET url` with `Authorization: Bearer token`.
    async fn get_bearer(&self, url: &str, token: &str) -> Result<Answer, FederationError>;
}

/// The transport on reqwest, with a timeout per request.
#[derive(Debug, Clone)]
pub struct Reqwest {
    client: reqwest::Client,
}

/// The most an answer may weigh (a trust chain's statements are a few kilobytes).
const MAX_BODY: usize = 512 * 1024;

impl Reqwest {
    /// A client giving up after `timeout`; no redirects are followed (a statement is served where it is asked).
    pub fn new(timeout: Duration) -> Result<Self, FederationError> {
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(|client| Self { client })
            .map_err(|e| FederationError::Config(format!("HTTP client: {e}")))
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<Answer, FederationError> {
        // The URL's host only: a query may carry a code or a token.
        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let response =
            request.send().await.map_err(|e| FederationError::Unavailable(format!("{host}: {}", without_url(&e))))?;
        let status = response.status().as_u16();
        if status >= 500 {
            return Err(FederationError::Unavailable(format!("{host}: HTTP {status}")));
        }
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes =
            response.bytes().await.map_err(|e| FederationError::Unavailable(format!("{host}: {}", without_url(&e))))?;
        if bytes.len() > MAX_BODY {
            return Err(FederationError::refused(format!("{host}: answer over {MAX_BODY} bytes")));
        }
        let body = String::from_utf8(bytes.to_vec())
            .map_err(|_| FederationError::refused(format!("{host}: answer is not UTF-8")))?;
        Ok(Answer { status, content_type, body })
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused or unreachable"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[async_trait::async_trait]
impl Transport for Reqwest {
    async fn get(&self, url: &str) -> Result<Answer, FederationError> {
        self.send(self.client.get(url), url).await
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, FederationError> {
        self.send(self.client.post(url).form(form), url).await
    }

    async fn get_bearer(&self, url: &str, token: &str) -> Result<Answer, FederationError> {
        self.send(self.client.get(url).bearer_auth(token), url).await
    }
}

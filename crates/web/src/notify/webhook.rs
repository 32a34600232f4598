//! Text messages through an SMS gateway's webhook: a JSON `POST` of `{channel, to, text}` to a configured URL,
//! with an optional bearer token and a timeout; any answer other than 2xx is an error carrying its status.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::{Channel, Message, Notifier, NotifyError};

/// Where the SMS gateway listens. Its `Debug` shows only the URL's scheme and host, never the token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The URL to `POST` to.
    pub url: String,
    /// A bearer token for the `Authorization` header, if the gateway wants one.
    #[serde(default)]
    pub token: Option<String>,
    /// How long one request may take, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &Url::parse(&self.url).map_or_else(|_| "<invalid>".to_owned(), |url| origin(&url)))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// The URL's scheme, host and port: what can be shown of it (its path or query may carry a key).
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The JSON body the gateway receives.
#[derive(Serialize)]
struct Payload<'a> {
    channel: Channel,
    to: &'a str,
    text: &'a str,
}

/// Posts messages to an SMS gateway.
#[derive(Clone)]
pub struct WebhookNotifier {
    client: reqwest::Client,
    url: Url,
    token: Option<String>,
}

impl WebhookNotifier {
    /// A notifier posting to the gateway `config` names.
    pub fn new(config: &WebhookConfig) -> Result<Self, NotifyError> {
        let url = Url::parse(&config.url).map_err(|e| NotifyError::Config(format!("webhook.url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NotifyError::Config(format!("webhook.url must be http or https, not {}", url.scheme())));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .build()
            .map_err(|e| NotifyError::Config(format!("webhook HTTP client: {}", e.without_url())))?;
        Ok(WebhookNotifier { client, url, token: config.token.clone() })
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        let payload = Payload { channel: message.channel, to: &message.recipient, text: &message.body };
        let mut request = self.client.post(self.url.clone()).json(&payload);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        // Without the URL: its query may carry a key.
        let response = request.send().await.map_err(|e| NotifyError::Http(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(NotifyError::Status { status: status.as_u16() }) }
    }
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("url", &origin(&self.url))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::{Json, Router};

    use super::*;

    /// The requests the test gateway received: the `Authorization` header and the JSON body.
    type Requests = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;

    /// A gateway on port 0 that records every request and answers `status`.
    async fn gateway(status: StatusCode) -> (String, Requests) {
        let requests: Requests = Arc::default();
        let app = Router::new()
            .route(
                "/sms",
                post(|State((requests, status)): State<(Requests, StatusCode)>, headers: HeaderMap, Json(body)| async move {
                    let authorization =
                        headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    requests.lock().unwrap().push((authorization, body));
                    status
                }),
            )
            .with_state((requests.clone(), status));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{address}/sms"), requests)
    }

    fn sms(to: &str, text: &str) -> Message {
        Message { channel: Channel::Sms, recipient: to.into(), subject: String::new(), body: text.into() }
    }

    #[tokio::test]
    async fn a_text_message_is_posted_as_json_with_the_bearer_token() {
        let (url, requests) = gateway(StatusCode::ACCEPTED).await;
        let notifier =
            WebhookNotifier::new(&WebhookConfig { url, token: Some("t0ken".into()), timeout_secs: 5 }).unwrap();
        notifier.send(&sms("+393331234567", "PIN INPS, seconda parte: EFGH6789")).await.unwrap();

        let requests = requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].0.as_deref(), Some("Bearer t0ken"));
        assert_eq!(
            requests[0].1,
            serde_json::json!({"channel": "sms", "to": "+393331234567", "text": "PIN INPS, seconda parte: EFGH6789"})
        );
    }

    #[tokio::test]
    async fn without_a_token_there_is_no_authorization_header() {
        let (url, requests) = gateway(StatusCode::OK).await;
        let notifier = WebhookNotifier::new(&WebhookConfig { url, token: None, timeout_secs: 5 }).unwrap();
        notifier.send(&sms("+393331234567", "x")).await.unwrap();
        assert_eq!(requests.lock().unwrap()[0].0, None);
    }

    #[tokio::test]
    async fn an_answer_other_than_2xx_is_an_error_with_its_status() {
        let cases = [
            ("the gateway is down", StatusCode::SERVICE_UNAVAILABLE, false),
            ("the gateway throttles", StatusCode::TOO_MANY_REQUESTS, false),
            ("the gateway refuses the number", StatusCode::UNPROCESSABLE_ENTITY, true),
        ];
        for (situation, status, permanent) in cases {
            let (url, _) = gateway(status).await;
            let notifier = WebhookNotifier::new(&WebhookConfig { url, token: None, timeout_secs: 5 }).unwrap();
            let error = notifier.send(&sms("+393331234567", "x")).await.unwrap_err();
            assert!(matches!(error, NotifyError::Status { status: s } if s == status.as_u16()), "{situation}: {error}");
            assert_eq!(error.is_permanent(), permanent, "{situation}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_gateway_is_an_error_that_does_not_print_the_url() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/sms?key=chiave");
        let notifier = WebhookNotifier::new(&WebhookConfig { url, token: None, timeout_secs: 5 }).unwrap();
        let error = notifier.send(&sms("+393331234567", "x")).await.unwrap_err();
        assert!(matches!(error, NotifyError::Http(_)), "{error}");
        assert!(!error.to_string().contains("chiave"), "{error}");
        assert!(!format!("{notifier:?}").contains("chiave"));
    }

    #[test]
    fn a_url_that_is_not_http_is_refused() {
        for url in ["not a url", "ftp://example.it/sms"] {
            let config = WebhookConfig { url: url.into(), token: None, timeout_secs: 5 };
            assert!(matches!(WebhookNotifier::new(&config), Err(NotifyError::Config(_))), "{url}");
        }
    }
}

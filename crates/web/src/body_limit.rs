//! The request body limit: `[http] max_body_bytes` for every request but two uploads: a mandate's signed form
//! (`POST /intermediari/deleghe`), which may carry the largest form `mandates::MAX_FORM_BYTES` allows and the few
//! fields around it, and an office's batch (`POST /intermediari/lotti`, or `POST /api/v1/intermediaries/batches`), up to `batch::MAX_ROWS` lines of
//! `batch::MAX_LINE_BYTES`. A body declared larger is refused with 413 before it is read; one that grows past the limit
//! while it is read fails its extractor with 413 (axum answers `http_body_util::LengthLimitError` so). tower-http's
//! `RequestBodyLimitLayer` holds one limit for every route; one route needs another, hence this layer.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::Limited;
use sportello_usecases::intermediaries::batch::{MAX_LINE_BYTES, MAX_ROWS};
use sportello_usecases::intermediaries::mandates::MAX_FORM_BYTES;

/// The one path whose posts carry a file.
pub const UPLOAD_PATH: &str = "/intermediari/deleghe";

/// What an upload may carry beside the file: the token, the codice fiscale, the decree, the date, the boxes and the
/// multipart boundaries.
pub const UPLOAD_FIELDS_BYTES: usize = 16 * 1024;

/// The largest upload body.
pub const MAX_UPLOAD_BYTES: usize = MAX_FORM_BYTES + UPLOAD_FIELDS_BYTES;

/// The path an office's batch is posted to.
pub const BATCH_PATH: &str = "/intermediari/lotti";

/// The path an office's batch is posted to through the API, as the file alone.
pub const API_BATCH_PATH: &str = "/api/v1/intermediaries/batches";

/// The largest batch body: the most rows, each at its longest, and the fields around them.
pub const MAX_BATCH_BYTES: usize = (MAX_ROWS + 1) * MAX_LINE_BYTES + UPLOAD_FIELDS_BYTES;

/// The limit for every other request.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Limits the request's body to its route's limit.
pub async fn limit(State(BodyLimit(default)): State<BodyLimit>, request: Request, next: Next) -> Response {
    let max = match (request.method() == Method::POST, request.uri().path()) {
        (true, UPLOAD_PATH) => MAX_UPLOAD_BYTES.max(default),
        (true, BATCH_PATH | API_BATCH_PATH) => MAX_BATCH_BYTES.max(default),
        _ => default,
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        // Without a content type, as the outer layers expect of a bare error: they turn it into the door's page or
        // problem.
        let mut refused = Response::new(Body::from("length limit exceeded"));
        *refused.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return refused;
    }
    let (parts, body) = request.into_parts();
    next.run(Request::from_parts(parts, Body::new(Limited::new(body, max)))).await
}

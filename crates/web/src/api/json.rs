//! The API's JSON request body extractor: every rejection is a problem in the client's language saying what is
//! wrong and where (the media type, the size, the line and column of malformed JSON, the JSON pointer of a value of
//! the wrong shape).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use super::problem::{FieldError, Problem, ProblemKind, lang_of};
use crate::i18n::Lang;

/// A JSON request body of type `T`. Unlike axum's `Json`, every rejection is a problem in the client's language
/// saying what is wrong and where: 415 for another media type, 413 for a body over the limit, 400 with line and
/// column for malformed JSON, 422 with a JSON pointer for a value of the wrong shape.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(request.uri(), request.headers());
        if !is_json(request.headers()) {
            let kind = ProblemKind::UnsupportedMediaType;
            return Err(Problem::new(kind, lang, kind.generic_detail(lang)).into_response());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ProblemKind::TooLarge
            } else {
                ProblemKind::MalformedRequest
            };
            Problem::new(kind, lang, kind.generic_detail(lang)).into_response()
        })?;
        parse(&bytes, lang).map(ApiJson).map_err(IntoResponse::into_response)
    }
}

/// Whether the request says its body is JSON (`application/json` or any `+json` type).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads `T` from `bytes`, or the problem saying what is wrong and where.
fn parse<T: DeserializeOwned>(bytes: &[u8], lang: Lang) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if !inner.is_data() {
            return malformed(inner, lang);
        }
        let field = pointer(error.path(), &inner.to_string());
        let message = match lang {
            Lang::It => format!("Il valore non ha la forma attesa: {inner}."),
            Lang::En => format!("The value does not have the expected shape: {inner}."),
        };
        Problem::validation(lang, vec![FieldError { field, message }])
    })?;
    deserializer.end().map_err(|e| malformed(&e, lang))?;
    Ok(value)
}

/// The problem for a body that is not well-formed JSON, located by line and column.
fn malformed(error: &serde_json::Error, lang: Lang) -> Problem {
    let (line, column) = (error.line(), error.column());
    let detail = match lang {
        Lang::It => format!("Il corpo della richiesta non è JSON valido (riga {line}, colonna {column}): {error}."),
        Lang::En => format!("The request body is not valid JSON (line {line}, column {column}): {error}."),
    };
    Problem::new(ProblemKind::MalformedRequest, lang, detail)
}

/// The JSON pointer (RFC 6901) of the value `path` leads to. serde reports a missing field at the object that lacks
/// it, so the field named in `message` is appended to point at the field itself.
fn pointer(path: &serde_path_to_error::Path, message: &str) -> String {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    let mut pointer = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => pointer.push_str(&format!("/{}", escape(key))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    if let Some(field) = missing {
        pointer.push_str(&format!("/{}", escape(field)));
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        payment: Payment,
        items: Vec<u8>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Payment {
        iban: String,
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_pointed_at() {
        let cases = [
            ("a missing field", r#"{"payment": {}, "items": []}"#, "/payment/iban"),
            ("an unknown field", r#"{"payment": {"iban": "x", "ibna": "y"}, "items": []}"#, "/payment/ibna"),
            ("a wrong type in a list", r#"{"payment": {"iban": "x"}, "items": [1, "a"]}"#, "/items/1"),
            ("a wrong type at the top", r#"[]"#, ""),
        ];
        for (situation, json, field) in cases {
            let problem = parse::<Body>(json.as_bytes(), Lang::En).unwrap_err();
            assert_eq!(problem.status, 422, "{situation}");
            assert_eq!(problem.errors[0].field, field, "{situation}: {:?}", problem.errors);
        }
    }

    #[test]
    fn malformed_json_is_located_by_line_and_column() {
        let problem = parse::<Body>(b"{\n  \"payment\": ,", Lang::It).unwrap_err();
        assert_eq!(problem.status, 400);
        assert!(problem.detail.contains("riga 2, colonna 14"), "{}", problem.detail);
        let trailing = parse::<Body>(br#"{"payment": {"iban": "x"}, "items": []} x"#, Lang::En).unwrap_err();
        assert_eq!(trailing.status, 400, "{}", trailing.detail);
    }
}

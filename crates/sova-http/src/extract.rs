//! Request-body extraction with errors that name the field: malformed JSON, unknown and missing fields, wrong
//! types, wrong content type, oversize bodies. Each becomes a 4xx in the Connect envelope.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use sova_proto::ErrorCode;

use crate::error::ApiError;

/// A JSON body parsed strictly. Rejects a missing or empty body.
pub struct JsonBody<T>(pub T);

/// A JSON body that may be absent (empty body means `T::default()`).
pub struct OptionalJsonBody<T>(pub T);

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let has_json_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|v| {
        let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    });
    let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, "request body is too large")
        } else {
            crate::error::body_read_error(&rej)
        }
    })?;
    if !bytes.iter().all(u8::is_ascii_whitespace) && has_json_type != Some(true) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    Ok(bytes)
}

/// Parse `bytes` as `T`, turning serde's error into an [`ApiError`] that names the field.
/// The body must be exactly one JSON object: an array would bind to a struct's fields by position (skipping the
/// unknown-field check), and anything after the object (a second object, garbage) is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        let (code, what) = match first {
            Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => (ErrorCode::ValidationError, "a JSON value"),
            _ => (ErrorCode::MalformedJson, "not JSON"),
        };
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code,
            format!("request body must be a JSON object (`{{...}}`); this is {what} of another kind"),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        Ok(v) => v,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            return Err(json_error(&path, &inner));
        }
    };
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
            format!("request body has more after its JSON object ({e}); send exactly one object"),
        )
    })?;
    Ok(value)
}

fn between_backticks(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = e.to_string();
    let prefix = if path == "." || path.is_empty() { String::new() } else { format!("{path}.") };
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
            format!("request body is not valid JSON: {msg}"),
        ),
        Category::Data => {
            if msg.starts_with("unknown field") {
                // The path already ends at the unknown field.
                let f = if path == "." { between_backticks(&msg).unwrap_or_default() } else { path.to_string() };
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::UnknownField, format!("`{f}`: {msg}")).with_field(f)
            } else if msg.starts_with("missing field") {
                let f = between_backticks(&msg).unwrap_or_default();
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::MissingField, format!("`{prefix}{f}` is required"))
                    .with_field(format!("{prefix}{f}"))
            } else {
                let field = if path == "." { None } else { Some(path.to_string()) };
                let text = match &field {
                    Some(f) => format!("`{f}`: {msg}"),
                    None => format!("request body has the wrong shape: {msg}"),
                };
                let mut err = ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, text);
                err.field = field;
                err
            }
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedJson,
                "request body is empty; send a JSON object",
            ));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body like [`JsonBody`], with the bytes received (for a fingerprint of the request).
pub struct JsonWithBytes<T>(pub T, pub Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonWithBytes<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedJson,
                "request body is empty; send a JSON object",
            ));
        }
        let value = parse_json(&bytes)?;
        Ok(JsonWithBytes(value, bytes))
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sova_proto::connect::CreateUserRequest;

    fn err(body: &str) -> ApiError {
        match parse_json::<CreateUserRequest>(body.as_bytes()) {
            Ok(_) => panic!("{body} must fail"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_name_the_field() {
        let e = err("{");
        assert_eq!(e.code, ErrorCode::MalformedJson);
        let e = err(r#"{"user_type":"individual","email":"a@b.co","first_name":"A","last_name":"B","x":1}"#);
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::UnknownField, Some("x")));
        let e = err(r#"{"user_type":"individual","email":"a@b.co","first_name":"A"}"#);
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::MissingField, Some("last_name")));
        let e = err(r#"{"user_type":"individual","email":5,"first_name":"A","last_name":"B"}"#);
        assert_eq!((e.code, e.field.as_deref()), (ErrorCode::ValidationError, Some("email")));
        let e = err("[1]");
        assert_eq!(e.code, ErrorCode::ValidationError);
        // Issue 14, item 6: positional arrays, trailing garbage, two objects.
        let e = err(r#"["individual","p@example.com","P","Q",null,null,null]"#);
        assert_eq!(e.code, ErrorCode::ValidationError);
        let full = r#"{"user_type":"individual","email":"a@b.co","first_name":"A","last_name":"B"}"#;
        assert!(parse_json::<CreateUserRequest>(format!(" {full} \n").as_bytes()).is_ok());
        // Money read from its literal text: a number keeps every digit (RawValue through the path-tracking parser).
        #[derive(serde::Deserialize)]
        struct Money {
            amount: Box<serde_json::value::RawValue>,
        }
        let m = parse_json::<Money>(br#"{"amount": 1.250000000000000001}"#).map(|m| m.amount.get().to_string());
        assert_eq!(m.map_err(|e| e.message).as_deref(), Ok("1.250000000000000001"));
        for tail in ["x", "{}", full, "]"] {
            assert_eq!(err(&format!("{full}{tail}")).code, ErrorCode::MalformedJson, "{tail}");
        }
        assert_eq!(err("<html>").code, ErrorCode::MalformedJson);
    }
}

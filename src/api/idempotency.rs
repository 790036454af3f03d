//! `Idempotency-Key` on create, move and sort: the key, the request's fingerprint, and the
//! stored answer a repeat gets back (with `Idempotent-Replayed: true`).

use super::problem::ApiError;
use crate::domain::IdempotencyKey;
use crate::service::Idempotent;
use crate::store::StoredResponse;
use poem_openapi::types::{ParseFromJSON, ToJSON};

/// The value of `Idempotent-Replayed` on an answer given again.
pub const REPLAYED: &str = "true";

/// Makes the service's idempotency request, when the client sent a key: the key, a hash of
/// the operation, its path and query `parts` and its `body`, and how to keep the answer.
pub fn request<T>(
    raw_key: Option<&str>,
    operation: &str,
    parts: &[String],
    body: &impl ToJSON,
    render: impl FnOnce(&T) -> StoredResponse + Send + 'static,
) -> Result<Option<Idempotent<T>>, ApiError> {
    let Some(raw) = raw_key else {
        return Ok(None);
    };
    let key = IdempotencyKey::parse(raw).map_err(|e| ApiError::field("Idempotency-Key", e.0))?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(operation.as_bytes());
    for part in parts {
        hasher.update(b"\n");
        hasher.update(part.as_bytes());
    }
    hasher.update(b"\n");
    hasher.update(body.to_json_string().as_bytes());
    Ok(Some(Idempotent {
        key,
        fingerprint: *hasher.finalize().as_bytes(),
        render: Box::new(render),
    }))
}

/// The answer to keep: `status`, the body as JSON, and a `Location` if there is one.
pub fn stored(status: u16, body: &impl ToJSON, location: Option<String>) -> StoredResponse {
    StoredResponse {
        status,
        body: body.to_json_string(),
        location,
    }
}

/// The body of a kept answer, read back.
pub fn body<T: ParseFromJSON>(answer: &StoredResponse) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_str(&answer.body)
        .map_err(|e| ApiError::internal(&format!("a stored answer is not JSON: {e}")))?;
    T::parse_from_json(Some(value)).map_err(|e| {
        ApiError::internal(&format!(
            "a stored answer no longer parses: {}",
            e.into_message()
        ))
    })
}

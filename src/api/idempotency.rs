//! Retry-safe writes (create, move, sort) as HTTP sees them: the request's fingerprint, the
//! answer kept for a repeat, and reading it back (with `Idempotent-Replayed: true`). The
//! header itself is [`super::headers::IdempotencyKeyHeader`].

use super::problem::ApiError;
use crate::domain::IdempotencyKey;
use crate::service::{Idempotent, KeptAnswer};
use poem_openapi::types::{ParseFromJSON, ToJSON};

/// The value of `Idempotent-Replayed` on an answer given again.
pub const REPLAYED: &str = "true";

/// Makes the service's idempotency request, when the client sent a key: the key, a hash of
/// the operation, its path and query `parts` and its `body`, and how to keep the answer.
pub fn request<T>(
    key: Option<IdempotencyKey>,
    operation: &str,
    parts: &[String],
    body: &impl ToJSON,
    render: impl FnOnce(&T) -> KeptAnswer + Send + 'static,
) -> Option<Idempotent<T>> {
    let key = key?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(operation.as_bytes());
    for part in parts {
        hasher.update(b"\n");
        hasher.update(part.as_bytes());
    }
    hasher.update(b"\n");
    hasher.update(body.to_json_string().as_bytes());
    Some(Idempotent {
        key,
        fingerprint: *hasher.finalize().as_bytes(),
        render: Box::new(render),
    })
}

/// The answer to keep: `status`, the body as JSON, and a `Location` if there is one.
pub fn stored(status: u16, body: &impl ToJSON, location: Option<String>) -> KeptAnswer {
    KeptAnswer {
        status,
        body: body.to_json_string(),
        location,
    }
}

/// The body of a kept answer, read back.
pub fn body<T: ParseFromJSON>(answer: &KeptAnswer) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_str(&answer.body)
        .map_err(|e| ApiError::internal(&format!("a stored answer is not JSON: {e}")))?;
    T::parse_from_json(Some(value)).map_err(|e| {
        ApiError::internal(&format!(
            "a stored answer no longer parses: {}",
            e.into_message()
        ))
    })
}

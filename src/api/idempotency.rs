//! Retry-safe writes (create, move, sort) as HTTP sees them: the request's fingerprint, the
//! answer kept for a repeat, and reading it back (with `Idempotent-Replayed: true`). The
//! header itself is [`super::headers::IdempotencyKeyHeader`].

use super::answer::WriteJson;
use super::problem::ApiError;
use crate::domain::IdempotencyKey;
use crate::service::{Idempotent, KeptAnswer};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use std::borrow::Cow;

/// The value of `Idempotent-Replayed` on an answer given again.
pub const REPLAYED: &str = "true";

/// Makes the service's idempotency request, when the client sent a key: the key, a hash of
/// the operation, its path and query `parts` and its `body`, and how to keep the answer.
pub fn request<T>(
    key: Option<IdempotencyKey>,
    operation: &str,
    parts: &[String],
    body: &impl ToJSON,
    render: impl Fn(&T) -> KeptAnswer + Send + Sync + 'static,
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
        render: std::sync::Arc::new(render),
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

/// A replayed create's body and headers: the kept body, its `Location` (the kept one, else
/// `location_of` its id), its `ETag` and `Idempotent-Replayed`.
pub fn replayed_create<T>(
    answer: &KeptAnswer,
    location_of: fn(i64) -> String,
) -> Result<(Replayable<T>, String, String, Option<String>), ApiError> {
    let (body, kept) = kept(answer)?;
    let tag = super::etag::of(kept.version.unwrap_or_default());
    let location = answer
        .location
        .clone()
        .unwrap_or_else(|| location_of(kept.id.unwrap_or_default()));
    Ok((body, location, tag, Some(REPLAYED.into())))
}

/// An answer body: one made now, or one kept for a repeat and given again byte for byte (an
/// answer kept by an older release keeps the shape it had then). The document declares `T`'s
/// schema for both.
pub enum Replayable<T> {
    /// Made now.
    Fresh(T),
    /// Kept, as it was first answered.
    Kept(String),
}

/// What a response needs to know of a kept body besides its bytes.
pub struct KeptFields {
    /// Its `id`, if it has one.
    pub id: Option<i64>,
    /// Its `version` (for the `ETag`), if it has one.
    pub version: Option<i64>,
}

/// A kept answer's body, to give again as it is, and the fields its headers are made from.
pub fn kept<T>(answer: &KeptAnswer) -> Result<(Replayable<T>, KeptFields), ApiError> {
    let value: serde_json::Value = serde_json::from_str(&answer.body)
        .map_err(|e| ApiError::internal(&format!("a stored answer is not JSON: {e}")))?;
    let fields = KeptFields {
        id: value.get("id").and_then(serde_json::Value::as_i64),
        version: value.get("version").and_then(serde_json::Value::as_i64),
    };
    Ok((Replayable::Kept(answer.body.clone()), fields))
}

impl<T: WriteJson> WriteJson for Replayable<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Replayable::Fresh(value) => value.write_json(out),
            Replayable::Kept(body) => out.extend_from_slice(body.as_bytes()),
        }
    }
}

impl<T: Type> Type for Replayable<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        match self {
            Replayable::Fresh(value) => value.as_raw_value(),
            Replayable::Kept(_) => None,
        }
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match self {
            Replayable::Fresh(value) => value.raw_element_iter(),
            Replayable::Kept(_) => Box::new(std::iter::empty()),
        }
    }
}

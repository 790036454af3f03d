//! `Idempotency-Key` on create, move and sort: the header, the request's fingerprint, and the
//! stored answer a repeat gets back (with `Idempotent-Replayed: true`).

use super::problem::ApiError;
use crate::domain::IdempotencyKey;
use crate::service::Idempotent;
use crate::store::StoredResponse;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromJSON, ToJSON};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The value of `Idempotent-Replayed` on an answer given again.
pub const REPLAYED: &str = "true";

/// The `Idempotency-Key` header, read from its raw bytes. poem-openapi's `Header<String>` skips
/// a value that is not visible ASCII (`HeaderValue::to_str` fails on `clé`), so such a key
/// was taken for no key at all and the write ran unprotected; here every value sent goes
/// through [`IdempotencyKey::parse`], the one place the rule lives, and a refusal is 422.
pub struct KeyHeader(pub Option<IdempotencyKey>);

impl<'a> ApiExtractor<'a> for KeyHeader {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = false;

    /// What the operation's `example` function returns.
    type ParamType = Option<String>;
    type ParamRawType = ();

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        // The document states the rule `IdempotencyKey::parse` enforces.
        Some(MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(format!("^[!-~]{{1,{}}}$", IdempotencyKey::MAX_LEN)),
            ..MetaSchema::new("string")
        })))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let name = param_opts.name;
        let mut values = request.headers().get_all(name).iter();
        let refused = |message: String| poem::Error::from(ApiError::field(name, message));
        match (values.next(), values.next()) {
            (None, _) => Ok(Self(None)),
            (Some(raw), None) => IdempotencyKey::parse(raw.as_bytes())
                .map(|key| Self(Some(key)))
                .map_err(|e| refused(e.0)),
            // Two keys name no one request.
            (Some(_), Some(_)) => Err(refused("send one key, not several".into())),
        }
    }
}

/// Makes the service's idempotency request, when the client sent a key: the key, a hash of
/// the operation, its path and query `parts` and its `body`, and how to keep the answer.
pub fn request<T>(
    key: Option<IdempotencyKey>,
    operation: &str,
    parts: &[String],
    body: &impl ToJSON,
    render: impl FnOnce(&T) -> StoredResponse + Send + 'static,
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

//! Request headers with a grammar: `If-Match`, `If-None-Match`, `Idempotency-Key`. Each is a
//! type that names its header, states its pattern and example in the document and words the
//! refusal a client sees (422 naming the header), once; an operation takes the type and gets
//! the value already read.

use super::etag::{self, Comparison, Tags};
use super::problem::ApiError;
use crate::domain::IdempotencyKey;
use crate::service::IfMatch;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::validation::{Pattern, Validator};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use std::borrow::Cow;

/// What the document says of a header, and how a request's value is read.
trait Grammar: Sized {
    /// The header's name; operations declare it with `#[oai(name = "…")]`, which must agree.
    const NAME: &'static str;
    /// The pattern the document states for a value.
    fn pattern() -> Cow<'static, str>;
    /// Reads the header; `Err` is what the client is answered.
    fn read(request: &Request) -> Result<Self, ApiError>;
}

/// `If-Match`: change a task only while it is at a version the client read (strong
/// comparison). `*` asks only that the task exists, which every change needs anyway: no
/// precondition, like no header.
pub struct IfMatchHeader(pub Option<IfMatch>);

impl TagList for IfMatchHeader {
    const NAME: &'static str = "If-Match";
    const COMPARISON: Comparison = Comparison::Strong;
    const WHAT_TO_SEND: &'static str =
        "an entity tag in quotes, e.g. \"3\" (the ETag you read), or *";

    fn of(tags: Option<Tags>) -> Self {
        Self(match tags {
            None | Some(Tags::Any) => None,
            Some(Tags::Versions(v)) => Some(IfMatch(v)),
        })
    }
}

/// `If-None-Match`: the versions of the copies the client holds (weak comparison: `W/"3"` and
/// `"3"` name the same version); `*` names any.
pub struct IfNoneMatchHeader(Option<Tags>);

impl IfNoneMatchHeader {
    /// Whether the header names `version` (then the client's copy is fresh: 304).
    pub fn names(&self, version: i64) -> bool {
        match &self.0 {
            None => false,
            Some(Tags::Any) => true,
            Some(Tags::Versions(v)) => v.contains(&version),
        }
    }
}

impl TagList for IfNoneMatchHeader {
    const NAME: &'static str = "If-None-Match";
    const COMPARISON: Comparison = Comparison::Weak;
    const WHAT_TO_SEND: &'static str = "an entity tag in quotes, e.g. \"3\" (the ETag you hold), several separated by commas, or *";

    fn of(tags: Option<Tags>) -> Self {
        Self(tags)
    }
}

/// `If-Match` and `If-None-Match`: entity-tag lists ([`etag::LIST_PATTERN`]), told apart by
/// name and by how their tags compare.
trait TagList: Sized {
    /// The header's name.
    const NAME: &'static str;
    /// How its tags compare with a version.
    const COMPARISON: Comparison;
    /// What a refused value is answered: what to send instead.
    const WHAT_TO_SEND: &'static str;
    /// What the tags sent (if any) ask.
    fn of(tags: Option<Tags>) -> Self;

    /// Reads a value as sent (`None`: no header).
    fn from_raw(raw: Option<&str>) -> Result<Self, ApiError> {
        let tags = raw.map(|r| tag_list(Self::NAME, Self::WHAT_TO_SEND, r, Self::COMPARISON));
        Ok(Self::of(tags.transpose()?))
    }
}

impl<T: TagList> Grammar for T {
    const NAME: &'static str = <T as TagList>::NAME;

    fn pattern() -> Cow<'static, str> {
        etag::LIST_PATTERN.into()
    }

    fn read(request: &Request) -> Result<Self, ApiError> {
        Self::from_raw(first_text(request, <T as TagList>::NAME))
    }
}

/// The `Idempotency-Key` header, read from its raw bytes: a value that is not visible ASCII
/// (`clé` sent as UTF-8) is refused like any other bad key, never taken for no key (which
/// would run the write unprotected); [`IdempotencyKey::parse`] holds the rule and its message.
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl Grammar for IdempotencyKeyHeader {
    const NAME: &'static str = "Idempotency-Key";

    fn pattern() -> Cow<'static, str> {
        // The rule `IdempotencyKey::parse` enforces.
        format!("^[!-~]{{1,{}}}$", IdempotencyKey::MAX_LEN).into()
    }

    fn read(request: &Request) -> Result<Self, ApiError> {
        let mut values = request.headers().get_all(Self::NAME).iter();
        let refused = |message: String| ApiError::field(Self::NAME, message);
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

/// The first value of `name` that is text, as poem-openapi's `Header<Option<String>>` reads
/// one (a value that is not visible ASCII is skipped): how the tag headers were always read.
fn first_text<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .headers()
        .get_all(name)
        .iter()
        .find_map(|value| value.to_str().ok())
}

/// An `If-Match` or `If-None-Match` value: checked against [`etag::LIST_PATTERN`], then read.
/// A value off the grammar is answered `what_to_send`, never the pattern.
fn tag_list(
    name: &'static str,
    what_to_send: &'static str,
    raw: &str,
    comparison: Comparison,
) -> Result<Tags, ApiError> {
    if !Pattern::new(etag::LIST_PATTERN).check(&raw) {
        return Err(ApiError::field(name, what_to_send));
    }
    etag::parse(raw, comparison).map_err(|etag::NotATag(tag)| {
        ApiError::field(
            name,
            format!("must be * or entity tags like \"3\" (from ETag); got {tag:?}"),
        )
    })
}

/// Each header an operation parameter: optional, in the header, its schema a string with the
/// header's pattern and example.
macro_rules! header_parameter {
    ($($header:ty),+ $(,)?) => {$(
        impl<'a> ApiExtractor<'a> for $header {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
            const PARAM_IS_REQUIRED: bool = false;

            type ParamType = Option<String>;
            type ParamRawType = ();

            fn param_in() -> Option<MetaParamIn> {
                Some(MetaParamIn::Header)
            }

            fn param_schema_ref() -> Option<MetaSchemaRef> {
                Some(schema::<$header>())
            }

            async fn from_request(
                request: &'a Request,
                _body: &mut RequestBody,
                param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                debug_assert_eq!(param_opts.name, <$header as Grammar>::NAME);
                <$header as Grammar>::read(request).map_err(poem::Error::from)
            }
        }
    )+};
}

header_parameter!(IfMatchHeader, IfNoneMatchHeader, IdempotencyKeyHeader);

// No example: Swagger UI fills an optional parameter with its example and sends it, so every
// write tried there carried one fixed `Idempotency-Key` (the second was answered 422
// `idempotency_key_reused`) and an `If-Match: "1"` (412 on anything edited since).
fn schema<H: Grammar>() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        pattern: Some(H::pattern().into_owned()),
        ..MetaSchema::new("string")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_headers_ask_what_their_comparison_says() {
        assert!(
            IfNoneMatchHeader::from_raw(Some("W/\"7\""))
                .unwrap()
                .names(7)
        );
        assert!(IfNoneMatchHeader::from_raw(Some("\"7\"")).unwrap().names(7));
        assert!(!IfNoneMatchHeader::from_raw(Some("\"6\"")).unwrap().names(7));
        assert!(IfNoneMatchHeader::from_raw(Some("*")).unwrap().names(7));
        assert!(!IfNoneMatchHeader::from_raw(None).unwrap().names(7));
        assert!(IfMatchHeader::from_raw(Some("*")).unwrap().0.is_none());
        let weak_only = IfMatchHeader::from_raw(Some("W/\"4\"")).unwrap().0;
        assert!(weak_only.is_some_and(|m| m.0.is_empty()));
    }

    #[test]
    fn a_bad_tag_list_is_refused_naming_the_header_and_what_to_send() {
        let err = IfMatchHeader::from_raw(Some("3")).err().unwrap();
        let refused = &err.problem().errors.as_ref().unwrap()[0];
        assert_eq!(refused.field, "If-Match");
        assert_eq!(
            refused.message,
            "an entity tag in quotes, e.g. \"3\" (the ETag you read), or *"
        );
        let err = IfNoneMatchHeader::from_raw(Some("W/3")).err().unwrap();
        let refused = &err.problem().errors.as_ref().unwrap()[0];
        assert_eq!(refused.field, "If-None-Match");
        assert!(refused.message.starts_with("an entity tag in quotes"));
    }
}

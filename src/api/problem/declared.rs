//! What each operation declares in the OpenAPI document: its problem codes, grouped by status,
//! with the headers the code table says they carry.

use super::code::{Code, Header};
use super::{ApiError, PROBLEM_JSON, Problem};
use crate::service::ServiceError;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Mutex;

/// The problem codes one operation can answer (besides [`STORE`]'s, which every one can).
pub trait Declared: Send + Sync + 'static {
    /// Groups of codes, e.g. `[BODY, SESSION, &[Code::TaskNotFound]]`.
    const CODES: &'static [&'static [Code]];

    /// Every declared code, [`STORE`]'s included.
    fn codes() -> impl Iterator<Item = Code> {
        Self::CODES
            .iter()
            .flat_map(|group| group.iter().copied())
            .chain(STORE.iter().copied())
    }
}

/// Codes every operation declares: each one reaches the store (a session check or its own
/// work), so each can meet a bug (`internal`), a failure that passes (`unavailable`) and a full
/// queue in front of the database (`busy`).
pub const STORE: &[Code] = &[Code::Internal, Code::Unavailable, Code::Busy];

/// An operation's error: an [`ApiError`] documented with the codes of `D`.
pub struct Failure<D: Declared>(ApiError, PhantomData<D>);

impl<D: Declared> From<ApiError> for Failure<D> {
    fn from(err: ApiError) -> Self {
        // The tests run debug builds: an answer the document does not declare fails them.
        debug_assert!(
            D::codes().any(|c| c == err.code),
            "{} is not declared by {}",
            err.code.as_str(),
            std::any::type_name::<D>()
        );
        Self(err, PhantomData)
    }
}

impl<D: Declared> From<ServiceError> for Failure<D> {
    fn from(err: ServiceError) -> Self {
        ApiError::from(err).into()
    }
}

impl<D: Declared> From<Failure<D>> for poem::Error {
    fn from(f: Failure<D>) -> Self {
        poem::Error::from(f.0)
    }
}

impl<D: Declared> IntoResponse for Failure<D> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl<D: Declared> ApiResponse for Failure<D> {
    fn meta() -> MetaResponses {
        let mut by_status: BTreeMap<u16, Vec<Code>> = BTreeMap::new();
        for code in D::codes() {
            let codes = by_status.entry(code.entry().status).or_default();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        MetaResponses {
            responses: by_status
                .into_iter()
                .map(|(status, codes)| response(status, &codes))
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// One status of an operation: its codes described, and the headers they carry (required when
/// every code of that status carries it).
fn response(status: u16, codes: &[Code]) -> MetaResponse {
    let description = codes
        .iter()
        .map(|c| format!("`{}`: {}", c.as_str(), c.entry().meaning))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers: Vec<MetaHeader> = Vec::new();
    for header in [Header::WwwAuthenticate, Header::RetryAfter, Header::Allow] {
        let carrying = codes
            .iter()
            .filter(|c| c.entry().header == Some(header))
            .count();
        if carrying > 0 {
            headers.push(MetaHeader {
                name: header.name().into(),
                description: Some(header.description().into()),
                required: carrying == codes.len(),
                deprecated: false,
                schema: match header {
                    Header::RetryAfter => u64::schema_ref(),
                    Header::WwwAuthenticate | Header::Allow => String::schema_ref(),
                },
            });
        }
    }
    MetaResponse {
        description: intern(description),
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: PROBLEM_JSON,
            schema: Problem::schema_ref(),
        }],
        headers,
    }
}

/// The registry keeps `&'static str` descriptions: each distinct one is leaked once, however
/// often the document is built.
fn intern(text: String) -> &'static str {
    static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = seen.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// Declares an operation's error set: `declare!(Name: BODY, SESSION, &[Code::TaskNotFound])`.
macro_rules! declare {
    ($name:ident: $($group:expr),+ $(,)?) => {
        #[doc = concat!("Error responses of ", stringify!($name), ".")]
        pub struct $name;
        impl $crate::api::problem::Declared for $name {
            const CODES: &'static [&'static [$crate::api::problem::Code]] = &[$($group),+];
        }
    };
}
pub(crate) use declare;

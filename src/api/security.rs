//! The Bearer guard every signed-in operation takes as its first argument.

use super::problem::ApiError;
use crate::service::{Auth, LogoutTarget, Session};
use poem::{Request, RequestBody};
use poem_openapi::auth::Bearer;
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};

/// A request with a live session. Declared first in an operation, so a dead session is
/// reported before anything else about the request.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "opaque",
    checker = "check_session",
    rename = "bearer"
)]
pub struct SignedIn(pub Session);

async fn check_session(req: &Request, bearer: Bearer) -> poem::Result<Session> {
    let auth = req
        .data::<Auth>()
        .ok_or_else(|| ApiError::internal(&"Auth missing from route data"))?;
    // Boxed for the same reason as the handlers' service calls: a smaller future to move.
    Box::pin(auth.authenticate(&bearer.token))
        .await
        .map_err(|e| ApiError::from(e).into())
}

/// The Bearer guard of logout: a live session, or a token whose earlier logout answered 503
/// (so retrying that logout answers 503 until it is stored and 204 after, not
/// `session_revoked`). The same scheme in the document as [`SignedIn`].
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "opaque",
    checker = "check_logout",
    rename = "bearer"
)]
pub struct LoggingOut(pub LogoutTarget);

async fn check_logout(req: &Request, bearer: Bearer) -> poem::Result<LogoutTarget> {
    let auth = req
        .data::<Auth>()
        .ok_or_else(|| ApiError::internal(&"Auth missing from route data"))?;
    Box::pin(auth.authenticate_logout(&bearer.token))
        .await
        .map_err(|e| ApiError::from(e).into())
}

/// A Bearer header checked as [`SignedIn`] checks it, the verdict left to [`StreamAuth`]
/// (which tells a refused Bearer from none sent).
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "opaque",
    checker = "check_if_sent",
    rename = "bearer"
)]
pub struct BearerSent(pub Result<Session, ApiError>);

async fn check_if_sent(req: &Request, bearer: Bearer) -> poem::Result<Result<Session, ApiError>> {
    Ok(check_session(req, bearer)
        .await
        .map_err(|e| super::problem::from_poem(e, true)))
}

/// The guard of the event stream: a Bearer header, or none at all (a browser's `EventSource`
/// cannot send one; it brings an event ticket in the query instead). The document lists both.
///
/// Written out rather than derived: a derived guard with a fallback swallows the Bearer's
/// refusal, and the stream's parameters would then be checked before the session is. Here a
/// refused Bearer is answered at once, as on every signed-in route.
pub enum StreamAuth {
    /// A live session from `Authorization: Bearer`.
    Bearer(Session),
    /// No Bearer header.
    NoBearer,
}

impl<'a> ApiExtractor<'a> for StreamAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <BearerSent as ApiExtractor>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        <BearerSent as ApiExtractor>::security_schemes()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match BearerSent::from_request(req, body, param_opts).await {
            Ok(BearerSent(Ok(session))) => Ok(Self::Bearer(session)),
            Ok(BearerSent(Err(refused))) => Err(refused.into()),
            Err(_) => Ok(Self::NoBearer),
        }
    }
}

//! The Bearer guard every signed-in operation takes as its first argument.

use super::problem::ApiError;
use crate::service::{Auth, Session};
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

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

//! What answers while this process cannot serve: before its database is restored and
//! replicated, and while replication is paused (Litestream restarting, the lease lost).
//! `/healthz` answers 200 throughout, so a platform that starts the next deploy before it stops
//! this one sees it alive and can move traffic; everything else answers 503 `unavailable` with
//! `Retry-After`, so no write is acknowledged that nothing would ship.

use super::problem::ApiError;
use poem::endpoint::BoxEndpoint;
use poem::error::ResponseError;
use poem::{Endpoint, Request, Response};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Lets requests through to the app once it is set and the gate is open.
#[derive(Default)]
pub struct Gate {
    app: OnceLock<Arc<BoxEndpoint<'static, Response>>>,
    open: AtomicBool,
}

impl Gate {
    /// A closed gate with no app behind it yet.
    pub fn new() -> Arc<Gate> {
        Arc::default()
    }

    /// Puts the app behind the gate (once) and opens it.
    pub fn serve(&self, app: Arc<BoxEndpoint<'static, Response>>) {
        let _ = self.app.set(app);
        self.open();
    }

    /// Lets requests through (when the app is set).
    pub fn open(&self) {
        self.open.store(true, Ordering::Release);
    }

    /// Answers 503 from now on (requests already through run on).
    pub fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Whether requests reach the app.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire) && self.app.get().is_some()
    }
}

/// The gate as the endpoint the server serves.
pub struct GateEndpoint(pub Arc<Gate>);

impl Endpoint for GateEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if self.0.open.load(Ordering::Acquire)
            && let Some(app) = self.0.app.get()
        {
            return Ok(app.get_response(req).await);
        }
        if req.uri().path() == "/healthz" {
            return Ok(Response::builder()
                .content_type("application/json; charset=utf-8")
                .body(r#"{"status":"ok"}"#));
        }
        Ok(ApiError::standing_by().as_response())
    }
}

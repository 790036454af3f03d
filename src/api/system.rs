//! Liveness and readiness probes.

use super::ApiTags;
use super::problem::{ApiError, Code};
use crate::service::Health as HealthCheck;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

/// A probe's answer.
#[derive(Debug, Object)]
pub struct Health {
    /// `ok`.
    status: String,
}

#[derive(ApiResponse)]
enum Readiness {
    /// The database answers.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// The database does not answer (`not_ready`).
    #[oai(status = 503, content_type = "application/problem+json")]
    NotReady(Json<super::problem::Problem>),
}

/// Probes for load balancers and container health checks.
pub struct SystemApi;

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// The process is up.
    ///
    /// Answers 200 as long as the process serves HTTP; it does not touch the database.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
        })
    }

    /// The database answers queries.
    ///
    /// 200 when a read and a write both reach the database; 503 `not_ready` otherwise.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, health: poem::web::Data<&HealthCheck>) -> Readiness {
        match health.ready().await {
            Ok(()) => Readiness::Ready(Json(Health {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::error!(error = %e, "readiness check failed");
                let err = ApiError::new(Code::NotReady, "The database does not answer.");
                Readiness::NotReady(Json(err.problem().clone()))
            }
        }
    }
}

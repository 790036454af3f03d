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
    /// Writes reach the database.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// Writes fail right now (`not_ready`), or the replica is not ready (`unavailable`).
    #[oai(status = 503, content_type = "application/problem+json")]
    NotReady(Json<super::problem::Problem>),
}

/// Probes for load balancers and container health checks.
pub struct SystemApi;

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// The process is up.
    ///
    /// Answers 200 as long as the process serves HTTP; it does not touch the database. This is
    /// the liveness check (Docker `HEALTHCHECK`, fly, railway): a full disk is no reason to
    /// restart the process.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
        })
    }

    /// Writes reach the database.
    ///
    /// For routing: 503 `not_ready` while writes fail (a write failed in the last few seconds
    /// and none has committed since, or a probe write fails), 200 once they succeed again. A
    /// write that committed in the last two seconds answers for the probe, so asking every
    /// second costs at most one small write every two seconds. Under `LISTO_REPLICA`, 503
    /// `unavailable` (with `Retry-After`) while the process waits for the replica's lease,
    /// restores, or waits for Litestream; `/healthz` answers 200 meanwhile.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, health: poem::web::Data<&HealthCheck>) -> Readiness {
        match health.ready().await {
            Ok(()) => Readiness::Ready(Json(Health {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                let err = ApiError::new(
                    Code::NotReady,
                    "Writes to the database fail right now; send traffic elsewhere.",
                );
                Readiness::NotReady(Json(err.problem().clone()))
            }
        }
    }
}

//! What each task operation answers when it succeeds: one response enum per kind of answer,
//! with its status and headers (`ETag`, `Location`, `Idempotent-Replayed`).

use super::view::{TaskPageView, TaskView};
use crate::api::answer::JsonAnswer;
use crate::api::idempotency::Replayable;
use crate::domain::Task;
use poem_openapi::ApiResponse;

#[derive(ApiResponse)]
pub(super) enum Created {
    /// The task, now last in its list's order (or, with `Idempotent-Replayed: true`, the task
    /// the first request with this `Idempotency-Key` created).
    #[oai(status = 201)]
    Created(
        JsonAnswer<Replayable<TaskView>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub(super) enum OneTask {
    /// The task; `ETag` is its version.
    #[oai(status = 200)]
    Ok(JsonAnswer<TaskView>, #[oai(header = "ETag")] String),
}

impl From<Task> for OneTask {
    fn from(task: Task) -> Self {
        let view = TaskView::from(task);
        let tag = view.etag();
        OneTask::Ok(JsonAnswer(view), tag)
    }
}

#[derive(ApiResponse)]
pub(super) enum Moved {
    /// The task in its new place; `ETag` is its version. `Idempotent-Replayed: true` marks the
    /// answer to an earlier request with this `Idempotency-Key`.
    #[oai(status = 200)]
    Ok(
        JsonAnswer<Replayable<TaskView>>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub(super) enum Sorted {
    /// The page in its new order. `Idempotent-Replayed: true` marks the answer to an earlier
    /// request with this `Idempotency-Key`.
    #[oai(status = 200)]
    Ok(
        JsonAnswer<Replayable<TaskPageView>>,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub(super) enum Fetched {
    /// The task; `ETag` is its version.
    #[oai(status = 200)]
    Ok(JsonAnswer<TaskView>, #[oai(header = "ETag")] String),
    /// `If-None-Match` named the current version: the copy the client holds is fresh.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub(super) enum Deleted {
    /// The task is gone.
    #[oai(status = 204)]
    Done,
}

//! `/v1/tasks`: the operations (create, read, edit, delete, list, sort a page, move one task),
//! each reading its request into domain values and answering what the service did; the same
//! on any list is [`in_list`], and what both share is [`ops`]. What they take and give is
//! [`body`], [`view`], [`responses`] and [`json`].

pub(crate) mod body;
mod examples;
pub(crate) mod in_list;
mod json;
mod ops;
mod responses;
pub(crate) mod view;

use super::ApiTags;
use super::answer::JsonAnswer;
use super::date::DateText;
use super::etag;
use super::headers::{IdempotencyKeyHeader, IfMatchHeader, IfNoneMatchHeader};
use super::idempotency::{self, Replayable};
use super::json::JsonBody;
use super::problem::{ApiError, BODY, Code, Failure, SESSION, declare};
use super::security::SignedIn;
use crate::domain::{Placement, Task};
use crate::service::{ListRef, Outcome, Tasks};
use body::{End, MoveRequest, NewTask, SortRequest, TaskPatch};
use json::PageAnswer;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use responses::{Created, Deleted, Fetched, Moved, OneTask, Sorted};
use view::{Status, TaskView};

const NOT_FOUND: &[Code] = &[Code::TaskNotFound];
const INVALID: &[Code] = &[Code::ValidationFailed];

/// What a keyed write may answer besides its own codes.
const RETRY: &[Code] = &[
    Code::IdempotencyKeyReused,
    Code::IdempotencyInProgress,
    Code::QuotaExceededForNow,
];

declare!(CreateErrors: BODY, SESSION, RETRY, &[Code::QuotaExceeded]);
declare!(ListErrors: SESSION, INVALID, &[Code::InvalidCursor]);
const STALE: &[Code] = &[Code::PreconditionFailed];

declare!(TaskErrors: SESSION, NOT_FOUND, INVALID);
declare!(DeleteErrors: SESSION, NOT_FOUND, INVALID, STALE);
declare!(EditErrors: BODY, SESSION, NOT_FOUND, STALE);
declare!(MoveErrors: BODY, SESSION, NOT_FOUND, STALE, RETRY);
declare!(SortErrors: BODY, SESSION, RETRY, &[Code::OrderConflict, Code::InvalidOrder]);

/// Task operations.
pub struct TaskApi;

#[OpenApi(prefix_path = "/v1/tasks", tag = "ApiTags::Tasks")]
impl TaskApi {
    /// Create a task at the end of your order.
    ///
    /// All three fields are required. The answer carries the task and its `Location`. With an
    /// `Idempotency-Key`, a repeat of the request (same key, same body, within 24 hours) creates
    /// nothing and answers the first answer again, with `Idempotent-Replayed: true`.
    #[oai(path = "/", method = "post", operation_id = "create_task")]
    async fn create(
        &self,
        session: SignedIn,
        /// Any unique string (a UUID): a retry with the same key and body runs once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKeyHeader,
        body: JsonBody<NewTask>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Created, Failure<CreateErrors>> {
        Ok(ops::create_in(
            &session.0,
            ListRef::Default,
            idempotency_key,
            body.0,
            &tasks,
        )
        .await?)
    }

    /// List your tasks, a page at a time, in your order.
    ///
    /// Pages are numbered from 1; the envelope carries the totals. `next_cursor`, passed as
    /// `cursor`, reads the next page at the same cost at any depth.
    #[oai(path = "/", method = "get", operation_id = "list_tasks")]
    // One argument per query parameter is how poem-openapi declares them.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        session: SignedIn,
        /// Page number, from 1 (default 1). A page past the end is empty.
        #[oai(
            example = "examples::page",
            validator(minimum(value = "1"), maximum(value = "4294967295"))
        )]
        page: Query<Option<i64>>,
        /// Tasks per page, 1 to 100 (default 20).
        #[oai(
            example = "examples::per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<Option<i64>>,
        /// `next_cursor` from the previous page, instead of `page`: costs the same at any depth.
        /// It carries the filters it was made with: send the same ones.
        cursor: Query<Option<String>>,
        /// Only tasks with this status.
        #[oai(example = "examples::status")]
        status: Query<Option<Status>>,
        /// Only tasks on or after this day, `YYYY-MM-DD`.
        #[oai(example = "examples::date_from")]
        date_from: Query<Option<DateText>>,
        /// Only tasks on or before this day, `YYYY-MM-DD`.
        #[oai(example = "examples::date_to")]
        date_to: Query<Option<DateText>>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<JsonAnswer<PageAnswer>, Failure<ListErrors>> {
        let query = ops::ListQuery {
            page: page.0,
            per_page: per_page.0,
            cursor: cursor.0,
            status: status.0,
            date_from: date_from.0,
            date_to: date_to.0,
        };
        Ok(ops::list_in(&session.0, ListRef::Default, query, &tasks).await?)
    }

    /// Read one task.
    ///
    /// Another user's task answers 404, as if it did not exist. The `ETag` is the task's
    /// version; send it back in `If-None-Match` and an unchanged task answers 304 with no body.
    #[oai(path = "/:id", method = "get", operation_id = "get_task")]
    async fn get(
        &self,
        session: SignedIn,
        /// Task id.
        #[oai(example = "examples::id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` of the copy you hold: 304 while the task is still at that version.
        #[oai(name = "If-None-Match")]
        if_none_match: IfNoneMatchHeader,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Fetched, Failure<TaskErrors>> {
        let task = tasks.get(&session.0, id.0).await?;
        let tag = etag::of(task.version);
        if if_none_match.names(task.version) {
            return Ok(Fetched::NotModified(tag));
        }
        Ok(Fetched::Ok(JsonAnswer(task.into()), tag))
    }

    /// Change any non-empty subset of a task's fields.
    ///
    /// Fields left out keep their values; `null` and unknown fields are refused. With
    /// `If-Match` (the `ETag` you read), a task changed since answers 412 with `current`, the
    /// task as it is now, and nothing is overwritten.
    #[oai(path = "/:id", method = "patch", operation_id = "update_task")]
    async fn update(
        &self,
        session: SignedIn,
        /// Task id.
        #[oai(example = "examples::id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: change the task only if it is still at that version.
        #[oai(name = "If-Match")]
        if_match: IfMatchHeader,
        body: JsonBody<TaskPatch>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<OneTask, Failure<EditErrors>> {
        let (changes, to_list) = body.0.parse()?;
        Ok(tasks
            .update(&session.0, id.0, changes, to_list, if_match.0)
            .await?
            .into())
    }

    /// Delete a task.
    ///
    /// Ids are never reused, so repeating a delete can never remove a newer task. With
    /// `If-Match`, a task changed since you read it answers 412 with `current` and stays.
    #[oai(path = "/:id", method = "delete", operation_id = "delete_task")]
    async fn delete(
        &self,
        session: SignedIn,
        /// Task id.
        #[oai(example = "examples::id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: delete the task only if it is still at that version.
        #[oai(name = "If-Match")]
        if_match: IfMatchHeader,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Deleted, Failure<DeleteErrors>> {
        tasks.delete(&session.0, id.0, if_match.0).await?;
        Ok(Deleted::Done)
    }

    /// Put one page's tasks in a new order; tasks on other pages keep their places.
    ///
    /// Post exactly the ids GET shows on that page (same `per_page`), in the order you want.
    /// If the page changed since you read it, the answer is 409 with the ids it holds now.
    /// With an `Idempotency-Key`, a repeat answers the first answer again and sorts nothing.
    #[oai(path = "/sort", method = "post", operation_id = "sort_tasks")]
    // One argument per parameter is how poem-openapi declares them.
    #[allow(clippy::too_many_arguments)]
    async fn sort(
        &self,
        session: SignedIn,
        /// The page being sorted, from 1 (default 1).
        #[oai(
            example = "examples::page",
            validator(minimum(value = "1"), maximum(value = "4294967295"))
        )]
        page: Query<Option<i64>>,
        /// The page size the client listed with, 1 to 100 (default 20).
        #[oai(
            example = "examples::per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<Option<i64>>,
        /// Any unique string (a UUID): a retry with the same key, page and body runs once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKeyHeader,
        request: &poem::Request,
        body: JsonBody<SortRequest>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Sorted, Failure<SortErrors>> {
        let page = (page.0, per_page.0);
        let sort = ops::SortQuery { page, request };
        Ok(ops::sort_in(
            &session.0,
            ListRef::Default,
            sort,
            idempotency_key,
            body.0,
            &tasks,
        )
        .await?)
    }

    /// Move one task before or after another, or to either end.
    ///
    /// Send exactly one of `before_id`, `after_id` or `to`. Only the moved task changes. With
    /// `If-Match`, a task changed since you read it answers 412 with `current` and stays put.
    /// With an `Idempotency-Key`, a repeat answers the first answer again and moves nothing.
    #[oai(path = "/:id/move", method = "post", operation_id = "move_task")]
    async fn move_task(
        &self,
        session: SignedIn,
        /// Task id.
        #[oai(example = "examples::id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: move the task only if it is still at that version.
        #[oai(name = "If-Match")]
        if_match: IfMatchHeader,
        /// Any unique string (a UUID): a retry with the same key and body runs once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKeyHeader,
        body: JsonBody<MoveRequest>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Moved, Failure<MoveErrors>> {
        let once = idempotency::request(
            idempotency_key.0,
            "move_task",
            &[id.0.to_string()],
            &body.0,
            |task: &Task| idempotency::stored(200, &TaskView::from(task.clone()), None),
        );
        let m = body.0;
        let to = m.to.map(|e| match e {
            End::Start => "start",
            End::End => "end",
        });
        let placement = Placement::parse(m.before_id, m.after_id, to)
            .map_err(|e| ApiError::field("body", e.0))?;
        match tasks
            .move_to(&session.0, id.0, placement, if_match.0, once)
            .await?
        {
            Outcome::Done(task) => {
                let view = TaskView::from(task);
                let tag = view.etag();
                Ok(Moved::Ok(JsonAnswer(Replayable::Fresh(view)), tag, None))
            }
            Outcome::Replayed(answer) => {
                let (body, kept) = idempotency::kept(&answer)?;
                let tag = etag::of(kept.version.unwrap_or_default());
                let replayed = Some(idempotency::REPLAYED.into());
                Ok(Moved::Ok(JsonAnswer(body), tag, replayed))
            }
        }
    }
}

//! `/v1/lists/{id}/tasks`: create, list and sort the tasks of any list the caller can see, with
//! exactly the rules of `/v1/tasks` (which is the default list's). A list the caller cannot see
//! answers 404 `not_found`, as a missing one.

use super::body::{NewTask, SortRequest};
use super::examples;
use super::json::PageAnswer;
use super::ops::{self, ListQuery, SortQuery};
use super::responses::{Created, Sorted};
use super::view::Status;
use crate::api::ApiTags;
use crate::api::answer::JsonAnswer;
use crate::api::date::DateText;
use crate::api::headers::IdempotencyKeyHeader;
use crate::api::json::JsonBody;
use crate::api::problem::{BODY, Code, Failure, SESSION, declare};
use crate::api::security::SignedIn;
use crate::service::{ListRef, Tasks};
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};

const NOT_FOUND: &[Code] = &[Code::NotFound];
const INVALID: &[Code] = &[Code::ValidationFailed];
/// What a keyed write may answer besides its own codes.
const RETRY: &[Code] = &[
    Code::IdempotencyKeyReused,
    Code::IdempotencyInProgress,
    Code::QuotaExceededForNow,
];

declare!(CreateErrors: BODY, SESSION, NOT_FOUND, RETRY, &[Code::QuotaExceeded]);
declare!(ListErrors: SESSION, NOT_FOUND, INVALID, &[Code::InvalidCursor]);
declare!(SortErrors: BODY, SESSION, NOT_FOUND, RETRY, &[Code::OrderConflict, Code::InvalidOrder]);

fn example_list() -> i64 {
    2
}

/// The tasks of one list.
pub struct ListTaskApi;

#[OpenApi(prefix_path = "/v1/lists", tag = "ApiTags::Lists")]
impl ListTaskApi {
    /// Create a task at the end of a list.
    ///
    /// As `POST /v1/tasks`, in the list named by `id`.
    #[oai(
        path = "/:id/tasks",
        method = "post",
        operation_id = "create_list_task"
    )]
    async fn create(
        &self,
        session: SignedIn,
        /// List id.
        #[oai(example = "example_list", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// Any unique string (a UUID): a retry with the same key and body runs once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKeyHeader,
        body: JsonBody<NewTask>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Created, Failure<CreateErrors>> {
        let list = ListRef::Id(id.0);
        Ok(ops::create_in(&session.0, list, idempotency_key, body.0, &tasks).await?)
    }

    /// List a list's tasks, a page at a time, in its order.
    ///
    /// As `GET /v1/tasks` (pages, `cursor`, filters), in the list named by `id`.
    #[oai(path = "/:id/tasks", method = "get", operation_id = "list_list_tasks")]
    // One argument per query parameter is how poem-openapi declares them.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        session: SignedIn,
        /// List id.
        #[oai(example = "example_list", validator(minimum(value = "1")))]
        id: Path<i64>,
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
        let query = ListQuery {
            page: page.0,
            per_page: per_page.0,
            cursor: cursor.0,
            status: status.0,
            date_from: date_from.0,
            date_to: date_to.0,
        };
        Ok(ops::list_in(&session.0, ListRef::Id(id.0), query, &tasks).await?)
    }

    /// Put one page of a list's tasks in a new order.
    ///
    /// As `POST /v1/tasks/sort`, in the list named by `id`.
    #[oai(
        path = "/:id/tasks/sort",
        method = "post",
        operation_id = "sort_list_tasks"
    )]
    // One argument per parameter is how poem-openapi declares them.
    #[allow(clippy::too_many_arguments)]
    async fn sort(
        &self,
        session: SignedIn,
        /// List id.
        #[oai(example = "example_list", validator(minimum(value = "1")))]
        id: Path<i64>,
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
        let query = SortQuery {
            page: (page.0, per_page.0),
            request,
        };
        let list = ListRef::Id(id.0);
        Ok(ops::sort_in(&session.0, list, query, idempotency_key, body.0, &tasks).await?)
    }
}

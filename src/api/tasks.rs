//! `/v1/tasks`: create, read, edit, delete, list, sort a page, move one task.

use super::ApiTags;
use super::answer::{JsonAnswer, Members, WriteJson, write_array};
use super::date::DateText;
use super::etag;
use super::idempotency::{self, KeyHeader};
use super::json::{JsonBody, present};
use super::problem::{ApiError, BODY, Code, Failure, SESSION, both, declare};
use super::security::SignedIn;
use crate::domain::{
    PageCursor, PageRequest, Placement, Task, TaskChanges, TaskDate, TaskFilter, TaskStatus,
    TaskText, Timestamp,
};
use crate::service::{Outcome, TaskPage, Tasks};
use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;

/// Whether a task is done: `Completed` or `Incomplete`.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
pub enum Status {
    /// Done.
    Completed,
    /// Not done yet.
    Incomplete,
}

impl From<Status> for TaskStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Completed => TaskStatus::Completed,
            Status::Incomplete => TaskStatus::Incomplete,
        }
    }
}

impl From<TaskStatus> for Status {
    fn from(s: TaskStatus) -> Self {
        match s {
            TaskStatus::Completed => Status::Completed,
            TaskStatus::Incomplete => Status::Incomplete,
        }
    }
}

/// A task; `status` says whether it is done.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Task")]
pub struct TaskView {
    /// Task id; ids are never reused.
    id: i64,
    /// 1 at creation, one more at every change (edit, move, sort); the `ETag` is this in quotes.
    version: i64,
    /// The task's place: the ascending byte order of `position` is your order. Opaque: compare
    /// positions, never build one; they change when tasks move.
    position: String,
    /// The day it is for, `YYYY-MM-DD`.
    date: DateText,
    /// What to do.
    task: String,
    status: Status,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When it last changed.
    updated_at: DateTime<Utc>,
}

impl TaskView {
    /// Its entity tag.
    fn etag(&self) -> String {
        etag::of(self.version)
    }

    /// Its version.
    pub(crate) fn version(&self) -> i64 {
        self.version
    }
}

impl Status {
    fn as_str(self) -> &'static str {
        TaskStatus::from(self).as_str()
    }
}

/// One task's members as `TaskView` declares them, from borrowed fields: the view and the list
/// answer (written straight from the service's tasks) both write through here, so they cannot
/// drift apart.
struct TaskJson<'t> {
    id: i64,
    version: i64,
    position: &'t str,
    date: &'t str,
    task: &'t str,
    status: &'static str,
    created_at: Instant<'t>,
    updated_at: Instant<'t>,
}

/// An instant as a task holds it (the service's tasks) or as a view does.
#[derive(Clone, Copy)]
enum Instant<'t> {
    Stored(Timestamp),
    Chrono(&'t DateTime<Utc>),
}

impl Members<'_> {
    fn at(&mut self, key: &'static str, at: Instant<'_>) -> &mut Self {
        match at {
            Instant::Stored(t) => self.instant(key, t),
            Instant::Chrono(t) => self.datetime(key, t),
        }
    }
}

impl WriteJson for TaskJson<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out)
            .int("id", self.id)
            .int("version", self.version)
            .plain("position", self.position)
            .plain("date", self.date)
            .str("task", self.task)
            .plain("status", self.status)
            .at("created_at", self.created_at)
            .at("updated_at", self.updated_at)
            .close();
    }
}

impl WriteJson for TaskView {
    fn write_json(&self, out: &mut Vec<u8>) {
        TaskJson {
            id: self.id,
            version: self.version,
            position: &self.position,
            date: &self.date.0,
            task: &self.task,
            status: self.status.as_str(),
            created_at: Instant::Chrono(&self.created_at),
            updated_at: Instant::Chrono(&self.updated_at),
        }
        .write_json(out);
    }
}

impl WriteJson for TaskPageView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut members = Members::open(out);
        members
            .value("items", &self.items)
            .int("page", i64::from(self.page))
            .int("per_page", i64::from(self.per_page))
            .int("total_items", self.total_items as i64)
            .int("total_pages", self.total_pages as i64);
        if let Some(cursor) = &self.next_cursor {
            members.plain("next_cursor", cursor);
        }
        members.close();
    }
}

/// A page as `list` answers it: written straight from the service's tasks, with the schema of
/// [`TaskPageView`] (building the views first, then dropping them, cost 18k of the list
/// request's 275k instructions).
pub struct PageAnswer(TaskPage);

impl poem_openapi::types::Type for PageAnswer {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        TaskPageView::name()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        TaskPageView::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        TaskPageView::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl WriteJson for PageAnswer {
    fn write_json(&self, out: &mut Vec<u8>) {
        let page = &self.0;
        let mut members = Members::open(out);
        members
            .value("items", &TaskList(&page.items))
            .int("page", i64::from(page.page.page()))
            .int("per_page", i64::from(page.page.per_page()))
            .int("total_items", page.total_items as i64)
            .int(
                "total_pages",
                page.page.total_pages(page.total_items) as i64,
            );
        if let Some(cursor) = &page.next {
            members.plain("next_cursor", &cursor.encode());
        }
        members.close();
    }
}

/// Tasks written as [`TaskView`]s are.
struct TaskList<'t>(&'t [Task]);

impl WriteJson for TaskList<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_array(out, self.0, |out, t| {
            let mut date = [0u8; 10];
            TaskJson {
                id: t.id,
                version: t.version,
                position: t.sort_key.as_str(),
                date: t.date.write_iso(&mut date),
                task: t.text.as_str(),
                status: t.status.as_str(),
                created_at: Instant::Stored(t.created_at),
                updated_at: Instant::Stored(t.updated_at),
            }
            .write_json(out);
        });
    }
}

impl From<Task> for TaskView {
    fn from(t: Task) -> Self {
        Self {
            id: t.id,
            version: t.version,
            position: t.sort_key.into_string(),
            date: DateText(t.date.to_iso()),
            task: t.text.into_string(),
            status: t.status.into(),
            created_at: t.created_at.to_datetime(),
            updated_at: t.updated_at.to_datetime(),
        }
    }
}

/// One page of tasks in the user's order.
#[derive(Debug, Object)]
#[oai(rename = "TaskPage")]
pub struct TaskPageView {
    /// The tasks on this page.
    items: Vec<TaskView>,
    /// This page's number (from 1).
    page: u32,
    /// Page size.
    per_page: u32,
    /// Tasks in all.
    total_items: u64,
    /// Pages in all at this page size.
    total_pages: u64,
    /// Pass as `?cursor=` to read the next page at the same cost at any depth; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    next_cursor: Option<String>,
}

impl From<TaskPage> for TaskPageView {
    fn from(p: TaskPage) -> Self {
        Self {
            total_pages: p.page.total_pages(p.total_items),
            page: p.page.page(),
            per_page: p.page.per_page(),
            total_items: p.total_items,
            next_cursor: p.next.as_ref().map(PageCursor::encode),
            items: p.items.into_iter().map(TaskView::from).collect(),
        }
    }
}

/// A new task; all fields required (`status`: done or not).
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// A real calendar date, `YYYY-MM-DD`.
    date: DateText,
    /// 1 to 1000 characters after trimming.
    // The schema asks for text that is already trimmed and has no control characters but tab
    // and newline: a safe subset of what `TaskText::parse` takes (it trims first).
    #[oai(validator(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    ))]
    task: String,
    status: Status,
}

impl Example for NewTask {
    fn example() -> Self {
        Self {
            date: DateText("2026-11-24".into()),
            task: "Swimming for one hour".into(),
            status: Status::Incomplete,
        }
    }
}

/// Any non-empty subset of a task's fields; `null` is refused.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// A real calendar date, `YYYY-MM-DD`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "present")]
    date: Option<DateText>,
    /// 1 to 1000 characters after trimming.
    #[oai(
        skip_serializing_if_is_none,
        validator(
            min_length = 1,
            max_length = 1000,
            pattern = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
        )
    )]
    #[serde(default, deserialize_with = "present")]
    task: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "present")]
    status: Option<Status>,
}

impl Example for TaskPatch {
    fn example() -> Self {
        Self {
            date: None,
            task: None,
            status: Some(Status::Completed),
        }
    }
}

/// The ids of one page's tasks in the wanted sequence.
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct SortRequest {
    /// Exactly the ids GET shows on this page (same `per_page`), in the new order.
    #[oai(validator(max_items = 100))]
    task_ids: Vec<i64>,
}

impl Example for SortRequest {
    fn example() -> Self {
        // What page 1 of someone whose first task is task 1 holds.
        Self { task_ids: vec![1] }
    }
}

/// Where to move a task: exactly one of the fields (`to`: `start` or `end` of the list).
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// Place it immediately before this task.
    #[oai(skip_serializing_if_is_none, validator(minimum(value = "1")))]
    #[serde(default, deserialize_with = "present")]
    before_id: Option<i64>,
    /// Place it immediately after this task.
    #[oai(skip_serializing_if_is_none, validator(minimum(value = "1")))]
    #[serde(default, deserialize_with = "present")]
    after_id: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "present")]
    to: Option<End>,
}

impl Example for MoveRequest {
    fn example() -> Self {
        Self {
            before_id: None,
            after_id: None,
            to: Some(End::Start),
        }
    }
}

/// An end of the list.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// First.
    Start,
    /// Last.
    End,
}

#[derive(ApiResponse)]
enum Created {
    /// The task, now last in the user's order (or, with `Idempotent-Replayed: true`, the task
    /// the first request with this `Idempotency-Key` created).
    #[oai(status = 201)]
    Created(
        JsonAnswer<TaskView>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum OneTask {
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
enum Moved {
    /// The task in its new place; `ETag` is its version. `Idempotent-Replayed: true` marks the
    /// answer to an earlier request with this `Idempotency-Key`.
    #[oai(status = 200)]
    Ok(
        JsonAnswer<TaskView>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum Sorted {
    /// The page in its new order. `Idempotent-Replayed: true` marks the answer to an earlier
    /// request with this `Idempotency-Key`.
    #[oai(status = 200)]
    Ok(
        JsonAnswer<TaskPageView>,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum Fetched {
    /// The task; `ETag` is its version.
    #[oai(status = 200)]
    Ok(JsonAnswer<TaskView>, #[oai(header = "ETag")] String),
    /// `If-None-Match` named the current version: the copy the client holds is fresh.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum Deleted {
    /// The task is gone.
    #[oai(status = 204)]
    Done,
}

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

fn example_page() -> Option<i64> {
    Some(1)
}

fn example_per_page() -> Option<i64> {
    Some(20)
}

fn example_id() -> i64 {
    1
}

fn example_status() -> Option<Status> {
    Some(Status::Incomplete)
}

fn example_date_from() -> Option<DateText> {
    Some(DateText("2026-01-01".into()))
}

fn example_date_to() -> Option<DateText> {
    Some(DateText("2026-12-31".into()))
}

fn example_idempotency_key() -> Option<String> {
    Some("3f2c7a1e-0b9d-4e8f-a6c5-1d2e3f405162".into())
}

/// Where a task lives.
fn location_of(id: i64) -> String {
    format!("/v1/tasks/{id}")
}

fn example_etag() -> Option<String> {
    Some("\"1\"".into())
}

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
        #[oai(name = "Idempotency-Key", example = "example_idempotency_key")]
        idempotency_key: KeyHeader,
        body: JsonBody<NewTask>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Created, Failure<CreateErrors>> {
        let new = body.0;
        let once = idempotency::request(
            idempotency_key.0,
            "create_task",
            &[],
            &new,
            |task: &Task| {
                let view = TaskView::from(task.clone());
                idempotency::stored(201, &view, Some(location_of(task.id)))
            },
        );
        let (date, text) = both(
            ("date", TaskDate::parse(&new.date.0)),
            ("task", TaskText::parse(&new.task)),
        )?;
        match tasks
            .create(&session.0, date, text, new.status.into(), once)
            .await?
        {
            Outcome::Done(task) => {
                let location = location_of(task.id);
                let view = TaskView::from(task);
                let tag = view.etag();
                Ok(Created::Created(JsonAnswer(view), location, tag, None))
            }
            Outcome::Replayed(answer) => {
                let view: TaskView = idempotency::body(&answer)?;
                let tag = view.etag();
                let location = answer.location.unwrap_or_else(|| location_of(view.id));
                let replayed = Some(idempotency::REPLAYED.into());
                Ok(Created::Created(JsonAnswer(view), location, tag, replayed))
            }
        }
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
            example = "example_page",
            validator(minimum(value = "1"), maximum(value = "4294967295"))
        )]
        page: Query<Option<i64>>,
        /// Tasks per page, 1 to 100 (default 20).
        #[oai(
            example = "example_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<Option<i64>>,
        /// `next_cursor` from the previous page, instead of `page`: costs the same at any depth.
        /// It carries the filters it was made with: send the same ones.
        cursor: Query<Option<String>>,
        /// Only tasks with this status.
        #[oai(example = "example_status")]
        status: Query<Option<Status>>,
        /// Only tasks on or after this day, `YYYY-MM-DD`.
        #[oai(example = "example_date_from")]
        date_from: Query<Option<DateText>>,
        /// Only tasks on or before this day, `YYYY-MM-DD`.
        #[oai(example = "example_date_to")]
        date_to: Query<Option<DateText>>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<JsonAnswer<PageAnswer>, Failure<ListErrors>> {
        let day = |d: &Option<DateText>| d.as_ref().map(|d| d.0.clone());
        let (from, to) = (day(&date_from.0), day(&date_to.0));
        let filter = task_filter(status.0, from.as_deref(), to.as_deref())?;
        let (page, after) = match cursor.0 {
            None => (page_request(page.0, per_page.0)?, None),
            Some(raw) => {
                if page.0.is_some() {
                    return Err(ApiError::field("cursor", "give page or cursor, not both").into());
                }
                let cursor = PageCursor::parse(&raw)
                    .map_err(|e| ApiError::new(Code::InvalidCursor, format!("cursor {e}.")))?;
                if cursor.filter != filter.tag() {
                    return Err(ApiError::new(
                        Code::InvalidCursor,
                        "This cursor was made for other filters; send the status, date_from and \
                         date_to it was listed with, or start again from page 1.",
                    )
                    .into());
                }
                let made_for = cursor.page.per_page();
                if per_page.0.is_some_and(|n| n != i64::from(made_for)) {
                    let message =
                        format!("must be {made_for}, the per_page this cursor was made for");
                    return Err(ApiError::field("per_page", message).into());
                }
                (cursor.page, Some(cursor.after))
            }
        };
        // Boxed: poem moves each layer's future whole (measured in memcpy), and the store's read
        // is the largest state this handler's future would otherwise carry.
        let listed = Box::pin(tasks.list(&session.0, page, after, filter)).await?;
        Ok(JsonAnswer(PageAnswer(listed)))
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
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` of the copy you hold: 304 while the task is still at that version.
        #[oai(
            name = "If-None-Match",
            example = "example_etag",
            validator(pattern = r#"^(\*|(W/)?"[!#-+\--~]*"( *, *(W/)?"[!#-+\--~]*")*)$"#)
        )]
        if_none_match: Header<Option<String>>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Fetched, Failure<TaskErrors>> {
        let task = tasks.get(&session.0, id.0).await?;
        let tag = etag::of(task.version);
        if etag::none_match(if_none_match.0.as_deref(), task.version)? {
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
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: change the task only if it is still at that version.
        #[oai(
            name = "If-Match",
            example = "example_etag",
            validator(pattern = r#"^(\*|(W/)?"[!#-+\--~]*"( *, *(W/)?"[!#-+\--~]*")*)$"#)
        )]
        if_match: Header<Option<String>>,
        body: JsonBody<TaskPatch>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<OneTask, Failure<EditErrors>> {
        let precondition = etag::if_match(if_match.0.as_deref())?;
        let changes = body.0.parse()?;
        Ok(tasks
            .update(&session.0, id.0, changes, precondition)
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
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: delete the task only if it is still at that version.
        #[oai(
            name = "If-Match",
            example = "example_etag",
            validator(pattern = r#"^(\*|(W/)?"[!#-+\--~]*"( *, *(W/)?"[!#-+\--~]*")*)$"#)
        )]
        if_match: Header<Option<String>>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Deleted, Failure<DeleteErrors>> {
        let precondition = etag::if_match(if_match.0.as_deref())?;
        tasks.delete(&session.0, id.0, precondition).await?;
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
            example = "example_page",
            validator(minimum(value = "1"), maximum(value = "4294967295"))
        )]
        page: Query<Option<i64>>,
        /// The page size the client listed with, 1 to 100 (default 20).
        #[oai(
            example = "example_per_page",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        per_page: Query<Option<i64>>,
        /// Any unique string (a UUID): a retry with the same key, page and body runs once.
        #[oai(name = "Idempotency-Key", example = "example_idempotency_key")]
        idempotency_key: KeyHeader,
        request: &poem::Request,
        body: JsonBody<SortRequest>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Sorted, Failure<SortErrors>> {
        // A sort posts the ids of a page of the whole list; a filtered page has other slots.
        let query = request.uri().query().unwrap_or_default();
        for name in ["status", "date_from", "date_to", "cursor"] {
            let given = query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(name));
            if given {
                let message = "sorting takes a page of the whole list: no filters or cursor";
                return Err(ApiError::field(name, message).into());
            }
        }
        let page = page_request(page.0, per_page.0)?;
        let parts = [page.page().to_string(), page.per_page().to_string()];
        let once = idempotency::request(
            idempotency_key.0,
            "sort_tasks",
            &parts,
            &body.0,
            |sorted: &TaskPage| idempotency::stored(200, &TaskPageView::from(sorted.clone()), None),
        );
        match tasks.sort(&session.0, page, body.0.task_ids, once).await? {
            Outcome::Done(sorted) => Ok(Sorted::Ok(JsonAnswer(sorted.into()), None)),
            Outcome::Replayed(answer) => Ok(Sorted::Ok(
                JsonAnswer(idempotency::body(&answer)?),
                Some(idempotency::REPLAYED.into()),
            )),
        }
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
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: move the task only if it is still at that version.
        #[oai(
            name = "If-Match",
            example = "example_etag",
            validator(pattern = r#"^(\*|(W/)?"[!#-+\--~]*"( *, *(W/)?"[!#-+\--~]*")*)$"#)
        )]
        if_match: Header<Option<String>>,
        /// Any unique string (a UUID): a retry with the same key and body runs once.
        #[oai(name = "Idempotency-Key", example = "example_idempotency_key")]
        idempotency_key: KeyHeader,
        body: JsonBody<MoveRequest>,
        tasks: poem::web::Data<&Tasks>,
    ) -> Result<Moved, Failure<MoveErrors>> {
        let precondition = etag::if_match(if_match.0.as_deref())?;
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
        let view = match tasks
            .move_to(&session.0, id.0, placement, precondition, once)
            .await?
        {
            Outcome::Done(task) => (TaskView::from(task), None),
            Outcome::Replayed(answer) => (
                idempotency::body(&answer)?,
                Some(idempotency::REPLAYED.into()),
            ),
        };
        let tag = view.0.etag();
        Ok(Moved::Ok(JsonAnswer(view.0), tag, view.1))
    }
}

impl TaskPatch {
    fn parse(self) -> Result<TaskChanges, ApiError> {
        if self.date.is_none() && self.task.is_none() && self.status.is_none() {
            return Err(ApiError::field(
                "body",
                "give at least one of date, task, status",
            ));
        }
        let (date, text) = both(
            (
                "date",
                self.date
                    .as_ref()
                    .map(|d| TaskDate::parse(&d.0))
                    .transpose(),
            ),
            (
                "task",
                self.task.as_deref().map(TaskText::parse).transpose(),
            ),
        )?;
        Ok(TaskChanges {
            date,
            text,
            status: self.status.map(TaskStatus::from),
        })
    }
}

/// The list filter from the query: each value checked and named when refused.
fn task_filter(
    status: Option<Status>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<TaskFilter, ApiError> {
    let day = |field: &'static str, raw: Option<&str>| {
        raw.map(TaskDate::parse)
            .transpose()
            .map_err(|e| ApiError::field(field, e.0))
    };
    let (from, to) = (day("date_from", from)?, day("date_to", to)?);
    TaskFilter::new(status.map(TaskStatus::from), from, to)
        .map_err(|e| ApiError::field("date_from", e.0))
}

fn page_request(page: Option<i64>, per_page: Option<i64>) -> Result<PageRequest, ApiError> {
    PageRequest::parse(page, per_page).map_err(|(field, e)| ApiError::field(field, e.0))
}

#[cfg(test)]
mod tests {
    use super::{PageAnswer, TaskPageView, TaskView, WriteJson};
    use crate::domain::{
        PageCursor, PageRequest, SortKey, Task, TaskDate, TaskStatus, TaskText, Timestamp,
    };
    use crate::service::TaskPage;
    use poem_openapi::types::ToJSON;

    fn task(id: i64, created_ms: i64) -> Task {
        Task {
            id,
            date: TaskDate::parse("0999-02-03").unwrap(),
            text: TaskText::parse("say \"hi\"\n\tand ünïcode ✓").unwrap(),
            status: TaskStatus::Completed,
            created_at: Timestamp::from_millis(created_ms).unwrap(),
            updated_at: Timestamp::from_millis(created_ms + 1_000).unwrap(),
            sort_key: SortKey::parse("a1").unwrap(),
            version: 3,
        }
    }

    #[test]
    fn answers_written_by_hand_are_what_poem_openapi_writes() {
        // Whole seconds and milliseconds: the two ways an instant is written.
        for ms in [1_764_063_970_000, 1_764_063_970_017, 0] {
            let view = TaskView::from(task(7, ms));
            assert_eq!(view.json_text(), view.to_json_string());
            let listed = TaskPage {
                items: vec![task(1, ms), task(2, ms + 5)],
                page: PageRequest::parse(Some(1), Some(2)).unwrap(),
                total_items: 3,
                next: Some(PageCursor {
                    page: PageRequest::parse(Some(2), Some(2)).unwrap(),
                    after: SortKey::parse("b").unwrap(),
                    filter: String::new(),
                }),
            };
            let page = TaskPageView::from(listed.clone());
            let text = page.json_text();
            assert_eq!(text, page.to_json_string(), "{text}");
            assert_eq!(PageAnswer(listed).json_text(), text);
        }
    }

    #[test]
    fn a_view_instant_listo_would_not_store_is_written_as_chrono_writes_it() {
        use chrono::TimeZone;
        let mut view = TaskView::from(task(7, 1_764_063_970_017));
        for at in [
            chrono::Utc.timestamp_nanos(1_764_063_970_000_000_001),
            chrono::Utc.timestamp_millis_opt(-1).unwrap(),
            chrono::Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        ] {
            view.created_at = at;
            assert_eq!(view.json_text(), view.to_json_string(), "{at:?}");
        }
    }
}

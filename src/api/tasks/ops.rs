//! What the operations on a list's tasks do once their request is read, shared by the default
//! list's routes (`/v1/tasks`) and every list's (`/v1/lists/{id}/tasks`): create, list a page,
//! sort a page. Each takes the list as a [`ListRef`] and answers what the service did.

use super::body::{NewTask, SortRequest};
use super::json::PageAnswer;
use super::responses::{Created, Sorted};
use super::view::{Status, TaskPageView, TaskView};
use crate::api::answer::JsonAnswer;
use crate::api::date::DateText;
use crate::api::headers::IdempotencyKeyHeader;
use crate::api::idempotency::{self, Replayable};
use crate::api::problem::{ApiError, Code, both};
use crate::domain::{PageCursor, PageRequest, Task, TaskDate, TaskFilter, TaskStatus, TaskText};
use crate::service::{ListRef, Outcome, Session, TaskPage, Tasks};

/// Where a task lives.
pub(super) fn location_of(id: i64) -> String {
    format!("/v1/tasks/{id}")
}

/// What a keyed request is fingerprinted with besides its body: the list it names.
fn list_part(list: ListRef) -> Vec<String> {
    match list {
        ListRef::Default => Vec::new(),
        ListRef::Id(id) => vec![format!("list {id}")],
    }
}

/// Creates a task at the end of `list`.
pub(super) async fn create_in(
    session: &Session,
    list: ListRef,
    idempotency_key: IdempotencyKeyHeader,
    new: NewTask,
    tasks: &Tasks,
) -> Result<Created, ApiError> {
    let once = idempotency::request(
        idempotency_key.0,
        "create_task",
        &list_part(list),
        &new,
        |task: &Task| {
            let view = TaskView::from(task.clone());
            idempotency::stored(201, &view, Some(location_of(task.id)))
        },
    );
    let (date, text) = both(
        ("date", TaskDate::parse(&new.date.0)),
        ("task", TaskText::parse(&new.task.0)),
    )?;
    match tasks
        .create(session, list, date, text, new.status.into(), once)
        .await?
    {
        Outcome::Done(task) => {
            let location = location_of(task.id);
            let view = TaskView::from(task);
            let tag = view.etag();
            let body = JsonAnswer(Replayable::Fresh(view));
            Ok(Created::Created(body, location, tag, None))
        }
        Outcome::Replayed(answer) => {
            let (body, location, tag, replayed) =
                idempotency::replayed_create(&answer, location_of)?;
            Ok(Created::Created(JsonAnswer(body), location, tag, replayed))
        }
    }
}

/// A list request's query, as its parameters came.
pub(super) struct ListQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
    pub cursor: Option<String>,
    pub status: Option<Status>,
    pub date_from: Option<DateText>,
    pub date_to: Option<DateText>,
}

/// A page of `list`.
pub(super) async fn list_in(
    session: &Session,
    list: ListRef,
    query: ListQuery,
    tasks: &Tasks,
) -> Result<JsonAnswer<PageAnswer>, ApiError> {
    let day = |d: &Option<DateText>| d.as_ref().map(|d| d.0.clone());
    let (from, to) = (day(&query.date_from), day(&query.date_to));
    let filter = task_filter(query.status, from.as_deref(), to.as_deref())?;
    let (page, after) = match query.cursor {
        None => (page_request(query.page, query.per_page)?, None),
        Some(raw) => {
            if query.page.is_some() {
                return Err(ApiError::field("cursor", "give page or cursor, not both"));
            }
            let cursor = PageCursor::parse(&raw)
                .map_err(|e| ApiError::new(Code::InvalidCursor, format!("cursor {e}.")))?;
            if cursor.filter != filter.tag() {
                return Err(ApiError::new(
                    Code::InvalidCursor,
                    "This cursor was made for other filters; send the status, date_from and \
                     date_to it was listed with, or start again from page 1.",
                ));
            }
            let made_for = cursor.page.per_page();
            if query.per_page.is_some_and(|n| n != i64::from(made_for)) {
                let message = format!("must be {made_for}, the per_page this cursor was made for");
                return Err(ApiError::field("per_page", message));
            }
            (cursor.page, Some(cursor.after))
        }
    };
    // Boxed: poem moves each layer's future whole (measured in memcpy), and the store's read
    // is the largest state this handler's future would otherwise carry.
    let listed = Box::pin(tasks.list(session, list, page, after, filter)).await?;
    Ok(JsonAnswer(PageAnswer(listed)))
}

/// A sort request's page and the request itself (its query is checked for filters).
pub(super) struct SortQuery<'r> {
    pub page: (Option<i64>, Option<i64>),
    pub request: &'r poem::Request,
}

/// Sorts one page of `list`.
pub(super) async fn sort_in(
    session: &Session,
    list: ListRef,
    query: SortQuery<'_>,
    idempotency_key: IdempotencyKeyHeader,
    body: SortRequest,
    tasks: &Tasks,
) -> Result<Sorted, ApiError> {
    // A sort posts the ids of a page of the whole list; a filtered page has other slots.
    let raw = query.request.uri().query().unwrap_or_default();
    for name in ["status", "date_from", "date_to", "cursor"] {
        let given = raw
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name));
        if given {
            let message = "sorting takes a page of the whole list: no filters or cursor";
            return Err(ApiError::field(name, message));
        }
    }
    let page = page_request(query.page.0, query.page.1)?;
    let mut parts = vec![page.page().to_string(), page.per_page().to_string()];
    parts.extend(list_part(list));
    let once = idempotency::request(
        idempotency_key.0,
        "sort_tasks",
        &parts,
        &body,
        |sorted: &TaskPage| idempotency::stored(200, &TaskPageView::from(sorted.clone()), None),
    );
    match tasks.sort(session, list, page, body.task_ids, once).await? {
        Outcome::Done(sorted) => Ok(Sorted::Ok(
            JsonAnswer(Replayable::Fresh(sorted.into())),
            None,
        )),
        Outcome::Replayed(answer) => Ok(Sorted::Ok(
            JsonAnswer(idempotency::kept(&answer)?.0),
            Some(idempotency::REPLAYED.into()),
        )),
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

//! A task and a page of tasks as answers show them (`Task`, `TaskPage`, `Status`), made from
//! the service's tasks. `problem` shows the task in a 412 and the change feed shows changed
//! tasks, so this file takes nothing from the rest of the HTTP layer but plain wire values.

use crate::api::date::DateText;
use crate::api::etag;
use crate::domain::{PageCursor, Task, TaskStatus};
use crate::service::TaskPage;
use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
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
    pub(super) id: i64,
    /// The list it is in.
    pub(super) list_id: i64,
    /// 1 at creation, one more at every change (edit, move, sort); the `ETag` is this in quotes.
    pub(super) version: i64,
    /// The task's place: the ascending byte order of `position` is your order. Opaque: compare
    /// positions, never build one; they change when tasks move.
    pub(super) position: String,
    /// The day it is for, `YYYY-MM-DD`.
    pub(super) date: DateText,
    /// What to do.
    pub(super) task: String,
    pub(super) status: Status,
    /// When it was made.
    pub(super) created_at: DateTime<Utc>,
    /// When it last changed.
    pub(super) updated_at: DateTime<Utc>,
}

impl TaskView {
    /// Its entity tag.
    pub(super) fn etag(&self) -> String {
        etag::of(self.version)
    }

    /// Its version.
    pub(crate) fn version(&self) -> i64 {
        self.version
    }
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        TaskStatus::from(self).as_str()
    }
}

impl From<Task> for TaskView {
    fn from(t: Task) -> Self {
        Self {
            id: t.id,
            list_id: t.list_id,
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
    pub(super) items: Vec<TaskView>,
    /// This page's number (from 1).
    pub(super) page: u32,
    /// Page size.
    pub(super) per_page: u32,
    /// Tasks in all.
    pub(super) total_items: u64,
    /// Pages in all at this page size.
    pub(super) total_pages: u64,
    /// Pass as `?cursor=` to read the next page at the same cost at any depth; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub(super) next_cursor: Option<String>,
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

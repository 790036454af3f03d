//! What the task operations take in a body (`NewTask`, `TaskPatch`, `SortRequest`,
//! `MoveRequest`), their examples, and [`TaskTextField`], the task text with its schema, stated
//! once for both bodies that carry it.

use super::view::Status;
use crate::api::date::DateText;
use crate::api::json::present;
use crate::api::problem::{ApiError, both};
use crate::api::text::{WHITESPACE, wire_text};
use crate::domain::{TaskChanges, TaskDate, TaskStatus, TaskText};
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use serde::Deserialize;

/// Task text as a body carries it, not yet checked: `TaskText::parse` trims it and names the
/// field when it refuses. The schema takes every text `TaskText::parse` takes, never fewer: any
/// whitespace around ([`WHITESPACE`]), then text that starts and ends with a character that is
/// neither whitespace nor a control, with no control but tab and newline inside. The 1000
/// characters are counted after trimming, which no `maxLength` can say: the description does.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct TaskTextField(pub String);

/// A character a trimmed text may start or end with.
pub(crate) const EDGE: &str =
    r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// A character inside a text: anything but a control other than tab and newline.
const INSIDE: &str = r"[^\x00-\x08\x0B-\x1F\x7F-\x9F]";

wire_text!(TaskTextField, "string_task_text", || MetaSchema {
    min_length: Some(1),
    pattern: Some(format!(
        "^{WHITESPACE}*{EDGE}({INSIDE}*{EDGE})?{WHITESPACE}*$"
    )),
    ..MetaSchema::new("string")
});

/// A new task; all fields required (`status`: done or not).
#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// A real calendar date, `YYYY-MM-DD`.
    pub(super) date: DateText,
    /// 1 to 1000 characters after trimming (spaces around are taken off).
    pub(super) task: TaskTextField,
    pub(super) status: Status,
}

impl Example for NewTask {
    fn example() -> Self {
        Self {
            date: DateText("2026-11-24".into()),
            task: TaskTextField("Swimming for one hour".into()),
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
    /// 1 to 1000 characters after trimming (spaces around are taken off).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "present")]
    task: Option<TaskTextField>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "present")]
    status: Option<Status>,
    /// Move the task to the end of this list of yours.
    #[oai(skip_serializing_if_is_none, validator(minimum(value = "1")))]
    #[serde(default, deserialize_with = "present")]
    list_id: Option<i64>,
}

impl Example for TaskPatch {
    fn example() -> Self {
        Self {
            date: None,
            task: None,
            status: Some(Status::Completed),
            list_id: None,
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
    pub(super) task_ids: Vec<i64>,
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
    pub(super) before_id: Option<i64>,
    /// Place it immediately after this task.
    #[oai(skip_serializing_if_is_none, validator(minimum(value = "1")))]
    #[serde(default, deserialize_with = "present")]
    pub(super) after_id: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "present")]
    pub(super) to: Option<End>,
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

impl TaskPatch {
    /// The changes asked for, and the list to move the task to, each field checked and named
    /// when refused.
    pub(super) fn parse(self) -> Result<(TaskChanges, Option<i64>), ApiError> {
        let nothing = self.date.is_none() && self.task.is_none() && self.status.is_none();
        if nothing && self.list_id.is_none() {
            return Err(ApiError::field(
                "body",
                "give at least one of date, task, status, list_id",
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
                self.task
                    .as_ref()
                    .map(|t| TaskText::parse(&t.0))
                    .transpose(),
            ),
        )?;
        let changes = TaskChanges {
            date,
            text,
            status: self.status.map(TaskStatus::from),
        };
        Ok((changes, self.list_id))
    }
}

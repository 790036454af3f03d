//! The examples the task operations' parameters show in the document.

use super::view::Status;
use crate::api::date::DateText;

pub(super) fn page() -> Option<i64> {
    Some(1)
}

pub(super) fn per_page() -> Option<i64> {
    Some(20)
}

pub(super) fn id() -> i64 {
    1
}

pub(super) fn status() -> Option<Status> {
    Some(Status::Incomplete)
}

pub(super) fn date_from() -> Option<DateText> {
    Some(DateText("2026-01-01".into()))
}

pub(super) fn date_to() -> Option<DateText> {
    Some(DateText("2026-12-31".into()))
}

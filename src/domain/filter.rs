//! Which of the owner's tasks a list shows: by status, by date range, or both.

use super::{Invalid, TaskDate, TaskStatus};

/// A list filter; every part optional, parts combined with AND. The order stays the owner's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only tasks on or after this day.
    pub from: Option<TaskDate>,
    /// Only tasks on or before this day.
    pub to: Option<TaskDate>,
}

impl TaskFilter {
    /// A filter; a range that ends before it starts is refused (the caller names `date_from`).
    pub fn new(
        status: Option<TaskStatus>,
        from: Option<TaskDate>,
        to: Option<TaskDate>,
    ) -> Result<Self, Invalid> {
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(Invalid(format!(
                "must not be after date_to ({})",
                to.to_iso()
            )));
        }
        Ok(Self { status, from, to })
    }

    /// Whether it lets every task through.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// A short, stable spelling, bound into cursors so a cursor is used only with the filter
    /// it was made under.
    pub fn tag(&self) -> String {
        let status = match self.status {
            None => "-",
            Some(TaskStatus::Completed) => "C",
            Some(TaskStatus::Incomplete) => "I",
        };
        let day = |d: Option<TaskDate>| d.map_or_else(|| "-".to_owned(), TaskDate::to_iso);
        format!("{status},{},{}", day(self.from), day(self.to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Option<TaskDate> {
        Some(TaskDate::parse(s).unwrap())
    }

    #[test]
    fn ranges_must_not_run_backwards_and_tags_tell_filters_apart() {
        assert!(TaskFilter::new(None, day("2026-01-02"), day("2026-01-01")).is_err());
        let one_day = TaskFilter::new(None, day("2026-01-01"), day("2026-01-01")).unwrap();
        let done = TaskFilter::new(Some(TaskStatus::Completed), None, None).unwrap();
        assert!(TaskFilter::default().is_empty() && !done.is_empty());
        assert_eq!(TaskFilter::default().tag(), "-,-,-");
        assert_eq!(one_day.tag(), "-,2026-01-01,2026-01-01");
        assert_ne!(done.tag(), TaskFilter::default().tag());
    }
}

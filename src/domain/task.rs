use super::{Invalid, SortKey};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

const MAX_TEXT_CHARS: usize = 1000;

/// What a task says: 1..=1000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskText(String);

impl TaskText {
    /// Trims surrounding whitespace; control characters other than newlines and tabs are refused.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(Invalid("must not be empty or only whitespace".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(Invalid(format!(
                "must be at most {MAX_TEXT_CHARS} characters"
            )));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(Invalid("must not contain control characters".into()));
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a task is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Done.
    Completed,
    /// Not done yet.
    Incomplete,
}

impl TaskStatus {
    /// Exactly `Completed` or `Incomplete`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "Completed" => Ok(Self::Completed),
            "Incomplete" => Ok(Self::Incomplete),
            _ => Err(Invalid("must be \"Completed\" or \"Incomplete\"".into())),
        }
    }

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "Completed",
            Self::Incomplete => "Incomplete",
        }
    }
}

/// A calendar date written `YYYY-MM-DD`, years 0001..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaskDate(NaiveDate);

impl TaskDate {
    /// Refuses impossible dates (2026-02-30) and every other spelling ("tomorrow", "2026-2-3").
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid("must be a real date written YYYY-MM-DD".into());
        if raw.len() != 10 {
            return Err(invalid());
        }
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| invalid())?;
        if date.year() < 1 || date.format("%Y-%m-%d").to_string() != raw {
            return Err(invalid());
        }
        Ok(Self(date))
    }

    /// The date in its wire form.
    pub fn to_iso(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

/// A task as its owner holds it.
#[derive(Debug, Clone)]
pub struct Task {
    /// Id, unique across users and never reused.
    pub id: i64,
    /// The day it is for.
    pub date: TaskDate,
    /// What to do.
    pub text: TaskText,
    /// Done or not.
    pub status: TaskStatus,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed (creation, edit or reorder).
    pub updated_at: DateTime<Utc>,
    /// Its place in the owner's order: ascending keys are the order (shown as `position`).
    pub sort_key: SortKey,
    /// 1 at creation, one more at every change (edit, move, sort).
    pub version: i64,
}

/// The fields a partial update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    /// New date.
    pub date: Option<TaskDate>,
    /// New text.
    pub text: Option<TaskText>,
    /// New status.
    pub status: Option<TaskStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(TaskText::parse("  swim  ").unwrap().as_str(), "swim");
        assert!(TaskText::parse(" \n\t ").is_err());
        assert!(TaskText::parse(&"é".repeat(1000)).is_ok());
        assert!(TaskText::parse(&"é".repeat(1001)).is_err());
        assert!(TaskText::parse("bell\u{7}").is_err());
        assert!(TaskText::parse("two\nlines").is_ok());
    }

    #[test]
    fn status_is_exact() {
        assert_eq!(
            TaskStatus::parse("Completed").unwrap(),
            TaskStatus::Completed
        );
        assert!(TaskStatus::parse("completed").is_err());
        assert!(TaskStatus::parse("Done").is_err());
    }

    #[test]
    fn dates_must_be_real_and_canonical() {
        assert_eq!(
            TaskDate::parse("2026-02-28").unwrap().to_iso(),
            "2026-02-28"
        );
        assert!(TaskDate::parse("2028-02-29").is_ok());
        for bad in [
            "2026-02-30",
            "tomorrow",
            "2026-2-3",
            "26-02-03",
            "2026/02/03",
            "0000-01-01",
            "",
        ] {
            assert!(TaskDate::parse(bad).is_err(), "{bad}");
        }
    }
}

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
        check_text(text)?;
        Ok(Self(text.to_owned()))
    }

    /// A stored text, kept as it is when it is already trimmed (as listo stores it): the same
    /// rule as [`TaskText::parse`] without a copy per row read.
    pub fn from_stored(raw: String) -> Result<Self, Invalid> {
        if raw.trim().len() == raw.len() {
            check_text(&raw)?;
            Ok(Self(raw))
        } else {
            Self::parse(&raw)
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The rule for a trimmed text.
fn check_text(text: &str) -> Result<(), Invalid> {
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
    Ok(())
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
    /// Read by hand: every stored task's date passes here on every read, and chrono's parser
    /// (with the round trip that refused other spellings) cost 3.5k instructions a date.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid("must be a real date written YYYY-MM-DD".into());
        let b = raw.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(invalid());
        }
        let number = |digits: &[u8]| {
            digits.iter().try_fold(0u32, |n, d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        let (Some(year), Some(month), Some(day)) =
            (number(&b[..4]), number(&b[5..7]), number(&b[8..]))
        else {
            return Err(invalid());
        };
        let date = NaiveDate::from_ymd_opt(year as i32, month, day)
            .filter(|_| year >= 1)
            .ok_or_else(invalid)?;
        Ok(Self(date))
    }

    /// The date in its wire form.
    pub fn to_iso(self) -> String {
        let mut buf = [0u8; 10];
        self.write_iso(&mut buf).to_owned()
    }

    /// The date in its wire form, written into `buf` (no allocation, for answers).
    pub fn write_iso(self, buf: &mut [u8; 10]) -> &str {
        // Years are 1..=9999 (`parse` takes four digits).
        let (y, m, d) = (self.0.year() as u32, self.0.month(), self.0.day());
        for (at, value, digits) in [(0, y, 4), (5, m, 2), (8, d, 2)] {
            let mut v = value;
            for i in (0..digits).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        buf[4] = b'-';
        buf[7] = b'-';
        // Only ASCII digits and dashes were written.
        std::str::from_utf8(buf).unwrap_or_default()
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
    use rand::{RngExt, SeedableRng};

    /// The rule `TaskDate::parse` keeps, as chrono states it.
    fn chrono_reads(raw: &str) -> Option<NaiveDate> {
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
        (raw.len() == 10 && date.year() >= 1 && date.format("%Y-%m-%d").to_string() == raw)
            .then_some(date)
    }

    #[test]
    fn dates_are_read_as_chrono_reads_them_and_written_back_the_same() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let alphabet = b"0123456789-+ x";
        let mut cases: Vec<String> = [
            "2026-02-28",
            "2026-02-29",
            "2024-02-29",
            "0000-01-01",
            "0001-01-01",
            "9999-12-31",
            "2026-2-03",
            "2026-02-3 ",
            "+2026-02-03",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "20260-1-01",
            "",
            "2026/02/03",
            "٢٠٢٦-01-01",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..20_000 {
            let y = rng.random_range(0..10_000);
            let (m, d) = (rng.random_range(0..14), rng.random_range(0..33));
            cases.push(format!("{y:04}-{m:02}-{d:02}"));
            let len = rng.random_range(8..12);
            cases.push(
                (0..len)
                    .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                    .collect(),
            );
        }
        for raw in cases {
            let ours = TaskDate::parse(&raw).ok();
            assert_eq!(ours.map(|d| d.0), chrono_reads(&raw), "{raw:?}");
            if let Some(date) = ours {
                assert_eq!(date.to_iso(), raw);
            }
        }
    }

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

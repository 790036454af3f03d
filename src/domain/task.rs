use super::{Invalid, SortKey, Timestamp, digits};

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

    /// A stored text, checked against the same rule as [`TaskText::parse`] and copied once.
    /// Every task read passes here: a text of printable ASCII (most of them) is checked in one
    /// pass over its bytes, without decoding characters (3.8k of a list page's instructions).
    pub fn from_stored(raw: &str) -> Result<Self, Invalid> {
        let b = raw.as_bytes();
        let plain = |c: &u8| (0x20..0x7f).contains(c) || *c == b'\n' || *c == b'\t';
        let trimmed = |c: Option<&u8>| c.is_some_and(|c| !c.is_ascii_whitespace());
        if b.len() <= MAX_TEXT_CHARS
            && trimmed(b.first())
            && trimmed(b.last())
            && b.iter().all(plain)
        {
            return Ok(Self(raw.to_owned()));
        }
        Self::parse(raw)
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

/// A calendar date written `YYYY-MM-DD`, years 0001..=9999, held as the number `YYYYMMDD`
/// (whose order is the calendar's): every task read writes its date back out, and going through
/// chrono's `NaiveDate` both ways cost about 350 instructions a task (`bench/instructions.sh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaskDate(u32);

impl TaskDate {
    /// Refuses impossible dates (2026-02-30) and every other spelling ("tomorrow", "2026-2-3").
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::from_bytes(raw.as_bytes())
            .ok_or_else(|| Invalid("must be a real date written YYYY-MM-DD".into()))
    }

    fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let number = |digits: &[u8]| {
            digits.iter().try_fold(0u32, |n, d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        let (year, month, day) = (number(&b[..4])?, number(&b[5..7])?, number(&b[8..])?);
        let real =
            year >= 1 && (1..=12).contains(&month) && (1..=days_in(year, month)).contains(&day);
        real.then_some(Self(year * 10_000 + month * 100 + day))
    }

    /// The date in its wire form.
    pub fn to_iso(self) -> String {
        let mut buf = [0u8; 10];
        self.write_iso(&mut buf).to_owned()
    }

    /// The date in its wire form, written into `buf` (no allocation, for answers).
    pub fn write_iso(self, buf: &mut [u8; 10]) -> &str {
        let (year, month, day) = (self.0 / 10_000, self.0 / 100 % 100, self.0 % 100);
        buf[..2].copy_from_slice(digits::pair(year / 100));
        buf[2..4].copy_from_slice(digits::pair(year % 100));
        buf[5..7].copy_from_slice(digits::pair(month));
        buf[8..].copy_from_slice(digits::pair(day));
        buf[4] = b'-';
        buf[7] = b'-';
        // Only ASCII digits and dashes were written.
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

/// Days in `month` of `year` (Gregorian, as chrono counts them).
fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A task as its owner holds it.
#[derive(Debug, Clone)]
pub struct Task {
    /// Id, unique across users and never reused.
    pub id: i64,
    /// The list it is in.
    pub list_id: i64,
    /// The day it is for.
    pub date: TaskDate,
    /// What to do.
    pub text: TaskText,
    /// Done or not.
    pub status: TaskStatus,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed (creation, edit or reorder).
    pub updated_at: Timestamp,
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
    use chrono::{Datelike, NaiveDate};
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
            assert_eq!(ours.is_some(), chrono_reads(&raw).is_some(), "{raw:?}");
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
    fn stored_text_follows_the_rule_of_parse() {
        for raw in [
            "swim",
            " swim",
            "swim ",
            "a\tb",
            "a\nb",
            "\tswim",
            "bell\u{7}",
            "del\u{7f}",
            "é",
            " é ",
            "",
            " ",
            "c1\u{85}",
            "a\rb",
        ] {
            assert_eq!(TaskText::from_stored(raw), TaskText::parse(raw), "{raw:?}");
        }
        let long = "x".repeat(MAX_TEXT_CHARS);
        assert!(TaskText::from_stored(&long).is_ok());
        assert!(TaskText::from_stored(&format!("{long}x")).is_err());
    }

    #[test]
    fn dates_order_as_the_calendar_does() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let day = |rng: &mut rand::rngs::StdRng| {
            let days = rng.random_range(1..3_000_000);
            NaiveDate::from_num_days_from_ce_opt(days).unwrap()
        };
        for _ in 0..10_000 {
            let (a, b) = (day(&mut rng), day(&mut rng));
            let ours = |d: NaiveDate| TaskDate::parse(&d.format("%Y-%m-%d").to_string()).unwrap();
            assert_eq!(ours(a).cmp(&ours(b)), a.cmp(&b), "{a} {b}");
        }
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

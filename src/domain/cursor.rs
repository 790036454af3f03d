use super::{Invalid, PageRequest, SortKey, TaskFilter};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where the next page starts: after a given key, so reading it costs the same at any depth
/// (a page number makes SQLite step over every earlier task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    /// The page this cursor leads to (its number when the cursor was made).
    pub page: PageRequest,
    /// The key of the last task before that page.
    pub after: SortKey,
    /// The filter's tag ([`TaskFilter::tag`]) the page was listed under.
    pub filter: String,
}

impl PageCursor {
    /// The opaque text clients pass back as `?cursor=`.
    pub fn encode(&self) -> String {
        let raw = format!(
            "2:{}:{}:{}:{}",
            self.page.page(),
            self.page.per_page(),
            self.filter,
            self.after.as_str()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads back what `encode` made.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid("is not a cursor from a previous page (next_cursor)".into());
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(5, ':');
        let (Some(version), Some(page), Some(per_page), Some(rest)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        // Version 1 cursors were made before filters: they list everything.
        let (filter, after) = match (version, parts.next()) {
            ("1", None) => (TaskFilter::default().tag(), rest),
            ("2", Some(after)) => (rest.to_owned(), after),
            _ => return Err(invalid()),
        };
        let number = |s: &str| s.parse::<i64>().map_err(|_| invalid());
        let page = PageRequest::parse(Some(number(page)?), Some(number(per_page)?))
            .map_err(|_| invalid())?;
        let after = SortKey::parse(after).map_err(|_| invalid())?;
        Ok(Self {
            page,
            after,
            filter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cursor = PageCursor {
            page: PageRequest::parse(Some(4000), Some(20)).unwrap(),
            after: SortKey::parse("V1zA").unwrap(),
            filter: "C,2026-01-01,-".into(),
        };
        assert_eq!(PageCursor::parse(&cursor.encode()).unwrap(), cursor);
        let before_filters = URL_SAFE_NO_PAD.encode("1:3:20:V1zA");
        assert_eq!(
            PageCursor::parse(&before_filters).unwrap().filter,
            TaskFilter::default().tag()
        );
    }

    #[test]
    fn refuses_anything_else() {
        let forged = URL_SAFE_NO_PAD.encode("1:0:20:V");
        let bad_key = URL_SAFE_NO_PAD.encode("1:2:20:V-0");
        for bad in ["", "abc", "!!!", forged.as_str(), bad_key.as_str()] {
            assert!(PageCursor::parse(bad).is_err(), "{bad}");
        }
    }
}

use super::{Invalid, PageRequest, SortKey};
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
}

impl PageCursor {
    /// The opaque text clients pass back as `?cursor=`.
    pub fn encode(&self) -> String {
        let raw = format!(
            "1:{}:{}:{}",
            self.page.page(),
            self.page.per_page(),
            self.after.as_str()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads back what `encode` made.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid("is not a cursor from a previous page (next_cursor)".into());
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(4, ':');
        let (Some("1"), Some(page), Some(per_page), Some(after)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let number = |s: &str| s.parse::<i64>().map_err(|_| invalid());
        let page = PageRequest::parse(Some(number(page)?), Some(number(per_page)?))
            .map_err(|_| invalid())?;
        let after = SortKey::parse(after).map_err(|_| invalid())?;
        Ok(Self { page, after })
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
        };
        assert_eq!(PageCursor::parse(&cursor.encode()).unwrap(), cursor);
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

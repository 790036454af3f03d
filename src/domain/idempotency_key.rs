//! The `Idempotency-Key` a client sends to make a write safe to retry.

use super::Invalid;

/// 1 to 255 visible ASCII characters, chosen by the client (a UUID is the usual choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key taken.
    pub const MAX_LEN: usize = 255;

    /// Refuses empty, long, or non-visible-ASCII keys. Takes the header's raw bytes: a value
    /// that is not text at all (`clé` sent as UTF-8) is refused here like any other, never
    /// taken for no key.
    pub fn parse(raw: impl AsRef<[u8]>) -> Result<Self, Invalid> {
        let raw = raw.as_ref();
        // 0x21..=0x7E: what `is_ascii_graphic` accepts.
        let ok = (1..=Self::MAX_LEN).contains(&raw.len()) && raw.iter().all(u8::is_ascii_graphic);
        match std::str::from_utf8(raw) {
            Ok(text) if ok => Ok(Self(text.to_owned())),
            _ => Err(Invalid(
                "must be 1 to 255 visible ASCII characters (letters, digits, punctuation; no spaces), e.g. a UUID".into(),
            )),
        }
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("3f2c7a1e-0b9d-4e8f-a6c5-1d2e3f405162").is_ok());
        assert!(IdempotencyKey::parse("!~").is_ok());
        assert!(IdempotencyKey::parse("k".repeat(255)).is_ok());
        for bad in [
            "",
            "has space",
            "tab\t",
            "é",
            "clé-1",
            "\x7f",
            &"k".repeat(256),
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        // Raw header bytes that are no text at all.
        assert!(IdempotencyKey::parse(b"cl\xe9-1").is_err());
    }
}

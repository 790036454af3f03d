//! The `Idempotency-Key` a client sends to make a write safe to retry.

use super::Invalid;

/// 1 to 255 visible ASCII characters, chosen by the client (a UUID is the usual choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Refuses empty, long, or non-visible-ASCII keys.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid(
                "must be 1 to 255 visible ASCII characters (a UUID, say)".into(),
            ))
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
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}

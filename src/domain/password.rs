use super::Invalid;

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

/// A password of acceptable length; its text is never printed, even in debug output.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Counts characters, not bytes, so multi-byte passwords get the same allowance.
    pub fn parse(raw: String) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(Invalid(format!("must be at least {MIN_CHARS} characters")));
        }
        if chars > MAX_CHARS {
            return Err(Invalid(format!("must be at most {MAX_CHARS} characters")));
        }
        Ok(Self(raw))
    }

    /// The secret itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_are_in_characters() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("é".repeat(128)).is_ok());
        assert!(Password::parse("é".repeat(129)).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let p = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}

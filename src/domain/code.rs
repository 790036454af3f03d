use super::Invalid;
use rand::RngExt;

/// A 6-digit one-time code; the digits are shown only in the email.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    /// A fresh code from the OS-seeded CSPRNG, uniform over 000000..=999999.
    pub fn generate() -> Self {
        Self::from_number(rand::rng().random_range(0..1_000_000))
    }

    /// The code `n` stands for: its last six decimal digits.
    pub fn from_number(n: u64) -> Self {
        Self(format!("{:06}", n % 1_000_000))
    }

    /// Exactly six ASCII digits (surrounding spaces from a copy-paste are forgiven).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(Invalid("must be the 6 digits from the email".into()))
        }
    }

    /// The digits, for the email body and the keyed hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_six_digits() {
        for _ in 0..1000 {
            let code = OtpCode::generate();
            assert!(OtpCode::parse(code.expose()).is_ok());
        }
    }

    #[test]
    fn parse_refuses_anything_but_six_digits() {
        assert!(OtpCode::parse(" 012345 ").is_ok());
        for bad in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert!(OtpCode::parse(bad).is_err(), "{bad}");
        }
    }
}

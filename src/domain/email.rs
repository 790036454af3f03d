use super::Invalid;

/// RFC 5321 limits: the whole path is at most 254 octets, the local part 64, a domain label 63.
const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// A lower-cased ASCII email address that an SMTP server will accept as a recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and checks the address shape; international addresses are refused
    /// because the outgoing mail path does not negotiate SMTPUTF8.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_ascii_lowercase();
        if email.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        if !email.is_ascii() {
            return Err(Invalid::new("must contain only ASCII characters"));
        }
        if email.len() > MAX_LEN {
            return Err(Invalid::new(format!(
                "must be at most {MAX_LEN} characters"
            )));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(Invalid::new("must look like name@example.com"));
        };
        if local.is_empty() || local.len() > MAX_LOCAL || !valid_local(local) {
            return Err(Invalid::new("has an invalid part before the @"));
        }
        if !valid_domain(domain) {
            return Err(Invalid::new("has an invalid domain after the @"));
        }
        Ok(Self(email))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn accepts_common_shapes() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "x_y-z@a-b.io"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b.".repeat(130));
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a..b@example.com",
            ".a@example.com",
            "a@-x.com",
            "a@x..com",
            "a b@example.com",
            "zoë@example.com",
            "a@exämple.com",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

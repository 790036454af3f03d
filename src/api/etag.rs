//! Entity tags for tasks: the grammar alone. `ETag: "<version>"` on every answer carrying one
//! task; `If-Match` and `If-None-Match` read as tag lists (the headers themselves, their
//! refusals and what each asks of the service are [`super::headers`]).

/// The grammar of `If-Match` and `If-None-Match` (RFC 9110 §13.1): `*`, or a comma-separated
/// list of strong or weak entity tags. The document states it, and a value is checked against
/// it before [`parse`] reads it.
pub const LIST_PATTERN: &str = r#"^(\*|(W/)?"[!#-+\--~]*"( *, *(W/)?"[!#-+\--~]*")*)$"#;

/// The entity tag of a task at `version`: a strong tag, the version in quotes.
pub fn of(version: i64) -> String {
    format!("\"{version}\"")
}

/// What a precondition header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tags {
    /// `*`: any version of an existing task.
    Any,
    /// One of these versions.
    Versions(Vec<i64>),
}

/// How tags compare (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `If-Match`: a weak tag matches nothing.
    Strong,
    /// `If-None-Match`: `W/"3"` and `"3"` name the same version.
    Weak,
}

/// A list member that is not an entity tag, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotATag(pub String);

/// Reads `*`, or a comma-separated list of entity tags (`"3"`, or weak `W/"3"`, which only the
/// weak comparison matches). A tag this server never wrote matches no version.
pub fn parse(raw: &str, comparison: Comparison) -> Result<Tags, NotATag> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(Tags::Any);
    }
    let mut versions = Vec::new();
    for tag in raw.split(',').map(str::trim) {
        let weak = tag.starts_with("W/");
        let opaque = tag.strip_prefix("W/").unwrap_or(tag);
        let inner = opaque
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|t| !t.contains('"'))
            .ok_or_else(|| NotATag(tag.to_owned()))?;
        if let Ok(version) = inner.parse::<i64>()
            && !(weak && comparison == Comparison::Strong)
        {
            versions.push(version);
        }
    }
    Ok(Tags::Versions(versions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_as_rfc_9110_writes_them() {
        let (strong, weak) = (Comparison::Strong, Comparison::Weak);
        assert_eq!(parse("*", strong).unwrap(), Tags::Any);
        assert_eq!(
            parse("\"3\", W/\"4\" ,\"x\"", weak).unwrap(),
            Tags::Versions(vec![3, 4])
        );
        // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag matches nothing.
        assert_eq!(
            parse("\"3\", W/\"4\"", strong).unwrap(),
            Tags::Versions(vec![3])
        );
        for bad in ["3", "\"3", "W/3", "\"a\"b\""] {
            assert_eq!(parse(bad, strong), Err(NotATag(bad.into())), "{bad}");
        }
        assert_eq!(of(7), "\"7\"");
    }
}

//! Entity tags for tasks: `ETag: "<version>"` on every answer carrying one task, `If-Match` to
//! change a task only at a version the client saw, `If-None-Match` to skip an unchanged one.

use super::problem::ApiError;
use crate::service::IfMatch;

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

/// Reads `If-Match` or `If-None-Match`: `*`, or a comma-separated list of entity tags (`"3"`,
/// or weak `W/"3"`, which only the weak comparison matches). A tag this server never wrote
/// matches no version.
pub fn parse(header: &'static str, raw: &str, comparison: Comparison) -> Result<Tags, ApiError> {
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
            .ok_or_else(|| {
                ApiError::field(
                    header,
                    format!("must be * or entity tags like \"3\" (from ETag); got {tag:?}"),
                )
            })?;
        if let Ok(version) = inner.parse::<i64>()
            && !(weak && comparison == Comparison::Strong)
        {
            versions.push(version);
        }
    }
    Ok(Tags::Versions(versions))
}

/// The service's precondition for an optional `If-Match` (`*` asks only that the task exists,
/// which every change needs anyway).
pub fn if_match(raw: Option<&str>) -> Result<Option<IfMatch>, ApiError> {
    Ok(
        match raw
            .map(|r| parse("If-Match", r, Comparison::Strong))
            .transpose()?
        {
            None | Some(Tags::Any) => None,
            Some(Tags::Versions(v)) => Some(IfMatch(v)),
        },
    )
}

/// Whether `If-None-Match` names the task's current version (then the client's copy is fresh).
pub fn none_match(raw: Option<&str>, version: i64) -> Result<bool, ApiError> {
    Ok(
        match raw
            .map(|r| parse("If-None-Match", r, Comparison::Weak))
            .transpose()?
        {
            None => false,
            Some(Tags::Any) => true,
            Some(Tags::Versions(v)) => v.contains(&version),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_as_rfc_9110_writes_them() {
        let (strong, weak) = (Comparison::Strong, Comparison::Weak);
        assert_eq!(parse("If-Match", "*", strong).unwrap(), Tags::Any);
        assert_eq!(
            parse("If-None-Match", "\"3\", W/\"4\" ,\"x\"", weak).unwrap(),
            Tags::Versions(vec![3, 4])
        );
        // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag matches nothing.
        assert_eq!(
            parse("If-Match", "\"3\", W/\"4\"", strong).unwrap(),
            Tags::Versions(vec![3])
        );
        assert!(none_match(Some("W/\"7\""), 7).unwrap());
        for bad in ["3", "\"3", "W/3", "\"a\"b\""] {
            assert!(parse("If-Match", bad, strong).is_err(), "{bad}");
        }
        assert_eq!(of(7), "\"7\"");
        assert!(none_match(Some("\"7\""), 7).unwrap());
        assert!(!none_match(Some("\"6\""), 7).unwrap());
        assert!(if_match(Some("*")).unwrap().is_none());
    }
}

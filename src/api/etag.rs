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

/// Reads `If-Match` or `If-None-Match`: `*`, or a comma-separated list of entity tags
/// (`"3"`, or weak `W/"3"`: a task has one representation per version, so weak and strong name
/// the same thing). A tag this server never wrote matches no version.
pub fn parse(header: &'static str, raw: &str) -> Result<Tags, ApiError> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(Tags::Any);
    }
    let mut versions = Vec::new();
    for tag in raw.split(',').map(str::trim) {
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
        if let Ok(version) = inner.parse::<i64>() {
            versions.push(version);
        }
    }
    Ok(Tags::Versions(versions))
}

/// The service's precondition for an optional `If-Match` (`*` asks only that the task exists,
/// which every change needs anyway).
pub fn if_match(raw: Option<&str>) -> Result<Option<IfMatch>, ApiError> {
    Ok(match raw.map(|r| parse("If-Match", r)).transpose()? {
        None | Some(Tags::Any) => None,
        Some(Tags::Versions(v)) => Some(IfMatch(v)),
    })
}

/// Whether `If-None-Match` names the task's current version (then the client's copy is fresh).
pub fn none_match(raw: Option<&str>, version: i64) -> Result<bool, ApiError> {
    Ok(match raw.map(|r| parse("If-None-Match", r)).transpose()? {
        None => false,
        Some(Tags::Any) => true,
        Some(Tags::Versions(v)) => v.contains(&version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_as_rfc_9110_writes_them() {
        assert_eq!(parse("If-Match", "*").unwrap(), Tags::Any);
        assert_eq!(
            parse("If-Match", "\"3\", W/\"4\" ,\"x\"").unwrap(),
            Tags::Versions(vec![3, 4])
        );
        for bad in ["3", "\"3", "W/3", "\"a\"b\""] {
            assert!(parse("If-Match", bad).is_err(), "{bad}");
        }
        assert_eq!(of(7), "\"7\"");
        assert!(none_match(Some("\"7\""), 7).unwrap());
        assert!(!none_match(Some("\"6\""), 7).unwrap());
        assert!(if_match(Some("*")).unwrap().is_none());
    }
}

//! A list: a named, ordered set of tasks with one owner. Every user has one default list.

use super::{Invalid, Timestamp};

/// The longest list name, in characters.
pub const MAX_LIST_NAME_CHARS: usize = 100;

/// The name every user's default list starts with.
pub const DEFAULT_LIST_NAME: &str = "Tasks";

/// A list's name: 1..=100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName(String);

impl ListName {
    /// Trims surrounding whitespace and checks what is left.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Invalid::new("must not be empty or only whitespace"));
        }
        if name.chars().count() > MAX_LIST_NAME_CHARS {
            return Err(Invalid(format!(
                "must be at most {MAX_LIST_NAME_CHARS} characters"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new("must not hold control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who owns a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner's user id.
    pub id: i64,
    /// The owner's email.
    pub email: String,
}

/// A list as its owner sees it.
#[derive(Debug, Clone)]
pub struct List {
    /// Id, never reused.
    pub id: i64,
    /// Its name.
    pub name: ListName,
    /// Who owns it.
    pub owner: Owner,
    /// Whether it is the owner's default list (`/v1/tasks`), which cannot be deleted.
    pub is_default: bool,
    /// Tasks in it.
    pub task_count: u64,
    /// 1 at creation, one more at every rename.
    pub version: i64,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was last renamed (or made).
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ListName::parse("  Groceries ").unwrap().as_str(),
            "Groceries"
        );
        assert!(ListName::parse("   ").is_err());
        assert!(ListName::parse(&"é".repeat(100)).is_ok());
        assert!(ListName::parse(&"é".repeat(101)).is_err());
        assert!(ListName::parse("a\u{7}b").is_err());
    }

    proptest! {
        /// Whatever parses is already trimmed and parses to itself again.
        #[test]
        fn a_parsed_name_parses_to_itself(raw in "\\PC{0,120}") {
            if let Ok(name) = ListName::parse(&raw) {
                prop_assert_eq!(ListName::parse(name.as_str()), Ok(name.clone()));
                prop_assert_eq!(name.as_str().trim(), name.as_str());
                prop_assert!(!name.as_str().is_empty());
            }
        }
    }
}

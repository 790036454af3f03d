//! A list as answers show it (`List`, `ListPage`), made from the service's lists. `problem`
//! shows the list in a 412 and the feed shows changed lists, so this file takes nothing from
//! the rest of the HTTP layer but plain wire values.

use crate::api::answer::{Members, WriteJson};
use crate::api::etag;
use crate::domain::List;
use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde::Deserialize;

/// What the caller may do with a list: `owner` (everything) until lists are shared.
#[derive(Debug, Clone, Copy, Enum, Deserialize)]
#[oai(rename_all = "lowercase")]
pub enum Role {
    /// Everything: rename, delete, and all on its tasks.
    Owner,
}

/// Who owns a list.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ListOwner")]
pub struct OwnerView {
    /// The owner's user id.
    pub id: i64,
    /// The owner's email.
    pub email: String,
}

/// A list of tasks with its own order; every user has one default list (`default: true`,
/// the one `/v1/tasks` works on), which cannot be deleted.
#[derive(Debug, Clone, Object)]
#[oai(rename = "List")]
pub struct ListView {
    /// List id; ids are never reused.
    pub id: i64,
    /// 1 to 100 characters.
    pub name: String,
    pub role: Role,
    pub owner: OwnerView,
    /// Whether this is your default list.
    pub default: bool,
    /// Tasks in it.
    pub task_count: u64,
    /// 1 at creation, one more at every rename; the `ETag` is this in quotes.
    pub version: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last renamed (or made).
    pub updated_at: DateTime<Utc>,
}

impl ListView {
    /// Its entity tag.
    pub fn etag(&self) -> String {
        etag::of(self.version)
    }
}

impl From<List> for ListView {
    fn from(l: List) -> Self {
        Self {
            id: l.id,
            name: l.name.as_str().to_owned(),
            role: Role::Owner,
            owner: OwnerView {
                id: l.owner.id,
                email: l.owner.email,
            },
            default: l.is_default,
            task_count: l.task_count,
            version: l.version,
            created_at: l.created_at.to_datetime(),
            updated_at: l.updated_at.to_datetime(),
        }
    }
}

impl WriteJson for OwnerView {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out)
            .int("id", self.id)
            .str("email", &self.email)
            .close();
    }
}

impl WriteJson for ListView {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out)
            .int("id", self.id)
            .str("name", &self.name)
            .plain("role", "owner")
            .value("owner", &self.owner)
            .bool("default", self.default)
            .int("task_count", self.task_count as i64)
            .int("version", self.version)
            .datetime("created_at", &self.created_at)
            .datetime("updated_at", &self.updated_at)
            .close();
    }
}

/// Every list you can see: your default list first, then by creation.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Lists")]
pub struct ListsView {
    /// The lists.
    pub items: Vec<ListView>,
}

impl WriteJson for ListsView {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out).value("items", &self.items).close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ListName, Owner, Timestamp};
    use poem_openapi::types::ToJSON;

    #[test]
    fn a_list_written_by_hand_is_what_poem_openapi_writes() {
        for ms in [1_764_063_970_000, 1_764_063_970_017] {
            let view = ListView::from(List {
                id: 3,
                name: ListName::parse("Groceries \"weekly\" ✓").unwrap(),
                owner: Owner {
                    id: 1,
                    email: "a@example.com".into(),
                },
                is_default: false,
                task_count: 12,
                version: 2,
                created_at: Timestamp::from_millis(ms).unwrap(),
                updated_at: Timestamp::from_millis(ms + 5).unwrap(),
            });
            assert_eq!(view.json_text(), view.to_json_string());
            let all = ListsView { items: vec![view] };
            assert_eq!(all.json_text(), all.to_json_string());
        }
    }
}

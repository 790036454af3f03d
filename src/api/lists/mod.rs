//! `/v1/lists`: the caller's lists (list them, make one, read, rename, delete). The tasks of a
//! list are [`crate::api::tasks::in_list`].

pub(crate) mod view;

use super::ApiTags;
use super::answer::JsonAnswer;
use super::etag;
use super::headers::{IdempotencyKeyHeader, IfMatchHeader, IfNoneMatchHeader};
use super::idempotency::{self, Replayable};
use super::json::JsonBody;
use super::problem::{ApiError, BODY, Code, Failure, SESSION, declare};
use super::security::SignedIn;
use super::tasks::body::EDGE;
use super::text::{WHITESPACE, wire_text};
use crate::domain::{List, ListName};
use crate::service::{Lists, Outcome};
use poem_openapi::param::Path;
use poem_openapi::registry::MetaSchema;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use view::{ListView, ListsView};

const NOT_FOUND: &[Code] = &[Code::NotFound];
const INVALID: &[Code] = &[Code::ValidationFailed];
const STALE: &[Code] = &[Code::PreconditionFailed];
/// What a keyed write may answer besides its own codes.
const RETRY: &[Code] = &[
    Code::IdempotencyKeyReused,
    Code::IdempotencyInProgress,
    Code::QuotaExceededForNow,
];

declare!(AllErrors: SESSION);
declare!(CreateErrors: BODY, SESSION, RETRY, &[Code::QuotaExceeded]);
declare!(ReadErrors: SESSION, NOT_FOUND, INVALID);
declare!(RenameErrors: BODY, SESSION, NOT_FOUND, STALE);
declare!(DeleteErrors: SESSION, NOT_FOUND, INVALID, STALE, &[Code::DefaultList]);

fn example_id() -> i64 {
    2
}

/// Where a list lives.
fn location_of(id: i64) -> String {
    format!("/v1/lists/{id}")
}

/// A list's name as a body carries it, not yet checked: `ListName::parse` trims it and names
/// the field when it refuses. The schema takes every name that parse takes, never fewer: any
/// whitespace around, then text that starts and ends with a character that is neither
/// whitespace nor a control, with no control inside; the 100 characters are counted after
/// trimming, which the description says.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct ListNameField(pub String);

/// A character inside a name: anything but a control.
const INSIDE: &str = r"[^\x00-\x1F\x7F-\x9F]";

wire_text!(ListNameField, "string_list_name", || MetaSchema {
    min_length: Some(1),
    pattern: Some(format!(
        "^{WHITESPACE}*{EDGE}({INSIDE}*{EDGE})?{WHITESPACE}*$"
    )),
    ..MetaSchema::new("string")
});

/// A list's name: 1 to 100 characters after trimming.
#[derive(Debug, Object, Deserialize)]
#[oai(rename = "ListName", deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    /// 1 to 100 characters after trimming (spaces around are taken off), no control characters.
    name: ListNameField,
}

impl Example for NameBody {
    fn example() -> Self {
        Self {
            name: ListNameField("Groceries".into()),
        }
    }
}

impl NameBody {
    fn parse(&self) -> Result<ListName, ApiError> {
        ListName::parse(&self.name.0).map_err(|e| ApiError::field("name", e.0))
    }
}

#[derive(ApiResponse)]
enum Created {
    /// The new list (or, with `Idempotent-Replayed: true`, the list the first request with
    /// this `Idempotency-Key` made).
    #[oai(status = 201)]
    Created(
        JsonAnswer<Replayable<ListView>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
enum Fetched {
    /// The list; `ETag` is its version.
    #[oai(status = 200)]
    Ok(JsonAnswer<ListView>, #[oai(header = "ETag")] String),
    /// `If-None-Match` named the current version: the copy the client holds is fresh.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum Renamed {
    /// The list renamed; `ETag` is its version.
    #[oai(status = 200)]
    Ok(JsonAnswer<ListView>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
enum Deleted {
    /// The list is gone, with its tasks.
    #[oai(status = 204)]
    Done,
}

/// List operations.
pub struct ListApi;

#[OpenApi(prefix_path = "/v1/lists", tag = "ApiTags::Lists")]
impl ListApi {
    /// Every list you can see.
    ///
    /// Your default list (the one `/v1/tasks` works on) first, then the others by creation.
    #[oai(path = "/", method = "get", operation_id = "list_lists")]
    async fn all(
        &self,
        session: SignedIn,
        lists: poem::web::Data<&Lists>,
    ) -> Result<JsonAnswer<ListsView>, Failure<AllErrors>> {
        let items = lists.all(&session.0).await?;
        Ok(JsonAnswer(ListsView {
            items: items.into_iter().map(ListView::from).collect(),
        }))
    }

    /// Make a list.
    ///
    /// Each account owns at most 100 lists by default (`LISTO_LISTS_PER_USER`): past it, 409
    /// `quota_exceeded` with `limit` and `used`. With an `Idempotency-Key`, a repeat answers
    /// the first answer again and makes nothing.
    #[oai(path = "/", method = "post", operation_id = "create_list")]
    async fn create(
        &self,
        session: SignedIn,
        /// Any unique string (a UUID): a retry with the same key and body runs once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: IdempotencyKeyHeader,
        body: JsonBody<NameBody>,
        lists: poem::web::Data<&Lists>,
    ) -> Result<Created, Failure<CreateErrors>> {
        let once = idempotency::request(
            idempotency_key.0,
            "create_list",
            &[],
            &body.0,
            |list: &List| {
                let view = ListView::from(list.clone());
                idempotency::stored(201, &view, Some(location_of(list.id)))
            },
        );
        let name = body.0.parse()?;
        match lists.create(&session.0, name, once).await? {
            Outcome::Done(list) => {
                let view = ListView::from(list);
                let (location, tag) = (location_of(view.id), view.etag());
                let body = JsonAnswer(Replayable::Fresh(view));
                Ok(Created::Created(body, location, tag, None))
            }
            Outcome::Replayed(answer) => {
                let (body, location, tag, replayed) =
                    idempotency::replayed_create(&answer, location_of)?;
                Ok(Created::Created(JsonAnswer(body), location, tag, replayed))
            }
        }
    }

    /// Read one list.
    ///
    /// A list you cannot see answers 404 `not_found`, as if it did not exist.
    #[oai(path = "/:id", method = "get", operation_id = "get_list")]
    async fn get(
        &self,
        session: SignedIn,
        /// List id.
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` of the copy you hold: 304 while the list is still at that version.
        #[oai(name = "If-None-Match")]
        if_none_match: IfNoneMatchHeader,
        lists: poem::web::Data<&Lists>,
    ) -> Result<Fetched, Failure<ReadErrors>> {
        let list = lists.get(&session.0, id.0).await?;
        let tag = etag::of(list.version);
        if if_none_match.names(list.version) {
            return Ok(Fetched::NotModified(tag));
        }
        Ok(Fetched::Ok(JsonAnswer(list.into()), tag))
    }

    /// Rename a list.
    ///
    /// With `If-Match` (the `ETag` you read), a list renamed since answers 412 with
    /// `current_list`, the list as it is now.
    #[oai(path = "/:id", method = "patch", operation_id = "rename_list")]
    async fn rename(
        &self,
        session: SignedIn,
        /// List id.
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: rename the list only if it is still at that version.
        #[oai(name = "If-Match")]
        if_match: IfMatchHeader,
        body: JsonBody<NameBody>,
        lists: poem::web::Data<&Lists>,
    ) -> Result<Renamed, Failure<RenameErrors>> {
        let name = body.0.parse()?;
        let seen = if_match.0.map(|m| m.0);
        let view = ListView::from(lists.rename(&session.0, id.0, name, seen).await?);
        let tag = view.etag();
        Ok(Renamed::Ok(JsonAnswer(view), tag))
    }

    /// Delete a list and every task in it.
    ///
    /// Your default list cannot be deleted (409 `default_list`). Ids are never reused, so
    /// repeating a delete can never remove a newer list. With `If-Match`, a list renamed since
    /// answers 412 and stays.
    #[oai(path = "/:id", method = "delete", operation_id = "delete_list")]
    async fn delete(
        &self,
        session: SignedIn,
        /// List id.
        #[oai(example = "example_id", validator(minimum(value = "1")))]
        id: Path<i64>,
        /// The `ETag` you read: delete the list only if it is still at that version.
        #[oai(name = "If-Match")]
        if_match: IfMatchHeader,
        lists: poem::web::Data<&Lists>,
    ) -> Result<Deleted, Failure<DeleteErrors>> {
        let seen = if_match.0.map(|m| m.0);
        lists.delete(&session.0, id.0, seen).await?;
        Ok(Deleted::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::ListNameField;
    use crate::domain::{ListName, MAX_LIST_NAME_CHARS};
    use poem_openapi::registry::MetaSchemaRef;
    use poem_openapi::types::Type;
    use proptest::prelude::*;

    fn pattern() -> regex::Regex {
        let MetaSchemaRef::Inline(schema) = ListNameField::schema_ref() else {
            unreachable!("an inline schema")
        };
        regex::Regex::new(&schema.pattern.unwrap()).unwrap()
    }

    proptest! {
        /// The document's pattern takes exactly the names the server takes (the names here are
        /// shorter than the 100 characters a pattern cannot count after trimming).
        #[test]
        fn the_pattern_takes_what_parse_takes(
            raw in "[ \t\u{a0}\u{3000}]{0,2}[a-zé✓ \t\n\u{7}\u{85}\u{2028}]{0,20}[ \t\u{a0}]{0,2}"
        ) {
            prop_assert!(raw.trim().chars().count() <= MAX_LIST_NAME_CHARS);
            prop_assert_eq!(pattern().is_match(&raw), ListName::parse(&raw).is_ok(), "{:?}", raw);
        }
    }
}

//! `/v1/changes` and `/v1/events`: everything the caller sees, with one numeric position (the
//! same numbering as `/v1/tasks/changes`): tasks of every list, and the lists themselves.

use super::super::ApiTags;
use super::super::answer::{JsonAnswer, Members, WriteJson};
use super::super::lists::view::ListView;
use super::super::problem::{Code, Failure, SESSION, declare};
use super::super::security::{SignedIn, StreamAuth};
use super::super::tasks::view::TaskView;
use super::{DEFAULT_LIMIT, EventKinds, Events, StreamRequest};
use super::{example_event_id, example_limit, example_since, example_ticket, position};
use crate::domain::{Change, Entry, FeedScope};
use crate::service::{Auth, ChangePage, Feed};
use futures_util::StreamExt;
use poem_openapi::param::{Header, Query};
use poem_openapi::registry::Registry;
use poem_openapi::types::Type;
use poem_openapi::{Object, OpenApi};

/// What an entry says. On the wire a plain string, not a closed enum: kinds may be added, and
/// a generated client must be able to read (and skip) one it does not know.
#[derive(Debug, Clone, Copy)]
pub enum EntryKind {
    /// A task was created or changed (edited, moved, sorted, moved to this list): `task` is the
    /// task as it is now.
    Upsert,
    /// A task was deleted: drop it.
    Delete,
    /// A list was made or renamed: `list` is the list as it is now.
    ListUpsert,
    /// A list was deleted (or you lost access to it): drop it and every task in it. One entry
    /// stands for all its tasks.
    ListRemoved,
}

impl EntryKind {
    /// The kind of `entry`.
    fn of(entry: &Entry) -> Self {
        match entry {
            Entry::Task { task: Some(_), .. } => EntryKind::Upsert,
            Entry::Task { task: None, .. } => EntryKind::Delete,
            Entry::List { list: Some(_), .. } => EntryKind::ListUpsert,
            Entry::List { list: None, .. } => EntryKind::ListRemoved,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EntryKind::Upsert => "upsert",
            EntryKind::Delete => "delete",
            EntryKind::ListUpsert => "list_upsert",
            EntryKind::ListRemoved => "list_removed",
        }
    }
}

/// One entry of your feed: the latest change of one task or one list. Kinds may be added later:
/// skip an entry whose `kind` you do not know.
#[derive(Debug, Clone, Object)]
#[oai(rename = "FeedEntry")]
pub struct EntryView {
    /// Its place in your feed: entries are numbered in the order they happened. The last one
    /// you applied is the `since` (or `Last-Event-ID`) to go on from.
    seq: i64,
    /// `upsert` (a task made or changed: `task` is it as it is now), `delete` (a task deleted),
    /// `list_upsert` (a list made or renamed: `list` is it as it is now) or `list_removed` (a
    /// list deleted, or your access to it lost: drop it and every task in it). Kinds may be
    /// added later: skip an entry whose kind you do not know.
    kind: String,
    /// The task's id (`upsert`, `delete`) or the list's (`list_upsert`, `list_removed`).
    id: i64,
    /// The list the task is in (`upsert`) or was in (`delete`).
    #[oai(skip_serializing_if_is_none)]
    list_id: Option<i64>,
    // No doc lines here: a described `$ref` becomes an `allOf` wrapper generated clients drop.
    #[oai(skip_serializing_if_is_none)]
    task: Option<TaskView>,
    #[oai(skip_serializing_if_is_none)]
    list: Option<ListView>,
}

impl From<Change> for EntryView {
    fn from(c: Change) -> Self {
        let seq = c.seq.get();
        let kind = EntryKind::of(&c.entry).as_str().to_owned();
        match c.entry {
            Entry::Task { id, list_id, task } => Self {
                seq,
                kind,
                id,
                list_id: Some(list_id),
                task: task.map(TaskView::from),
                list: None,
            },
            Entry::List { id, list } => Self {
                seq,
                kind,
                id,
                list_id: None,
                task: None,
                list: list.map(ListView::from),
            },
        }
    }
}

impl WriteJson for EntryView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut members = Members::open(out);
        members
            .int("seq", self.seq)
            .plain("kind", &self.kind)
            .int("id", self.id);
        if let Some(list_id) = self.list_id {
            members.int("list_id", list_id);
        }
        if let Some(task) = &self.task {
            members.value("task", task);
        }
        if let Some(list) = &self.list {
            members.value("list", list);
        }
        members.close();
    }
}

/// A page of your feed.
#[derive(Debug, Clone, Object)]
#[oai(rename = "FeedPage")]
pub struct EntryPageView {
    /// Oldest first. Apply each in order.
    changes: Vec<EntryView>,
    /// Pass as `since` to read on from here.
    next_since: String,
    /// Whether more entries follow already: read again with `next_since`.
    has_more: bool,
}

impl From<ChangePage> for EntryPageView {
    fn from(p: ChangePage) -> Self {
        Self {
            changes: p.changes.into_iter().map(EntryView::from).collect(),
            next_since: p.next_since.to_string(),
            has_more: p.has_more,
        }
    }
}

impl WriteJson for EntryPageView {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out)
            .value("changes", &self.changes)
            .plain("next_since", &self.next_since)
            .bool("has_more", self.has_more)
            .close();
    }
}

/// The event kinds of this feed's stream.
pub(super) struct AllEvents;

impl EventKinds for AllEvents {
    const KINDS: &'static [&'static str] = &["upsert", "delete", "list_upsert", "list_removed"];
    const EVENT_DESCRIPTION: &'static str = "`upsert`, `delete`, `list_upsert` or `list_removed` (more may be added: skip \
         those you do not know); `session_expired`, `session_revoked` or `stream_replaced` last";
    const DATA_DESCRIPTION: &'static str =
        "JSON: a `FeedEntry` for an entry; `{code, detail}` for the closing event";
    const DESCRIPTION: &'static str = "Server-Sent Events, one per entry: `id: <seq>`, `event: <kind>`, `data: <FeedEntry \
         JSON>`; a comment line every 15 s; when the session ends, `event: session_expired` or \
         `session_revoked`, then the stream closes; when a newer stream of yours took its place \
         (8 per user by default), `event: stream_replaced`, after which a client does not \
         reconnect.";

    fn register(registry: &mut Registry) {
        EntryView::register(registry);
    }

    fn event(change: Change) -> Option<(i64, &'static str, String)> {
        let kind = EntryKind::of(&change.entry);
        let view = EntryView::from(change);
        Some((view.seq, kind.as_str(), view.json_text()))
    }
}

declare!(FeedErrors: SESSION, &[Code::ValidationFailed, Code::InvalidCursor, Code::ChangesExpired]);
declare!(StreamErrors: SESSION, &[Code::ValidationFailed, Code::InvalidCursor, Code::ChangesExpired]);

/// The feed of everything you see.
pub struct FeedApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Lists")]
impl FeedApi {
    /// What changed in all your lists since a position.
    ///
    /// Without `since`, every list and task as it is now (and the deletes still kept). Each
    /// entry is the latest change of one task or list; applying them in order to what you held
    /// at `since` gives exactly what the server has. A deleted list is one `list_removed`
    /// entry: drop the list and its tasks. A task moved to another list is an `upsert` with
    /// its new `list_id`. Kinds may be added later: skip those you do not know. Positions are
    /// the same numbers as `/v1/tasks/changes` hands out. Deletes are kept at least 30 days:
    /// older positions answer 410 `changes_expired`.
    #[oai(path = "/changes", method = "get", operation_id = "list_feed")]
    async fn changes(
        &self,
        session: SignedIn,
        /// `next_since` of the previous page, or the `id` of the last event you applied.
        #[oai(example = "example_since", validator(pattern = "^[0-9]{1,18}$"))]
        since: Query<Option<String>>,
        /// Entries per page, 1 to 500 (default 100).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<Option<i64>>,
        feed: poem::web::Data<&Feed>,
    ) -> Result<JsonAnswer<EntryPageView>, Failure<FeedErrors>> {
        let since = position(since.0.as_deref(), "since")?;
        // The validator bounds it to 1..=500.
        let limit = limit.0.map_or(DEFAULT_LIMIT, |n| n as u32);
        let page = feed
            .changes(&session.0, FeedScope::Everything, since, limit)
            .await?;
        Ok(JsonAnswer(page.into()))
    }

    /// Follow all your lists live (Server-Sent Events).
    ///
    /// Each entry is one event: `id` is its `seq`, `event` its `kind`, `data` the entry as
    /// `GET /v1/changes` lists it. Resuming (`Last-Event-ID`, `since`), tickets, heartbeats,
    /// the closing events and the per-user cap are those of `GET /v1/tasks/events`.
    #[oai(path = "/events", method = "get", operation_id = "follow_feed")]
    #[allow(clippy::too_many_arguments)]
    async fn events(
        &self,
        access: StreamAuth,
        /// The `id` of the last event received: the stream resumes after it.
        #[oai(
            name = "Last-Event-ID",
            example = "example_event_id",
            validator(pattern = "^[0-9]{1,18}$")
        )]
        last_event_id: Header<Option<String>>,
        /// Resume after this position (`next_since`, or an event `id`) when `Last-Event-ID` is
        /// not sent.
        #[oai(example = "example_since", validator(pattern = "^[0-9]{1,18}$"))]
        since: Query<Option<String>>,
        /// An event ticket from `POST /v1/tasks/events/ticket`, instead of an `Authorization`
        /// header (for a browser's `EventSource`). One use, 60 s.
        #[oai(example = "example_ticket")]
        ticket: Query<Option<String>>,
        req: &poem::Request,
        feed: poem::web::Data<&Feed>,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Events<AllEvents>, Failure<StreamErrors>> {
        let asked = StreamRequest {
            access,
            last_event_id: last_event_id.0,
            since: since.0,
            ticket: ticket.0,
        };
        let (session, from) = asked.open(req, &auth).await?;
        let stream = feed.follow(session, FeedScope::Everything, from).await?;
        Ok(Events::new(stream.boxed()))
    }
}

#[cfg(test)]
mod tests {
    use super::{EntryView, WriteJson};
    use crate::domain::{Change, ChangeSeq, Entry};
    use poem_openapi::types::ToJSON;

    #[test]
    fn entries_written_by_hand_are_what_the_document_describes() {
        for entry in [
            Entry::Task {
                id: 4,
                list_id: 2,
                task: None,
            },
            Entry::List { id: 2, list: None },
        ] {
            let view = EntryView::from(Change {
                seq: ChangeSeq::from_stored(9),
                entry,
            });
            assert_eq!(view.json_text(), view.to_json_string());
        }
    }
}

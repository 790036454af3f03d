//! `/v1/tasks/changes` and `/v1/tasks/events`: the default list's feed, exactly as before lists
//! (a task moved out of the default list is a `delete` here).

use super::super::ApiTags;
use super::super::answer::{JsonAnswer, Members, WriteJson};
use super::super::problem::{Code, Failure, SESSION, declare};
use super::super::security::{SignedIn, StreamAuth};
use super::super::tasks::view::TaskView;
use super::{DEFAULT_LIMIT, EventKinds, Events, example_event_id, example_limit, example_since};
use super::{StreamRequest, example_ticket, position};
use crate::domain::{Change, Entry, FeedScope};
use crate::service::{Auth, ChangePage, Feed};
use futures_util::StreamExt;
use poem_openapi::param::{Header, Query};
use poem_openapi::registry::Registry;
use poem_openapi::types::Type;
use poem_openapi::{Enum, Object, OpenApi};

/// What happened to a task.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Created or changed (edited, moved, sorted): `task` is the task as it is now.
    Upsert,
    /// Deleted: drop it.
    Delete,
}

/// One entry of your change feed: the latest change of one task. An upsert carries the task
/// as it is now in `task`; a delete carries none.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Change")]
pub struct ChangeView {
    /// Its place in your feed: changes are numbered in the order they happened. The last one
    /// you applied is the `since` (or `Last-Event-ID`) to go on from.
    seq: i64,
    kind: ChangeKind,
    /// The task's id.
    id: i64,
    // No doc line here: a described `$ref` becomes an `allOf` wrapper generated clients drop.
    #[oai(skip_serializing_if_is_none)]
    task: Option<TaskView>,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Upsert => "upsert",
            ChangeKind::Delete => "delete",
        }
    }
}

impl WriteJson for ChangeView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut members = Members::open(out);
        members
            .int("seq", self.seq)
            .plain("kind", self.kind.as_str())
            .int("id", self.id);
        if let Some(task) = &self.task {
            members.value("task", task);
        }
        members.close();
    }
}

impl WriteJson for ChangePageView {
    fn write_json(&self, out: &mut Vec<u8>) {
        Members::open(out)
            .value("changes", &self.changes)
            .plain("next_since", &self.next_since)
            .bool("has_more", self.has_more)
            .close();
    }
}

impl ChangeView {
    /// The entry as one list's feed shows it; `None` for an entry of another kind (this scope
    /// reads task entries only).
    fn of(c: Change) -> Option<Self> {
        let Entry::Task { id, task, .. } = c.entry else {
            return None;
        };
        Some(Self {
            seq: c.seq.get(),
            kind: match task {
                Some(_) => ChangeKind::Upsert,
                None => ChangeKind::Delete,
            },
            id,
            task: task.map(TaskView::from),
        })
    }
}

/// A page of your change feed.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ChangePage")]
pub struct ChangePageView {
    /// Oldest first. Apply each in order: an upsert puts the task (its `position` places it),
    /// a delete removes it.
    changes: Vec<ChangeView>,
    /// Pass as `since` to read on from here.
    next_since: String,
    /// Whether more changes follow already: read again with `next_since`.
    has_more: bool,
}

impl From<ChangePage> for ChangePageView {
    fn from(p: ChangePage) -> Self {
        Self {
            changes: p.changes.into_iter().filter_map(ChangeView::of).collect(),
            next_since: p.next_since.to_string(),
            has_more: p.has_more,
        }
    }
}

/// The event kinds of this feed's stream.
pub(super) struct TaskEvents;

impl EventKinds for TaskEvents {
    const KINDS: &'static [&'static str] = &["upsert", "delete"];
    const EVENT_DESCRIPTION: &'static str =
        "`upsert` or `delete`; `session_expired`, `session_revoked` or `stream_replaced` last";
    const DATA_DESCRIPTION: &'static str =
        "JSON: a `Change` for upsert and delete; `{code, detail}` for the closing event";
    const DESCRIPTION: &'static str = "Server-Sent Events, one per change: `id: <seq>`, `event: upsert` or \
        `delete`, `data: <Change JSON>`; a comment line every 15 s; when the session ends, \
        `event: session_expired` or `session_revoked`, then the stream closes; when a newer \
        stream of yours took its place (8 per user by default), `event: stream_replaced`, after \
        which a client does not reconnect.";

    fn register(registry: &mut Registry) {
        ChangeView::register(registry);
    }

    fn event(change: Change) -> Option<(i64, &'static str, String)> {
        let view = ChangeView::of(change)?;
        Some((view.seq, view.kind.as_str(), view.json_text()))
    }
}

declare!(ChangesErrors: SESSION, &[Code::ValidationFailed, Code::InvalidCursor, Code::ChangesExpired]);
declare!(EventsErrors: SESSION, &[Code::ValidationFailed, Code::InvalidCursor, Code::ChangesExpired]);

/// The change feed.
pub struct ChangesApi;

#[OpenApi(prefix_path = "/v1/tasks", tag = "ApiTags::Tasks")]
impl ChangesApi {
    /// What changed in your list since a position.
    ///
    /// Without `since`, every task as it is now (and the deletes still kept), which is also how
    /// to start afresh. Each entry is the latest change of one task; applying them in order to
    /// what you held at `since` gives exactly your list (order by `position`). Deletes are kept
    /// at least 30 days: older positions answer 410 `changes_expired`.
    #[oai(path = "/changes", method = "get", operation_id = "list_changes")]
    async fn changes(
        &self,
        session: SignedIn,
        /// `next_since` of the previous page, or the `id` of the last event you applied.
        #[oai(example = "example_since", validator(pattern = "^[0-9]{1,18}$"))]
        since: Query<Option<String>>,
        /// Changes per page, 1 to 500 (default 100).
        #[oai(
            example = "example_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<Option<i64>>,
        feed: poem::web::Data<&Feed>,
    ) -> Result<JsonAnswer<ChangePageView>, Failure<ChangesErrors>> {
        let since = position(since.0.as_deref(), "since")?;
        // The validator bounds it to 1..=500.
        let limit = limit.0.map_or(DEFAULT_LIMIT, |n| n as u32);
        Ok(JsonAnswer(
            feed.changes(
                &session.0,
                FeedScope::List(session.0.default_list_id),
                since,
                limit,
            )
            .await?
            .into(),
        ))
    }

    /// Follow your changes live (Server-Sent Events).
    ///
    /// Each change is one event: `id` is its `seq`, `event` is `upsert` or `delete`, `data` is
    /// the change as `GET /v1/tasks/changes` lists it. On reconnecting, `Last-Event-ID` (sent
    /// by EventSource clients by themselves) resumes after the last event received, with
    /// nothing missed; `since` does the same for the first connection. Without either, the
    /// stream starts with the next change. A comment line comes every 15 s. When the session
    /// expires or is logged out, a `session_expired` or `session_revoked` event ends the stream.
    /// Each user holds at most 8 streams open at once (`LISTO_STREAMS_PER_USER`): a ninth ends
    /// the oldest with a `stream_replaced` event, after which that client should not reconnect.
    ///
    /// A browser's `EventSource` cannot send `Authorization`: it opens the stream with a
    /// `ticket` from `POST /v1/tasks/events/ticket` instead (one use, 60 s; mint a new one for
    /// every connection). A used, expired or unknown ticket answers 401 `session_invalid`, so
    /// `EventSource` stops rather than retries. With both a ticket and an `Authorization`
    /// header, the header opens the stream and the ticket stays unspent.
    #[oai(path = "/events", method = "get", operation_id = "follow_changes")]
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
    ) -> Result<Events<TaskEvents>, Failure<EventsErrors>> {
        let asked = StreamRequest {
            access,
            last_event_id: last_event_id.0,
            since: since.0,
            ticket: ticket.0,
        };
        let (session, from) = asked.open(req, &auth).await?;
        let scope = FeedScope::List(session.default_list_id);
        let stream = feed.follow(session, scope, from).await?;
        Ok(Events::new(stream.boxed()))
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeView, WriteJson};
    use crate::domain::{Change, ChangeSeq, Entry};
    use poem_openapi::types::ToJSON;

    #[test]
    fn a_delete_written_by_serde_is_what_the_document_describes() {
        let view = ChangeView::of(Change {
            seq: ChangeSeq::from_stored(9),
            entry: Entry::Task {
                id: 4,
                list_id: 1,
                task: None,
            },
        })
        .unwrap();
        assert_eq!(view.json_text(), view.to_json_string());
    }
}

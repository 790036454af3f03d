//! `/v1/tasks/changes` and `/v1/tasks/events`: the change feed, read a page at a time or
//! followed live as Server-Sent Events.

use super::ApiTags;
use super::answer::{JsonAnswer, Members, WriteJson};
use super::problem::{ApiError, Code, Failure, SESSION, declare};
use super::security::{SignedIn, StreamAuth};
use super::tasks::view::TaskView;
use crate::domain::{Change, ChangeSeq};
use crate::service::{Auth, ChangePage, Feed, FeedEvent, ServiceError, Session, SessionEnd};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use poem::web::sse::Event;
use poem_openapi::param::{Header, Query};
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use std::task::Poll;
use std::time::Duration;

/// A comment line this often keeps proxies from closing a quiet stream (and the server from
/// taking it for an idle connection).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// The closing event of a stream whose place a newer stream of the same user took.
const STREAM_REPLACED: &str = "stream_replaced";
/// Changes per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 100;

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

impl From<Change> for ChangeView {
    fn from(c: Change) -> Self {
        Self {
            seq: c.seq.get(),
            kind: match c.task {
                Some(_) => ChangeKind::Upsert,
                None => ChangeKind::Delete,
            },
            id: c.id,
            task: c.task.map(TaskView::from),
        }
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
            changes: p.changes.into_iter().map(ChangeView::from).collect(),
            next_since: p.next_since.to_string(),
            has_more: p.has_more,
        }
    }
}

/// The live stream: `text/event-stream`.
pub struct Events(BoxStream<'static, FeedEvent>);

impl ApiResponse for Events {
    fn meta() -> MetaResponses {
        // The schema is that of one event as the stream frames it (what OpenAPI 3.2 calls the
        // `itemSchema` of `text/event-stream`; 3.0 tools read `schema` so).
        let text = |description: &'static str| {
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                description: Some(description),
                ..MetaSchema::new("string")
            }))
        };
        let event = MetaSchema {
            description: Some("One event. Heartbeats are comment lines, not events."),
            required: vec!["data"],
            properties: vec![
                (
                    "id",
                    MetaSchemaRef::Inline(Box::new(MetaSchema {
                        description: Some("The change's `seq` (none on the closing event)"),
                        pattern: Some("^[0-9]+$".into()),
                        ..MetaSchema::new("string")
                    })),
                ),
                (
                    "event",
                    MetaSchemaRef::Inline(Box::new(MetaSchema {
                        description: Some(
                            "`upsert` or `delete`; `session_expired`, `session_revoked` or `stream_replaced` last",
                        ),
                        enum_items: [
                            "upsert",
                            "delete",
                            "session_expired",
                            "session_revoked",
                            STREAM_REPLACED,
                        ]
                        .into_iter()
                        .map(serde_json::Value::from)
                        .collect(),
                        ..MetaSchema::new("string")
                    })),
                ),
                (
                    "data",
                    text(
                        "JSON: a `Change` for upsert and delete; `{code, detail}` for the closing event",
                    ),
                ),
            ],
            ..MetaSchema::new("object")
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Server-Sent Events, one per change: `id: <seq>`, `event: upsert` or \
                              `delete`, `data: <Change JSON>`; a comment line every 15 s; when \
                              the session ends, `event: session_expired` or `session_revoked`, \
                              then the stream closes; when a newer stream of yours took its \
                              place (8 per user by default), `event: stream_replaced`, after \
                              which a client does not reconnect.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: MetaSchemaRef::Inline(Box::new(event)),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        ChangeView::register(registry);
    }
}

impl poem::IntoResponse for Events {
    fn into_response(self) -> poem::Response {
        // Framed here rather than by poem's `SSE`, which reads the stream back through an
        // `AsyncRead` with a 4 KiB buffer per stream (measured: 31 KB per open stream, 26 KB
        // of it the connection itself).
        let mut events = self.0.map(|item| event(item).to_string());
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let framed = futures_util::stream::poll_fn(move |cx| {
            if let Poll::Ready(next) = events.poll_next_unpin(cx) {
                return Poll::Ready(next.map(Ok::<_, std::io::Error>));
            }
            heartbeat
                .poll_tick(cx)
                .map(|_| Some(Ok(String::from(":\n\n"))))
        });
        poem::Response::builder()
            .content_type("text/event-stream")
            .header("Cache-Control", "no-cache")
            // Proxies that buffer answers (nginx) pass each event on at once.
            .header("X-Accel-Buffering", "no")
            .body(poem::Body::from_bytes_stream(framed))
    }
}

/// One stream item as an SSE event.
fn event(item: FeedEvent) -> Event {
    match item {
        FeedEvent::Change(change) => {
            let view = ChangeView::from(change);
            Event::message(view.json_text())
                .id(view.seq.to_string())
                .event_type(view.kind.as_str())
        }
        FeedEvent::SessionEnded(why) => {
            let (code, detail) = match why {
                SessionEnd::Expired => {
                    (Code::SessionExpired, "Your session expired; log in again.")
                }
                SessionEnd::Revoked => (
                    Code::SessionRevoked,
                    "This session was logged out; log in again.",
                ),
            };
            let code = code.entry().code;
            // No id: a reconnect goes on from the last change, not from this.
            Event::message(serde_json::json!({ "code": code, "detail": detail }).to_string())
                .event_type(code)
        }
        FeedEvent::Replaced => {
            let detail = "A newer event stream of yours took this one's place (there is a cap per user); do not reconnect this one.";
            Event::message(
                serde_json::json!({ "code": STREAM_REPLACED, "detail": detail }).to_string(),
            )
            .event_type(STREAM_REPLACED)
        }
    }
}

declare!(ChangesErrors: SESSION, &[Code::ValidationFailed, Code::InvalidCursor, Code::ChangesExpired]);
declare!(EventsErrors: SESSION, &[Code::ValidationFailed, Code::InvalidCursor, Code::ChangesExpired]);

fn example_since() -> Option<String> {
    Some("0".into())
}

fn example_event_id() -> Option<String> {
    Some("42".into())
}

fn example_ticket() -> Option<String> {
    Some("q3Ts0a9LzXc1vB2nM4kJ6hG8fD0sA7pQ5wE3rT1yU9i".into())
}

fn example_limit() -> Option<i64> {
    Some(100)
}

/// A position the client sent, named by where it came in.
fn position(raw: Option<&str>, name: &str) -> Result<Option<ChangeSeq>, ApiError> {
    raw.map(|raw| {
        ChangeSeq::parse(raw.trim())
            .map_err(|e| ApiError::new(Code::InvalidCursor, format!("{name} {e}.")))
    })
    .transpose()
}

/// The session of a stream: a Bearer header's, or else a ticket's (spent here). With both, the
/// header's: the ticket stays unspent for another connection.
async fn stream_session(
    access: StreamAuth,
    header_sent: bool,
    ticket: Option<&str>,
    auth: &Auth,
) -> Result<Session, ApiError> {
    match (access, ticket) {
        (StreamAuth::Bearer(session), _) => Ok(session),
        (StreamAuth::NoBearer, Some(ticket)) => Ok(auth.redeem_ticket(ticket).await?),
        // An `Authorization` header of another scheme.
        (StreamAuth::NoBearer, None) if header_sent => Err(ServiceError::SessionInvalid.into()),
        (StreamAuth::NoBearer, None) => Err(ApiError::new(
            Code::SessionMissing,
            "Send `Authorization: Bearer <access_token>`, or a `ticket` from POST /v1/tasks/events/ticket.",
        )),
    }
}

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
            feed.changes(&session.0, since, limit).await?.into(),
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
    ) -> Result<Events, Failure<EventsErrors>> {
        let header_sent = req
            .headers()
            .contains_key(poem::http::header::AUTHORIZATION);
        // Checked before a ticket is spent on a request that would be refused anyway.
        let from = match last_event_id.0.as_deref() {
            Some(id) => position(Some(id), "Last-Event-ID")?,
            None => position(since.0.as_deref(), "since")?,
        };
        let session = stream_session(access, header_sent, ticket.0.as_deref(), &auth).await?;
        let stream = feed.follow(session, from).await?;
        Ok(Events(stream.boxed()))
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeView, WriteJson};
    use crate::domain::{Change, ChangeSeq};
    use poem_openapi::types::ToJSON;

    #[test]
    fn a_delete_written_by_serde_is_what_the_document_describes() {
        let view = ChangeView::from(Change {
            seq: ChangeSeq::from_stored(9),
            id: 4,
            task: None,
        });
        assert_eq!(view.json_text(), view.to_json_string());
    }
}

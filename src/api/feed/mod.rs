//! The change feeds, read a page at a time or followed live as Server-Sent Events: one list's
//! (`/v1/tasks/changes`, [`tasks`]) and everything the caller sees (`/v1/changes`,
//! [`everything`]). What both share is here: positions, the stream's session, and its framing.

pub(super) mod everything;
pub(super) mod tasks;

use super::problem::{ApiError, Code};
use super::security::StreamAuth;
use crate::domain::{Change, ChangeSeq};
use crate::service::{Auth, FeedEvent, ServiceError, Session, SessionEnd};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use poem::web::sse::Event;
use poem_openapi::ApiResponse;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use std::marker::PhantomData;
use std::task::Poll;
use std::time::Duration;

/// A comment line this often keeps proxies from closing a quiet stream (and the server from
/// taking it for an idle connection).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// The closing event of a stream whose place a newer stream of the same user took.
const STREAM_REPLACED: &str = "stream_replaced";
/// Changes per page when `limit` is not given.
pub(super) const DEFAULT_LIMIT: u32 = 100;

/// What one feed's stream carries: its event kinds, and each change as an event.
pub(super) trait EventKinds: Send + 'static {
    /// The `event:` names of its changes.
    const KINDS: &'static [&'static str];
    /// The response's description in the document.
    const DESCRIPTION: &'static str;
    /// What the `event` field may be.
    const EVENT_DESCRIPTION: &'static str;
    /// What the `data` field holds.
    const DATA_DESCRIPTION: &'static str;
    /// Registers the schema of a change.
    fn register(registry: &mut Registry);
    /// A change as `(id, event name, data)`; `None` for one this feed does not show.
    fn event(change: Change) -> Option<(i64, &'static str, String)>;
}

/// The live stream of feed `K`: `text/event-stream`.
pub struct Events<K>(BoxStream<'static, FeedEvent>, PhantomData<K>);

impl<K> Events<K> {
    fn new(stream: BoxStream<'static, FeedEvent>) -> Self {
        Self(stream, PhantomData)
    }
}

impl<K: EventKinds> ApiResponse for Events<K> {
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
                        description: Some(K::EVENT_DESCRIPTION),
                        enum_items: K::KINDS
                            .iter()
                            .copied()
                            .chain(["session_expired", "session_revoked", STREAM_REPLACED])
                            .map(serde_json::Value::from)
                            .collect(),
                        ..MetaSchema::new("string")
                    })),
                ),
                ("data", text(K::DATA_DESCRIPTION)),
            ],
            ..MetaSchema::new("object")
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: K::DESCRIPTION,
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
        K::register(registry);
    }
}

impl<K: EventKinds> poem::IntoResponse for Events<K> {
    fn into_response(self) -> poem::Response {
        // Framed here rather than by poem's `SSE`, which reads the stream back through an
        // `AsyncRead` with a 4 KiB buffer per stream (measured: 31 KB per open stream, 26 KB
        // of it the connection itself).
        let mut events = self
            .0
            .filter_map(|item| std::future::ready(event::<K>(item).map(|e| e.to_string())));
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

/// One stream item as an SSE event of feed `K` (`None`: a change that feed does not show).
fn event<K: EventKinds>(item: FeedEvent) -> Option<Event> {
    Some(match item {
        FeedEvent::Change(change) => {
            let (seq, kind, data) = K::event(change)?;
            Event::message(data).id(seq.to_string()).event_type(kind)
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
    })
}

pub(super) fn example_since() -> Option<String> {
    Some("0".into())
}

pub(super) fn example_event_id() -> Option<String> {
    Some("42".into())
}

pub(super) fn example_ticket() -> Option<String> {
    Some("q3Ts0a9LzXc1vB2nM4kJ6hG8fD0sA7pQ5wE3rT1yU9i".into())
}

pub(super) fn example_limit() -> Option<i64> {
    Some(100)
}

/// A position the client sent, named by where it came in.
pub(super) fn position(raw: Option<&str>, name: &str) -> Result<Option<ChangeSeq>, ApiError> {
    raw.map(|raw| {
        ChangeSeq::parse(raw.trim())
            .map_err(|e| ApiError::new(Code::InvalidCursor, format!("{name} {e}.")))
    })
    .transpose()
}

/// What a request to open a stream sent.
pub(super) struct StreamRequest {
    pub access: StreamAuth,
    pub last_event_id: Option<String>,
    pub since: Option<String>,
    pub ticket: Option<String>,
}

impl StreamRequest {
    /// The stream's session and where it starts (after `Last-Event-ID`, else `since`; from
    /// now when neither).
    pub(super) async fn open(
        self,
        req: &poem::Request,
        auth: &Auth,
    ) -> Result<(Session, Option<ChangeSeq>), ApiError> {
        let header_sent = req
            .headers()
            .contains_key(poem::http::header::AUTHORIZATION);
        // Checked before a ticket is spent on a request that would be refused anyway.
        let from = match self.last_event_id.as_deref() {
            Some(id) => position(Some(id), "Last-Event-ID")?,
            None => position(self.since.as_deref(), "since")?,
        };
        let session =
            stream_session(self.access, header_sent, self.ticket.as_deref(), auth).await?;
        Ok((session, from))
    }
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

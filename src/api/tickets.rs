//! `POST /v1/tasks/events/ticket`: a one-use ticket that opens the event stream without an
//! `Authorization` header, for the browser's `EventSource`.

use super::ApiTags;
use super::problem::{Failure, SESSION, declare};
use super::security::SignedIn;
use crate::service::Auth;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

/// Where tickets are minted (its answers are never cached: see `super::handle`).
pub(super) const TICKET_PATH: &str = "/v1/tasks/events/ticket";

/// A ticket for one event stream.
#[derive(Debug, Object)]
#[oai(rename = "EventTicket")]
pub struct EventTicketView {
    /// Open the stream with `GET /v1/tasks/events?ticket=<ticket>`. Works once.
    ticket: String,
    /// Seconds it stays usable (60).
    expires_in: i64,
}

#[derive(ApiResponse)]
enum Minted {
    /// A fresh ticket; use it within `expires_in` seconds.
    #[oai(status = 201)]
    Created(
        Json<EventTicketView>,
        /// Always `no-store`: the ticket opens your stream.
        #[oai(header = "Cache-Control")]
        String,
    ),
}

declare!(TicketErrors: SESSION);

/// Event tickets.
pub struct TicketsApi;

#[OpenApi(prefix_path = "/v1/tasks", tag = "ApiTags::Tasks")]
impl TicketsApi {
    /// Get a ticket to follow your changes from a browser.
    ///
    /// A browser's `EventSource` cannot send `Authorization`; open it with
    /// `GET /v1/tasks/events?ticket=<ticket>` instead (add `&since=<last seq>` to resume). A
    /// ticket works once, within 60 s, and the stream it opens belongs to this sign-in: it ends
    /// with it (`session_revoked` or `session_expired`). Mint a new ticket for every connection,
    /// reconnects included. A sign-in holds at most 16 unused tickets: minting more drops its
    /// oldest.
    #[oai(
        path = "/events/ticket",
        method = "post",
        operation_id = "create_events_ticket"
    )]
    async fn ticket(
        &self,
        session: SignedIn,
        auth: poem::web::Data<&Auth>,
    ) -> Result<Minted, Failure<TicketErrors>> {
        let issued = auth.mint_ticket(&session.0).await?;
        Ok(Minted::Created(
            Json(EventTicketView {
                ticket: issued.ticket.encode(),
                expires_in: i64::try_from(issued.expires_in.as_secs()).unwrap_or(i64::MAX),
            }),
            "no-store".into(),
        ))
    }
}

//! Event tickets: a browser's EventSource, which cannot send `Authorization`, opens the event
//! stream with a one-use ticket minted by a signed-in client. A ticket works once, only for a
//! live sign-in, never with a header beside it, never appears in the logs, and works on every
//! process of a PostgreSQL cluster.

use crate::support::sse::Stream;
use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Method;
use std::time::Duration;

stories!(sqlite, postgres => [
    a_signed_in_client_mints_a_ticket_that_no_cache_keeps,
    a_ticket_opens_a_stream_once,
    unknown_and_malformed_tickets_are_refused_so_event_source_stops,
    beside_an_authorization_header_a_ticket_is_left_unspent,
    a_dead_bearer_is_refused_before_the_stream_parameters_are_read,
    a_stream_opened_by_ticket_resumes_with_since_or_last_event_id,
    a_stream_opened_by_ticket_ends_when_its_sign_in_logs_out,
    a_stream_opened_by_ticket_outlives_the_access_token_that_minted_it,
    a_ticket_of_a_sign_in_that_ended_opens_nothing,
    ending_a_sign_in_by_id_or_a_password_change_ends_its_tickets,
    of_two_uses_at_once_one_opens_the_stream,
    an_allowed_origin_mints_tickets_and_opens_streams_without_a_preflight,
    tickets_never_reach_the_logs,
]);

/// A PostgreSQL cluster story (`tickets::cluster::…`): two processes on one database.
mod cluster {
    #[tokio::test]
    async fn a_ticket_minted_on_one_process_opens_a_stream_on_another() {
        crate::support::Engine::Postgres
            .run(super::a_ticket_minted_on_one_process_opens_a_stream_on_another())
            .await;
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// Creates a task and asserts the stream delivers its upsert.
async fn assert_stream_hears(app: &TestApp, token: &str, stream: &mut Stream) {
    let id = app.create_task(token, "heard live").await["id"]
        .as_i64()
        .unwrap();
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "upsert");
    assert_eq!(event.json()["id"], id);
}

async fn a_signed_in_client_mints_a_ticket_that_no_cache_keeps() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let resp = app.events_ticket(Some(&user.token)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let minted = body(resp).await;
    let keys: Vec<&String> = minted.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ticket", "expires_in"], "{minted}");
    assert_eq!(minted["expires_in"], 60);
    let ticket = minted["ticket"].as_str().unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(ticket).expect("base64url");
    assert!(bytes.len() * 8 >= 128, "{} bits", bytes.len() * 8);
    assert_ne!(app.mint_ticket(&user.token).await, ticket, "each is new");

    let resp = app.events_ticket(None).await;
    assert_problem(resp, 401, "session_missing").await;
    let resp = app.events_ticket(Some("not-a-token")).await;
    assert_problem(resp, 401, "session_invalid").await;
}

async fn a_ticket_opens_a_stream_once() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ticket = app.mint_ticket(&user.token).await;
    let mut stream = Stream::new(app.events_by_ticket(&ticket, "").await);
    assert_stream_hears(&app, &user.token, &mut stream).await;

    let again = app.events_by_ticket(&ticket, "").await;
    assert_eq!(
        header(&again, "content-type"),
        "application/problem+json",
        "EventSource stops on a 401 that is not an event stream"
    );
    let problem = assert_problem(again, 401, "session_invalid").await;
    assert!(
        !problem.to_string().contains(&ticket),
        "the answer does not repeat the ticket"
    );
}

async fn unknown_and_malformed_tickets_are_refused_so_event_source_stops() {
    let app = spawn_app().await;
    let unknown = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let long = "a".repeat(5000);
    for ticket in [unknown.as_str(), "abc", "", "not a ticket at all", &long] {
        let resp = app.events_by_ticket(ticket, "").await;
        assert_problem(resp, 401, "session_invalid").await;
    }
    let resp = app.send(Method::GET, "/v1/tasks/events", None, None).await;
    let problem = assert_problem(resp, 401, "session_missing").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("ticket"),
        "{problem}"
    );
}

async fn beside_an_authorization_header_a_ticket_is_left_unspent() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ticket = app.mint_ticket(&user.token).await;
    // The header opens the stream; the ticket is not looked at.
    let mut both = Stream::new(
        app.events_request(&user.token, &format!("ticket={ticket}"), &[])
            .await,
    );
    assert_stream_hears(&app, &user.token, &mut both).await;
    // So it still opens a stream of its own, once.
    let mut stream = Stream::new(app.events_by_ticket(&ticket, "").await);
    assert_stream_hears(&app, &user.token, &mut stream).await;
    let again = app.events_by_ticket(&ticket, "").await;
    assert_problem(again, 401, "session_invalid").await;
    // A dead header beside a live ticket is refused as a dead header, and spends nothing.
    let spare = app.mint_ticket(&user.token).await;
    let dead = app
        .events_request("not-a-token", &format!("ticket={spare}"), &[])
        .await;
    assert_problem(dead, 401, "session_invalid").await;
    let mut kept = Stream::new(app.events_by_ticket(&spare, "").await);
    assert_stream_hears(&app, &user.token, &mut kept).await;
}

/// As on every signed-in route, a refused Bearer answers 401 whatever else is wrong with the
/// request (a bad `since` or `Last-Event-ID` here).
async fn a_dead_bearer_is_refused_before_the_stream_parameters_are_read() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    app.logged_out(&user.token).await;
    let bad_since = app.events_request(&user.token, "since=soon", &[]).await;
    assert_problem(bad_since, 401, "session_revoked").await;
    let bad_id = app
        .events_request(&user.token, "", &[("last-event-id", "x")])
        .await;
    assert_problem(bad_id, 401, "session_revoked").await;
    let unknown = app.events_request("not-a-token", "since=soon", &[]).await;
    assert_problem(unknown, 401, "session_invalid").await;
}

async fn a_stream_opened_by_ticket_resumes_with_since_or_last_event_id() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let page = app.changes_page(&user.token, "").await;
    let first_seq = page["changes"][0]["seq"].as_i64().unwrap();

    let ticket = app.mint_ticket(&user.token).await;
    let resp = app
        .events_by_ticket(&ticket, &format!("since={first_seq}"))
        .await;
    let mut by_since = Stream::new(resp);
    let got: Vec<i64> = by_since
        .events(2)
        .await
        .iter()
        .map(|e| e.json()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[1..]);

    let ticket = app.mint_ticket(&user.token).await;
    let mut url = reqwest::Url::parse(&format!("{}/v1/tasks/events", app.base)).unwrap();
    url.query_pairs_mut().append_pair("ticket", &ticket);
    let resp = app
        .http
        .get(url)
        .header("last-event-id", first_seq.to_string())
        .send()
        .await
        .unwrap();
    let mut by_header = Stream::new(resp);
    let event = by_header.next_event(WAIT).await;
    assert_eq!(event.json()["id"], ids[1]);
}

async fn a_stream_opened_by_ticket_ends_when_its_sign_in_logs_out() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ticket = app.mint_ticket(&user.token).await;
    let mut stream = Stream::new(app.events_by_ticket(&ticket, "").await);
    app.logged_out(&user.token).await;
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_revoked");
    assert_eq!(event.json()["code"], "session_revoked");
    stream.assert_ends().await;
}

async fn a_stream_opened_by_ticket_outlives_the_access_token_that_minted_it() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(2)).await;
    let user = app.signed_in_user().await;
    let ticket = app.mint_ticket(&user.token).await;
    let mut stream = Stream::new(app.events_by_ticket(&ticket, "").await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resp = app
        .refresh(user.refresh.as_deref().expect("refresh tokens are on"))
        .await;
    assert_eq!(resp.status(), 200);
    let refreshed = body(resp).await;
    let token = refreshed["access_token"].as_str().unwrap();
    // The stream belongs to the sign-in, not to the access token that minted its ticket.
    assert_stream_hears(&app, token, &mut stream).await;
}

async fn a_ticket_of_a_sign_in_that_ended_opens_nothing() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let laptop = app.sign_in_again(&user.email).await;
    let ticket = app.mint_ticket(&user.token).await;
    let other = app.mint_ticket(&laptop.token).await;
    app.logged_out(&user.token).await;
    let resp = app.events_by_ticket(&ticket, "").await;
    assert_problem(resp, 401, "session_revoked").await;
    // Another sign-in's ticket is untouched.
    let mut stream = Stream::new(app.events_by_ticket(&other, "").await);
    assert_stream_hears(&app, &laptop.token, &mut stream).await;

    // Deleting the account takes its sign-ins' tickets with it.
    let ticket = app.mint_ticket(&laptop.token).await;
    let resp = app
        .send(
            Method::DELETE,
            "/v1/auth/account",
            Some(serde_json::json!({"password": PASSWORD})),
            Some(&laptop.token),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let resp = app.events_by_ticket(&ticket, "").await;
    assert_problem(resp, 401, "session_invalid").await;
}

async fn ending_a_sign_in_by_id_or_a_password_change_ends_its_tickets() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let phone = app.sign_in_again(&user.email).await;
    let ticket = app.mint_ticket(&phone.token).await;
    let resp = app.get("/v1/auth/sessions", &user.token).await;
    let items = body(resp).await["items"].as_array().unwrap().clone();
    let phone_id = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .send(
            Method::DELETE,
            &format!("/v1/auth/sessions/{phone_id}"),
            None,
            Some(&user.token),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_problem(
        app.events_by_ticket(&ticket, "").await,
        401,
        "session_revoked",
    )
    .await;

    let tablet = app.sign_in_again(&user.email).await;
    let ticket = app.mint_ticket(&tablet.token).await;
    let body = serde_json::json!({"current_password": PASSWORD, "new_password": "another long passphrase"});
    let resp = app
        .send(
            Method::POST,
            "/v1/auth/password",
            Some(body),
            Some(&user.token),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_problem(
        app.events_by_ticket(&ticket, "").await,
        401,
        "session_revoked",
    )
    .await;
}

async fn of_two_uses_at_once_one_opens_the_stream() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    for _ in 0..3 {
        let ticket = app.mint_ticket(&user.token).await;
        let (first, second) = tokio::join!(
            app.events_by_ticket(&ticket, ""),
            app.events_by_ticket(&ticket, "")
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 401]);
    }
}

const APP_ORIGIN: &str = "http://127.0.0.1:5173";

async fn an_allowed_origin_mints_tickets_and_opens_streams_without_a_preflight() {
    let app = spawn_app_with(|c| c.cors_origins = vec![APP_ORIGIN.into()]).await;
    let user = app.signed_in_user().await;
    // The mint sends `Authorization`: the browser asks first.
    let preflight = app
        .http
        .request(
            Method::OPTIONS,
            format!("{}/v1/tasks/events/ticket", app.base),
        )
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        APP_ORIGIN
    );
    assert!(header(&preflight, "access-control-allow-headers").contains("authorization"));
    let minted = app
        .http
        .post(format!("{}/v1/tasks/events/ticket", app.base))
        .header("origin", APP_ORIGIN)
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), 201);
    assert_eq!(header(&minted, "access-control-allow-origin"), APP_ORIGIN);
    let ticket = body(minted).await["ticket"].as_str().unwrap().to_owned();

    // EventSource's GET carries no header a browser would ask about: a simple request, whose
    // answer (the stream, or the 401 that stops it) must carry the origin.
    let mut url = reqwest::Url::parse(&format!("{}/v1/tasks/events", app.base)).unwrap();
    url.query_pairs_mut().append_pair("ticket", &ticket);
    let open = |url: reqwest::Url| {
        app.http
            .get(url)
            .header("origin", APP_ORIGIN)
            .header("accept", "text/event-stream")
            .send()
    };
    let resp = open(url.clone()).await.unwrap();
    assert_eq!(header(&resp, "access-control-allow-origin"), APP_ORIGIN);
    let mut stream = Stream::new(resp);
    assert_stream_hears(&app, &user.token, &mut stream).await;
    let spent = open(url).await.unwrap();
    assert_eq!(header(&spent, "access-control-allow-origin"), APP_ORIGIN);
    assert_problem(spent, 401, "session_invalid").await;
}

const SECRET: &str = "tickets story secret, 32 characters or more";

async fn tickets_never_reach_the_logs() {
    let app = spawn_app_with(|c| c.secret = Some(SECRET.into())).await;
    let user = app.signed_in_user().await;
    let ticket = app.mint_ticket(&user.token).await;
    let mut stream = Stream::new(app.events_by_ticket(&ticket, "since=0").await);
    assert_stream_hears(&app, &user.token, &mut stream).await;
    let spent = app.events_by_ticket(&ticket, "").await;
    assert_problem(spent, 401, "session_invalid").await;
    drop(stream);
    // A token in the URL is not taken, and not logged either.
    let resp = app
        .send(
            Method::GET,
            &format!("/v1/tasks/events?access_token={}", user.token),
            None,
            None,
        )
        .await;
    assert_problem(resp, 401, "session_missing").await;

    // What the database holds for it: the keyed hash (as listo's `Keys` makes it).
    let key = blake3::derive_key("listo 2026-12 event ticket hash", SECRET.as_bytes());
    let bytes = URL_SAFE_NO_PAD.decode(&ticket).unwrap();
    let hash = blake3::keyed_hash(&key, &bytes);
    let logs = captured_logs();
    assert!(
        logs.contains("/v1/tasks/events"),
        "the requests were logged"
    );
    for (what, text) in [
        ("the ticket", ticket.clone()),
        ("its hash in hex", hash.to_hex().to_string()),
        (
            "its hash in base64url",
            URL_SAFE_NO_PAD.encode(hash.as_bytes()),
        ),
        ("its hash in base64", STANDARD.encode(hash.as_bytes())),
        ("the access token sent in the URL", user.token.clone()),
    ] {
        assert!(
            line_logging(&logs, &text).is_none() && !logs.contains(&text),
            "{what} was logged: {:?}",
            line_logging(&logs, &text)
        );
    }
    assert!(
        !logs.contains("ticket=") && !logs.contains("access_token="),
        "no query string is logged"
    );
}

async fn a_ticket_minted_on_one_process_opens_a_stream_on_another() {
    use crate::support::process::Listo;
    let smtp = SmtpCatcher::start().await;
    let database = crate::support::postgres::fresh_database();
    let (a, b) = tokio::join!(
        Listo::start(&database, &smtp, &[]),
        Listo::start(&database, &smtp, &[])
    );
    let user = a.signed_in_user().await;
    let ticket = a.mint_ticket(&user.token).await;
    let mut on_b = Stream::new(b.events_by_ticket(&ticket, "").await);
    assert_stream_hears(&a, &user.token, &mut on_b).await;
    // Spent on b: refused on a too.
    assert_problem(
        a.events_by_ticket(&ticket, "").await,
        401,
        "session_invalid",
    )
    .await;

    // A logout on a ends the stream that b opened by ticket.
    a.logged_out(&user.token).await;
    let event = on_b.next_event(WAIT).await;
    assert_eq!(event.event, "session_revoked");
}

//! Live events: an SSE client receives each change in order, resumes after the last event it
//! got with nothing missed, and is told when its session ends.

use crate::support::sse::{Block, SseEvent, Stream};
use crate::support::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

stories!(sqlite, postgres => [
    a_stream_receives_create_edit_delete_and_move_in_order,
    a_stream_resumed_with_last_event_id_misses_nothing_and_repeats_nothing,
    a_stream_ends_with_session_expired_when_its_session_expires,
    a_stream_ends_with_session_revoked_when_its_session_is_logged_out,
    a_stream_of_another_device_lives_on_when_one_device_logs_out,
    a_quiet_stream_gets_a_comment_heartbeat_every_15_seconds,
    a_bad_or_expired_resume_point_is_refused_before_the_stream_opens,
    every_stream_of_one_user_gets_every_event_whatever_its_position,
]);

const WAIT: Duration = Duration::from_secs(10);

/// `(event, id of the task)` of each event.
fn summary(events: &[SseEvent]) -> Vec<(String, i64)> {
    events
        .iter()
        .map(|e| (e.event.clone(), e.json()["id"].as_i64().unwrap()))
        .collect()
}

/// Each event's id is its change's `seq`, and they rise.
fn assert_ids_rise(events: &[SseEvent]) {
    let mut last = 0;
    for e in events {
        let id: i64 = e.id.as_deref().expect("an id").parse().unwrap();
        assert_eq!(e.json()["seq"], id, "the id is the seq");
        assert!(id > last, "ids rise: {events:?}");
        last = id;
    }
}

async fn a_stream_receives_create_edit_delete_and_move_in_order() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let other = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;

    let first = app.create_task(&user.token, "first").await["id"]
        .as_i64()
        .unwrap();
    let second = app.create_task(&user.token, "second").await["id"]
        .as_i64()
        .unwrap();
    // Another user's change never reaches this stream.
    app.create_task(&other.token, "not yours").await;
    let edited = app
        .send(
            Method::PATCH,
            &format!("/v1/tasks/{first}"),
            Some(json!({"task": "first, edited"})),
            Some(&user.token),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let moved = app
        .move_task(&user.token, second, json!({"to": "start"}))
        .await;
    assert_eq!(moved.status(), 200);
    let deleted = app.delete_task(&user.token, first).await;
    assert_eq!(deleted.status(), 204);

    let events = stream.events(5).await;
    assert_eq!(
        summary(&events),
        vec![
            ("upsert".into(), first),
            ("upsert".into(), second),
            ("upsert".into(), first),
            ("upsert".into(), second),
            ("delete".into(), first),
        ]
    );
    assert_ids_rise(&events);
    assert_eq!(events[0].json()["kind"], "upsert");
    assert_eq!(events[2].json()["task"]["task"], "first, edited");
    assert_eq!(events[2].json()["task"]["version"], 2);
    assert_eq!(events[3].json()["task"]["version"], 2, "the move");
    assert_eq!(
        events[4].json(),
        json!({"seq": events[4].json()["seq"], "kind": "delete", "id": first})
    );
    assert!(
        stream.quiet_for(Duration::from_millis(300)).await,
        "nothing more"
    );
}

async fn a_stream_resumed_with_last_event_id_misses_nothing_and_repeats_nothing() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;
    let ids = app.create_tasks(&user.token, 2).await;
    let got = stream.events(1).await;
    let last = got[0].id.clone().unwrap();
    drop(stream);

    // While the client is away: the second event it never read, and two more.
    let more = app.create_tasks(&user.token, 2).await;
    let mut resumed = app.follow(&user.token, Some(&last)).await;
    let events = resumed.events(3).await;
    assert_eq!(
        summary(&events),
        vec![
            ("upsert".into(), ids[1]),
            ("upsert".into(), more[0]),
            ("upsert".into(), more[1]),
        ]
    );
    assert_ids_rise(&events);
    // And on it goes, live.
    let later = app.create_task(&user.token, "later").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        summary(&resumed.events(1).await),
        vec![("upsert".into(), later)]
    );

    // `since` resumes the same way for a first connection.
    let resp = app
        .events_request(&user.token, &format!("since={last}"), &[])
        .await;
    let mut by_query = Stream::new(resp);
    assert_eq!(by_query.events(4).await[0].json()["id"], ids[1]);
}

async fn a_stream_ends_with_session_expired_when_its_session_expires() {
    // Without refresh tokens a sign-in is its access token (with them: tests/api/refresh.rs).
    let app = spawn_app_with(|c| {
        c.session_ttl = Duration::from_secs(2);
        c.refresh_ttl = None;
    })
    .await;
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_expired");
    assert_eq!(event.id, None, "a reconnect goes on from the last change");
    assert_eq!(event.json()["code"], "session_expired");
    stream.assert_ends().await;
}

async fn a_stream_ends_with_session_revoked_when_its_session_is_logged_out() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;
    app.logged_out(&user.token).await;
    let event = stream.next_event(WAIT).await;
    assert_eq!(event.event, "session_revoked");
    assert_eq!(event.json()["code"], "session_revoked");
    stream.assert_ends().await;
}

async fn a_stream_of_another_device_lives_on_when_one_device_logs_out() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let (challenge, code) = app.login_and_read_code(&user.email, PASSWORD).await;
    let laptop = app.verified_token(&challenge, &code).await;
    let mut stream = app.follow(&laptop, None).await;
    app.logged_out(&user.token).await;
    let id = app.create_task(&laptop, "still here").await["id"]
        .as_i64()
        .unwrap();
    let event = stream.next_event(WAIT).await;
    assert_eq!(
        (event.event.as_str(), event.json()["id"].as_i64()),
        ("upsert", Some(id))
    );
}

async fn a_quiet_stream_gets_a_comment_heartbeat_every_15_seconds() {
    let app = spawn_app_with(|c| c.session_ttl = Duration::from_secs(120)).await;
    let user = app.signed_in_user().await;
    let mut stream = app.follow(&user.token, None).await;
    let started = std::time::Instant::now();
    let block = stream.next_block(Duration::from_secs(20)).await;
    assert_eq!(block, Some(Block::Comment));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(14),
        "heartbeat after {waited:?}"
    );
}

async fn a_bad_or_expired_resume_point_is_refused_before_the_stream_opens() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let resp = app
        .events_request(&user.token, "", &[("last-event-id", "not-a-number")])
        .await;
    assert_invalid_field(resp, "Last-Event-ID").await;
    let resp = app
        .events_request(&user.token, "", &[("last-event-id", "1000")])
        .await;
    assert_problem(resp, 422, "invalid_cursor").await;
    let resp = app.events_request(&user.token, "since=1000", &[]).await;
    assert_problem(resp, 422, "invalid_cursor").await;

    let resp = app.send(Method::GET, "/v1/tasks/events", None, None).await;
    assert_problem(resp, 401, "session_missing").await;
}

async fn every_stream_of_one_user_gets_every_event_whatever_its_position() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let early = app.create_task(&user.token, "before the streams").await["id"]
        .as_i64()
        .unwrap();
    let mut live: Vec<Stream> = Vec::new();
    for _ in 0..3 {
        live.push(app.follow(&user.token, None).await);
    }
    // One more starts from the beginning: it reads from another place than the others.
    let resp = app.events_request(&user.token, "since=0", &[]).await;
    let mut behind = Stream::new(resp);

    let ids = app.create_tasks(&user.token, 3).await;
    let wanted: Vec<(String, i64)> = ids.iter().map(|id| ("upsert".into(), *id)).collect();
    for stream in &mut live {
        let events = stream.events(3).await;
        assert_eq!(summary(&events), wanted);
        assert_ids_rise(&events);
    }
    let mut all = vec![("upsert".to_owned(), early)];
    all.extend(wanted);
    assert_eq!(summary(&behind.events(4).await), all);
}

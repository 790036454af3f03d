//! Two real `listo` processes on one PostgreSQL database act as one service: a logout on one is
//! refused on the other at once, failures counted on either meet one limit, and clients sorting
//! and moving one list through both leave every task exactly once, in one order; a live stream
//! on one hears the changes (of tasks and of lists) and the logout made on the other.

use crate::support::process::Listo;
use crate::support::*;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use reqwest::Response;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

stories!(postgres => [
    a_logout_on_either_process_is_refused_on_the_other_at_once,
    failed_logins_split_across_two_processes_meet_the_limit_as_if_one,
    wrong_codes_split_across_two_processes_spend_one_account_budget,
    eight_clients_sorting_and_moving_through_both_processes_leave_every_task_once_in_one_order,
    a_stream_on_one_process_hears_changes_and_the_logout_made_on_the_other,
    the_stream_of_everything_on_one_process_hears_lists_changed_on_the_other,
    refreshes_through_both_processes_are_one_chain_and_reuse_ends_it_on_both,
]);

/// Two listo processes on one fresh database, mailing to one catcher.
struct Cluster {
    a: Listo,
    b: Listo,
}

impl Cluster {
    /// Starts both, each with `vars` on top of the defaults of [`Listo::start`].
    async fn start(vars: &[(&str, &str)]) -> Cluster {
        let smtp = SmtpCatcher::start().await;
        let database = crate::support::postgres::fresh_database();
        // Together: they take turns migrating the fresh database.
        let (a, b) = tokio::join!(
            Listo::start(&database, &smtp, vars),
            Listo::start(&database, &smtp, vars)
        );
        Cluster { a, b }
    }
}

/// Registers `email` through `register`, logs in through `login` and verifies the emailed code
/// through `verify`; returns the bearer token.
async fn sign_in_across(
    email: &str,
    register: &TestApp,
    login: &TestApp,
    verify: &TestApp,
) -> String {
    assert_eq!(register.register(email, PASSWORD).await.status(), 201);
    let (challenge, code) = login.login_and_read_code(email, PASSWORD).await;
    verify.verified_token(&challenge, &code).await
}

/// A 429 `rate_limited` whose `Retry-After` is whole seconds within `max_secs`.
async fn assert_limited(resp: Response, max_secs: u64) {
    let secs: u64 = header(&resp, "retry-after").parse().expect("whole seconds");
    assert!((1..=max_secs).contains(&secs), "Retry-After: {secs}");
    assert_problem(resp, 429, "rate_limited").await;
}

// ---------------------------------------------------------------- sessions

async fn a_logout_on_either_process_is_refused_on_the_other_at_once() {
    let Cluster { a, b } = Cluster::start(&[]).await;

    for (name, out, other) in [("a-then-b", &a, &b), ("b-then-a", &b, &a)] {
        let email = format!("logout-{name}@example.com");
        let token = sign_in_across(&email, out, other, out).await;
        assert_eq!(
            other.get("/v1/auth/session", &token).await.status(),
            200,
            "{name}: the session is good on the other process"
        );

        let resp = out
            .send(reqwest::Method::POST, "/v1/auth/logout", None, Some(&token))
            .await;
        assert_eq!(resp.status(), 204, "{name}: logout");

        // No waiting: the very next request on the other process is refused.
        let resp = other.get("/v1/auth/session", &token).await;
        assert_problem(resp, 401, "session_revoked").await;
        let resp = out.get("/v1/auth/session", &token).await;
        assert_problem(resp, 401, "session_revoked").await;
    }
}

// ---------------------------------------------------------------- limits

async fn failed_logins_split_across_two_processes_meet_the_limit_as_if_one() {
    let Cluster { a, b } = Cluster::start(&[("LISTO_LOGIN_LIMIT_PER_EMAIL", "5")]).await;
    assert_eq!(
        a.register("victim@example.com", PASSWORD).await.status(),
        201
    );
    assert_eq!(
        b.register("bystander@example.com", PASSWORD).await.status(),
        201
    );

    // Five failures a minute for one email from one address, counted wherever they happen.
    for (attempt, app) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        let resp = app.login("victim@example.com", "guess guess").await;
        assert_eq!(resp.status(), 401, "failed login {} of 5", attempt + 1);
        assert_problem(resp, 401, "invalid_credentials").await;
    }
    assert_limited(b.login("victim@example.com", "guess again").await, 60).await;
    // The limit is checked before the password: the right one is refused too, on either.
    assert_limited(a.login("victim@example.com", PASSWORD).await, 60).await;
    assert_limited(b.login("victim@example.com", PASSWORD).await, 60).await;

    // Only that email is limited.
    assert_eq!(
        b.login("bystander@example.com", PASSWORD).await.status(),
        202
    );
}

async fn wrong_codes_split_across_two_processes_spend_one_account_budget() {
    let Cluster { a, b } = Cluster::start(&[("LISTO_CODE_LIMIT_PER_HOUR", "3")]).await;
    let email = "guessed@example.com";
    sign_in_across(email, &a, &b, &a).await;

    // A challenge from A, guessed at on A, B, A: three wrong codes, below the five a challenge
    // allows, but the account's whole budget.
    let (challenge, code) = a.login_and_read_code(email, PASSWORD).await;
    for app in [&a, &b, &a] {
        assert_problem(
            app.verify(&challenge, &other_code(&code)).await,
            401,
            "invalid_code",
        )
        .await;
    }
    // The fourth guess, on B, meets the budget even with the right code...
    assert_problem(b.verify(&challenge, &code).await, 429, "too_many_attempts").await;
    // ...and login for the account answers 429 on both, sending no new code.
    let mails = a.smtp.messages().len();
    assert_limited(b.login(email, PASSWORD).await, 3600).await;
    assert_limited(a.login(email, PASSWORD).await, 3600).await;
    assert_eq!(a.smtp.messages().len(), mails, "no code was emailed");
}

// ---------------------------------------------------------------- one list, many clients

const TASKS: usize = 40;
const CLIENTS: u64 = 8;
const OPERATIONS: usize = 25;
const PER_PAGE: u32 = 7;

/// What one client's operations got.
#[derive(Debug, Default)]
struct Tally {
    moves: usize,
    sorted: usize,
    conflicts: usize,
}

/// One client: `OPERATIONS` random moves and page sorts of the user's list, alternating between
/// the two processes; a sort reads the page through one and posts it through the other.
async fn shuffle_the_list(
    apps: Arc<[Listo; 2]>,
    token: String,
    ids: Arc<Vec<i64>>,
    client: u64,
    seed: u64,
) -> Tally {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(client));
    let pages = TASKS.div_ceil(PER_PAGE as usize) as u32;
    let mut tally = Tally::default();
    for op in 0..OPERATIONS {
        let here = &apps[(client as usize + op) % 2];
        let there = &apps[(client as usize + op + 1) % 2];
        if rng.random_bool(0.5) {
            let id = *ids.choose(&mut rng).unwrap();
            let anchor = *ids
                .iter()
                .filter(|&&x| x != id)
                .collect::<Vec<_>>()
                .choose(&mut rng)
                .unwrap();
            let target = match rng.random_range(0..4) {
                0 => json!({"to": "start"}),
                1 => json!({"to": "end"}),
                2 => json!({ "before_id": anchor }),
                _ => json!({ "after_id": anchor }),
            };
            let resp = here.move_task(&token, id, target.clone()).await;
            if resp.status() != 200 {
                panic!(
                    "client {client}: move {id} {target}: {} {}",
                    resp.status(),
                    resp.text().await.unwrap()
                );
            }
            tally.moves += 1;
        } else {
            let page = rng.random_range(1..=pages);
            let mut wanted = here.list_page(&token, page, PER_PAGE).await;
            wanted.shuffle(&mut rng);
            let resp = there.sort_page(&token, page, PER_PAGE, &wanted).await;
            match resp.status().as_u16() {
                200 => {
                    // Sorted and read back under one lock: the answer is the posted order.
                    assert_eq!(
                        ids_of(&body(resp).await),
                        wanted,
                        "client {client}: page {page}"
                    );
                    tally.sorted += 1;
                }
                409 => {
                    // Refused only when the page really holds other tasks now.
                    let problem = assert_problem(resp, 409, "order_conflict").await;
                    let now: BTreeSet<i64> = serde_json::from_value(problem["task_ids"].clone())
                        .expect("task_ids lists ids");
                    let posted: BTreeSet<i64> = wanted.iter().copied().collect();
                    assert_ne!(
                        now, posted,
                        "client {client}: page {page} was refused unchanged"
                    );
                    tally.conflicts += 1;
                }
                _ => panic!(
                    "client {client}: sort page {page} of {wanted:?}: {} {}",
                    resp.status(),
                    resp.text().await.unwrap()
                ),
            }
        }
    }
    tally
}

/// The whole list from one page of 100, asserting `total_items`.
async fn whole_list(app: &TestApp, token: &str) -> Vec<i64> {
    let envelope: Value = app.list(token, 1, 100).await;
    assert_eq!(envelope["total_items"], TASKS, "{}", app.base);
    ids_of(&envelope)
}

/// The list read page by page (of `PER_PAGE`) until a page comes back empty.
async fn walk_pages(app: &TestApp, token: &str) -> Vec<i64> {
    let mut all = Vec::new();
    for page in 1.. {
        let ids = app.list_page(token, page, PER_PAGE).await;
        if ids.is_empty() {
            return all;
        }
        all.extend(ids);
    }
    unreachable!()
}

async fn eight_clients_sorting_and_moving_through_both_processes_leave_every_task_once_in_one_order()
 {
    let seed: u64 = match std::env::var("LISTO_TEST_SEED") {
        Ok(seed) => seed.parse().expect("LISTO_TEST_SEED is a number"),
        Err(_) => rand::random(),
    };
    println!("seed {seed} (LISTO_TEST_SEED={seed} makes the same choices again)");
    let Cluster { a, b } = Cluster::start(&[]).await;
    let token = sign_in_across("busy@example.com", &a, &b, &a).await;

    let mut created = Vec::with_capacity(TASKS);
    for i in 1..=TASKS {
        let app = if i % 2 == 1 { &a } else { &b };
        created.push(
            app.create_task(&token, &format!("task {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(
        whole_list(&b, &token).await,
        created,
        "new tasks join the end"
    );

    let apps = Arc::new([a, b]);
    let ids = Arc::new(created.clone());
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let work = shuffle_the_list(apps.clone(), token.clone(), ids.clone(), client, seed);
        clients.spawn(work);
    }
    let mut total = Tally::default();
    while let Some(tally) = clients.join_next().await {
        let tally = tally.expect("a client finished without failing");
        total.moves += tally.moves;
        total.sorted += tally.sorted;
        total.conflicts += tally.conflicts;
    }
    println!(
        "{} moves, {} sorts answered 200, {} answered 409 order_conflict",
        total.moves, total.sorted, total.conflicts
    );
    assert!(total.sorted > 0, "some sorts went through: {total:?}");

    let [a, b] = &*apps;
    let via_a = whole_list(a, &token).await;
    let via_b = whole_list(b, &token).await;
    assert_eq!(via_a, via_b, "both processes show one order");
    let mut sorted = via_a.clone();
    sorted.sort_unstable();
    let mut expected = created.clone();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "every task exactly once: {via_a:?}");
    assert_eq!(
        walk_pages(a, &token).await,
        via_a,
        "pages of {PER_PAGE} via A"
    );
    assert_eq!(
        walk_pages(b, &token).await,
        via_a,
        "pages of {PER_PAGE} via B"
    );
}

// ---------------------------------------------------------------- live events

async fn a_stream_on_one_process_hears_changes_and_the_logout_made_on_the_other() {
    let Cluster { a, b } = Cluster::start(&[]).await;
    let token = sign_in_across("streams@example.com", &a, &b, &a).await;
    let mut on_b = b.follow(&token, None).await;

    let mut made = Vec::new();
    for (i, process) in [&a, &b, &a].into_iter().enumerate() {
        made.push(
            process.create_task(&token, &format!("task {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let moved = a.move_task(&token, made[2], json!({"to": "start"})).await;
    assert_eq!(moved.status(), 200);
    let deleted = a.delete_task(&token, made[0]).await;
    assert_eq!(deleted.status(), 204);

    let events = on_b.events(5).await;
    let seen: Vec<(String, i64)> = events
        .iter()
        .map(|e| (e.event.clone(), e.json()["id"].as_i64().unwrap()))
        .collect();
    let upsert = |id| ("upsert".to_owned(), id);
    assert_eq!(
        seen,
        vec![
            upsert(made[0]),
            upsert(made[1]),
            upsert(made[2]),
            upsert(made[2]),
            ("delete".into(), made[0])
        ]
    );

    a.logged_out(&token).await;
    let event = on_b.next_event(Duration::from_secs(10)).await;
    assert_eq!(event.event, "session_revoked");
    on_b.assert_ends().await;
}

async fn the_stream_of_everything_on_one_process_hears_lists_changed_on_the_other() {
    let Cluster { a, b } = Cluster::start(&[]).await;
    let token = sign_in_across("lists@example.com", &a, &b, &a).await;
    let default = b.default_list(&token).await;
    let mut on_b = b.follow_all(&token, None).await;

    let list = a.create_list(&token, "Shared later").await["id"]
        .as_i64()
        .unwrap();
    let task = a.create_task_in(&token, list, "made on a").await["id"]
        .as_i64()
        .unwrap();
    let resp = a
        .patch_task(&token, task, json!({"list_id": default}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(a.delete_list(&token, list, None).await.status(), 204);

    let seen: Vec<(String, i64)> = on_b
        .events(4)
        .await
        .iter()
        .map(|e| (e.event.clone(), e.json()["id"].as_i64().unwrap()))
        .collect();
    let pair = |kind: &str, id| (kind.to_owned(), id);
    assert_eq!(
        seen,
        vec![
            pair("list_upsert", list),
            pair("upsert", task),
            pair("upsert", task),
            pair("list_removed", list)
        ]
    );
}

// ---------------------------------------------------------------- refresh tokens

/// The access and refresh tokens of a 200 from verify or refresh.
async fn refreshed(resp: Response) -> (String, String) {
    assert_eq!(resp.status(), 200, "a new pair");
    let issued = body(resp).await;
    let field = |name: &str| issued[name].as_str().unwrap().to_owned();
    (field("access_token"), field("refresh_token"))
}

async fn refreshes_through_both_processes_are_one_chain_and_reuse_ends_it_on_both() {
    let Cluster { a, b } = Cluster::start(&[]).await;
    let user = a.sign_in_as("chain@example.com").await;
    let r0 = user.refresh.unwrap();
    let (a1, r1) = refreshed(b.refresh(&r0).await).await;
    assert_eq!(a.get("/v1/auth/session", &a1).await.status(), 200);
    let (a2, r2) = refreshed(a.refresh(&r1).await).await;
    assert_problem(b.get("/v1/auth/session", &a1).await, 401, "session_invalid").await;

    // The same token through both at once: one rotates, the other answers that same pair.
    let (one, two) = tokio::join!(a.refresh(&r2), b.refresh(&r2));
    let (one, two) = (refreshed(one).await, refreshed(two).await);
    assert_eq!(one, two);
    let (a3, r3) = one;
    assert_eq!(b.get("/v1/auth/session", &a3).await.status(), 200);

    // r1 (spent at the second refresh) past its grace, on one process: the sign-in ends on both.
    tokio::time::sleep(Duration::from_millis(10_600)).await;
    assert_problem(a.refresh(&r1).await, 401, "refresh_reused").await;
    assert_problem(b.get("/v1/auth/session", &a3).await, 401, "session_revoked").await;
    assert_problem(b.refresh(&r3).await, 401, "refresh_invalid").await;
    let _ = a2;
}

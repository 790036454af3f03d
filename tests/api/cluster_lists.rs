//! Lists on two real `listo` processes sharing one PostgreSQL database: eight clients moving
//! tasks between two lists, placing and sorting them, and creating more, through both processes
//! at once, leave every task in exactly one list, in one order each, with no deadlock and no 500;
//! and the feed of everything, applied, is what GET shows.

use crate::support::process::Listo;
use crate::support::*;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

stories!(postgres => [
    eight_clients_moving_tasks_between_two_lists_through_two_processes_lose_and_double_nothing,
]);

const CLIENTS: u64 = 8;
const OPERATIONS: usize = 30;
const TASKS_EACH: usize = 15;

/// What the clients did.
#[derive(Debug, Default)]
struct Tally {
    across: usize,
    placed: usize,
    sorted: usize,
    refused: usize,
    created: usize,
}

/// One client's random walk; each request goes through one process or the other.
async fn wander(
    apps: Arc<[Listo; 2]>,
    token: String,
    lists: [i64; 2],
    client: u64,
    seed: u64,
) -> (Tally, Vec<i64>) {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(client));
    let mut tally = Tally::default();
    let mut made = Vec::new();
    for op in 0..OPERATIONS {
        let here = &apps[(client as usize + op) % 2];
        let there = &apps[(client as usize + op + 1) % 2];
        let list = *lists.choose(&mut rng).unwrap();
        let other = if list == lists[0] { lists[1] } else { lists[0] };
        let page = here.page_in(&token, list, 1, 10).await;
        let what = rng.random_range(0..10);
        let resp = match (what, page.choose(&mut rng)) {
            (0, _) | (_, None) => {
                let resp = here
                    .post_task_in(&token, list, &format!("c{client} op{op}"))
                    .await;
                if resp.status() == 201 {
                    made.push(body(resp).await["id"].as_i64().unwrap());
                    tally.created += 1;
                    continue;
                }
                resp
            }
            (1..=4, Some(&id)) => {
                let resp = there
                    .patch_task(&token, id, json!({"list_id": other}))
                    .await;
                if resp.status() == 200 {
                    tally.across += 1;
                    continue;
                }
                resp
            }
            (5..=6, Some(&id)) => {
                let to = if rng.random_bool(0.5) { "start" } else { "end" };
                let resp = there.move_task(&token, id, json!({ "to": to })).await;
                if resp.status() == 200 {
                    tally.placed += 1;
                    continue;
                }
                resp
            }
            (_, Some(_)) => {
                let mut wanted = page.clone();
                wanted.shuffle(&mut rng);
                let resp = there.sort_in(&token, list, 1, 10, &wanted).await;
                if resp.status() == 200 {
                    assert_eq!(ids_of(&body(resp).await), wanted, "client {client}");
                    tally.sorted += 1;
                    continue;
                }
                resp
            }
        };
        // What another client's change may fairly cause: the page changed (409), a posted task
        // left the list (422 invalid_order). Nothing else: no 500, no 503 from a deadlock.
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(
            (status == 409 && text.contains("order_conflict"))
                || (status == 422 && text.contains("invalid_order")),
            "client {client} op {op}: {status} {text}"
        );
        tally.refused += 1;
    }
    (tally, made)
}

async fn eight_clients_moving_tasks_between_two_lists_through_two_processes_lose_and_double_nothing()
 {
    let seed: u64 = match std::env::var("LISTO_TEST_SEED") {
        Ok(seed) => seed.parse().expect("LISTO_TEST_SEED is a number"),
        Err(_) => rand::random(),
    };
    println!("seed {seed} (LISTO_TEST_SEED={seed} makes the same choices again)");
    let smtp = SmtpCatcher::start().await;
    let database = crate::support::postgres::fresh_database();
    let (a, b) = tokio::join!(
        Listo::start(&database, &smtp, &[("LISTO_SESSION_TTL", "600")]),
        Listo::start(&database, &smtp, &[("LISTO_SESSION_TTL", "600")])
    );
    assert_eq!(a.register("two@example.com", PASSWORD).await.status(), 201);
    let (challenge, code) = b.login_and_read_code("two@example.com", PASSWORD).await;
    let token = a.verified_token(&challenge, &code).await;
    let lists = [
        a.default_list(&token).await,
        b.create_list(&token, "Second").await["id"]
            .as_i64()
            .unwrap(),
    ];
    let mut all: BTreeSet<i64> = BTreeSet::new();
    for list in lists {
        all.extend(a.create_tasks_in(&token, list, TASKS_EACH).await);
    }

    let apps = Arc::new([a, b]);
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        clients.spawn(wander(apps.clone(), token.clone(), lists, client, seed));
    }
    let mut total = Tally::default();
    while let Some(done) = clients.join_next().await {
        let (tally, made) = done.expect("a client finished without failing");
        all.extend(made);
        total.across += tally.across;
        total.placed += tally.placed;
        total.sorted += tally.sorted;
        total.refused += tally.refused;
        total.created += tally.created;
    }
    println!("{total:?}");
    assert!(total.across > 0 && total.sorted > 0, "{total:?}");

    let [a, b] = &*apps;
    let mut seen = BTreeMap::new();
    for list in lists {
        let via_a = a.page_in(&token, list, 1, 100).await;
        assert_eq!(via_a, b.page_in(&token, list, 1, 100).await, "one order");
        let shown = body(a.get_list(&token, list).await).await;
        assert_eq!(shown["task_count"], via_a.len(), "the list's counter");
        for id in via_a {
            assert_eq!(seen.insert(id, list), None, "task {id} in two lists");
        }
    }
    let found: BTreeSet<i64> = seen.keys().copied().collect();
    assert_eq!(found, all, "every task exactly once");

    // The feed of everything, applied from the start, is what GET shows.
    let (entries, _) = b.feed_after(&token, None).await;
    let mut held: BTreeMap<i64, i64> = BTreeMap::new();
    for e in entries {
        match e["kind"].as_str().unwrap() {
            "upsert" => {
                held.insert(e["id"].as_i64().unwrap(), e["list_id"].as_i64().unwrap());
            }
            "delete" => {
                held.remove(&e["id"].as_i64().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(held, seen);
}

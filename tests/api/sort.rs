//! The user's order: sorting one page, moving one task, and what that does to the stored order
//! keys (refusals: `order_refusals.rs`).

use crate::support::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

stories!(sqlite, postgres => [
    sort_a_middle_page_then_move_tasks_and_every_other_task_keeps_its_place,
    a_moved_task_comes_back_with_its_fields_and_a_later_updated_at,
    sorting_a_page_rewrites_no_key_off_that_page_first_middle_and_last,
    a_thousand_inserts_into_one_gap_keep_the_order_exact_and_the_keys_short,
    a_sort_that_is_not_exactly_the_page_now_is_409_order_conflict_listing_the_page,
    a_cursor_into_a_later_page_survives_sorting_an_earlier_one,
]);

// ---------------------------------------------------------------- helpers for this file

/// Where a move puts a task, applied to an expected order.
enum To {
    Start,
    End,
    Before(i64),
    After(i64),
}

impl To {
    fn body(&self) -> Value {
        match self {
            To::Start => json!({"to": "start"}),
            To::End => json!({"to": "end"}),
            To::Before(id) => json!({ "before_id": id }),
            To::After(id) => json!({ "after_id": id }),
        }
    }

    /// `order` with `id` taken out and put where this says.
    fn apply(&self, order: &[i64], id: i64) -> Vec<i64> {
        let mut out: Vec<i64> = order.iter().copied().filter(|&x| x != id).collect();
        let at = match *self {
            To::Start => 0,
            To::End => out.len(),
            To::Before(anchor) => out.iter().position(|&x| x == anchor).unwrap(),
            To::After(anchor) => out.iter().position(|&x| x == anchor).unwrap() + 1,
        };
        out.insert(at, id);
        out
    }
}

/// Moves `id` as `to` says, asserting 200 and that the answer is the moved task.
async fn move_ok(app: &TestApp, token: &str, id: i64, to: &To) -> Value {
    let resp = app.move_task(token, id, to.body()).await;
    assert_eq!(resp.status(), 200, "move {id} {}", to.body());
    let task = body(resp).await;
    assert_eq!(task["id"], id, "{task}");
    task
}

/// Moves `id`, then checks the whole order GET shows against the expected one.
async fn move_and_check(app: &TestApp, token: &str, order: &[i64], id: i64, to: To) -> Vec<i64> {
    let expected = to.apply(order, id);
    move_ok(app, token, id, &to).await;
    assert_eq!(
        app.list_all(token).await,
        expected,
        "order after moving {id} {}",
        to.body()
    );
    expected
}

/// The ids whose order key differs between two readings of the database.
fn changed_keys(before: &BTreeMap<i64, String>, after: &BTreeMap<i64, String>) -> BTreeSet<i64> {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same tasks exist before and after"
    );
    before
        .iter()
        .filter(|(id, key)| after[id] != **key)
        .map(|(id, _)| *id)
        .collect()
}

/// Sorts page `page` (of `per_page`) into `wanted`, asserting the answer, the whole order read
/// back afterwards, and that no task off that page got a new key.
async fn sort_and_check(app: &TestApp, token: &str, page: u32, per_page: u32, wanted: &[i64]) {
    let order = app.list_all(token).await;
    let start = ((page - 1) * per_page) as usize;
    let end = (start + per_page as usize).min(order.len());
    let on_page: BTreeSet<i64> = order[start..end].iter().copied().collect();
    assert_eq!(
        on_page,
        wanted.iter().copied().collect(),
        "the test posts exactly page {page}"
    );
    let keys_before = app.sort_keys().await;

    let resp = app.sort_page(token, page, per_page, wanted).await;
    assert_eq!(resp.status(), 200, "sort page {page}");
    let envelope = body(resp).await;
    assert_eq!(ids_of(&envelope), wanted, "the answer shows the new order");
    assert_eq!(envelope["page"], page);
    assert_eq!(envelope["per_page"], per_page);
    assert_eq!(envelope["total_items"], order.len());

    let changed = changed_keys(&keys_before, &app.sort_keys().await);
    assert!(
        changed.is_subset(&on_page),
        "sorting page {page} rewrote keys off it: {:?}",
        changed.difference(&on_page).collect::<Vec<_>>()
    );
    let mut expected = order.clone();
    expected.splice(start..end, wanted.iter().copied());
    assert_eq!(
        app.list_all(token).await,
        expected,
        "order after sorting page {page}"
    );
    assert_eq!(app.list_page(token, page, per_page).await, wanted);
}

/// The longest stored order key, in bytes.
async fn longest_key(app: &TestApp) -> usize {
    app.sort_keys()
        .await
        .values()
        .map(String::len)
        .max()
        .unwrap_or(0)
}

// ---------------------------------------------------------------- the story

async fn sort_a_middle_page_then_move_tasks_and_every_other_task_keeps_its_place() {
    let app = spawn_app().await;
    // Signing in reads the code out of the email that really crossed SMTP.
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let created = app.create_tasks(token, 25).await;

    let p1 = app.list_page(token, 1, 10).await;
    let p2 = app.list_page(token, 2, 10).await;
    let p3 = app.list_page(token, 3, 10).await;
    assert_eq!([&p1[..], &p2[..], &p3[..]].concat(), created);
    assert_eq!((p1.len(), p2.len(), p3.len()), (10, 10, 5));

    let reversed: Vec<i64> = p2.iter().rev().copied().collect();
    let resp = app.sort_page(token, 2, 10, &reversed).await;
    assert_eq!(resp.status(), 200);
    let envelope = body(resp).await;
    assert_eq!(ids_of(&envelope), reversed);
    assert_eq!(envelope["page"], 2);
    assert_eq!(envelope["per_page"], 10);
    assert_eq!(envelope["total_items"], 25);
    assert_eq!(envelope["total_pages"], 3);
    // The items are whole tasks, unchanged apart from their place (and updated_at).
    assert_eq!(envelope["items"][0]["task"], "task 20");

    assert_eq!(app.list_page(token, 1, 10).await, p1, "page 1 unchanged");
    assert_eq!(
        app.list_page(token, 2, 10).await,
        reversed,
        "page 2 reversed"
    );
    assert_eq!(app.list_page(token, 3, 10).await, p3, "page 3 unchanged");

    // Move a task from page 3 to the top: it is first, the rest keep their relative order.
    let order = [&p1[..], &reversed[..], &p3[..]].concat();
    let lifted = p3[2];
    let order = move_and_check(&app, token, &order, lifted, To::Start).await;
    assert_eq!(app.list_page(token, 1, 10).await[0], lifted);
    let rest: Vec<i64> = order[1..].to_vec();
    let mut without = [&p1[..], &reversed[..], &p3[..]].concat();
    without.retain(|&x| x != lifted);
    assert_eq!(rest, without);

    // before_id, after_id, to:end — each read back in full.
    let order = move_and_check(&app, token, &order, p1[0], To::Before(p3[4])).await;
    let order = move_and_check(&app, token, &order, p3[0], To::After(p1[3])).await;
    let order = move_and_check(&app, token, &order, lifted, To::End).await;
    let order = move_and_check(&app, token, &order, reversed[9], To::After(p3[4])).await;
    let order = move_and_check(&app, token, &order, p3[1], To::Before(order[0])).await;
    // Moves that land where the task already is change nothing in the order.
    let order = move_and_check(&app, token, &order, order[0], To::Start).await;
    let last = *order.last().unwrap();
    let order = move_and_check(&app, token, &order, last, To::End).await;
    let order = move_and_check(&app, token, &order, order[5], To::Before(order[6])).await;
    let order = move_and_check(&app, token, &order, order[8], To::After(order[7])).await;

    // Sorting still works on the moved list: page 2 again, in a new order.
    let page2 = order[10..20].to_vec();
    let mut shuffled = page2.clone();
    shuffled.rotate_left(3);
    sort_and_check(&app, token, 2, 10, &shuffled).await;
}

async fn a_moved_task_comes_back_with_its_fields_and_a_later_updated_at() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let before = app.list(&user.token, 1, 10).await["items"][2].clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let moved = move_ok(&app, &user.token, ids[2], &To::Start).await;
    for field in ["id", "date", "task", "status", "created_at"] {
        assert_eq!(moved[field], before[field], "{field}");
    }
    let at = |t: &Value| {
        chrono::DateTime::parse_from_rfc3339(t["updated_at"].as_str().unwrap()).unwrap()
    };
    assert!(
        at(&moved) > at(&before),
        "updated_at {} -> {}",
        before["updated_at"],
        moved["updated_at"]
    );
    assert_eq!(app.list_all(&user.token).await, [ids[2], ids[0], ids[1]]);
}

// ---------------------------------------------------------------- keys

async fn sorting_a_page_rewrites_no_key_off_that_page_first_middle_and_last() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    // Another user's tasks live in the same table and must not move either.
    let other = app.signed_in_user().await;
    let other_ids = app.create_tasks(&other.token, 5).await;
    let ids = app.create_tasks(token, 25).await;

    // Middle page.
    let mut middle = ids[10..20].to_vec();
    middle.rotate_left(4);
    sort_and_check(&app, token, 2, 10, &middle).await;

    // First page: nothing before it.
    let first: Vec<i64> = ids[..10].iter().rev().copied().collect();
    sort_and_check(&app, token, 1, 10, &first).await;

    // Last page, only partly full: nothing after it.
    let last: Vec<i64> = ids[20..].iter().rev().copied().collect();
    sort_and_check(&app, token, 3, 10, &last).await;

    // Another page size cuts the list elsewhere; the rule is the same.
    let order = app.list_all(token).await;
    let mut seven = order[7..14].to_vec();
    seven.swap(0, 6);
    seven.swap(2, 3);
    sort_and_check(&app, token, 2, 7, &seven).await;
    let mut tail = order[21..].to_vec();
    tail.reverse();
    sort_and_check(&app, token, 4, 7, &tail).await;

    // A page of one, and the whole list as one page.
    let order = app.list_all(token).await;
    sort_and_check(&app, token, 13, 2, &order[24..]).await;
    let mut whole = app.list_all(token).await;
    whole.reverse();
    sort_and_check(&app, token, 1, 100, &whole).await;

    // Sorting the same page over and over does not make keys grow.
    for round in 0..30 {
        let mut page = app.list_page(token, 2, 10).await;
        page.rotate_left(1 + round % 9);
        let resp = app.sort_page(token, 2, 10, &page).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(ids_of(&body(resp).await), page);
    }
    assert!(
        longest_key(&app).await <= 16,
        "longest key {}",
        longest_key(&app).await
    );

    assert_eq!(app.list_all(&other.token).await, other_ids);
}

async fn a_thousand_inserts_into_one_gap_keep_the_order_exact_and_the_keys_short() {
    const INSERTS: usize = 1000;
    const BATCH: usize = 25;
    // A thousand requests can take past the 30 s default session on a loaded machine.
    let app = spawn_app_with(|c| c.session_ttl = std::time::Duration::from_secs(600)).await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let [head, a, b, tail]: [i64; 4] = app.create_tasks(token, 4).await.try_into().unwrap();

    // Creates may run side by side: they all join the end, in whatever order.
    let mut inserted = Vec::with_capacity(INSERTS);
    for start in (0..INSERTS).step_by(BATCH) {
        let mut batch = tokio::task::JoinSet::new();
        for i in start..(start + BATCH).min(INSERTS) {
            let req = app
                .http
                .post(format!("{}/v1/tasks", app.base))
                .bearer_auth(token)
                .json(&json!({"date": TASK_DATE, "task": format!("insert {i}"), "status": "Incomplete"}));
            batch.spawn(async move {
                let resp = req.send().await.unwrap();
                assert_eq!(resp.status(), 201);
                (i, body(resp).await["id"].as_i64().unwrap())
            });
        }
        let mut made = batch.join_all().await;
        made.sort_unstable();
        inserted.extend(made.into_iter().map(|(_, id)| id));
    }

    // Each move lands right after A, between A and the one moved before it.
    for &id in &inserted {
        let resp = app.move_task(token, id, json!({ "after_id": a })).await;
        assert_eq!(resp.status(), 200, "move {id} after {a}");
    }

    let mut expected = vec![head, a];
    expected.extend(inserted.iter().rev());
    expected.extend([b, tail]);
    assert_eq!(app.list_all(token).await.len(), INSERTS + 4);
    assert_eq!(app.list_all(token).await, expected);

    // Halving one gap 1,000 times would need keys of about 200 characters; respacing keeps
    // them far shorter.
    let longest = longest_key(&app).await;
    assert!(longest < 100, "longest sort_key is {longest} bytes");
    let keys = app.sort_keys().await;
    let distinct: BTreeSet<&String> = keys.values().collect();
    assert_eq!(distinct.len(), keys.len(), "keys are unique");

    // The list still takes inserts anywhere after respacing.
    let order = move_and_check(&app, token, &expected, tail, To::After(head)).await;
    move_and_check(&app, token, &order, head, To::Before(b)).await;
}

// ---------------------------------------------------------------- sort errors

async fn a_sort_that_is_not_exactly_the_page_now_is_409_order_conflict_listing_the_page() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let ids = app.create_tasks(token, 25).await;
    let (p1, p2, p3) = (&ids[..10], &ids[10..20], &ids[20..]);
    let keys_before = app.sort_keys().await;

    let minus_one = p2[1..].to_vec();
    let plus_one = [p2, &p3[..1]].concat();
    let swapped_one = [&p2[..9], &p1[..1]].concat();
    let other_page = p3.to_vec();
    let empty: Vec<i64> = Vec::new();
    for sent in [minus_one, plus_one, swapped_one, other_page, empty] {
        let resp = app.sort_page(token, 2, 10, &sent).await;
        let problem = assert_problem(resp, 409, "order_conflict").await;
        assert_eq!(problem["task_ids"], json!(p2), "sent {sent:?}: {problem}");
    }

    // The right ids with another page size are not that page.
    let resp = app.sort_page(token, 2, 5, p2).await;
    let problem = assert_problem(resp, 409, "order_conflict").await;
    assert_eq!(problem["task_ids"], json!(ids[5..10]));
    // A page past the end holds nothing.
    let resp = app.sort_page(token, 9, 10, p2).await;
    let problem = assert_problem(resp, 409, "order_conflict").await;
    assert_eq!(problem["task_ids"], json!([]));
    // ...so posting nothing for it is exactly that page: nothing to do, nothing refused.
    let resp = app.sort_page(token, 9, 10, &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await["items"], json!([]));

    assert_eq!(
        app.sort_keys().await,
        keys_before,
        "no refused sort wrote a key"
    );

    // A page that changed since it was read: the stale order is refused, listing the page now.
    let moved = ids[5];
    move_ok(&app, token, moved, &To::After(p2[4])).await;
    let now = app.list_page(token, 2, 10).await;
    assert_ne!(now, p2);
    let stale: Vec<i64> = p2.iter().rev().copied().collect();
    let resp = app.sort_page(token, 2, 10, &stale).await;
    let problem = assert_problem(resp, 409, "order_conflict").await;
    assert_eq!(problem["task_ids"], json!(now));
    // Posting what the page holds now works.
    let fresh: Vec<i64> = now.iter().rev().copied().collect();
    sort_and_check(&app, token, 2, 10, &fresh).await;
}

// ---------------------------------------------------------------- move errors

async fn a_cursor_into_a_later_page_survives_sorting_an_earlier_one() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let ids = app.create_tasks(token, 25).await;
    let to_page_3 = app.list(token, 2, 5).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut reversed = ids[5..10].to_vec();
    reversed.reverse();
    assert_eq!(app.sort_page(token, 2, 5, &reversed).await.status(), 200);

    let page = body(
        app.get(&format!("/v1/tasks?cursor={to_page_3}"), token)
            .await,
    )
    .await;
    assert_eq!(
        ids_of(&page),
        ids[10..15].to_vec(),
        "page 3, no repeats, none skipped"
    );
    assert_eq!(page["page"], 3);
}

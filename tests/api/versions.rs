//! Several devices, one task: versions, `ETag`, `If-Match` (412 with the task as it is now) and
//! `If-None-Match` (304), and `position`, whose byte order is the list's order.

use crate::support::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};

stories!(sqlite, postgres => [
    two_devices_editing_with_the_etag_they_read_get_one_200_and_one_412_with_the_current_task,
    if_none_match_answers_304_while_the_task_is_unchanged,
    a_stale_if_match_keeps_a_delete_or_a_move_from_happening,
    versions_count_every_change_and_positions_sort_as_the_list,
    if_match_compares_strongly_so_a_weak_tag_never_matches,
]);

impl TestApp {
    /// `method path` with a JSON body (or none), the token and one extra header.
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        header: (&str, &str),
    ) -> Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header(header.0, header.1);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    /// `GET /v1/tasks/{id}`: the task and its `ETag`.
    async fn read_task(&self, token: &str, id: i64) -> (Value, String) {
        let resp = self.get(&format!("/v1/tasks/{id}"), token).await;
        assert_eq!(resp.status(), 200);
        let tag = header(&resp, "etag");
        (body(resp).await, tag)
    }
}

/// The id of a task answer.
fn id(task: &Value) -> i64 {
    task["id"].as_i64().unwrap()
}

async fn two_devices_editing_with_the_etag_they_read_get_one_200_and_one_412_with_the_current_task()
{
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "buy milk").await;
    let path = format!("/v1/tasks/{}", id(&task));
    let (_, phone_tag) = app.read_task(&user.token, id(&task)).await;
    let (_, laptop_tag) = app.read_task(&user.token, id(&task)).await;
    assert_eq!(phone_tag, "\"1\"");

    let phone = app
        .send_with(
            Method::PATCH,
            &path,
            Some(json!({"task": "buy oat milk"})),
            &user.token,
            ("if-match", &phone_tag),
        )
        .await;
    assert_eq!(phone.status(), 200);
    assert_eq!(header(&phone, "etag"), "\"2\"");
    let laptop = app
        .send_with(
            Method::PATCH,
            &path,
            Some(json!({"status": "Completed"})),
            &user.token,
            ("if-match", &laptop_tag),
        )
        .await;
    let problem = assert_problem(laptop, 412, "precondition_failed").await;
    assert_eq!(problem["current"]["task"], "buy oat milk");
    assert_eq!(problem["current"]["version"], 2);
    assert_eq!(problem["current"]["status"], "Incomplete");

    // Nothing was overwritten; with the version it now holds, the laptop's edit goes through.
    let (now, tag) = app.read_task(&user.token, id(&task)).await;
    assert_eq!(
        (now["task"].as_str(), now["status"].as_str()),
        (Some("buy oat milk"), Some("Incomplete"))
    );
    let retry = app
        .send_with(
            Method::PATCH,
            &path,
            Some(json!({"status": "Completed"})),
            &user.token,
            ("if-match", &tag),
        )
        .await;
    assert_eq!(retry.status(), 200);
    assert_eq!(body(retry).await["version"], 3);
}

async fn if_none_match_answers_304_while_the_task_is_unchanged() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "water plants").await;
    let path = format!("/v1/tasks/{}", id(&task));
    let (_, tag) = app.read_task(&user.token, id(&task)).await;

    let fresh = app
        .send_with(
            Method::GET,
            &path,
            None,
            &user.token,
            ("if-none-match", &tag),
        )
        .await;
    assert_eq!(fresh.status(), 304);
    assert_eq!(header(&fresh, "etag"), tag);
    assert!(fresh.bytes().await.unwrap().is_empty(), "a 304 has no body");

    let resp = app
        .send(
            Method::PATCH,
            &path,
            Some(json!({"status": "Completed"})),
            Some(&user.token),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let stale = app
        .send_with(
            Method::GET,
            &path,
            None,
            &user.token,
            ("if-none-match", &tag),
        )
        .await;
    assert_eq!(stale.status(), 200);
    assert_eq!(header(&stale, "etag"), "\"2\"");
    assert_eq!(body(stale).await["status"], "Completed");
}

async fn a_stale_if_match_keeps_a_delete_or_a_move_from_happening() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let (_, old_tag) = app.read_task(&user.token, ids[0]).await;
    let resp = app
        .send(
            Method::PATCH,
            &format!("/v1/tasks/{}", ids[0]),
            Some(json!({"task": "changed"})),
            Some(&user.token),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let delete = app
        .send_with(
            Method::DELETE,
            &format!("/v1/tasks/{}", ids[0]),
            None,
            &user.token,
            ("if-match", &old_tag),
        )
        .await;
    let problem = assert_problem(delete, 412, "precondition_failed").await;
    assert_eq!(problem["current"]["task"], "changed");
    let moved = app
        .send_with(
            Method::POST,
            &format!("/v1/tasks/{}/move", ids[0]),
            Some(json!({"to": "end"})),
            &user.token,
            ("if-match", &old_tag),
        )
        .await;
    assert_problem(moved, 412, "precondition_failed").await;
    assert_eq!(
        app.list_all(&user.token).await,
        ids,
        "nothing moved or went"
    );

    // `*` asks only that the task exists; a tag that is not one is refused, naming the header.
    let moved = app
        .send_with(
            Method::POST,
            &format!("/v1/tasks/{}/move", ids[0]),
            Some(json!({"to": "end"})),
            &user.token,
            ("if-match", "*"),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(header(&moved, "etag"), "\"3\"");
    let bad = app
        .send_with(
            Method::DELETE,
            &format!("/v1/tasks/{}", ids[1]),
            None,
            &user.token,
            ("if-match", "3"),
        )
        .await;
    assert_invalid_field(bad, "If-Match").await;
    let (_, tag) = app.read_task(&user.token, ids[1]).await;
    let delete = app
        .send_with(
            Method::DELETE,
            &format!("/v1/tasks/{}", ids[1]),
            None,
            &user.token,
            ("if-match", &tag),
        )
        .await;
    assert_eq!(delete.status(), 204);
    assert_eq!(app.list_all(&user.token).await, vec![ids[2], ids[0]]);
}

async fn versions_count_every_change_and_positions_sort_as_the_list() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 5).await;
    let version_of = |page: &Value, id: i64| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["version"].as_i64().unwrap())
            .unwrap()
    };
    let page = app.list(&user.token, 1, 10).await;
    assert!(ids.iter().all(|&id| version_of(&page, id) == 1));

    // A move changes the moved task only.
    let moved = app
        .move_task(&user.token, ids[4], json!({"to": "start"}))
        .await;
    assert_eq!(body(moved).await["version"], 2);
    // A sort changes the tasks whose slot changed: swapping the last two leaves the first three.
    let order = app.list_page(&user.token, 1, 10).await;
    let mut sorted = order.clone();
    sorted.swap(3, 4);
    assert_eq!(
        app.sort_page(&user.token, 1, 10, &sorted).await.status(),
        200
    );
    let page = app.list(&user.token, 1, 10).await;
    for (slot, id) in sorted.iter().enumerate() {
        let expected = match slot {
            0 => 2,     // moved earlier, untouched by the sort
            3 | 4 => 2, // swapped
            _ => 1,
        };
        assert_eq!(version_of(&page, *id), expected, "task {id} in slot {slot}");
    }
    // Ascending byte order of `position` is the order GET shows.
    let positions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["position"].as_str().unwrap())
        .collect();
    let mut ascending = positions.clone();
    ascending.sort_unstable();
    assert_eq!(positions, ascending);
    assert_eq!(ids_of(&page), sorted);
}

async fn if_match_compares_strongly_so_a_weak_tag_never_matches() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let task = app.create_task(&user.token, "weak tags").await;
    let path = format!("/v1/tasks/{}", id(&task));
    let (_, tag) = app.read_task(&user.token, id(&task)).await;
    let weak = format!("W/{tag}");
    let refused = app
        .send_with(
            Method::PATCH,
            &path,
            Some(json!({"status": "Completed"})),
            &user.token,
            ("if-match", &weak),
        )
        .await;
    let problem = assert_problem(refused, 412, "precondition_failed").await;
    assert_eq!(problem["current"]["version"], 1, "nothing changed");
    // If-None-Match compares weakly (RFC 9110 §13.1.2): the same weak tag is fresh there.
    let fresh = app
        .send_with(
            Method::GET,
            &path,
            None,
            &user.token,
            ("if-none-match", &weak),
        )
        .await;
    assert_eq!(fresh.status(), 304);
}

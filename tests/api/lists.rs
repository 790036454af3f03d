//! Lists: every user has a default list (the one `/v1/tasks` works on) and may make more; each
//! list is read, renamed and deleted with versions like a task, holds its own order with the same
//! paging, filters, sort and move rules, and nobody else can see it.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

stories!(sqlite, postgres => [
    every_user_has_one_default_list_named_tasks_that_v1_tasks_works_on,
    a_list_is_made_read_renamed_and_deleted_with_versions,
    a_list_name_is_1_to_100_characters_after_trimming,
    the_default_list_cannot_be_deleted,
    a_lists_tasks_page_filter_sort_and_move_as_v1_tasks_does,
    patch_list_id_moves_a_task_to_the_end_of_another_list,
    a_move_or_sort_never_reaches_across_lists,
    deleting_a_list_deletes_its_tasks_and_frees_the_task_quota,
    past_the_lists_quota_a_create_is_409_with_limit_and_used,
    a_retried_list_create_with_its_key_makes_one_list,
    another_user_gets_404_on_every_route_of_a_list_and_its_tasks,
]);

async fn every_user_has_one_default_list_named_tasks_that_v1_tasks_works_on() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let lists = app.lists(&user.token).await;
    assert_eq!(lists.len(), 1);
    let list = &lists[0];
    assert_eq!(list["name"], "Tasks");
    assert_eq!(list["default"], true);
    assert_eq!(list["role"], "owner");
    assert_eq!(list["owner"]["email"], user.email.as_str());
    assert_eq!(list["task_count"], 0);
    assert_eq!(list["version"], 1);

    let default = list["id"].as_i64().unwrap();
    let task = app.create_task(&user.token, "in the default list").await;
    assert_eq!(task["list_id"], default, "a task carries its list");
    let id = task["id"].as_i64().unwrap();
    assert_eq!(app.page_in(&user.token, default, 1, 20).await, vec![id]);
    assert_eq!(app.lists(&user.token).await[0]["task_count"], 1);
}

async fn a_list_is_made_read_renamed_and_deleted_with_versions() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let resp = app.post_list(token, "  Groceries ").await;
    assert_eq!(resp.status(), 201);
    let id = {
        let location = header(&resp, "location");
        assert_eq!(header(&resp, "etag"), "\"1\"");
        let list = body(resp).await;
        assert_eq!(list["name"], "Groceries", "trimmed");
        assert_eq!(list["default"], false);
        assert_eq!(list["task_count"], 0);
        assert_eq!(location, format!("/v1/lists/{}", list["id"]));
        list["id"].as_i64().unwrap()
    };
    let later = app.create_list(token, "Work").await["id"].as_i64().unwrap();
    let names: Vec<_> = app
        .lists(token)
        .await
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["Tasks", "Groceries", "Work"],
        "default first, then by creation"
    );

    let resp = app.get_list(token, id).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "etag"), "\"1\"");
    let unchanged = app
        .http
        .get(format!("{}/v1/lists/{id}", app.base))
        .bearer_auth(token)
        .header("if-none-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    let resp = app
        .patch_list(token, id, json!({"name": "Food"}), Some("\"1\""))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "etag"), "\"2\"");
    let renamed = body(resp).await;
    assert_eq!(
        (renamed["name"].as_str(), renamed["version"].as_i64()),
        (Some("Food"), Some(2))
    );

    // A device that read version 1 is told, and overwrites nothing.
    let stale = app
        .patch_list(token, id, json!({"name": "Stale"}), Some("\"1\""))
        .await;
    let problem = assert_problem(stale, 412, "precondition_failed").await;
    assert_eq!(problem["current_list"]["name"], "Food");
    assert_eq!(problem["current_list"]["version"], 2);
    let stale = app.delete_list(token, id, Some("\"1\"")).await;
    assert_problem(stale, 412, "precondition_failed").await;

    assert_eq!(
        app.delete_list(token, id, Some("\"2\"")).await.status(),
        204
    );
    assert_problem(app.get_list(token, id).await, 404, "not_found").await;
    assert_problem(app.delete_list(token, id, None).await, 404, "not_found").await;
    let resp = app.patch_list(token, id, json!({"name": "x"}), None).await;
    assert_problem(resp, 404, "not_found").await;
    // A deleted list's id is never handed out again.
    let next = app.create_list(token, "Next").await["id"].as_i64().unwrap();
    assert!(next > later);
}

async fn a_list_name_is_1_to_100_characters_after_trimming() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    for name in ["", "   ", &"x".repeat(101), "tab\u{7}bell"] {
        let resp = app.post_list(token, name).await;
        assert_invalid_field(resp, "name").await;
    }
    assert_eq!(
        app.create_list(token, &"é".repeat(100)).await["name"],
        "é".repeat(100)
    );
    for bad in [
        json!({}),
        json!({"name": null}),
        json!({"name": "a", "colour": "red"}),
    ] {
        let resp = app
            .send(Method::POST, "/v1/lists", Some(bad.clone()), Some(token))
            .await;
        assert_problem(resp, 422, "validation_failed").await;
    }
    let id = app.default_list(token).await;
    let resp = app.patch_list(token, id, json!({"name": " "}), None).await;
    assert_invalid_field(resp, "name").await;
    assert_eq!(app.lists(token).await.len(), 2, "nothing refused was made");
}

async fn the_default_list_cannot_be_deleted() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let default = app.default_list(&user.token).await;
    app.create_task(&user.token, "kept").await;
    let resp = app.delete_list(&user.token, default, None).await;
    let problem = assert_problem(resp, 409, "default_list").await;
    assert!(problem["detail"].as_str().unwrap().contains("default"));
    assert_eq!(app.list_all(&user.token).await.len(), 1, "nothing went");
    // It can be renamed.
    let resp = app
        .patch_list(&user.token, default, json!({"name": "Inbox"}), None)
        .await;
    assert_eq!(body(resp).await["name"], "Inbox");
}

async fn a_lists_tasks_page_filter_sort_and_move_as_v1_tasks_does() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let list = app.create_list(token, "Errands").await["id"]
        .as_i64()
        .unwrap();
    let ids = app.create_tasks_in(token, list, 5).await;
    assert!(
        app.list_all(token).await.is_empty(),
        "the default list holds none of them"
    );

    let first = app.list_tasks_in(token, list, "page=1&per_page=2").await;
    let first = body(first).await;
    assert_eq!(ids_of(&first), ids[..2]);
    assert_eq!(first["total_items"], 5);
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = body(
        app.list_tasks_in(token, list, &format!("cursor={cursor}&per_page=2"))
            .await,
    )
    .await;
    assert_eq!(ids_of(&next), ids[2..4]);

    let resp = app
        .patch_task(token, ids[1], json!({"status": "Completed"}))
        .await;
    assert_eq!(resp.status(), 200);
    let done = body(app.list_tasks_in(token, list, "status=Completed").await).await;
    assert_eq!(
        (ids_of(&done), done["total_items"].as_i64()),
        (vec![ids[1]], Some(1))
    );

    let resp = app.sort_in(token, list, 1, 2, &[ids[1], ids[0]]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(ids_of(&body(resp).await), [ids[1], ids[0]]);
    let resp = app
        .move_task(token, ids[4], json!({"before_id": ids[1]}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.page_in(token, list, 1, 10).await,
        [ids[4], ids[1], ids[0], ids[2], ids[3]]
    );
    // Sorting takes a page of the whole list, as on /v1/tasks.
    let resp = app
        .send(
            Method::POST,
            &format!("/v1/lists/{list}/tasks/sort?status=Completed"),
            Some(json!({"task_ids": [ids[1]]})),
            Some(token),
        )
        .await;
    assert_invalid_field(resp, "status").await;
    let resp = app.sort_in(token, list, 1, 2, &[ids[0], ids[2]]).await;
    let problem = assert_problem(resp, 409, "order_conflict").await;
    assert_eq!(problem["task_ids"], json!([ids[4], ids[1]]));
}

async fn patch_list_id_moves_a_task_to_the_end_of_another_list() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let default = app.default_list(token).await;
    let there = app.create_tasks(token, 2).await;
    let list = app.create_list(token, "Someday").await["id"]
        .as_i64()
        .unwrap();
    let ids = app.create_tasks_in(token, list, 3).await;

    let resp = app
        .patch_task(
            token,
            ids[0],
            json!({"list_id": default, "status": "Completed"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let etag = header(&resp, "etag");
    let moved = body(resp).await;
    assert_eq!(moved["list_id"], default);
    assert_eq!(
        moved["status"], "Completed",
        "other fields change in the same request"
    );
    assert_eq!(etag, format!("\"{}\"", moved["version"]));
    assert_eq!(
        app.list_all(token).await,
        [there[0], there[1], ids[0]],
        "at the end"
    );
    assert_eq!(app.page_in(token, list, 1, 10).await, ids[1..]);
    let counts: Vec<_> = app
        .lists(token)
        .await
        .iter()
        .map(|l| l["task_count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [3, 2]);
    let done = body(app.get("/v1/tasks?status=Completed", token).await).await;
    assert_eq!(done["total_items"], 1, "the status counter moved with it");

    // To the list it is in already: nothing moves, the rest applies.
    let resp = app
        .patch_task(
            token,
            ids[1],
            json!({"list_id": list, "task": "same place"}),
        )
        .await;
    assert_eq!(body(resp).await["list_id"], list);
    assert_eq!(app.page_in(token, list, 1, 10).await, ids[1..]);

    // A list that is not the caller's is named, and nothing changes.
    for missing in [999_999, list + 1000] {
        let resp = app
            .patch_task(token, ids[1], json!({"list_id": missing}))
            .await;
        assert_invalid_field(resp, "list_id").await;
    }
    for bad in [
        json!({"list_id": null}),
        json!({"list_id": 0}),
        json!({"list_id": "2"}),
    ] {
        let resp = app.patch_task(token, ids[1], bad).await;
        assert_problem(resp, 422, "validation_failed").await;
    }
    // With If-Match, a stale move is refused with the task as it is now.
    let resp = app
        .http
        .patch(format!("{}/v1/tasks/{}", app.base, ids[2]))
        .bearer_auth(token)
        .header("if-match", "\"99\"")
        .json(&json!({"list_id": default}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 412, "precondition_failed").await;
    assert_eq!(problem["current"]["list_id"], list);
    assert_eq!(app.page_in(token, list, 1, 10).await, ids[1..]);
}

async fn a_move_or_sort_never_reaches_across_lists() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let mine = app.create_tasks(token, 2).await;
    let list = app.create_list(token, "Other").await["id"]
        .as_i64()
        .unwrap();
    let other = app.create_tasks_in(token, list, 2).await;

    let resp = app
        .move_task(token, mine[0], json!({"before_id": other[0]}))
        .await;
    let problem = assert_invalid_field(resp, "before_id").await;
    assert!(problem["detail"].as_str().is_some());
    let resp = app
        .move_task(token, other[1], json!({"after_id": mine[1]}))
        .await;
    assert_invalid_field(resp, "after_id").await;
    let resp = app.sort_page(token, 1, 2, &[other[1], other[0]]).await;
    let problem = assert_problem(resp, 422, "invalid_order").await;
    assert_eq!(problem["task_ids"], json!([other[1], other[0]]));
    let resp = app.sort_in(token, list, 1, 2, &[mine[1], mine[0]]).await;
    assert_problem(resp, 422, "invalid_order").await;
    assert_eq!(app.list_all(token).await, mine);
    assert_eq!(app.page_in(token, list, 1, 10).await, other);
}

async fn deleting_a_list_deletes_its_tasks_and_frees_the_task_quota() {
    let app = spawn_app_with(|c| c.quotas.tasks = Some(3)).await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let list = app.create_list(token, "Full").await["id"].as_i64().unwrap();
    let ids = app.create_tasks_in(token, list, 3).await;
    // The quota counts every list the user owns.
    let problem = assert_problem(
        app.post_task(
            token,
            json!({"date": TASK_DATE, "task": "x", "status": "Incomplete"}),
        )
        .await,
        409,
        "quota_exceeded",
    )
    .await;
    assert_eq!(
        (problem["limit"].as_u64(), problem["used"].as_u64()),
        (Some(3), Some(3))
    );
    let resp = app.post_task_in(token, list, "over").await;
    assert_problem(resp, 409, "quota_exceeded").await;

    assert_eq!(app.delete_list(token, list, None).await.status(), 204);
    for id in ids {
        assert_problem(
            app.get(&format!("/v1/tasks/{id}"), token).await,
            404,
            "task_not_found",
        )
        .await;
    }
    assert_problem(app.list_tasks_in(token, list, "").await, 404, "not_found").await;
    app.create_tasks(token, 3).await;
}

async fn past_the_lists_quota_a_create_is_409_with_limit_and_used() {
    let app = spawn_app_with(|c| c.quotas.lists = Some(3)).await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let second = app.create_list(token, "Two").await["id"].as_i64().unwrap();
    app.create_list(token, "Three").await;
    let problem = assert_problem(app.post_list(token, "Four").await, 409, "quota_exceeded").await;
    assert_eq!(
        (problem["limit"].as_u64(), problem["used"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(problem["detail"].as_str().unwrap().contains("lists"));
    assert_eq!(app.lists(token).await.len(), 3, "nothing was made");
    // Another user's lists count for them alone.
    let other = app.signed_in_user().await;
    app.create_list(&other.token, "Theirs").await;
    assert_eq!(app.delete_list(token, second, None).await.status(), 204);
    app.create_list(token, "Four").await;
}

async fn a_retried_list_create_with_its_key_makes_one_list() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let key = reqwest::header::HeaderValue::from_static("list-1");
    let first = app
        .send_with_key(
            Method::POST,
            "/v1/lists",
            json!({"name": "Once"}),
            token,
            key.clone(),
        )
        .await;
    assert_eq!(first.status(), 201);
    let location = header(&first, "location");
    let first = body(first).await;
    let again = app
        .send_with_key(
            Method::POST,
            "/v1/lists",
            json!({"name": "Once"}),
            token,
            key.clone(),
        )
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(header(&again, "location"), location);
    assert_eq!(header(&again, "etag"), "\"1\"");
    assert_eq!(body(again).await, first);
    assert_eq!(app.lists(token).await.len(), 2);
    let other = app
        .send_with_key(
            Method::POST,
            "/v1/lists",
            json!({"name": "Twice"}),
            token,
            key,
        )
        .await;
    assert_problem(other, 422, "idempotency_key_reused").await;
}

async fn another_user_gets_404_on_every_route_of_a_list_and_its_tasks() {
    let app = spawn_app().await;
    let owner = app.signed_in_user().await;
    let list = app.create_list(&owner.token, "Private").await["id"]
        .as_i64()
        .unwrap();
    let task = app.create_task_in(&owner.token, list, "secret").await["id"]
        .as_i64()
        .unwrap();
    let owners_default = app.default_list(&owner.token).await;
    let stranger = app.signed_in_user().await;
    let token = stranger.token.as_str();

    for list in [list, owners_default] {
        assert_problem(app.get_list(token, list).await, 404, "not_found").await;
        let resp = app
            .patch_list(token, list, json!({"name": "mine"}), None)
            .await;
        assert_problem(resp, 404, "not_found").await;
        assert_problem(app.delete_list(token, list, None).await, 404, "not_found").await;
        assert_problem(app.list_tasks_in(token, list, "").await, 404, "not_found").await;
        assert_problem(
            app.post_task_in(token, list, "sneak").await,
            404,
            "not_found",
        )
        .await;
        assert_problem(
            app.sort_in(token, list, 1, 20, &[task]).await,
            404,
            "not_found",
        )
        .await;
    }
    assert_problem(
        app.get(&format!("/v1/tasks/{task}"), token).await,
        404,
        "task_not_found",
    )
    .await;
    let resp = app.patch_task(token, task, json!({"task": "mine"})).await;
    assert_problem(resp, 404, "task_not_found").await;
    let resp = app.move_task(token, task, json!({"to": "start"})).await;
    assert_problem(resp, 404, "task_not_found").await;
    assert_problem(app.delete_task(token, task).await, 404, "task_not_found").await;
    // Nor can a task of the stranger's be moved into the owner's list.
    let theirs = app.create_task(token, "theirs").await["id"]
        .as_i64()
        .unwrap();
    let resp = app
        .patch_task(token, theirs, json!({"list_id": list}))
        .await;
    assert_invalid_field(resp, "list_id").await;

    // The owner's list and task are as they were.
    assert_eq!(app.lists(token).await.len(), 1);
    let kept = body(app.get_list(&owner.token, list).await).await;
    assert_eq!(
        (kept["name"].as_str(), kept["task_count"].as_i64()),
        (Some("Private"), Some(1))
    );
    assert_eq!(app.task(&owner.token, task).await["task"], "secret");
}

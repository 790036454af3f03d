//! Every way a sort or a move is refused: duplicates or ids that are not yours, a body of the
//! wrong shape, more ids than a page holds, a bad move target, a missing task.

use crate::support::*;
use serde_json::json;
use std::collections::BTreeSet;

stories!(sqlite, postgres => [
    a_sort_with_duplicates_or_ids_that_are_not_yours_is_422_invalid_order,
    a_sort_body_of_the_wrong_shape_is_422_naming_the_field,
    a_move_to_a_bad_target_is_422_and_a_move_of_a_missing_task_is_404,
    a_sort_with_more_ids_than_a_page_holds_is_422_naming_task_ids,
]);

async fn a_sort_with_duplicates_or_ids_that_are_not_yours_is_422_invalid_order() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let other = app.signed_in_user().await;
    let foreign = app.create_task(&other.token, "not yours").await["id"]
        .as_i64()
        .unwrap();
    let ids = app.create_tasks(token, 25).await;
    let p2 = app.list_page(token, 2, 10).await;
    let missing = ids.iter().max().unwrap().max(&foreign) + 1000;
    let keys_before = app.sort_keys().await;

    let mut dup = p2.clone();
    dup[9] = p2[0];
    let mut two_dups = p2.clone();
    two_dups.push(p2[3]);
    two_dups.push(p2[3]);
    two_dups.push(p2[5]);
    let mut with_missing = p2[..9].to_vec();
    with_missing.push(missing);
    let mut with_foreign = p2.clone();
    with_foreign.insert(4, foreign);
    let cases: [(&[i64], Vec<i64>); 5] = [
        (&dup, vec![p2[0]]),
        (&two_dups, vec![p2[3], p2[3], p2[5]]),
        (&with_missing, vec![missing]),
        (&with_foreign, vec![foreign]),
        (&[foreign, missing], vec![foreign, missing]),
    ];
    for (sent, named) in cases {
        let resp = app.sort_page(token, 2, 10, sent).await;
        let problem = assert_problem(resp, 422, "invalid_order").await;
        let listed: BTreeSet<i64> = serde_json::from_value(problem["task_ids"].clone())
            .unwrap_or_else(|_| panic!("task_ids lists ids: {problem}"));
        assert_eq!(
            listed,
            named.iter().copied().collect(),
            "sent {sent:?}: {problem}"
        );
    }

    assert_eq!(
        app.sort_keys().await,
        keys_before,
        "no refused sort wrote a key"
    );
    assert_eq!(app.list_all(token).await, ids);
}

async fn a_sort_body_of_the_wrong_shape_is_422_naming_the_field() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let ids = app.create_tasks(&user.token, 3).await;
    let cases = [
        (json!({}), "task_ids"),
        (json!({"task_ids": null}), "task_ids"),
        (json!({"task_ids": ids[0]}), "task_ids"),
        (json!({"task_ids": [ids[0], "x", ids[2]]}), "task_ids[1]"),
        (json!({"task_ids": ids, "page": 1}), "page"),
    ];
    for (sent, field) in cases {
        let resp = app
            .send(
                reqwest::Method::POST,
                "/v1/tasks/sort",
                Some(sent),
                Some(&user.token),
            )
            .await;
        assert_invalid_field(resp, field).await;
    }
    assert_eq!(app.list_all(&user.token).await, ids);
}

async fn a_move_to_a_bad_target_is_422_and_a_move_of_a_missing_task_is_404() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let other = app.signed_in_user().await;
    let foreign = app.create_task(&other.token, "not yours").await["id"]
        .as_i64()
        .unwrap();
    let ids = app.create_tasks(token, 5).await;
    let task = ids[2];
    let missing = ids.iter().max().unwrap().max(&foreign) + 1000;
    let keys_before = app.sort_keys().await;

    // Anchors that are not among your tasks, or the task itself, name the field.
    let cases = [
        (json!({ "before_id": foreign }), "before_id"),
        (json!({ "after_id": foreign }), "after_id"),
        (json!({ "before_id": missing }), "before_id"),
        (json!({ "after_id": missing }), "after_id"),
        (json!({ "before_id": task }), "before_id"),
        (json!({ "after_id": task }), "after_id"),
    ];
    for (target, field) in cases {
        let resp = app.move_task(token, task, target.clone()).await;
        let problem = assert_invalid_field(resp, field).await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{target}");
    }

    // Not exactly one target.
    let cases = [
        (json!({}), "body"),
        (json!({"before_id": ids[0], "after_id": ids[1]}), "body"),
        (json!({"to": "start", "after_id": ids[1]}), "body"),
        (json!({"to": "end", "before_id": ids[1]}), "body"),
        (json!({"to": "middle"}), "to"),
        (json!({"to": "Start"}), "to"),
        (json!({"to": null}), "to"),
        (json!({"to": true}), "to"),
        (json!({"before_id": null}), "before_id"),
        (json!({"after_id": "1"}), "after_id"),
        (json!({"to": "start", "position": 1}), "position"),
    ];
    for (target, field) in cases {
        let resp = app.move_task(token, task, target.clone()).await;
        assert_eq!(resp.status(), 422, "{target}");
        assert_invalid_field(resp, field).await;
    }

    // A task that is not yours, or not there, cannot be moved — whatever the target.
    for (id, target) in [
        (missing, json!({"to": "start"})),
        (missing, json!({ "after_id": ids[0] })),
        (foreign, json!({"to": "end"})),
        (foreign, json!({ "before_id": ids[0] })),
    ] {
        let resp = app.move_task(token, id, target).await;
        assert_problem(resp, 404, "task_not_found").await;
    }

    assert_eq!(
        app.sort_keys().await,
        keys_before,
        "no refused move wrote a key"
    );
    assert_eq!(app.list_all(token).await, ids);
    assert_eq!(app.list_all(&other.token).await, [foreign]);
}

async fn a_sort_with_more_ids_than_a_page_holds_is_422_naming_task_ids() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let token = user.token.as_str();
    let ids = app.create_tasks(token, 3).await;
    let too_many: Vec<i64> = ids.iter().copied().cycle().take(3000).collect();
    let problem =
        assert_invalid_field(app.sort_page(token, 1, 2, &too_many).await, "task_ids").await;
    assert!(
        problem.to_string().len() < 1000,
        "the answer does not echo 3,000 ids"
    );
}

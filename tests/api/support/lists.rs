//! The client side of lists: one method per list endpoint, and the feed of everything.

use crate::support::{TASK_DATE, TestApp, body, ids_of, sse::Stream};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

impl TestApp {
    /// `GET /v1/lists`, asserting 200: the lists, default first.
    pub async fn lists(&self, token: &str) -> Vec<Value> {
        let resp = self.get("/v1/lists", token).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET /v1/lists");
        body(resp).await["items"].as_array().unwrap().clone()
    }

    /// The id of the caller's default list.
    pub async fn default_list(&self, token: &str) -> i64 {
        let lists = self.lists(token).await;
        assert_eq!(lists[0]["default"], true, "the default list comes first");
        lists[0]["id"].as_i64().unwrap()
    }

    /// `POST /v1/lists` with `{name}`; the raw answer.
    pub async fn post_list(&self, token: &str, name: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/lists",
            Some(json!({ "name": name })),
            Some(token),
        )
        .await
    }

    /// `POST /v1/lists`, asserting 201; returns the list.
    pub async fn create_list(&self, token: &str, name: &str) -> Value {
        let resp = self.post_list(token, name).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "create list {name:?}");
        body(resp).await
    }

    /// `GET /v1/lists/{id}`; the raw answer.
    pub async fn get_list(&self, token: &str, id: i64) -> Response {
        self.get(&format!("/v1/lists/{id}"), token).await
    }

    /// `PATCH /v1/lists/{id}` with `body`, and `If-Match` when given; the raw answer.
    pub async fn patch_list(
        &self,
        token: &str,
        id: i64,
        body: Value,
        if_match: Option<&str>,
    ) -> Response {
        let mut req = self
            .http
            .patch(format!("{}/v1/lists/{id}", self.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        req.send().await.expect("request sent")
    }

    /// `DELETE /v1/lists/{id}`, with `If-Match` when given; the raw answer.
    pub async fn delete_list(&self, token: &str, id: i64, if_match: Option<&str>) -> Response {
        let mut req = self
            .http
            .delete(format!("{}/v1/lists/{id}", self.base))
            .bearer_auth(token);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        req.send().await.expect("request sent")
    }

    /// `POST /v1/lists/{list}/tasks` with `text`; the raw answer.
    pub async fn post_task_in(&self, token: &str, list: i64, text: &str) -> Response {
        self.send(
            Method::POST,
            &format!("/v1/lists/{list}/tasks"),
            Some(json!({"date": TASK_DATE, "task": text, "status": "Incomplete"})),
            Some(token),
        )
        .await
    }

    /// `POST /v1/lists/{list}/tasks`, asserting 201; returns the task.
    pub async fn create_task_in(&self, token: &str, list: i64, text: &str) -> Value {
        let resp = self.post_task_in(token, list, text).await;
        assert_eq!(
            resp.status(),
            StatusCode::CREATED,
            "create {text:?} in {list}"
        );
        body(resp).await
    }

    /// Creates `text 1` … `text n` in the list; returns their ids in creation order.
    pub async fn create_tasks_in(&self, token: &str, list: i64, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for i in 1..=n {
            let task = self.create_task_in(token, list, &format!("task {i}")).await;
            ids.push(task["id"].as_i64().unwrap());
        }
        ids
    }

    /// `GET /v1/lists/{list}/tasks?{query}`; the raw answer.
    pub async fn list_tasks_in(&self, token: &str, list: i64, query: &str) -> Response {
        self.get(&format!("/v1/lists/{list}/tasks?{query}"), token)
            .await
    }

    /// The ids of one page of a list, asserting 200.
    pub async fn page_in(&self, token: &str, list: i64, page: u32, per_page: u32) -> Vec<i64> {
        let query = format!("page={page}&per_page={per_page}");
        let resp = self.list_tasks_in(token, list, &query).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "GET list {list} tasks?{query}"
        );
        ids_of(&body(resp).await)
    }

    /// `POST /v1/lists/{list}/tasks/sort?page=&per_page=` with these ids.
    pub async fn sort_in(
        &self,
        token: &str,
        list: i64,
        page: u32,
        per_page: u32,
        ids: &[i64],
    ) -> Response {
        self.send(
            Method::POST,
            &format!("/v1/lists/{list}/tasks/sort?page={page}&per_page={per_page}"),
            Some(json!({ "task_ids": ids })),
            Some(token),
        )
        .await
    }

    /// `GET /v1/changes?{query}`, asserting 200; returns the page.
    pub async fn feed_page(&self, token: &str, query: &str) -> Value {
        let resp = self.get(&format!("/v1/changes?{query}"), token).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET /v1/changes?{query}");
        body(resp).await
    }

    /// Every entry of `/v1/changes` after `since` (from the start when `None`), read 500 at a
    /// time, and the position after them.
    pub async fn feed_after(&self, token: &str, since: Option<&str>) -> (Vec<Value>, String) {
        let mut since = since.map(str::to_owned);
        let mut entries = Vec::new();
        loop {
            let query = match &since {
                Some(s) => format!("since={s}&limit=500"),
                None => "limit=500".to_owned(),
            };
            let page = self.feed_page(token, &query).await;
            entries.extend(page["changes"].as_array().unwrap().iter().cloned());
            since = Some(page["next_since"].as_str().unwrap().to_owned());
            if page["has_more"] != true {
                return (entries, since.unwrap());
            }
        }
    }

    /// Opens `GET /v1/events` (from now, or after `last_event_id`).
    pub async fn follow_all(&self, token: &str, last_event_id: Option<&str>) -> Stream {
        let mut req = self
            .http
            .get(format!("{}/v1/events", self.base))
            .bearer_auth(token)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        Stream::new(req.send().await.expect("request sent"))
    }
}

//! The listo story through the client progenitor generates from `listo openapi` (build.rs).
//! On the main listo, lists: the default list, a list made ("Groceries"), two tasks added to it
//! and listed, one moved to the default list with PATCH list_id (the Groceries `task_count` drops
//! to 1), a rename with If-Match (a stale one: 412 with `current_list`), the feed of every list
//! (`GET /v1/changes`: the `list_upsert`, the moved task's `upsert` with its new `list_id`), the
//! default list refused deletion, Groceries deleted, then its 404 `not_found`. On the short
//! listo: register, login, the code from the outbox, verify, create, list, one sign-in kept alive
//! past several access-token lifetimes by refresh alone, a 304 read as "unchanged", logout, and
//! the old token's 401. Every refusal is decoded into the generated `types::Problem`.
//!
//! Run by scripts/clients/run.sh with:
//!   LISTO_URL, LISTO_OUTBOX  the main listo (sessions of 600 s) and its outbox
//!   LISTO_SHORT_URL     a listo whose access tokens live LISTO_SHORT_TTL seconds
//!   LISTO_SHORT_OUTBOX  the folder it writes .eml files to (no LISTO_SMTP_URL)
//!   LISTO_SHORT_TTL     that lifetime, in seconds
//!   FLOW_EMAIL          an address no other flow uses there
use std::{
    collections::HashSet, env, fs, future::poll_fn, num::NonZeroU64, path::Path, path::PathBuf,
    time::Duration,
};

/// The generated client: `Client`, `types`, and progenitor's `ByteStream`, `Error`, `ResponseValue`.
/// Clippy's lints are for the flow: progenitor's doc lists leave multi-line parameter
/// descriptions unindented (doc_lazy_continuation).
#[allow(clippy::all)]
pub mod listo {
    include!(concat!(env!("OUT_DIR"), "/listo.rs"));
}

use listo::{ByteStream, Client, Error, ResponseValue, types};

use reqwest::{StatusCode, header};

const PASSWORD: &str = "correct horse battery";
const LIFETIMES: u32 = 3; // access-token lifetimes the sign-in must outlive through refresh alone

type Flow<T> = Result<T, String>;
type Answer<T> = Result<ResponseValue<T>, Error<ByteStream>>;

fn check(step: &str, condition: bool, message: impl std::fmt::Display) -> Flow<()> {
    if condition {
        Ok(())
    } else {
        Err(format!("{step}: {message}"))
    }
}

fn ok(step: &str) {
    println!("rust flow: ok   {step}");
}

/// The refusal's `types::Problem`. progenitor leaves `application/problem+json` bodies as bytes
/// (it decodes only `application/json`), so they are read and decoded here.
async fn problem(error: Error<ByteStream>) -> Flow<(StatusCode, types::Problem)> {
    let Error::ErrorResponse(answer) = error else {
        return Err(format!("no problem answer: {error}"));
    };
    let (status, kind) = (
        answer.status(),
        answer.headers().get(header::CONTENT_TYPE).cloned(),
    );
    let mut stream = answer.into_inner();
    let mut body = Vec::new();
    while let Some(chunk) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        body.extend_from_slice(&chunk.map_err(|e| format!("reading a problem: {e}"))?);
    }
    let is_problem = kind.is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    check(
        "problem",
        is_problem,
        format!("{status} without application/problem+json"),
    )?;
    let problem = serde_json::from_slice(&body).map_err(|e| format!("{status} {e}: {body:?}"))?;
    Ok((status, problem))
}

/// The call failed with `status` and a Problem whose `code` is `code`; returns that Problem.
async fn expect_problem<T>(
    step: &str,
    answer: Answer<T>,
    status: u16,
    code: &str,
) -> Flow<types::Problem> {
    let error = match answer {
        // Only the status: a body that came instead may hold tokens.
        Ok(value) => {
            return Err(format!(
                "{step}: wanted {status} {code}, got {}",
                value.status()
            ));
        }
        Err(error) => error,
    };
    let (got, problem) = problem(error).await.map_err(|e| format!("{step}: {e}"))?;
    check(
        step,
        got.as_u16() == status && problem.status == status,
        format!("status {got}, wanted {status}"),
    )?;
    check(
        step,
        problem.code == code,
        format!("code {}, wanted {code}", problem.code),
    )?;
    check(
        step,
        problem.type_ == "about:blank" && !problem.detail.is_empty(),
        format!("{problem:?}"),
    )?;
    Ok(problem)
}

/// The body of a 2xx answer, or the step's failure with the problem that came instead.
async fn expect<T>(step: &str, answer: Answer<T>) -> Flow<T> {
    Ok(answered(step, answer).await?.into_inner())
}

/// A header of an answer, as text ("" when missing).
fn header_of<T>(value: &ResponseValue<T>, name: header::HeaderName) -> String {
    let found = value.headers().get(name).and_then(|v| v.to_str().ok());
    found.unwrap_or_default().to_owned()
}

/// A 2xx answer with its headers, or the step's failure with the problem that came instead.
async fn answered<T>(step: &str, answer: Answer<T>) -> Flow<ResponseValue<T>> {
    match answer {
        Ok(value) => Ok(value),
        Err(error) => match problem(error).await {
            Ok((status, problem)) => Err(format!(
                "{step}: {status} {} {}",
                problem.code, problem.detail
            )),
            Err(e) => Err(format!("{step}: {e}")),
        },
    }
}

/// A generated client that sends `Authorization: Bearer <token>` (progenitor leaves auth to the
/// reqwest client it is given).
fn client_with(base_url: &str, token: Option<&str>) -> Client {
    let mut headers = header::HeaderMap::new();
    if let Some(token) = token {
        let mut value =
            header::HeaderValue::try_from(format!("Bearer {token}")).expect("a header-safe token");
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
    }
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10));
    Client::new_with_client(base_url, http.build().expect("a reqwest client"))
}

/// A sign-in kept alive by refresh: the latest token pair and a client that sends its access token.
struct SignIn {
    base_url: String,
    token: types::AccessToken,
    client: Client,
    refreshes: u32,
}

impl SignIn {
    fn new(base_url: &str, token: types::AccessToken) -> Self {
        let client = client_with(base_url, Some(&token.access_token));
        Self {
            base_url: base_url.to_owned(),
            token,
            client,
            refreshes: 0,
        }
    }

    /// Runs `call`; when the access token has expired (401 `session_expired`), trades the refresh
    /// token for a new pair and runs it once more.
    async fn call<T>(&mut self, call: impl AsyncFn(&Client) -> Answer<T>) -> Flow<Answer<T>> {
        match call(&self.client).await {
            Err(error) if error.status() == Some(StatusCode::UNAUTHORIZED) => {
                let (status, problem) = problem(error).await?;
                if problem.code != "session_expired" {
                    return Ok(Err(Error::Custom(format!("{status} {}", problem.code))));
                }
                let refresh_token = self.token.refresh_token.clone().ok_or("no refresh token")?;
                let public = client_with(&self.base_url, None);
                let answer = public
                    .refresh()
                    .body_map(|b| b.refresh_token(refresh_token))
                    .send()
                    .await;
                self.token = expect("refresh", answer).await?; // 401 refresh_*: log in again
                self.client = client_with(&self.base_url, Some(&self.token.access_token));
                self.refreshes += 1;
                Ok(call(&self.client).await)
            }
            answer => Ok(answer),
        }
    }
}

fn outbox_mails(outbox: &Path) -> Vec<PathBuf> {
    let mut mails: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(outbox)
        .map(|dir| {
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_else(|_| Vec::new())
        .into_iter()
        .filter_map(|p: PathBuf| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    mails.sort();
    mails.into_iter().map(|(_, p)| p).collect()
}

/// The 6-digit code of the newest .eml, which must be new and addressed to `to`.
async fn read_code(step: &str, outbox: &Path, to: &str, seen: &HashSet<PathBuf>) -> Flow<String> {
    for _ in 0..100 {
        if let Some(newest) = outbox_mails(outbox).pop().filter(|p| !seen.contains(p)) {
            let text = fs::read_to_string(&newest)
                .map_err(|e| format!("{step}: {}: {e}", newest.display()))?;
            check(
                step,
                text.lines().any(|l| l.starts_with("To:") && l.contains(to)),
                "not addressed to us",
            )?;
            let after = text.split("sign-in code is ").nth(1).unwrap_or_default();
            let code: String = after.chars().take_while(char::is_ascii_digit).collect();
            check(
                step,
                code.len() == 6,
                format!("no sign-in code in {}", newest.display()),
            )?;
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "{step}: no new .eml in {} within 5 s",
        outbox.display()
    ))
}

/// An id from a body (`i64`) as a path or body id (`int64`, `minimum: 1`: a NonZeroU64 to typify).
fn nonzero(id: i64) -> Flow<NonZeroU64> {
    u64::try_from(id)
        .ok()
        .and_then(NonZeroU64::new)
        .ok_or_else(|| format!("id {id} is below 1"))
}

/// Lists on a listo whose sessions outlive the story: a new account's default list, a list made,
/// two tasks added to it, one moved to the default list, a rename with If-Match, the feed of every
/// list, the list deleted.
async fn lists_story(base_url: &str, outbox: &Path, email: &str) -> Flow<()> {
    let public = client_with(base_url, None);
    let credentials = |b: types::builder::Credentials| b.email(email).password(PASSWORD);
    let step = "lists: register and sign in";
    let account = expect(step, public.register().body_map(credentials).send().await).await?;
    let seen: HashSet<PathBuf> = outbox_mails(outbox).into_iter().collect();
    let challenge = expect(step, public.login().body_map(credentials).send().await).await?;
    let code = read_code(step, outbox, email, &seen).await?;
    let submission = |b: types::builder::CodeSubmission| {
        b.challenge_id(challenge.challenge_id.as_str())
            .code(code.as_str())
    };
    let token = expect(step, public.verify().body_map(submission).send().await).await?;
    let c = client_with(base_url, Some(&token.access_token));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).ok_or("a date")?;
    let new_task = |text: &'static str| {
        move |b: types::builder::NewTask| b.date(day).task(text).status(types::Status::Incomplete)
    };
    ok(step);

    let step = "lists: one default list, Tasks";
    let lists = expect(step, c.list_lists().send().await).await?.items;
    check(step, lists.len() == 1, format!("{lists:?}"))?;
    let home = lists[0].clone();
    check(
        step,
        home.name == "Tasks" && home.default && home.role == types::Role::Owner,
        format!("{home:?}"),
    )?;
    check(
        step,
        home.owner.id == account.id && home.owner.email == email && home.task_count == 0,
        format!("{home:?}"),
    )?;
    let home_id = nonzero(home.id)?;
    // One task in the default list first: the move below must put Eggs after it.
    let first = expect(
        step,
        c.create_task().body_map(new_task("Call Ada")).send().await,
    )
    .await?;
    check(step, first.list_id == home.id, format!("{first:?}"))?;
    ok(&format!("{step} (id {})", home.id));

    let step = "lists: create Groceries";
    let made = answered(
        step,
        c.create_list()
            .body_map(|b| b.name("Groceries"))
            .send()
            .await,
    )
    .await?;
    let (made_tag, location) = (
        header_of(&made, header::ETAG),
        header_of(&made, header::LOCATION),
    );
    let groceries = made.into_inner();
    check(
        step,
        groceries.name == "Groceries" && !groceries.default && groceries.task_count == 0,
        format!("{groceries:?}"),
    )?;
    check(
        step,
        groceries.version == 1 && made_tag == "\"1\"",
        format!("version {}, ETag {made_tag}", groceries.version),
    )?;
    check(
        step,
        location.ends_with(&format!("/v1/lists/{}", groceries.id)),
        format!("Location {location}"),
    )?;
    let order: Vec<i64> = expect(step, c.list_lists().send().await)
        .await?
        .items
        .iter()
        .map(|l| l.id)
        .collect();
    check(
        step,
        order == [home.id, groceries.id],
        format!("lists {order:?}: wanted the default, then Groceries"),
    )?;
    let list_id = nonzero(groceries.id)?;
    ok(&format!("{step} (id {})", groceries.id));

    let step = "lists: add two tasks to Groceries, GET /v1/lists/{id}/tasks lists them";
    let mut added = Vec::new();
    for text in ["Milk", "Eggs"] {
        let answer = c
            .create_list_task()
            .id(list_id)
            .body_map(new_task(text))
            .send()
            .await;
        let task = expect(step, answer).await?;
        check(
            step,
            task.list_id == groceries.id && task.task == text,
            format!("{task:?}"),
        )?;
        added.push(task);
    }
    let (milk, eggs) = (added[0].clone(), added[1].clone());
    let listed = expect(step, c.list_list_tasks().id(list_id).send().await)
        .await?
        .items;
    check(
        step,
        listed.iter().map(|t| t.id).eq([milk.id, eggs.id])
            && listed.iter().all(|t| t.list_id == groceries.id),
        format!("{listed:?}"),
    )?;
    let in_default = expect(step, c.list_tasks().send().await).await?.items;
    check(
        step,
        in_default.iter().map(|t| t.id).eq([first.id]),
        format!("the default list holds {in_default:?}"),
    )?;
    ok(step);

    let step = "lists: move Eggs to the default list (PATCH /v1/tasks/{id} list_id)";
    let answer = c
        .update_task()
        .id(nonzero(eggs.id)?)
        .body_map(|b| b.list_id(Some(home_id)))
        .send()
        .await;
    let moved = expect(step, answer).await?;
    check(
        step,
        moved.id == eggs.id && moved.list_id == home.id && moved.version > eggs.version,
        format!("{moved:?}"),
    )?;
    let in_default = expect(step, c.list_tasks().send().await).await?.items;
    check(
        step,
        in_default.iter().map(|t| t.id).eq([first.id, eggs.id])
            && in_default.last().is_some_and(|t| t.list_id == home.id),
        format!(
            "/v1/tasks holds {in_default:?}, wanted Eggs last, in list {}",
            home.id
        ),
    )?;
    let left = expect(step, c.list_list_tasks().id(list_id).send().await)
        .await?
        .items;
    check(
        step,
        left.iter().map(|t| t.id).eq([milk.id]),
        format!("Groceries holds {left:?}"),
    )?;
    let counted = expect(step, c.get_list().id(list_id).send().await).await?;
    check(
        step,
        counted.task_count == 1,
        format!("Groceries' task_count {}, wanted 1", counted.task_count),
    )?;
    ok(&format!(
        "{step} (last in /v1/tasks; Groceries' task_count 2 -> 1)"
    ));

    let step = "lists: rename Groceries with If-Match";
    let fresh = answered(step, c.get_list().id(list_id).send().await).await?;
    let etag = header_of(&fresh, header::ETAG);
    let held = fresh.into_inner();
    check(
        step,
        etag == format!("\"{}\"", held.version),
        format!("ETag {etag}, version {}", held.version),
    )?;
    let rename = async |name: &str| {
        c.rename_list()
            .id(list_id)
            .if_match(etag.as_str())
            .body_map(|b| b.name(name))
            .send()
            .await
    };
    let renamed = answered(step, rename("Weekly groceries").await).await?;
    let new_tag = header_of(&renamed, header::ETAG);
    let renamed = renamed.into_inner();
    check(
        step,
        renamed.name == "Weekly groceries" && renamed.version == held.version + 1,
        format!("{renamed:?}"),
    )?;
    check(
        step,
        new_tag == format!("\"{}\"", renamed.version),
        format!("ETag {new_tag}"),
    )?;
    let stale = expect_problem(step, rename("Groceries").await, 412, "precondition_failed").await?;
    check(
        step,
        stale
            .current_list
            .as_ref()
            .is_some_and(|l| l.name == "Weekly groceries"),
        format!("current_list {:?}", stale.current_list),
    )?;
    ok(&format!(
        "{step} (If-Match: {etag} -> 200; again -> 412 precondition_failed with current_list)"
    ));

    let step = "lists: the feed of every list (GET /v1/changes)";
    let feed = expect(step, c.list_feed().send().await).await?;
    check(
        step,
        !feed.has_more && feed.next_since.parse::<u64>().is_ok(),
        format!("next_since {}", feed.next_since),
    )?;
    let kind_of = |kind: &'static str, id: i64| {
        feed.changes
            .iter()
            .filter(move |e| e.kind == kind && e.id == id)
            .collect::<Vec<_>>()
    };
    let list_entries = kind_of("list_upsert", groceries.id);
    check(
        step,
        list_entries.len() == 1
            && list_entries[0]
                .list
                .as_ref()
                .is_some_and(|l| l.name == "Weekly groceries" && l.task_count == 1),
        format!("list_upsert entries for Groceries: {list_entries:?}"),
    )?;
    let task_entries = kind_of("upsert", eggs.id);
    check(
        step,
        task_entries.len() == 1
            && task_entries[0].list_id == Some(home.id)
            && task_entries[0]
                .task
                .as_ref()
                .is_some_and(|t| t.list_id == home.id),
        format!("upsert entries for Eggs: {task_entries:?}"),
    )?;
    check(
        step,
        kind_of("list_upsert", home.id).len() == 1,
        "no list_upsert for the default list",
    )?;
    check(
        step,
        feed.changes.windows(2).all(|w| w[0].seq < w[1].seq),
        "entries out of order",
    )?;
    ok(&format!(
        "{step} ({} entries: list_upsert {}, upsert {} in list {})",
        feed.changes.len(),
        groceries.id,
        eggs.id,
        home.id
    ));

    let step = "lists: the default list cannot be deleted";
    expect_problem(
        step,
        c.delete_list().id(home_id).send().await,
        409,
        "default_list",
    )
    .await?;
    ok(&format!("{step} (409 default_list)"));

    let step = "lists: delete Groceries, then GET it: 404 not_found into types::Problem";
    expect(step, c.delete_list().id(list_id).send().await).await?;
    let gone = expect_problem(
        step,
        c.get_list().id(list_id).send().await,
        404,
        "not_found",
    )
    .await?;
    let milk_id = nonzero(milk.id)?;
    expect_problem(
        step,
        c.get_task().id(milk_id).send().await,
        404,
        "task_not_found",
    )
    .await?;
    let lists = expect(step, c.list_lists().send().await).await?.items;
    check(
        step,
        lists.iter().map(|l| l.id).eq([home.id]),
        format!("lists after the delete: {lists:?}"),
    )?;
    let since = feed.next_since.as_str();
    let after = expect(step, c.list_feed().since(since).send().await).await?;
    check(
        step,
        after
            .changes
            .iter()
            .any(|e| e.kind == "list_removed" && e.id == groceries.id),
        format!("entries after the delete: {:?}", after.changes),
    )?;
    ok(&format!(
        "{step} (204; then {} {}: {:?}; the feed says list_removed)",
        gone.status, gone.code, gone.detail
    ));
    Ok(())
}

async fn run() -> Flow<()> {
    let var = |name: &str| env::var(name).map_err(|_| format!("environment: {name} is not set"));
    let (base_url, outbox, email) = (
        var("LISTO_SHORT_URL")?,
        PathBuf::from(var("LISTO_SHORT_OUTBOX")?),
        var("FLOW_EMAIL")?,
    );
    let ttl: u64 = var("LISTO_SHORT_TTL")?
        .parse()
        .map_err(|e| format!("LISTO_SHORT_TTL: {e}"))?;
    let main_outbox = PathBuf::from(var("LISTO_OUTBOX")?);
    lists_story(&var("LISTO_URL")?, &main_outbox, &email).await?;

    let public = client_with(&base_url, None);
    let credentials = |b: types::builder::Credentials| b.email(email.as_str()).password(PASSWORD);

    let step = "register";
    let account = expect(step, public.register().body_map(credentials).send().await).await?;
    check(
        step,
        account.email == email && account.id > 0,
        format!("{account:?}"),
    )?;
    ok(step);

    let step = "register again: 409 email_taken, decoded into types::Problem";
    expect_problem(
        step,
        public.register().body_map(credentials).send().await,
        409,
        "email_taken",
    )
    .await?;
    ok(step);

    let step = "login, the code from the outbox, verify";
    let seen: HashSet<PathBuf> = outbox_mails(&outbox).into_iter().collect();
    let challenge = expect(step, public.login().body_map(credentials).send().await).await?;
    let code = read_code(step, &outbox, &email, &seen).await?;
    let submission = |b: types::builder::CodeSubmission| {
        b.challenge_id(challenge.challenge_id.as_str())
            .code(code.as_str())
    };
    let token = expect(step, public.verify().body_map(submission).send().await).await?;
    check(
        step,
        token.refresh_token.is_some() && token.expires_in as u64 <= ttl,
        format!("expires_in {}", token.expires_in),
    )?;
    let mut signin = SignIn::new(&base_url, token);
    ok(step);

    let step = "create, list";
    let new_task = |b: types::builder::NewTask| {
        b.date(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap())
            .task("Stay signed in")
            .status(types::Status::Incomplete)
    };
    let task = expect(
        step,
        signin
            .call(async |c| c.create_task().body_map(new_task).send().await)
            .await?,
    )
    .await?;
    check(
        step,
        task.task == "Stay signed in" && task.id > 0,
        format!("{task:?}"),
    )?;
    let page = expect(
        step,
        signin.call(async |c| c.list_tasks().send().await).await?,
    )
    .await?;
    check(
        step,
        page.items.iter().map(|t| t.id).eq([task.id]),
        format!("{page:?}"),
    )?;
    ok(step);

    let step = format!("past {LIFETIMES} access-token lifetimes of {ttl} s through refresh alone");
    let (mails, started) = (outbox_mails(&outbox).len(), std::time::Instant::now());
    while signin.refreshes < LIFETIMES {
        check(
            &step,
            started.elapsed() < Duration::from_secs(3 * u64::from(LIFETIMES) * ttl),
            "too few refreshes",
        )?;
        let page = expect(
            &step,
            signin.call(async |c| c.list_tasks().send().await).await?,
        )
        .await?;
        check(
            &step,
            page.items.len() == 1,
            format!("{} tasks", page.items.len()),
        )?;
        tokio::time::sleep(Duration::from_millis(ttl * 500)).await;
    }
    check(
        &step,
        outbox_mails(&outbox).len() == mails,
        "a login code was mailed: it signed in again",
    )?;
    ok(&format!(
        "{step} ({} refreshes in {:.1} s)",
        signin.refreshes,
        started.elapsed().as_secs_f32()
    ));

    let step = "304 is a success";
    // The path's id (`int64`, `minimum: 1`) is a NonZeroU64 to typify, a task's `id` an i64.
    let id = u64::try_from(task.id)
        .ok()
        .and_then(NonZeroU64::new)
        .ok_or("a task id below 1")?;
    let fresh = signin
        .call(async |c| c.get_task().id(id).send().await)
        .await?
        .map_err(|e| format!("{step}: {e}"))?;
    let etag = fresh
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let held = fresh.into_inner();
    // progenitor types only 2xx answers as success: a declared 304 arrives as UnexpectedResponse.
    let current = match signin
        .call(async |c| {
            c.get_task()
                .id(id)
                .if_none_match(etag.as_str())
                .send()
                .await
        })
        .await?
    {
        Err(Error::UnexpectedResponse(answer)) if answer.status() == StatusCode::NOT_MODIFIED => {
            held.clone()
        }
        other => return Err(format!("{step}: wanted 304, got {other:?}")),
    };
    check(
        step,
        current.version == held.version,
        "the copy held changed",
    )?;
    ok(&format!(
        "{step} (If-None-Match: {etag} -> 304, the copy held is current)"
    ));

    let step = "logout, then the old token: 401 session_revoked";
    expect(step, signin.call(async |c| c.logout().send().await).await?).await?;
    let old = client_with(&base_url, Some(&signin.token.access_token));
    expect_problem(step, old.get_session().send().await, 401, "session_revoked").await?;
    let spent = signin.token.refresh_token.clone().unwrap_or_default();
    let answer = public
        .refresh()
        .body_map(|b| b.refresh_token(spent))
        .send()
        .await;
    expect_problem(step, answer, 401, "refresh_invalid").await?;
    ok(&format!(
        "{step} (and its refresh token: 401 refresh_invalid)"
    ));
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match run().await {
        Ok(()) => println!("rust flow: PASS"),
        Err(message) => {
            eprintln!("rust flow: FAIL at {message}");
            std::process::exit(1);
        }
    }
}

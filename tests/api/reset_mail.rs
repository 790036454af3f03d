//! Password-reset emails go through a queue: the request answers at once whatever the mail
//! server does, and a worker sends the email, retrying while the server fails, dropping the
//! email of a replaced reset, and resuming after a restart. The queue never holds the code.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, Instant};

stories!(sqlite, postgres => [
    with_smtp_failing_known_and_unknown_emails_answer_alike_at_once_and_the_mail_follows,
    a_reset_email_waiting_when_listo_stops_is_sent_after_the_restart,
    a_reset_replaced_while_smtp_fails_sends_only_the_newer_code,
    the_queue_never_holds_the_code,
    deleting_the_account_deletes_its_queued_email,
    without_an_smtp_server_the_reset_email_lands_in_the_outbox_whole,
]);

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Long enough for a first refused attempt, the 2 s backoff and the retry, with room to spare
/// on a busy machine.
const RETRY_WITHIN: Duration = Duration::from_secs(20);

/// Waits until `check` holds, polling; fails naming `what` after `within`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Unix milliseconds now, as the server stores instants.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

impl TestApp {
    /// Registers `email` (no email is sent for that).
    async fn account(&self, email: &str) {
        assert_eq!(self.register(email, PASSWORD).await.status(), 201);
    }

    /// Asks for a reset, asserting 202 well under the refusing mail server's delay; returns
    /// the answer's body.
    async fn quick_reset(&self, email: &str) -> Value {
        let started = Instant::now();
        let resp = self.request_reset(email).await;
        let took = started.elapsed();
        assert_eq!(resp.status(), 202, "{email}");
        assert!(
            took < Duration::from_secs(1),
            "{email}: the reset answered in {took:?}, as if it waited for the mail server"
        );
        body(resp).await
    }

    /// Waits until the queued email has been tried and is waiting for its retry (no worker is
    /// in the middle of sending it).
    async fn wait_for_a_retry(&self) {
        eventually(
            "a failed attempt waits for its retry",
            RETRY_WITHIN,
            || async {
                let soon = now_ms() + 30_000;
                self.db()
                    .integer(&format!(
                        "SELECT COUNT(*) FROM mail_queue WHERE attempts >= 1 AND next_at < {soon}"
                    ))
                    .await
                    > 0
            },
        )
        .await;
    }
}

async fn with_smtp_failing_known_and_unknown_emails_answer_alike_at_once_and_the_mail_follows() {
    let app = spawn_app().await;
    app.account("ann@example.com").await;
    app.smtp.refuse(true);

    // The mail server now fails, slowly: a login, which sends its code before answering, says so.
    let started = Instant::now();
    let login = app.login("ann@example.com", PASSWORD).await;
    assert_problem(login, 503, "email_unavailable").await;
    assert!(started.elapsed() >= SMTP_REFUSAL_DELAY);

    let known = app.quick_reset("ann@example.com").await;
    let unknown = app.quick_reset("nobody-here@example.com").await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(known["detail"], unknown["detail"]);

    // The worker tries, is refused, and tries again once the server accepts.
    let refused = app.smtp.refused();
    eventually("the worker tried to send", RETRY_WITHIN, || async {
        app.smtp.refused() > refused
    })
    .await;
    let before = app.smtp.messages().len();
    app.smtp.refuse(false);
    let mail = app
        .smtp
        .arriving_to("ann@example.com", before, RETRY_WITHIN)
        .await;
    assert!(mail.data.contains("password reset code"), "{}", mail.data);
    // Neither the failures nor the retry logged it.
    if let Some(line) = line_logging(&captured_logs(), &mail.code()) {
        panic!("the reset code was logged: {line}");
    }

    let challenge = known["challenge_id"].as_str().unwrap();
    let resp = app
        .confirm_reset(challenge, &mail.code(), NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.login("ann@example.com", NEW_PASSWORD).await.status(),
        202
    );

    // The unknown email never got anything, and the queue is empty.
    assert_eq!(app.count_rows("mail_queue").await, 0);
    let to_unknown = app
        .smtp
        .messages()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == "nobody-here@example.com"))
        .count();
    assert_eq!(to_unknown, 0);
}

async fn a_reset_email_waiting_when_listo_stops_is_sent_after_the_restart() {
    let mut app = spawn_app().await;
    app.account("bo@example.com").await;
    app.smtp.refuse(true);
    let started = app.quick_reset("bo@example.com").await;
    app.wait_for_a_retry().await;

    app.stop().await;
    app.smtp.refuse(false);
    let before = app.smtp.messages().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        app.smtp.messages().len(),
        before,
        "nothing is sent while listo is stopped"
    );
    app.restart().await;

    let mail = app
        .smtp
        .arriving_to("bo@example.com", before, RETRY_WITHIN)
        .await;
    let challenge = started["challenge_id"].as_str().unwrap();
    let resp = app
        .confirm_reset(challenge, &mail.code(), NEW_PASSWORD)
        .await;
    assert_eq!(resp.status(), 204);
}

async fn a_reset_replaced_while_smtp_fails_sends_only_the_newer_code() {
    let app = spawn_app().await;
    app.account("cal@example.com").await;
    app.smtp.refuse(true);
    let first = app.quick_reset("cal@example.com").await;
    app.wait_for_a_retry().await;
    let second = app.quick_reset("cal@example.com").await;
    assert_eq!(app.count_rows("mail_queue").await, 2, "both are queued");

    let before = app.smtp.messages().len();
    app.smtp.refuse(false);
    let mail = app
        .smtp
        .arriving_to("cal@example.com", before, RETRY_WITHIN)
        .await;
    // The older email leaves the queue unsent.
    eventually("the queue empties", RETRY_WITHIN, || async {
        app.count_rows("mail_queue").await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.smtp.messages().len(),
        before + 1,
        "one email, the newer one's"
    );

    let code = mail.code();
    let (first, second) = (
        first["challenge_id"].as_str().unwrap(),
        second["challenge_id"].as_str().unwrap(),
    );
    // The older challenge is over: with any code, its own never-sent one included.
    let resp = app.confirm_reset(first, &code, NEW_PASSWORD).await;
    assert_problem(resp, 401, "code_expired").await;
    let resp = app.confirm_reset(second, &code, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 204);
}

async fn the_queue_never_holds_the_code() {
    let app = spawn_app().await;
    app.account("dot@example.com").await;
    app.smtp.refuse(true);
    app.quick_reset("dot@example.com").await;
    app.wait_for_a_retry().await;
    let queued = app.db().rows("mail_queue").await;
    assert_eq!(queued.len(), 1, "{queued:?}");

    let before = app.smtp.messages().len();
    app.smtp.refuse(false);
    let code = app
        .smtp
        .arriving_to("dot@example.com", before, RETRY_WITHIN)
        .await
        .code();
    let as_number: i64 = code.parse().unwrap();
    for row in &queued {
        for (column, value) in row.as_object().unwrap() {
            let holds = match value {
                Value::Number(n) => n.as_i64() == Some(as_number),
                Value::String(s) => s.contains(&code),
                _ => false,
            };
            assert!(!holds, "mail_queue.{column} holds the code: {row}");
        }
    }
}

async fn deleting_the_account_deletes_its_queued_email() {
    let app = spawn_app().await;
    let user = app.sign_in_as("eli@example.com").await;
    app.smtp.refuse(true);
    app.quick_reset("eli@example.com").await;
    assert_eq!(app.count_rows("mail_queue").await, 1);

    let resp = app
        .send(
            Method::DELETE,
            "/v1/auth/account",
            Some(json!({ "password": PASSWORD })),
            Some(&user.token),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(app.count_rows("mail_queue").await, 0);
}

async fn without_an_smtp_server_the_reset_email_lands_in_the_outbox_whole() {
    let outbox = tempfile::tempdir().unwrap();
    let folder = outbox.path().join("outbox");
    let dir = folder.clone();
    let app = spawn_app_with(move |c| c.mail = listo::mail::MailConfig::Outbox(dir)).await;
    app.account("fin@example.com").await;
    let started = app.quick_reset("fin@example.com").await;

    let mut text = String::new();
    eventually("an .eml in the outbox", RETRY_WITHIN, || {
        let found = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "eml"));
        if let Some(path) = found {
            text = std::fs::read_to_string(path).unwrap().replace("=\r\n", "");
        }
        std::future::ready(!text.is_empty())
    })
    .await;
    let at = text.find("reset code is ").expect("the code") + "reset code is ".len();
    let code = &text[at..at + 6];
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "one file, nothing half-written left: {names:?}"
    );

    let challenge = started["challenge_id"].as_str().unwrap();
    let resp = app.confirm_reset(challenge, code, NEW_PASSWORD).await;
    assert_eq!(resp.status(), 204);
}

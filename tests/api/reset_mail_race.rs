//! Two listo processes on one database share one reset-mail queue: their workers wake for the
//! same due emails at the same moments, and each email is still sent exactly once.

use crate::support::process::Listo;
use crate::support::*;
use std::time::{Duration, Instant};

stories!(postgres => [
    two_processes_racing_for_queued_reset_emails_send_each_exactly_once,
]);

/// Users, each with one queued reset email.
const USERS: usize = 6;

async fn two_processes_racing_for_queued_reset_emails_send_each_exactly_once() {
    let smtp = SmtpCatcher::start().await;
    let database = crate::support::postgres::fresh_database();
    let a = Listo::start(&database, &smtp, &[]).await;
    let emails: Vec<String> = (0..USERS).map(|i| format!("race{i}@example.com")).collect();
    for email in &emails {
        assert_eq!(a.register(email, PASSWORD).await.status(), 201);
    }

    // Queued on `a` while the mail server refuses, so every email waits for its retry.
    smtp.refuse(true);
    for email in &emails {
        assert_eq!(a.request_reset(email).await.status(), 202);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let soon = now_ms() + 30_000;
        let waiting = a
            .db()
            .integer(&format!(
                "SELECT COUNT(*) FROM mail_queue WHERE attempts >= 1 AND next_at < {soon}"
            ))
            .await;
        if waiting == USERS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every email tried once\n{}",
            a.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Both workers are made to claim at the same moment: the test holds the table so no claim
    // can start, waits until `a` and `b` (which reads the queue at start) are both blocked in
    // one, and lets go. Reading when the next email is due is not blocked.
    let lock = crate::support::postgres::connect(&database).await;
    lock.batch_execute("BEGIN; LOCK TABLE mail_queue IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let b = Listo::start(&database, &smtp, &[]).await;
    let before = smtp.messages().len();
    smtp.refuse(false);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let blocked = a
            .db()
            .integer(
                "SELECT COUNT(*) FROM pg_locks \
                 WHERE relation = 'mail_queue'::regclass AND NOT granted",
            )
            .await;
        if blocked >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "both workers claim\na: {}\nb: {}",
            a.output(),
            b.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lock.batch_execute("COMMIT").await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while a.count_rows("mail_queue").await > 0 {
        assert!(
            Instant::now() < deadline,
            "the queue empties\na: {}\nb: {}",
            a.output(),
            b.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Anything sent twice would have left by now too.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sent = &smtp.messages()[before..];
    for email in &emails {
        let copies = sent
            .iter()
            .filter(|m| m.to.iter().any(|t| t == email))
            .count();
        assert_eq!(copies, 1, "{email} got {copies} emails");
    }
    assert_eq!(sent.len(), USERS);
    let logged = |p: &Listo| p.output().matches("password reset email sent").count();
    assert_eq!(
        logged(&a) + logged(&b),
        USERS,
        "each process logs the emails it sent"
    );
}

/// Unix milliseconds now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

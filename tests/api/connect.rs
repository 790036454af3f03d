//! Reaching the server: what start-up says when it cannot, never showing a password; and the
//! one-statement reads that run without a transaction.

use crate::support::postgres::fresh_database;
use crate::support::*;
use listo::store::Location;

stories!(postgres => [
    a_url_that_requires_tls_is_refused_by_a_server_without_it,
    an_unreachable_server_stops_start_up_naming_the_setting_but_not_the_password,
    the_one_statement_reads_answer_outside_a_transaction,
]);

/// Start-up's one line for this database URL.
async fn start_error(url: &str) -> String {
    let smtp = SmtpCatcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &smtp);
    config.database = Location::parse(url).unwrap();
    match listo::App::build(config).await {
        Ok(_) => panic!("listo started on {url}"),
        Err(e) => e.to_string(),
    }
}

async fn a_url_that_requires_tls_is_refused_by_a_server_without_it() {
    let url = format!("{}?sslmode=require", fresh_database());
    let err = start_error(&url).await;
    assert!(err.starts_with("LISTO_DATABASE"), "{err}");
    assert!(err.to_lowercase().contains("tls"), "{err}");
}

async fn an_unreachable_server_stops_start_up_naming_the_setting_but_not_the_password() {
    // Port 1 on loopback: nothing listens there.
    let err = start_error("postgres://listo:hunter2-secret@127.0.0.1:1/listo").await;
    assert!(err.starts_with("LISTO_DATABASE"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        !err.contains("hunter2-secret"),
        "the password was shown: {err}"
    );
    assert!(
        !captured_logs().contains("hunter2-secret"),
        "the password was logged"
    );
}

/// The one-statement reads are `Store` methods of their own, each one statement straight on a
/// pooled connection (no transaction around it): they answer, and with nothing stored, nothing.
async fn the_one_statement_reads_answer_outside_a_transaction() {
    let location = Location::parse(&fresh_database()).unwrap();
    let store = listo::store::Store::open(&location, 2).await.unwrap();
    let session = store.session([0; 32]).await;
    assert!(matches!(session, Ok(None)), "{session:?}");
    let task = store.task(1, 1).await;
    assert!(matches!(task, Ok(None)), "{task:?}");
    let due = store.next_mail_due().await;
    assert!(matches!(due, Ok(None)), "{due:?}");
}

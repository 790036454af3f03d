//! Reaching the server: what start-up says when it cannot, never showing a password; and the
//! one-statement read that runs without a transaction.

use crate::support::postgres::fresh_database;
use crate::support::*;
use listo::store::Location;

stories!(postgres => [
    a_url_that_requires_tls_is_refused_by_a_server_without_it,
    an_unreachable_server_stops_start_up_naming_the_setting_but_not_the_password,
    a_single_statement_read_refuses_a_second_statement,
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

/// A one-statement read runs outside any transaction, so a second statement in it would see
/// another snapshot: the store refuses it rather than answer from two.
async fn a_single_statement_read_refuses_a_second_statement() {
    let location = Location::parse(&fresh_database()).unwrap();
    let store = listo::store::Store::open(&location, 2).await.unwrap();
    let one = store
        .read_single(|tx| Box::pin(async move { tx.user_by_id(1).await }))
        .await;
    assert!(matches!(one, Ok(None)), "{one:?}");
    let two = store
        .read_single(|tx| {
            Box::pin(async move {
                tx.user_by_id(1).await?;
                tx.user_by_id(2).await
            })
        })
        .await;
    let refused = two.expect_err("a second statement ran");
    assert!(
        refused.to_string().contains("second statement"),
        "{refused}"
    );
}

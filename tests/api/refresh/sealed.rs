//! Sign-ins that last, continued: the absolute end of a sign-in, the grandparent's grace deep in
//! a chain, and a database that holds no live token (every token is random; the current pair is
//! stored only sealed for the holders of the spent tokens, so neither a copy of the file nor the
//! secret stored in it yields one).

use super::{PAST_GRACE, assert_live, assert_refresh_refused, pair, state};
use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use listo::store::Location;
use std::time::Duration;

stories!(sqlite, postgres => [
    a_sign_in_past_its_max_age_refuses_its_refresh_and_access_tokens,
    deep_in_a_chain_the_grandparent_answers_within_its_grace_and_ends_the_sign_in_after,
    a_copy_of_the_database_holds_no_live_token,
]);

async fn a_sign_in_past_its_max_age_refuses_its_refresh_and_access_tokens() {
    let app = spawn_app_with(|c| c.signin_max_age = Duration::from_secs(3)).await;
    app.register("ada@example.com", PASSWORD).await;
    let (challenge, code) = app.login_and_read_code("ada@example.com", PASSWORD).await;
    let (_, r0, issued) = pair(app.verify(&challenge, &code).await).await;
    // Neither token outlives the sign-in's absolute end.
    assert!(
        issued["refresh_expires_in"].as_i64().unwrap() <= 3,
        "{issued}"
    );
    assert!(issued["expires_in"].as_i64().unwrap() <= 3, "{issued}");

    // A refresh within it works, but no longer slides the end.
    let (a1, r1, again) = pair(app.refresh(&r0).await).await;
    assert_eq!(again["refresh_expires_at"], issued["refresh_expires_at"]);
    assert_eq!(again["expires_at"], issued["refresh_expires_at"]);
    assert_live(&app, &a1).await;

    tokio::time::sleep(Duration::from_millis(3_300)).await;
    assert_refresh_refused(&app, &r1, "refresh_invalid").await;
    assert_refresh_refused(&app, &r0, "refresh_invalid").await;
    assert_eq!(state(&app, &a1).await, (401, "session_expired".into()));
}

async fn deep_in_a_chain_the_grandparent_answers_within_its_grace_and_ends_the_sign_in_after() {
    let app = spawn_app().await;
    let user = app.signed_in_user().await;
    let (mut access, mut refresh) = (vec![user.token], vec![user.refresh.unwrap()]);
    for g in 0..4 {
        let (a, r, _) = pair(app.refresh(&refresh[g]).await).await;
        access.push(a);
        refresh.push(r);
    }
    let current = |a: &str, r: &str| (a.to_owned(), r.to_owned());

    // r2 (the grandparent, spent a moment ago) and r3 (the parent) answer the current pair.
    for spent in [2, 3] {
        let (a, r, _) = pair(app.refresh(&refresh[spent]).await).await;
        assert_eq!((a, r), current(&access[4], &refresh[4]), "r{spent}");
    }
    assert_live(&app, &access[4]).await;

    // One more rotation: r3 is now the grandparent and answers the new pair.
    let (a5, r5, _) = pair(app.refresh(&refresh[4]).await).await;
    let (a, r, _) = pair(app.refresh(&refresh[3]).await).await;
    assert_eq!((a, r), current(&a5, &r5));

    // r3 with its random part changed: its MAC holds, yet it is no token of this sign-in's.
    let mut forged = refresh[3].clone().into_bytes();
    forged[95] = if forged[95] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_refresh_refused(&app, &forged, "refresh_invalid").await;
    assert_live(&app, &a5).await;

    // Past the grace the parent still answers; the grandparent ends the whole sign-in.
    tokio::time::sleep(PAST_GRACE).await;
    let (a, r, _) = pair(app.refresh(&refresh[4]).await).await;
    assert_eq!((a, r), current(&a5, &r5));
    assert_refresh_refused(&app, &refresh[3], "refresh_reused").await;
    assert_eq!(state(&app, &a5).await, (401, "session_revoked".into()));
    assert_refresh_refused(&app, &r5, "refresh_invalid").await;
    assert_refresh_refused(&app, &refresh[4], "refresh_invalid").await;
}

async fn a_copy_of_the_database_holds_no_live_token() {
    let mut app = spawn_app().await;
    let user = app.signed_in_user().await;
    let (a1, r1, _) = pair(app.refresh(user.refresh.as_deref().unwrap()).await).await;
    let (a2, r2, _) = pair(app.refresh(&r1).await).await;
    // r1 answers again: the pair it is answered is stored, sealed.
    assert_eq!(pair(app.refresh(&r1).await).await.0, a2);

    let rows = app.db().rows("sessions").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    for column in ["refresh_hash", "parent_hash", "grand_hash"] {
        assert!(row[column].is_string(), "{column} is stored: {row}");
    }
    for column in ["pair_for_parent", "pair_for_grand", "parent_key_wrap"] {
        assert!(row[column].is_string(), "{column} is stored: {row}");
    }

    // Every token this sign-in was given, as text and as the bytes that make it unguessable
    // (the whole access token; a refresh token's random part, its last 32 bytes).
    let tokens = [&user.token, &a1, &a2];
    let refreshes = [user.refresh.as_ref().unwrap(), &r1, &r2];
    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for text in tokens {
        secrets.push((text.to_string(), URL_SAFE_NO_PAD.decode(text).unwrap()));
    }
    for text in refreshes {
        let bytes = URL_SAFE_NO_PAD.decode(text).unwrap();
        assert_eq!(bytes.len(), 72);
        secrets.push((text.to_string(), bytes[40..].to_vec()));
    }
    let dump = serde_json::to_string(&rows).unwrap();
    for (text, bytes) in &secrets {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dump.contains(text.as_str()), "a token's text in a column");
        assert!(!dump.contains(&hex), "a token's bytes in a column");
    }

    // The SQLite file itself (and its write-ahead log), byte by byte.
    if let Location::Sqlite(path) = &app.config().database {
        let mut files = vec![path.clone()];
        files.push(path.with_extension("db-wal"));
        for file in files.iter().filter(|f| f.exists()) {
            let content = std::fs::read(file).unwrap();
            for (text, bytes) in &secrets {
                for needle in [text.as_bytes(), bytes.as_slice()] {
                    let found = content.windows(needle.len()).any(|w| w == needle);
                    assert!(!found, "a token in {}", file.display());
                }
            }
        }
    }

    // A server started on a copy of the file under another secret knows none of its tokens.
    let Location::Sqlite(path) = app.config().database.clone() else {
        return;
    };
    app.stop().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("listo.db");
    std::fs::copy(&path, &copy).unwrap();
    let other = spawn_app_with(|c| {
        c.database = Location::Sqlite(copy.clone());
        c.secret = Some(secrecy::SecretString::from(
            "another secret, 32 characters or more",
        ));
    })
    .await;
    assert_eq!(state(&other, &a2).await, (401, "session_invalid".into()));
    for spent in [&r2, &r1] {
        assert_refresh_refused(&other, spent, "refresh_invalid").await;
    }
}

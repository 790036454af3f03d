use super::*;

fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn at(text: &str) -> Option<DateTime<Utc>> {
    super::super::s3::http_date(text)
}

#[test]
fn an_s3_replica_parses_with_endpoint_and_region() {
    let target = LeaseTarget::parse(
        "s3://listo/apps/one/",
        Some("http://127.0.0.1:5055"),
        Some("auto"),
        env(&[
            ("LITESTREAM_ACCESS_KEY_ID", "k"),
            ("LITESTREAM_SECRET_ACCESS_KEY", "s"),
        ]),
    )
    .unwrap();
    let LeaseTarget::S3(s3) = target else {
        panic!("not s3");
    };
    let S3Target {
        bucket,
        path,
        endpoint,
        region,
        credentials,
    } = *s3;
    assert_eq!(
        (bucket.as_str(), path.as_str(), region.as_str()),
        ("listo", "apps/one", "auto")
    );
    assert_eq!(endpoint.unwrap().as_str(), "http://127.0.0.1:5055/");
    assert_eq!((credentials.key(), credentials.secret()), ("k", "s"));
    assert_eq!(object_key("apps/one"), "apps/one/listo-lease.json");
    assert_eq!(object_key(""), "listo-lease.json");
}

#[test]
fn aws_credentials_win_over_litestream_ones_each_on_its_own() {
    let LeaseTarget::S3(s3) = LeaseTarget::parse(
        "s3://b/p",
        None,
        None,
        env(&[
            ("LITESTREAM_ACCESS_KEY_ID", "lk"),
            ("LITESTREAM_SECRET_ACCESS_KEY", "ls"),
            ("AWS_ACCESS_KEY_ID", "ak"),
        ]),
    )
    .unwrap() else {
        panic!("not s3");
    };
    let S3Target {
        credentials,
        region,
        endpoint,
        ..
    } = *s3;
    // As Litestream resolves them: each variable on its own, so a mixed pair is possible.
    assert_eq!((credentials.key(), credentials.secret()), ("ak", "ls"));
    assert_eq!(region, "us-east-1");
    assert!(endpoint.is_none());
}

#[test]
fn debug_output_holds_no_secret() {
    let target = LeaseTarget::parse(
        "s3://b/p",
        None,
        None,
        env(&[
            ("AWS_ACCESS_KEY_ID", "AKIDKEY"),
            ("AWS_SECRET_ACCESS_KEY", "TOPSECRET"),
        ]),
    )
    .unwrap();
    let debug = format!("{target:?}");
    assert!(
        !debug.contains("TOPSECRET") && !debug.contains("AKIDKEY"),
        "{debug}"
    );
}

#[test]
fn bad_settings_name_their_variable() {
    let none = env(&[]);
    let variable = |r: Result<LeaseTarget, LeaseError>| match r {
        Err(LeaseError::Setting { variable, .. }) => variable,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        variable(LeaseTarget::parse("s3://b/p", None, None, &none)),
        "LITESTREAM_ACCESS_KEY_ID"
    );
    assert_eq!(
        variable(LeaseTarget::parse("gs://b/p", None, None, &none)),
        "LISTO_REPLICA"
    );
    assert_eq!(
        variable(LeaseTarget::parse("not a url", None, None, &none)),
        "LISTO_REPLICA"
    );
    assert_eq!(
        variable(LeaseTarget::parse(
            "file:///d",
            Some("http://x"),
            None,
            &none
        )),
        "LISTO_REPLICA_ENDPOINT"
    );
    assert_eq!(
        variable(LeaseTarget::parse("file:///d", None, Some("r"), &none)),
        "LISTO_REPLICA_REGION"
    );
    let creds = env(&[("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s")]);
    assert_eq!(
        variable(LeaseTarget::parse(
            "s3://b/p",
            Some("ftp://x"),
            None,
            &creds
        )),
        "LISTO_REPLICA_ENDPOINT"
    );
}

#[test]
fn a_file_replica_is_a_folder() {
    let LeaseTarget::File { dir } =
        LeaseTarget::parse("file:///var/replica", None, None, env(&[])).unwrap()
    else {
        panic!("not file");
    };
    assert_eq!(dir, std::path::PathBuf::from("/var/replica"));
}

#[test]
fn expiry_is_judged_by_the_store_clock() {
    let ttl = Duration::from_secs(15);
    let written = at("Thu, 03 Dec 2026 19:00:00 GMT");
    let secs = |n| Some(Duration::from_secs(n));
    // A second more than the TTL: whole-second dates may read a second older than the lease is.
    assert_eq!(
        remaining(at("Thu, 03 Dec 2026 19:00:05 GMT"), written, ttl),
        secs(11)
    );
    assert_eq!(
        remaining(at("Thu, 03 Dec 2026 19:00:15 GMT"), written, ttl),
        secs(1)
    );
    assert_eq!(
        remaining(at("Thu, 03 Dec 2026 19:00:16 GMT"), written, ttl),
        None
    );
    assert_eq!(
        remaining(at("Thu, 03 Dec 2026 19:01:00 GMT"), written, ttl),
        None
    );
    // A store clock that seems to run backwards: the lease is as good as new.
    assert_eq!(
        remaining(at("Thu, 03 Dec 2026 18:59:00 GMT"), written, ttl),
        secs(16)
    );
    // Missing dates never let anyone take over.
    assert_eq!(remaining(None, written, ttl), Some(ttl));
}

#[test]
fn the_body_has_holder_pid_host_and_renewal_time() {
    let holder = LeaseHolder {
        id: "ab12".into(),
        pid: 7,
        host: "h".into(),
    };
    let record = Record {
        holder: holder.clone(),
        renewed_at: Utc::now(),
        released: false,
    };
    let json: serde_json::Value = serde_json::to_value(&record).unwrap();
    let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["holder", "host", "pid", "renewed_at"]);
    let released = Record {
        released: true,
        ..record
    };
    let back: Record = serde_json::from_slice(&serde_json::to_vec(&released).unwrap()).unwrap();
    assert!(back.released);
    assert_eq!(back.holder, holder);
}

#[test]
fn each_process_handle_gets_its_own_id() {
    let (a, b) = (LeaseHolder::this_process(), LeaseHolder::this_process());
    assert_ne!(a.id, b.id);
    assert_eq!(a.id.len(), 16);
    assert_eq!(a.pid, std::process::id());
}

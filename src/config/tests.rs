//! The settings as start-up reads them: defaults, values, one-line refusals, the help table.

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(|name| {
        vars.iter()
            .rev()
            .find(|v| v.0 == name)
            .map(|v| v.1.to_owned())
    })
}

#[test]
fn defaults_match_the_help_and_blank_values_are_unset() {
    let c = config(&[("LISTO_SESSION_TTL", " "), ("PORT", "")]).unwrap();
    assert_eq!(c.addr.to_string(), "0.0.0.0:8080");
    assert_eq!((c.session_ttl.as_secs(), c.otp_ttl.as_secs()), (30, 300));
    let refresh = (c.refresh_ttl, c.signin_max_age.as_secs());
    assert_eq!(refresh, (Some(Duration::from_secs(1_209_600)), 7_776_000));
    assert_eq!(
        config(&[("LISTO_REFRESH_TTL", "0")]).unwrap().refresh_ttl,
        None
    );
    assert!(matches!(c.mail, MailConfig::Outbox(ref p) if p == &PathBuf::from("./outbox")));
    let (l, q, k) = (c.limits, c.quotas, c.connections);
    let limits = [
        l.per_email_addr,
        l.per_addr,
        l.per_email_hourly,
        l.codes_per_hour,
    ];
    assert_eq!((limits, l.resets_per_hour), ([5, 30, 100, 10], 5));
    assert_eq!((q.sessions, q.streams), (Some(50), Some(8)));
    assert_eq!(
        (q.tasks, q.idempotency_bytes),
        (Some(100_000), Some(64 << 20))
    );
    let timeouts = (k.header_timeout, k.idle_timeout, k.max_connections);
    assert_eq!(
        timeouts,
        (
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(60)),
            None
        )
    );
    assert!(c.cors_origins.is_empty() && c.secret.is_none() && !c.log_json);
    assert_eq!(
        (c.trust_proxy, c.database_pool, c.log_filter.as_str()),
        (0, 16, "info")
    );
}

#[test]
fn values_are_read_as_documented() {
    for (raw, hops) in [("true", 1), ("false", 0), ("2", 2), ("0", 0)] {
        assert_eq!(
            config(&[("LISTO_TRUST_PROXY", raw)]).unwrap().trust_proxy,
            hops
        );
    }
    let c = config(&[
        ("PORT", "9000"),
        ("LISTO_TASKS_PER_USER", "0"),
        ("LISTO_HEADER_TIMEOUT", "0"),
        ("LISTO_MAX_CONNECTIONS", "0"),
        (
            "LISTO_CORS_ORIGINS",
            "https://app.example.com, http://127.0.0.1:5173/",
        ),
    ]);
    let c = c.unwrap();
    assert_eq!(c.addr.to_string(), "0.0.0.0:9000");
    let zeros = (
        c.quotas.tasks,
        c.connections.header_timeout,
        c.connections.max_connections,
    );
    assert_eq!(zeros, (None, None, Some(0)));
    assert_eq!(
        c.cors_origins,
        ["https://app.example.com", "http://127.0.0.1:5173"]
    );
    let c = config(&[("PORT", "9000"), ("LISTO_ADDR", "127.0.0.1:1")]).unwrap();
    assert_eq!(c.addr.to_string(), "127.0.0.1:1");
    for local in [
        "smtp://user:pass@127.0.0.1:2525",
        "smtp://user:pass@localhost:25",
    ] {
        assert!(config(&[("LISTO_SMTP_URL", local)]).is_ok(), "{local}");
    }
}

#[test]
fn a_bad_value_is_refused_in_one_line_naming_its_variable() {
    let bad = "LISTO_SESSION_TTL=0.5|LISTO_OTP_TTL=-5|LISTO_DATABASE_POOL=0|PORT=eighty
        |LISTO_SMTP_URL=smtp://user:pass@smtp.example.com:587|LISTO_SECRET=short
        |LISTO_LOGIN_LIMIT_PER_EMAIL=many|LISTO_CODE_LIMIT_PER_HOUR=ten|LISTO_TRUST_PROXY=17
        |LISTO_SESSIONS_PER_USER=-2|LISTO_LOG_FORMAT=xml|LISTO_MAIL_FROM=not an address
        |LISTO_CORS_ORIGINS=https://app.example.com/path|LISTO_CORS_ORIGINS=app.example.com
        |LISTO_HEADER_TIMEOUT=soon|LISTO_REFRESH_TTL=-1|LISTO_SIGNIN_MAX_AGE=0|LISTO_MAX_CONNECTIONS=-3|LISTO_ADDR=nowhere";
    for (var, value) in bad.split('|').filter_map(|v| v.trim().split_once('=')) {
        let err = config(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, var, "{err}");
        assert!(
            err.message.starts_with("expected") || var.contains("SMTP") || var.contains("SECRET")
        );
    }
    let err = config(&[("LISTO_SESSION_TTL", "abc")])
        .unwrap_err()
        .to_string();
    let expected = r#"expected a whole number of seconds between 1 and 31536000, got "abc""#;
    assert_eq!(err, format!("LISTO_SESSION_TTL: {expected}"));
}

#[test]
fn help_lists_every_variable_once_with_its_default() {
    let help = help();
    assert_eq!(
        help.lines().filter(|l| l.contains("[default: ")).count(),
        36
    );
    assert!(help.contains("[default: 0.0.0.0:$PORT]\n") && help.contains("[default: unset]\n"));
    assert!(help.contains("to believe: the client") && !help.contains("addr]"));
}

#[test]
fn debug_shows_no_secret() {
    let smtp = (
        "LISTO_SMTP_URL",
        "smtps://user:hunter2@mail.example.com:587",
    );
    let c = config(&[smtp, ("LISTO_SECRET", "0123456789abcdef0123456789abcdef-k")]).unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("0123456789abcdef"),
        "{shown}"
    );
    assert!(shown.contains("mail.example.com:587"), "{shown}");
}

#[test]
fn a_replica_setting_that_cannot_work_is_refused_naming_its_variable() {
    let bin = tempfile::tempdir().unwrap();
    let litestream = bin.path().join("litestream");
    std::fs::write(&litestream, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        &litestream,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = bin.path().to_str().unwrap();
    let keys = [
        ("LITESTREAM_ACCESS_KEY_ID", "k"),
        ("LITESTREAM_SECRET_ACCESS_KEY", "s"),
    ];
    let refused = |vars: &[(&str, &str)]| {
        let mut all = vec![("PATH", path)];
        all.extend_from_slice(&keys);
        all.extend_from_slice(vars);
        config(&all).unwrap_err()
    };
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("LISTO_REPLICA", "ftp://bucket/x")], "LISTO_REPLICA"),
        (&[("LISTO_REPLICA", "s3:///no-bucket")], "LISTO_REPLICA"),
        (
            &[
                ("LISTO_REPLICA", "s3://b/p"),
                ("LISTO_DATABASE", "postgres://u@h/db"),
            ],
            "LISTO_REPLICA",
        ),
        (
            &[("LISTO_REPLICA_ENDPOINT", "http://127.0.0.1:9000")],
            "LISTO_REPLICA_ENDPOINT",
        ),
        (&[("LISTO_REPLICA_REGION", "auto")], "LISTO_REPLICA_REGION"),
        (
            &[
                ("LISTO_REPLICA", "file:///tmp/r"),
                ("LISTO_REPLICA_REGION", "auto"),
            ],
            "LISTO_REPLICA_REGION",
        ),
        (
            &[
                ("LISTO_REPLICA", "s3://b/p"),
                ("LISTO_REPLICA_ENDPOINT", "not a url"),
            ],
            "LISTO_REPLICA_ENDPOINT",
        ),
        (
            &[
                ("LISTO_REPLICA", "s3://b/p"),
                ("LISTO_LITESTREAM", "/nonexistent/litestream"),
            ],
            "LISTO_LITESTREAM",
        ),
        (
            &[("LISTO_REPLICA", "s3://b/p"), ("PATH", "/nonexistent")],
            "LISTO_LITESTREAM",
        ),
        (
            &[("LISTO_REPLICA_SYNC_INTERVAL", "0")],
            "LISTO_REPLICA_SYNC_INTERVAL",
        ),
    ];
    for (vars, var) in cases {
        let err = refused(vars);
        assert_eq!(err.var, *var, "{vars:?}: {err}");
    }
    // No credentials for s3://: named by the variable to set.
    let err = config(&[("PATH", path), ("LISTO_REPLICA", "s3://b/p")]).unwrap_err();
    assert_eq!(err.var, "LITESTREAM_ACCESS_KEY_ID", "{err}");

    let mut ok = vec![("PATH", path), ("LISTO_REPLICA", "s3://bucket/app")];
    ok.extend_from_slice(&keys);
    let replica = config(&ok).unwrap().replica.expect("a replica");
    assert_eq!(
        (replica.url.as_str(), replica.litestream.as_path()),
        ("s3://bucket/app", litestream.as_path())
    );
    assert_eq!(
        (replica.sync_interval.as_secs(), replica.timeout.as_secs()),
        (1, 30)
    );
    assert!(config(&[("PATH", path)]).unwrap().replica.is_none());
    let shown = format!("{:?}", config(&ok).unwrap());
    assert!(
        !shown.contains("\"s\"") && !shown.contains("\"k\""),
        "{shown}"
    );
}

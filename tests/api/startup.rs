//! The binary itself: a bad setting stops it with one line naming the variable; `--version`
//! and `openapi` answer without starting a server; a good setting serves and stops cleanly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LISTO: &str = env!("CARGO_BIN_EXE_listo");

/// `listo` with a clean environment: run in `dir`, its database inside `dir`, plus `vars`.
fn listo(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(LISTO);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("LISTO_DATABASE", dir.join("db").join("listo.db"))
        .env("LISTO_OUTBOX", dir.join("outbox"))
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child` to exit, killing it (and failing) after `limit`. Its output is read
/// while it runs: a child writing more than a pipe holds (64 KiB) would otherwise wait for a
/// reader for ever.
fn finish_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "{what}: still running after {limit:?}; stdout: {} stderr: {}",
                String::from_utf8_lossy(&stdout.join().unwrap()),
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("LISTO_SESSION_TTL", "abc"),
        ("LISTO_SESSION_TTL", "0"),
        ("LISTO_OTP_TTL", "-5"),
        ("PORT", "eighty"),
        ("LISTO_ADDR", "nowhere"),
        ("LISTO_SMTP_URL", "http://x"),
        ("LISTO_SECRET", "too-short"),
        ("LISTO_LOGIN_LIMIT_PER_EMAIL", "many"),
        ("LISTO_LOGIN_LIMIT_PER_ADDR", "-1"),
        ("LISTO_TRUST_PROXY", "yes please"),
        ("LISTO_SMTP_URL", "smtp://mail.example.com?tls=bogus"),
        ("LISTO_SMTP_URL", "smtp://user:pass@smtp.example.com:587"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let child = listo(dir.path(), &[], &[(var, value)]).spawn().unwrap();
        let out = finish_within(child, Duration::from_secs(20), var);
        let stderr = String::from_utf8_lossy(&out.stderr);

        assert!(!out.status.success(), "{var}={value} started: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}={value}: stderr was {stderr:?}");
        assert!(lines[0].contains(var), "{var}={value}: {:?}", lines[0]);
        assert!(
            !dir.path().join("db").exists(),
            "{var}={value}: a refused start touched no database"
        );
    }
}

#[test]
fn a_place_listo_cannot_use_stops_start_up_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    // A folder cannot be created inside a regular file.
    std::fs::write(dir.path().join("file"), "").unwrap();
    let inside_a_file = dir.path().join("file").join("x");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    for (var, value, named) in [
        (
            "LISTO_DATABASE",
            inside_a_file.join("listo.db"),
            "LISTO_DATABASE",
        ),
        ("LISTO_OUTBOX", inside_a_file.clone(), "LISTO_OUTBOX"),
        ("LISTO_ADDR", taken_addr.clone().into(), "LISTO_ADDR"),
    ] {
        let mut cmd = listo(dir.path(), &[], &[("PORT", "0")]);
        cmd.env(var, &value);
        let out = finish_within(cmd.spawn().unwrap(), Duration::from_secs(20), var);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}: started: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}: stderr was {stderr:?}");
        assert!(lines[0].contains(named), "{var}: {:?}", lines[0]);
    }
    drop(taken);
}

#[test]
fn version_prints_the_crate_version() {
    let dir = tempfile::tempdir().unwrap();
    let child = listo(dir.path(), &["--version"], &[]).spawn().unwrap();
    let out = finish_within(child, Duration::from_secs(20), "--version");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("listo {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        !dir.path().join("db").exists(),
        "--version opened no database"
    );
}

#[test]
fn help_lists_every_setting_with_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let child = listo(dir.path(), &["--help"], &[]).spawn().unwrap();
    let out = finish_within(child, Duration::from_secs(20), "--help");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in listo::config::help().lines().skip(1) {
        assert!(
            stdout.contains(line),
            "{line:?} missing from --help:\n{stdout}"
        );
    }
}

#[test]
fn openapi_prints_the_document_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let child = listo(dir.path(), &["openapi"], &[]).spawn().unwrap();
    let out = finish_within(child, Duration::from_secs(20), "openapi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{doc}"
    );
    assert!(doc["paths"]["/v1/auth/login"].is_object());
    assert!(
        !dir.path().join("db").exists(),
        "openapi opened no database"
    );
}

#[test]
fn a_good_setting_serves_and_a_sigterm_stops_it_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = listo(
        dir.path(),
        &[],
        &[("LISTO_ADDR", "127.0.0.1:0"), ("LISTO_SESSION_TTL", "45")],
    )
    .spawn()
    .unwrap();

    // The listening line names the address actually bound.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listo listening") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("listo logged that it is listening");
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .unwrap_or_else(|| panic!("no addr= in {line:?}"))
        .to_owned();

    let health = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(
            &mut stream,
            b"GET /healthz HTTP/1.1\r\nHost: listo\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
        answer
    })
    .join()
    .unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        dir.path().join("db").join("listo.db").exists(),
        "the database was created with its folder"
    );

    // A second listo on the same file is refused in one line naming the setting; the first
    // keeps serving.
    let second = listo(dir.path(), &[], &[("LISTO_ADDR", "127.0.0.1:0")])
        .spawn()
        .unwrap();
    let out = finish_within(second, Duration::from_secs(20), "a second listo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second listo started: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr:?}");
    assert!(lines[0].contains("LISTO_DATABASE"), "{:?}", lines[0]);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first one still runs"
    );

    // The handlers are installed before listo answers anything, so SIGTERM right away is graceful.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = finish_within(child, Duration::from_secs(20), "after SIGTERM");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

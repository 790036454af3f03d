//! Free hosting without a disk (issue 28): `listo serve` with `LISTO_REPLICA` as an operator
//! and a user meet it: real listo processes, their real Litestream children, a real S3 server
//! (moto, `LISTO_TEST_S3`) or a folder. A process is killed, stopped, doubled, starved of its
//! store; its data folder is deleted as a free tier deletes its disk; the next process must show
//! every acknowledged write.
//!
//! Tests are `replica::s3::<story>` and `replica::file::<story>`; stories that need no replica
//! store are `replica::<story>`. Without `LISTO_TEST_LITESTREAM` (the litestream binary) or,
//! for s3://, `LISTO_TEST_S3`, a story prints one line saying so and passes without running.
//! Each prints its measurements as `figure:` lines (see them with `--nocapture`).

use crate::support::replica::{DataDir, Journal, Node, Replica, figure, free_port, litestream};
use crate::support::{SignedIn, SmtpCatcher, TASK_DATE, assert_problem, header};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Litestream's monitor interval plus the sync interval (1 s + 1 s), and a second for the
/// upload itself: a write older than this survives a crash.
const CRASH_WINDOW: Duration = Duration::from_secs(3);

/// Runs each story on a fresh replica of one kind: `replica::s3::<story>`, `replica::file::<story>`.
macro_rules! on {
    ($kind:ident: $($story:ident),* $(,)?) => {
        mod $kind {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let name = concat!(stringify!($kind), "::", stringify!($story));
                    if let Some(replica) = on!(@replica $kind, name) {
                        super::$story(replica).await;
                    }
                }
            )*
        }
    };
    (@replica s3, $name:expr) => { super::Replica::s3($name).await };
    (@replica file, $name:expr) => { super::Replica::file($name) };
}

on!(s3:
    a_crash_loses_no_write_older_than_the_window,
    a_stop_right_after_writes_loses_none,
    a_second_process_stands_by_then_takes_over,
    a_killed_litestream_is_restarted_and_nothing_is_lost,
    a_lease_taken_by_another_stops_the_holder,
    the_secret_key_never_reaches_the_output,
);
on!(file:
    a_crash_loses_no_write_older_than_the_window,
    a_stop_right_after_writes_loses_none,
    a_second_process_stands_by_then_takes_over,
    a_killed_litestream_is_restarted_and_nothing_is_lost,
);

/// A user signs in and does what users do: creates, edits, moves, sorts, deletes, signs in on
/// another device. Each write is noted in the journal once acknowledged.
async fn everyday_writes(node: &Node, journal: &mut Journal) -> SignedIn {
    let user = node.signed_in_user().await;
    let token = &user.token;
    journal.acknowledged("sign in", node, token).await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        let task = node.create_task(token, &format!("task {i}")).await;
        ids.push(task["id"].as_i64().unwrap());
        journal
            .acknowledged(&format!("create task {i}"), node, token)
            .await;
    }
    let edited = node
        .patch_task(token, ids[1], json!({"task": "task 2, edited"}))
        .await;
    assert_eq!(edited.status(), 200, "edit");
    journal.acknowledged("edit task 2", node, token).await;
    let done = node
        .patch_task(token, ids[0], json!({"status": "Completed"}))
        .await;
    assert_eq!(done.status(), 200, "complete");
    journal.acknowledged("complete task 1", node, token).await;
    let moved = node.move_task(token, ids[4], json!({"to": "start"})).await;
    assert_eq!(moved.status(), 200, "move");
    journal
        .acknowledged("move task 5 to the start", node, token)
        .await;
    let mut order = node.list_page(token, 1, 100).await;
    order.reverse();
    assert_eq!(node.sort_page(token, 1, 100, &order).await.status(), 200);
    journal
        .acknowledged("sort the page backwards", node, token)
        .await;
    assert_eq!(node.delete_task(token, ids[2]).await.status(), 204);
    journal.acknowledged("delete task 3", node, token).await;
    node.sign_in_again(&user.email).await;
    journal
        .acknowledged("sign in on another device", node, token)
        .await;
    user
}

/// Creates `n` tasks named `<prefix> 1`…, noting each in the journal.
async fn creates(node: &Node, user: &SignedIn, journal: &mut Journal, prefix: &str, n: usize) {
    for i in 1..=n {
        let text = format!("{prefix} {i}");
        node.create_task(&user.token, &text).await;
        journal.acknowledged(&text, node, &user.token).await;
    }
}

/// Deletes the data folder and starts a new process on the replica; returns it once ready,
/// with the time from its start to ready (the restore) as a figure.
async fn restore(replica: &Replica, data: &DataDir, smtp: &SmtpCatcher, story: &str) -> Node {
    data.wipe();
    let mut node = Node::spawn(replica, data, smtp, &[]);
    let took = node.ready_within(Duration::from_secs(60)).await;
    let kind = replica.kind();
    figure(
        &format!("{kind} {story} start_to_ready_ms"),
        took.as_millis(),
    );
    // Within it: waiting out a dead holder's lease (none after a stop), then the restore.
    let waited = node.logged("waited_ms").unwrap_or(0);
    figure(&format!("{kind} {story} lease_wait_ms"), waited);
    let restored = node.logged("restore_ms").expect("a restore_ms in the log");
    figure(&format!("{kind} {story} restore_ms"), restored);
    assert!(
        node.stdout()
            .contains("restored the database from the replica"),
        "{}",
        node.output()
    );
    node
}

/// kill -9 of listo and Litestream, the data folder deleted, a new start on the same replica:
/// every write acknowledged more than the window before the kill is back, in order.
async fn a_crash_loses_no_write_older_than_the_window(replica: Replica) {
    let smtp = SmtpCatcher::start().await;
    let data = DataDir::new();
    let mut first = Node::start(&replica, &data, &smtp).await;
    let mut journal = Journal::default();
    let user = everyday_writes(&first, &mut journal).await;
    let old = journal.len();
    tokio::time::sleep(CRASH_WINDOW).await;
    // Inside the window: a crash may lose these; the figure says how many it did.
    creates(&first, &user, &mut journal, "late", 5).await;
    let recent = journal.len() - old;

    first.kill_9_with_litestream();
    let second = restore(&replica, &data, &smtp, "crash").await;
    let lost = journal.lost_on(&second, &user.token).await;
    let kind = replica.kind();
    figure(
        &format!("{kind} crash writes_lost_older_than_3s"),
        lost.saturating_sub(recent),
    );
    figure(
        &format!("{kind} crash writes_lost_of_the_last_{recent}"),
        lost.min(recent),
    );
    assert!(
        lost <= recent,
        "{lost} writes lost, among them some acknowledged more than {CRASH_WINDOW:?} before the kill: {:?}",
        journal.after(journal.len() - lost)
    );
    // The session from before the crash still works, and the user can write again.
    let session = second.get("/v1/auth/session", &user.token).await;
    assert_eq!(session.status(), 200);
    second.create_task(&user.token, "after the crash").await;
}

/// SIGTERM right after writes: exit 0 within 5 s, every write on the replica; the restored
/// process, idle, stops within 3 s.
async fn a_stop_right_after_writes_loses_none(replica: Replica) {
    let smtp = SmtpCatcher::start().await;
    let data = DataDir::new();
    let mut first = Node::start(&replica, &data, &smtp).await;
    let mut journal = Journal::default();
    let user = everyday_writes(&first, &mut journal).await;
    let kind = replica.kind();

    // No wait: the signal follows the last acknowledgement.
    let (status, took) = first.terminate(Duration::from_secs(10)).await;
    figure(&format!("{kind} stop_after_writes_ms"), took.as_millis());
    assert!(status.success(), "{status}\n{}", first.output());
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    assert!(
        first
            .stdout()
            .contains("every acknowledged write is on the replica"),
        "{}",
        first.output()
    );

    let mut second = restore(&replica, &data, &smtp, "stop").await;
    assert_eq!(journal.lost_on(&second, &user.token).await, 0);

    let (status, took) = second.terminate(Duration::from_secs(10)).await;
    figure(&format!("{kind} stop_idle_ms"), took.as_millis());
    assert!(status.success(), "{status}\n{}", second.output());
    assert!(took < Duration::from_secs(3), "idle stop took {took:?}");
}

/// A deploy that overlaps: a second process on the same replica stands by (alive, not ready,
/// refusing `/v1`) while the first serves, and takes over with all its writes once the first
/// is stopped.
async fn a_second_process_stands_by_then_takes_over(replica: Replica) {
    let smtp = SmtpCatcher::start().await;
    let (first_data, second_data) = (DataDir::new(), DataDir::new());
    let mut first = Node::start(&replica, &first_data, &smtp).await;
    let mut journal = Journal::default();
    let user = everyday_writes(&first, &mut journal).await;

    let mut second = Node::spawn(&replica, &second_data, &smtp, &[]);
    second
        .logs_within("another listo holds the replica", Duration::from_secs(30))
        .await;
    assert_eq!(second.status_of("/healthz").await, Some(200), "alive");
    assert_eq!(second.status_of("/readyz").await, Some(503), "not ready");
    let refused = second.get("/v1/tasks", &user.token).await;
    assert!(!header(&refused, "retry-after").is_empty());
    assert_problem(refused, 503, "unavailable").await;

    // The first goes on serving meanwhile.
    creates(&first, &user, &mut journal, "while the second waits", 3).await;
    assert_eq!(
        second.status_of("/readyz").await,
        Some(503),
        "still waiting"
    );

    let signalled = Instant::now();
    first.signal(libc::SIGTERM);
    let deadline = signalled + Duration::from_secs(30);
    while second.status_of("/readyz").await != Some(200) {
        assert!(
            Instant::now() < deadline,
            "no takeover\n{}",
            second.output()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    figure(
        &format!("{} handover_ms", replica.kind()),
        signalled.elapsed().as_millis(),
    );
    let status = first.exits_within(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}\n{}", first.output());
    assert_eq!(journal.lost_on(&second, &user.token).await, 0);
    second.create_task(&user.token, "on the second").await;
}

/// Litestream killed under a running listo: listo starts it again within 10 s and serves on;
/// every create answered 201 meanwhile (and none answered 503) is on the replica, as a crash,
/// a wipe and a restore show.
async fn a_killed_litestream_is_restarted_and_nothing_is_lost(replica: Replica) {
    let smtp = SmtpCatcher::start().await;
    let data = DataDir::new();
    let mut node = Node::start(&replica, &data, &smtp).await;
    let user = node.signed_in_user().await;
    let mut acknowledged = BTreeSet::new();
    for i in 1..=3 {
        acknowledged.insert(format!("before {i}"));
        node.create_task(&user.token, &format!("before {i}")).await;
    }
    let killed = node
        .litestream_pid()
        .expect("litestream runs as listo's child");
    // SAFETY: kill(2) on a pid whose parent is our child.
    unsafe {
        libc::kill(killed as libc::pid_t, libc::SIGKILL);
    }
    let started = Instant::now();

    // The user keeps writing: each create is answered 201 or 503 `unavailable`.
    // A create between two `/readyz` 503s was made while the gate was closed: it must be
    // refused (the gate closes once and opens once, so the probes bracket it).
    let (mut refused, mut not_ready, mut was_ready, mut back) = (0, 0, true, None);
    for i in 1.. {
        let text = format!("during {i}");
        let created = json!({"date": TASK_DATE, "task": text, "status": "Incomplete"});
        let answer = node.post_task(&user.token, created).await;
        let status = answer.status().as_u16();
        let ready = node.status_of("/readyz").await == Some(200);
        match status {
            201 => {
                assert!(
                    was_ready || ready,
                    "create {i} answered 201 between two 503s"
                );
                acknowledged.insert(text);
            }
            503 => {
                assert_problem(answer, 503, "unavailable").await;
                refused += 1;
            }
            other => panic!("create answered {other}\n{}", node.output()),
        }
        not_ready += usize::from(!ready);
        was_ready = ready;
        let restarted = node.litestream_pid().is_some_and(|pid| pid != killed);
        if ready && restarted {
            back = back.or(Some(started.elapsed()));
            if i >= 10 {
                break;
            }
        }
        if let Some(status) = node.exit_status() {
            panic!(
                "listo exited ({status}) instead of restarting litestream\n{}",
                node.output()
            );
        }
        let limit = Duration::from_secs(10);
        assert!(
            started.elapsed() < limit,
            "not serving again within 10 s\n{}",
            node.output()
        );
    }
    let kind = replica.kind();
    figure(
        &format!("{kind} litestream_restart_ms"),
        back.unwrap().as_millis(),
    );
    figure(
        &format!("{kind} litestream_restart_creates_refused"),
        refused,
    );
    figure(
        &format!("{kind} litestream_restart_readyz_503_seen"),
        not_ready,
    );
    assert!(
        node.stdout().contains("litestream replicates again"),
        "{}",
        node.output()
    );
    for i in 1..=3 {
        acknowledged.insert(format!("after {i}"));
        node.create_task(&user.token, &format!("after {i}")).await;
    }

    // Replicated continuously again: a crash after the window loses none of it.
    tokio::time::sleep(CRASH_WINDOW).await;
    node.kill_9_with_litestream();
    let restored = restore(&replica, &data, &smtp, "litestream_killed").await;
    let mut texts = BTreeSet::new();
    for id in restored.list_all(&user.token).await {
        let task = restored.task(&user.token, id).await;
        texts.insert(task["task"].as_str().unwrap().to_owned());
    }
    assert_eq!(texts, acknowledged, "exactly the creates answered 201");
}

/// Another holder overwrites the lease object (as a process that judged it expired would):
/// the holder stops acknowledging writes and exits non-zero within ~20 s.
async fn a_lease_taken_by_another_stops_the_holder(replica: Replica) {
    use listo::replica::s3::Condition;
    let smtp = SmtpCatcher::start().await;
    let data = DataDir::new();
    let mut node = Node::start(&replica, &data, &smtp).await;
    let user = node.signed_in_user().await;
    node.create_task(&user.token, "before the takeover").await;

    let store = replica.s3_client();
    let key = "db/listo-lease.json";
    let current = store.get(key).await.unwrap();
    assert_eq!(current.status, 200, "the holder's lease object");
    let other = json!({
        "holder": "0123456789abcdef",
        "pid": 1,
        "host": "another-host",
        "renewed_at": chrono::Utc::now(),
    });
    let body = bytes::Bytes::from(other.to_string());
    let taken = store
        .put(key, body, &Condition::Matches(current.etag.unwrap()))
        .await
        .unwrap();
    assert_eq!(taken.status, 200, "overwriting the lease");
    let took_over = Instant::now();

    // Every write is refused from the moment it notices, until it exits.
    let deadline = took_over + Duration::from_secs(30);
    // Until its next renewal (every 10 s) it cannot know: writes answered 201 meanwhile are a
    // figure (a real successor waits out the 30 s TTL, by which the holder has stopped).
    let (mut refused, mut acknowledged) = (0, 0);
    while node.exit_status().is_none() {
        assert!(
            Instant::now() < deadline,
            "still running\n{}",
            node.output()
        );
        // The process may be gone by the time the request leaves: no answer is no 2xx.
        let answer = node
            .http
            .post(format!("{}/v1/tasks", node.base))
            .bearer_auth(&user.token)
            .json(&json!({"date": TASK_DATE, "task": "after the takeover", "status": "Incomplete"}))
            .send()
            .await;
        match answer.map(|a| a.status().as_u16()) {
            Ok(503) => refused += 1,
            Ok(status) if refused > 0 => panic!("a write answered {status} after a 503"),
            Ok(201) => acknowledged += 1,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    figure("s3 lease_lost_exit_ms", took_over.elapsed().as_millis());
    figure("s3 lease_lost_writes_refused_before_exit", refused);
    figure(
        "s3 lease_lost_writes_acknowledged_after_takeover",
        acknowledged,
    );
    let status = node.exit_status().unwrap();
    assert!(!status.success(), "{status}");
    let stderr = node.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("LISTO_REPLICA") && stderr.contains("lease"),
        "{stderr}"
    );
}

/// A distinctive secret key reaches neither output, at the most verbose log level, through a
/// start, writes and a stop.
async fn the_secret_key_never_reaches_the_output(mut replica: Replica) {
    let secret = "sekrit-8f3a2b91c7d4e6f0-do-not-print";
    replica.set("LITESTREAM_SECRET_ACCESS_KEY", secret);
    let smtp = SmtpCatcher::start().await;
    let data = DataDir::new();
    let mut node = Node::spawn(&replica, &data, &smtp, &[("RUST_LOG", "trace")]);
    node.ready_within(Duration::from_secs(60)).await;
    let user = node.signed_in_user().await;
    node.create_task(&user.token, "a task").await;
    let (status, _) = node.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
    let output = node.output();
    assert!(
        output.contains("litestream"),
        "Litestream's lines are there"
    );
    assert!(!output.contains(secret), "the secret is in the output");
}

/// Each bad setting: exit 2 within a second, one line on stderr naming the variable, nothing
/// listening meanwhile. No replica store or litestream is needed: none is reached.
#[tokio::test]
async fn each_bad_setting_stops_start_up_naming_the_variable() {
    let smtp = SmtpCatcher::start().await;
    let folder = url::Url::from_directory_path(std::env::temp_dir().join("listo-never-made"))
        .unwrap()
        .to_string();
    let folder = folder.as_str();
    let cases: [(&str, &[(&str, &str)]); 6] = [
        ("LISTO_REPLICA", &[("LISTO_REPLICA", "ftp://bucket/db")]),
        (
            "LISTO_LITESTREAM",
            &[
                ("LISTO_REPLICA", folder),
                ("LISTO_LITESTREAM", "/nonexistent"),
            ],
        ),
        (
            "LISTO_REPLICA",
            &[
                ("LISTO_REPLICA", folder),
                ("LISTO_DATABASE", "postgres://listo:listo@127.0.0.1:1/listo"),
            ],
        ),
        (
            "LISTO_REPLICA_ENDPOINT",
            &[
                ("LISTO_REPLICA", folder),
                ("LISTO_REPLICA_ENDPOINT", "http://127.0.0.1:1"),
            ],
        ),
        (
            "LISTO_REPLICA_REGION",
            &[("LISTO_REPLICA", folder), ("LISTO_REPLICA_REGION", "auto")],
        ),
        (
            "LITESTREAM_ACCESS_KEY_ID",
            &[("LISTO_REPLICA", "s3://bucket/db")],
        ),
    ];
    for (variable, vars) in cases {
        let data = DataDir::new();
        let mut node = Node::spawn_bare(&data, &smtp, vars);
        let port = node.port();
        let mut listened = false;
        while node.exit_status().is_none() {
            listened |= std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            assert!(
                node.spawned.elapsed() < Duration::from_secs(1),
                "{vars:?}: still running"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let status = node.exit_status().unwrap();
        assert_eq!(
            status.code(),
            Some(2),
            "{vars:?}: {status}\n{}",
            node.output()
        );
        assert!(!listened, "{vars:?}: something listened on its port");
        let stderr = node.stderr();
        assert_eq!(stderr.lines().count(), 1, "{vars:?}: {stderr}");
        assert!(stderr.contains(variable), "{vars:?}: {stderr}");
        assert!(!data.database().exists(), "{vars:?}: a database was made");
    }
}

/// An unreachable store and no local file, as a deploy with a wrong endpoint: listo gives up
/// after `LISTO_REPLICA_TIMEOUT` with one line naming `LISTO_REPLICA`, never ready, never
/// answering `/v1`, no database made (it would be replicated as the newest state). Both a
/// refused connection and a store that accepts and never answers.
#[tokio::test]
async fn an_unreachable_store_is_given_up_on() {
    let story = "an_unreachable_store_is_given_up_on";
    let Some(litestream) = litestream(story) else {
        return;
    };
    let smtp = SmtpCatcher::start().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    // Accepts and holds every connection, answering nothing.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let refused_url = format!("http://127.0.0.1:{}", free_port());
    let secret = "sekrit-unreachable-3c1d9e";
    for (what, endpoint) in [("refused", refused_url), ("silent", silent_url)] {
        let data = DataDir::new();
        let vars = [
            ("LISTO_REPLICA", "s3://bucket/db"),
            ("LISTO_REPLICA_ENDPOINT", endpoint.as_str()),
            ("LISTO_REPLICA_TIMEOUT", "3"),
            ("LITESTREAM_ACCESS_KEY_ID", "test"),
            ("LITESTREAM_SECRET_ACCESS_KEY", secret),
            ("LISTO_LITESTREAM", litestream.as_str()),
        ];
        let mut node = Node::spawn_bare(&data, &smtp, &vars);
        while node.exit_status().is_none() {
            assert!(
                node.spawned.elapsed() < Duration::from_secs(8),
                "{what}: still running after 8 s\n{}",
                node.output()
            );
            for path in ["/readyz", "/v1/tasks"] {
                let status = node.status_of(path).await;
                assert!(
                    status.is_none() || status == Some(503),
                    "{what}: {path} {status:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let took = node.spawned.elapsed();
        figure(&format!("unreachable_{what}_exit_ms"), took.as_millis());
        let status = node.exit_status().unwrap();
        assert!(!status.success(), "{what}: {status}");
        assert!(
            took >= Duration::from_secs(3),
            "{what}: gave up after {took:?}"
        );
        let stderr = node.stderr();
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.contains("LISTO_REPLICA"), "{what}: {stderr}");
        assert!(
            !node.output().contains(secret),
            "{what}: the secret is in the output"
        );
        assert!(!data.database().exists(), "{what}: a database was made");
    }
}

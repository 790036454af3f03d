//! What the replica stories (issue 28) stand on: a replica to share (`Replica`: a fresh bucket on
//! the test S3 server, or a temporary folder), a real `listo serve` on it (`Node`) that a story
//! can signal, kill with its Litestream child and wipe, and `Journal`, which tells how many
//! acknowledged writes a restored database lacks.
//!
//! They need the litestream binary (`LISTO_TEST_LITESTREAM=/path/to/litestream`) and, for s3://,
//! the test S3 server (`LISTO_TEST_S3=http://127.0.0.1:PORT`, moto: `scripts/lib/moto.sh`).
//! Without them each story prints one line saying so and passes without running.

use crate::support::{SmtpCatcher, TestApp, body};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const LISTO: &str = env!("CARGO_BIN_EXE_listo");

/// Tokens from one process must work in the next: they hash with this.
const SECRET: &str = "replica-stories-secret-shared-by-every-process";

/// Credentials for moto, which checks no signature.
const KEY_ID: &str = "test";
const KEY_SECRET: &str = "test";

/// Prints the one line a skipped story leaves, past the test harness's capture (as a warning
/// should be seen in any run).
pub fn skipped(story: &str, why: &str) {
    use std::io::Write as _;
    let line = format!("\nreplica::{story}: skipped: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// One measurement for the closing note (collected with `--nocapture`).
pub fn figure(name: &str, value: impl std::fmt::Display) {
    eprintln!("figure: {name} = {value}");
}

/// The litestream binary named by `LISTO_TEST_LITESTREAM`, or `None` after the skip line.
pub fn litestream(story: &str) -> Option<String> {
    match std::env::var("LISTO_TEST_LITESTREAM") {
        Ok(path) if !path.is_empty() => {
            assert!(
                Path::new(&path).is_file(),
                "LISTO_TEST_LITESTREAM={path}: no such file"
            );
            Some(path)
        }
        _ => {
            skipped(
                story,
                "LISTO_TEST_LITESTREAM is unset (the litestream binary to run)",
            );
            None
        }
    }
}

/// A short random name part, so parallel stories never share a bucket or a path.
fn unique() -> String {
    let mut bytes = [0u8; 6];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a story's processes replicate to, and the settings that say so.
pub struct Replica {
    /// `LISTO_REPLICA`.
    pub url: String,
    /// `LISTO_LITESTREAM` and the replica's other settings.
    vars: Vec<(String, String)>,
    /// For s3://: the server and bucket, to read and write objects beside the replica.
    s3: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Replica {
    /// A new bucket on the test S3 server, replica path `db`; `None` (after the skip line)
    /// without the server or the binary.
    pub async fn s3(story: &str) -> Option<Replica> {
        let Some(server) = std::env::var("LISTO_TEST_S3")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            skipped(
                story,
                "LISTO_TEST_S3 is unset (the test S3 server: bash scripts/lib/moto.sh start DIR)",
            );
            return None;
        };
        let litestream = litestream(story)?;
        let server = server.trim_end_matches('/').to_owned();
        let bucket = format!("listo-story-{}", unique());
        // moto checks no signature: an anonymous PUT makes the bucket.
        let made = reqwest::Client::new()
            .put(format!("{server}/{bucket}"))
            .send()
            .await
            .expect("the test S3 server answers");
        assert!(made.status().is_success(), "creating {bucket}: {made:?}");
        let vars = [
            ("LISTO_REPLICA_ENDPOINT", server.as_str()),
            ("LISTO_REPLICA_REGION", "us-east-1"),
            ("LITESTREAM_ACCESS_KEY_ID", KEY_ID),
            ("LITESTREAM_SECRET_ACCESS_KEY", KEY_SECRET),
            ("LISTO_LITESTREAM", &litestream),
        ];
        Some(Replica {
            url: format!("s3://{bucket}/db"),
            vars: vars.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec(),
            s3: Some((server, bucket)),
            _dir: None,
        })
    }

    /// A new folder; `None` (after the skip line) without the binary.
    pub fn file(story: &str) -> Option<Replica> {
        let litestream = litestream(story)?;
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path().join("replica")).unwrap();
        Some(Replica {
            url: url.to_string(),
            vars: vec![("LISTO_LITESTREAM".into(), litestream)],
            s3: None,
            _dir: Some(dir),
        })
    }

    /// `s3` or `file`, for figures.
    pub fn kind(&self) -> &'static str {
        if self.s3.is_some() { "s3" } else { "file" }
    }

    /// Replaces a setting (say, a credential) for the processes started from now on.
    pub fn set(&mut self, var: &str, value: &str) {
        self.vars.retain(|(k, _)| k != var);
        self.vars.push((var.into(), value.into()));
    }

    /// A client for the bucket that signs as listo does (moto refuses anonymous reads).
    pub fn s3_client(&self) -> listo::replica::s3::S3Client {
        let (server, bucket) = self.s3.as_ref().expect("an s3:// replica");
        listo::replica::s3::S3Client::new(
            Some(&server.parse().unwrap()),
            "us-east-1",
            bucket,
            rusty_s3::Credentials::new(KEY_ID, KEY_SECRET),
            Duration::from_secs(5),
        )
        .unwrap()
    }
}

/// A folder for one process's database; `wipe` deletes it, as a platform does with its disk.
pub struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new() -> DataDir {
        DataDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The database file, in a folder of its own that `wipe` removes whole.
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("data").join("listo.db")
    }

    /// Deletes the data folder: the next start finds no database.
    pub fn wipe(&self) {
        std::fs::remove_dir_all(self.dir.path().join("data")).expect("the data folder existed");
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real `listo serve` on a replica, with a [`TestApp`] client for it (through `Deref`);
/// killed on drop with its Litestream.
pub struct Node {
    app: TestApp,
    child: Child,
    port: u16,
    /// Holds `stdout.log` and `stderr.log`; also the process's working folder.
    logs: tempfile::TempDir,
    /// When it was spawned.
    pub spawned: Instant,
    /// Its exit status once seen.
    exited: Option<ExitStatus>,
}

impl std::ops::Deref for Node {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.kill_9_with_litestream();
        }
    }
}

impl Node {
    /// Spawns `listo serve` on `replica` with its database in `data`, mail to `smtp`, sign-in
    /// limits off, `vars` on top; returns at once (see [`Node::ready_within`]).
    pub fn spawn(
        replica: &Replica,
        data: &DataDir,
        smtp: &SmtpCatcher,
        vars: &[(&str, &str)],
    ) -> Node {
        let mut all = vec![("LISTO_REPLICA", replica.url.as_str())];
        all.extend(replica.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        all.extend_from_slice(vars);
        Node::spawn_bare(data, smtp, &all)
    }

    /// Spawns `listo serve` as [`Node::spawn`] does, with no replica unless `vars` name one.
    pub fn spawn_bare(data: &DataDir, smtp: &SmtpCatcher, vars: &[(&str, &str)]) -> Node {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let logs = tempfile::tempdir().unwrap();
        let log = |name: &str| std::fs::File::create(logs.path().join(name)).unwrap();
        let database = data.database().display().to_string();
        let child = Command::new(LISTO)
            .arg("serve")
            .current_dir(logs.path())
            .env_clear()
            .env("LISTO_DATABASE", &database)
            .env("LISTO_ADDR", &addr)
            .env("LISTO_SMTP_URL", &smtp.url)
            .env("LISTO_SECRET", SECRET)
            .env("LISTO_SESSION_TTL", "3600")
            .env("LISTO_LOGIN_LIMIT_PER_EMAIL", "0")
            .env("LISTO_LOGIN_LIMIT_PER_ADDR", "0")
            .env("LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY", "0")
            .env("LISTO_CODE_LIMIT_PER_HOUR", "0")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"))
            .spawn()
            .expect("listo starts");
        Node {
            app: TestApp::attach(&format!("http://{addr}"), &database, smtp),
            child,
            port,
            logs,
            spawned: Instant::now(),
            exited: None,
        }
    }

    /// The port it was told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Spawns and waits until `/readyz` answers 200 (60 s at most).
    pub async fn start(replica: &Replica, data: &DataDir, smtp: &SmtpCatcher) -> Node {
        let mut node = Node::spawn(replica, data, smtp, &[]);
        node.ready_within(Duration::from_secs(60)).await;
        node
    }

    /// Polls `/readyz` until it answers 200; fails with the output if listo exits first or
    /// `limit` passes. Returns the time from the spawn.
    pub async fn ready_within(&mut self, limit: Duration) -> Duration {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exit_status() {
                panic!(
                    "listo exited ({status}) before it was ready\n{}",
                    self.output()
                );
            }
            if self.status_of("/readyz").await == Some(200) {
                return self.spawned.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "listo was not ready within {limit:?}\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The status `GET path` answers, or `None` when nothing answers.
    pub async fn status_of(&self, path: &str) -> Option<u16> {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        answer.ok().map(|r| r.status().as_u16())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its `litestream replicate` child, found in /proc as the platform's tools would.
    pub fn litestream_pid(&self) -> Option<u32> {
        children_of(self.pid()).into_iter().find(|pid| {
            cmdline(*pid).is_some_and(|c| c.contains("litestream") && c.contains("replicate"))
        })
    }

    /// Sends `signal` to listo alone.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.pid() as libc::pid_t, signal);
        }
    }

    /// kill -9 of listo and its Litestream at one instant: listo is frozen first, so it
    /// neither restarts Litestream nor lets it see its parent die (which would make it sync).
    pub fn kill_9_with_litestream(&mut self) {
        self.signal(libc::SIGSTOP);
        if let Some(litestream) = self.litestream_pid() {
            // SAFETY: kill(2) on a pid whose parent is our stopped child.
            unsafe {
                libc::kill(litestream as libc::pid_t, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
    }

    /// Its exit status, if it has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().unwrap();
        }
        self.exited
    }

    /// Waits until it exits, at most `limit` (then fails with its output).
    pub async fn exits_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exit_status() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "listo still runs {limit:?} later\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGTERM, then waits for the exit (at most `limit`); the status and the time it took.
    pub async fn terminate(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let signalled = Instant::now();
        self.signal(libc::SIGTERM);
        let status = self.exits_within(limit).await;
        (status, signalled.elapsed())
    }

    /// Waits until its log has a line containing `text` (at most `limit`).
    pub async fn logs_within(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.stdout().contains(text) {
            if let Some(status) = self.exit_status() {
                panic!(
                    "listo exited ({status}) before logging {text:?}\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the log within {limit:?}\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The number a log line gave `field` (`field=123`), the last one logged.
    pub fn logged(&self, field: &str) -> Option<u64> {
        let stdout = self.stdout();
        let at = stdout.rfind(&format!("{field}="))? + field.len() + 1;
        let digits: String = stdout[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stdout.log")).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr.log")).unwrap_or_default()
    }

    /// Everything the process wrote so far, for failure messages.
    pub fn output(&self) -> String {
        format!("stderr:\n{}\nstdout:\n{}", self.stderr(), self.stdout())
    }
}

/// The pids whose parent is `parent` (from /proc/PID/stat: the field after the state).
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // `pid (comm) state ppid …`: comm may hold spaces, so read after its last ')'.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after.split_whitespace().nth(1) == Some(&parent.to_string())
        })
        .collect()
}

fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// What one user sees after each acknowledged write (their tasks in order, with every field,
/// and their live sessions), so a restored database can be placed in the sequence: it holds
/// the writes up to the state it shows, and lost the rest. The first write is the sign-in.
#[derive(Default)]
pub struct Journal {
    /// `(write, state after it)`, in the order the writes were acknowledged.
    entries: Vec<(String, Value)>,
}

impl Journal {
    /// What `token`'s user sees on `app` now; `None` when the token is not known there.
    pub async fn state(app: &TestApp, token: &str) -> Option<Value> {
        let tasks = app.get("/v1/tasks?per_page=100", token).await;
        if tasks.status() == 401 {
            return None;
        }
        assert_eq!(tasks.status(), 200, "GET /v1/tasks");
        let sessions = app.get("/v1/auth/sessions", token).await;
        assert_eq!(sessions.status(), 200, "GET /v1/auth/sessions");
        let ids: Vec<Value> = body(sessions).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect();
        Some(json!({ "tasks": body(tasks).await["items"], "sessions": ids }))
    }

    /// Notes that `write` was acknowledged, with the state it left.
    pub async fn acknowledged(&mut self, write: &str, app: &TestApp, token: &str) {
        let state = Journal::state(app, token).await.expect("a known token");
        self.entries.push((write.to_owned(), state));
    }

    /// How many writes were acknowledged.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many of the acknowledged writes `app` (a restored listo) lacks: it must show the
    /// state after some write k, and then the writes after k are lost (all of them when it
    /// does not know the token). Fails when it shows a state no write left.
    pub async fn lost_on(&self, app: &TestApp, token: &str) -> usize {
        let Some(state) = Journal::state(app, token).await else {
            return self.entries.len();
        };
        let Some(k) = self.entries.iter().rposition(|(_, s)| *s == state) else {
            let last = self.entries.last().map(|(_, s)| s);
            panic!(
                "the restored state matches no acknowledged write\nrestored: {state:#}\nlast acknowledged: {last:#?}"
            );
        };
        self.entries.len() - 1 - k
    }

    /// The writes after the first `kept`, by name (for failure messages).
    pub fn after(&self, kept: usize) -> Vec<&str> {
        self.entries[kept.min(self.entries.len())..]
            .iter()
            .map(|(w, _)| w.as_str())
            .collect()
    }
}

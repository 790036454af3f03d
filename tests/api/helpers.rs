//! Spawning the app, the SMTP catcher, log capture and a signed-in client.

use listo::App;
use listo::config::{Config, MailConfig};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// A password every test user gets unless the test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------- logs

/// Every log line written by any app in this test process, at TRACE level.
static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        // Everything listo logs at its most verbose, through the filter it installs itself.
        .with_env_filter(listo::telemetry::filter("trace"))
        .with_ansi(false)
        .with_writer(move || LogWriter(writer.clone()))
        .init();
    buffer
});

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far by every app in this process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------- SMTP

/// A minimal SMTP server on 127.0.0.1 that keeps every message it is given, or, while told to
/// [`refuse`](SmtpCatcher::refuse), answers each one slowly with a temporary failure.
#[derive(Clone)]
pub struct SmtpCatcher {
    /// `smtp://127.0.0.1:<port>`.
    pub url: String,
    messages: Arc<Mutex<Vec<Email>>>,
    arrived: Arc<Notify>,
    refusing: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
}

/// How long a refusing catcher takes to refuse: a sender that waited for it would be slow.
pub const SMTP_REFUSAL_DELAY: Duration = Duration::from_millis(1500);

/// A message as it crossed the wire.
#[derive(Debug, Clone)]
pub struct Email {
    /// The `RCPT TO` addresses.
    pub to: Vec<String>,
    /// Headers and body, with quoted-printable soft line breaks undone.
    pub data: String,
}

impl Email {
    /// The 6-digit code in the body.
    pub fn code(&self) -> String {
        let at = self.data.find("code is ").expect("email mentions the code") + "code is ".len();
        let code: String = self.data[at..].chars().take(6).collect();
        assert!(
            code.chars().all(|c| c.is_ascii_digit()),
            "code in email: {code:?}"
        );
        code
    }
}

impl SmtpCatcher {
    /// Starts listening; each connection is served on its own task.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let catcher = Self {
            url,
            messages: Arc::default(),
            arrived: Arc::default(),
            refusing: Arc::default(),
            refused: Arc::default(),
        };
        let served = catcher.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(served.clone().converse(stream));
            }
        });
        catcher
    }

    async fn converse(self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut to = Vec::new();
        let _ = write.write_all(b"220 catcher ESMTP\r\n").await;
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250-catcher\r\n250 8BITMIME\r\n",
                "MAIL" => {
                    to.clear();
                    b"250 OK\r\n"
                }
                "RCPT" => {
                    let addr = line.split(['<', '>']).nth(1).unwrap_or("").to_owned();
                    to.push(addr);
                    b"250 OK\r\n"
                }
                "DATA" if self.refusing.load(Ordering::SeqCst) => {
                    tokio::time::sleep(SMTP_REFUSAL_DELAY).await;
                    self.refused.fetch_add(1, Ordering::SeqCst);
                    b"451 4.3.0 try again later\r\n"
                }
                "DATA" => {
                    let _ = write.write_all(b"354 go on\r\n").await;
                    let mut data = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push('\n');
                    }
                    let data = data.replace("=\n", "");
                    self.messages.lock().unwrap().push(Email {
                        to: std::mem::take(&mut to),
                        data,
                    });
                    self.arrived.notify_waiters();
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 OK\r\n",
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Email> {
        self.messages.lock().unwrap().clone()
    }

    /// While `on`, every message is refused (451, after [`SMTP_REFUSAL_DELAY`]) and not kept.
    pub fn refuse(&self, on: bool) {
        self.refusing.store(on, Ordering::SeqCst);
    }

    /// How many messages were refused so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// The first message to `address` among those after the first `since`, waiting up to
    /// `within` for it.
    pub async fn arriving_to(&self, address: &str, since: usize, within: Duration) -> Email {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self
                .messages()
                .into_iter()
                .skip(since)
                .find(|m| m.to.iter().any(|t| t == address))
            {
                return m;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no new email to {address} arrived within {within:?}");
            }
        }
    }

    /// The newest message to `address`, waiting up to 5 s for it.
    pub async fn latest_to(&self, address: &str) -> Email {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self
                .messages()
                .into_iter()
                .rev()
                .find(|m| m.to.iter().any(|t| t == address))
            {
                return m;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no email to {address} arrived within 5 s");
            }
        }
    }
}

// ---------------------------------------------------------------- the app

/// A running listo and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// Where the app's email goes.
    pub smtp: SmtpCatcher,
    config: Config,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

/// A server task and the switch that stops it.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Builds and starts listo; returns its base URL and handle.
async fn start(config: Config) -> (String, Running) {
    let app = App::build(config).await.expect("app starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (base, Running { stop, task })
}

/// A config for tests: loopback on port 0, a temporary database, mail to `smtp`, no rate limits.
pub fn test_config(dir: &std::path::Path, smtp: &SmtpCatcher) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("defaults are valid");
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database = crate::database::fresh(crate::ENGINE, dir);
    config.mail = MailConfig::Smtp(smtp.url.clone().into());
    config.limits = listo::config::SignInLimits {
        per_email_addr: 0,
        per_addr: 0,
        per_email_hourly: 0,
        codes_per_hour: 0,
        resets_per_hour: 0,
    };
    config
}

/// Starts listo with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts listo with the test defaults changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&LOGS);
    let smtp = SmtpCatcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), &smtp);
    adjust(&mut config);
    let (base, running) = start(config.clone()).await;
    TestApp {
        base,
        http: reqwest::Client::new(),
        smtp,
        config,
        running: Some(running),
        _dir: dir,
    }
}

impl TestApp {
    /// Stops the server as a signal would (in-flight requests finish, the WAL is checkpointed)
    /// and waits until it has let go of the database file.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            running
                .task
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Stops the server and starts a new one, with the same settings, on the same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (base, running) = start(self.config.clone()).await;
        self.base = base;
        self.running = Some(running);
    }

    /// The settings the app runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl TestApp {
    /// A client for a listo that already serves at `base` (say, a process the test started) on
    /// the database at `database`, mailing to `smtp`. The endpoint methods, `db` and `count_rows`
    /// work as for a spawned app. The server is not this value's: `stop` does nothing and
    /// `restart` must not be called; `config()` is the defaults with that database and mail.
    pub fn attach(base: &str, database: &str, smtp: &SmtpCatcher) -> TestApp {
        let mut config = Config::from_lookup(|_| None).expect("defaults are valid");
        config.database = listo::store::Location::parse(database).expect("a database location");
        config.mail = MailConfig::Smtp(smtp.url.clone().into());
        TestApp {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            smtp: smtp.clone(),
            config,
            running: None,
            _dir: tempfile::tempdir().unwrap(),
        }
    }
}

/// A user who went through register → login → emailed code → verify.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Their email.
    pub email: String,
    /// Their bearer token.
    pub token: String,
}

impl TestApp {
    /// Sends `method path` with an optional JSON body and bearer token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Response {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request sent")
    }

    /// `GET path` as a signed-in client.
    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.send(Method::GET, path, None, Some(token)).await
    }

    /// Asserts that the list and task `id` both answer a bare 500 (no `errors`, nothing of the
    /// stored row): what a read of a row listo could not have written gets. `what` names it.
    pub async fn assert_reads_fail_bare(&self, token: &str, id: i64, what: &str) {
        for path in ["/v1/tasks".to_owned(), format!("/v1/tasks/{id}")] {
            let resp = self.get(&path, token).await;
            let problem = assert_problem(resp, 500, "internal").await;
            assert!(problem.get("errors").is_none(), "{what}, {path}: {problem}");
        }
    }

    /// `POST /v1/auth/register`.
    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/register",
            Some(json!({"email": email, "password": password})),
            None,
        )
        .await
    }

    /// `POST /v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/login",
            Some(json!({"email": email, "password": password})),
            None,
        )
        .await
    }

    /// `POST /v1/auth/verify`.
    pub async fn verify(&self, challenge_id: &str, code: &str) -> Response {
        self.send(
            Method::POST,
            "/v1/auth/verify",
            Some(json!({"challenge_id": challenge_id, "code": code})),
            None,
        )
        .await
    }

    /// Logs in and returns the challenge id and the code read out of the email that arrived.
    pub async fn login_and_read_code(&self, email: &str, password: &str) -> (String, String) {
        let before = self.smtp.messages().len();
        let resp = self.login(email, password).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "login failed");
        let challenge = body(resp).await["challenge_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mail = self.smtp.latest_to(email).await;
        assert!(
            self.smtp.messages().len() > before,
            "login sent a new email"
        );
        (challenge, mail.code())
    }

    /// Registers `email` and signs in through the emailed code.
    pub async fn sign_in_as(&self, email: &str) -> SignedIn {
        let resp = self.register(email, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "register failed");
        let (challenge, code) = self.login_and_read_code(email, PASSWORD).await;
        let resp = self.verify(&challenge, &code).await;
        assert_eq!(resp.status(), StatusCode::OK, "verify failed");
        let token = body(resp).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        SignedIn {
            email: email.to_owned(),
            token,
        }
    }

    /// A fresh user with a unique email, signed in.
    pub async fn signed_in_user(&self) -> SignedIn {
        let n = NEXT_USER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sign_in_as(&format!("user{n}@example.com")).await
    }

    /// The app's database, read and written directly (for checks a client cannot make).
    pub fn db(&self) -> crate::database::Db<'_> {
        crate::database::Db(&self.config.database)
    }

    /// The app's SQLite file (for tests about the file itself).
    pub fn db_path(&self) -> &std::path::Path {
        match &self.config.database {
            listo::store::Location::Sqlite(path) => path,
            other => panic!("a SQLite test on {other}"),
        }
    }
}

static NEXT_USER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A well-formed 6-digit code that is not `code`.
pub fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// The JSON body of a response.
pub async fn body(resp: Response) -> Value {
    resp.json().await.expect("a JSON body")
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status for expected {code}");
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let problem = body(resp).await;
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status);
    assert_eq!(problem["type"], "about:blank");
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    problem
}

/// The `field` of each entry in a problem's `errors`, in order.
pub fn refused_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .expect("errors list")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

/// Asserts a 422 `validation_failed` naming `field`.
pub async fn assert_invalid_field(resp: Response, field: &str) -> Value {
    let problem = assert_problem(resp, 422, "validation_failed").await;
    let fields = refused_fields(&problem);
    assert!(fields.contains(&field), "expected {field} among {fields:?}");
    problem
}

// ---------------------------------------------------------------- raw requests and headers

impl TestApp {
    /// Sends `method path` with a raw body and the given `Content-Type` (none when `None`),
    /// for requests `send` cannot make: broken JSON, wrong media types, oversized bodies.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        req.send().await.expect("request sent")
    }

    /// How many rows `table` holds, read straight from the database.
    pub async fn count_rows(&self, table: &str) -> i64 {
        self.db()
            .integer(&format!("SELECT COUNT(*) FROM {table}"))
            .await
    }
}

/// A response header as text; panics when it is absent.
pub fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header; headers: {:?}", resp.headers()))
        .to_str()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------- tasks

/// The date every helper-made task gets.
pub const TASK_DATE: &str = "2026-03-01";

impl TestApp {
    /// `POST /v1/tasks` with `text`, asserting 201; returns the task.
    pub async fn create_task(&self, token: &str, text: &str) -> Value {
        let resp = self
            .send(
                Method::POST,
                "/v1/tasks",
                Some(json!({"date": TASK_DATE, "task": text, "status": "Incomplete"})),
                Some(token),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "create {text:?}");
        body(resp).await
    }

    /// Creates `task 1` … `task n` one after the other; returns their ids in creation order.
    pub async fn create_tasks(&self, token: &str, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for i in 1..=n {
            let task = self.create_task(token, &format!("task {i}")).await;
            ids.push(task["id"].as_i64().unwrap());
        }
        ids
    }

    /// `GET /v1/tasks?page=&per_page=`, asserting 200; returns the page envelope.
    pub async fn list(&self, token: &str, page: u32, per_page: u32) -> Value {
        let path = format!("/v1/tasks?page={page}&per_page={per_page}");
        let resp = self.send(Method::GET, &path, None, Some(token)).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        body(resp).await
    }

    /// The ids GET shows on one page, in order.
    pub async fn list_page(&self, token: &str, page: u32, per_page: u32) -> Vec<i64> {
        ids_of(&self.list(token, page, per_page).await)
    }

    /// The user's whole order as GET shows it, read 100 at a time.
    pub async fn list_all(&self, token: &str) -> Vec<i64> {
        let mut all = Vec::new();
        for page in 1.. {
            let ids = self.list_page(token, page, 100).await;
            if ids.is_empty() {
                return all;
            }
            all.extend(ids);
        }
        unreachable!()
    }

    /// `POST /v1/tasks/sort?page=&per_page=` with these ids.
    pub async fn sort_page(&self, token: &str, page: u32, per_page: u32, ids: &[i64]) -> Response {
        self.send(
            Method::POST,
            &format!("/v1/tasks/sort?page={page}&per_page={per_page}"),
            Some(json!({ "task_ids": ids })),
            Some(token),
        )
        .await
    }

    /// `POST /v1/tasks/{id}/move` with `target` as the body.
    pub async fn move_task(&self, token: &str, id: i64, target: Value) -> Response {
        self.send(
            Method::POST,
            &format!("/v1/tasks/{id}/move"),
            Some(target),
            Some(token),
        )
        .await
    }

    /// Every task's order key, read straight from the database.
    pub async fn sort_keys(&self) -> std::collections::BTreeMap<i64, String> {
        self.db().pairs("SELECT id, sort_key FROM tasks").await
    }
}

/// The ids of a page envelope's items, in order.
pub fn ids_of(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page envelope: {page}"))
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

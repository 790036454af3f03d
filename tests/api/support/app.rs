//! The app under test: start it (`spawn_app`, `spawn_app_with`, on the story's engine), its
//! test settings (`test_config`), stop and restart it, or attach a client to a listo running
//! elsewhere (`attach`).

use crate::support::database::fresh;
use crate::support::{Engine, SmtpCatcher, logs};
use listo::App;
use listo::config::Config;
use listo::mail::MailConfig;

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
    config.database = fresh(Engine::current(), dir);
    config.mail = MailConfig::Smtp(smtp.url.clone().into());
    // Every sign-in limit off: stories about limits turn theirs back on.
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
    logs::capture();
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

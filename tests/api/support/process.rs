//! A real `listo` process (the built binary) with a TestApp client for it, for stories about
//! several processes on one database.

use crate::support::{SmtpCatcher, TestApp};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LISTO: &str = env!("CARGO_BIN_EXE_listo");

/// The key both processes hash tokens and codes with.
const SECRET: &str = "cluster-test-secret-shared-by-both-processes";

/// A `listo` process serving on loopback, with a [`TestApp`] client for it (through `Deref`);
/// killed and reaped on drop.
pub struct Listo {
    app: TestApp,
    child: Child,
    /// Holds `stdout.log` and `stderr.log`; also the process's working folder.
    dir: tempfile::TempDir,
}

impl std::ops::Deref for Listo {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Drop for Listo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Listo {
    /// Starts `listo` with a clean environment: `database`, a free loopback port, mail to `smtp`,
    /// the shared secret, sessions of an hour and every sign-in limit off, then `vars` on top;
    /// returns once `/readyz` answers 200.
    pub async fn start(database: &str, smtp: &SmtpCatcher, vars: &[(&str, &str)]) -> Listo {
        let addr = format!("127.0.0.1:{}", free_port());
        let dir = tempfile::tempdir().unwrap();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let child = Command::new(LISTO)
            .current_dir(dir.path())
            .env_clear()
            .env("LISTO_DATABASE", database)
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
        let mut listo = Listo {
            app: TestApp::attach(&format!("http://{addr}"), database, smtp),
            child,
            dir,
        };
        listo.wait_until_ready().await;
        listo
    }

    /// Polls `/readyz` until it answers 200; fails with the output if listo exits or takes
    /// more than 30 s.
    async fn wait_until_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let readyz = format!("{}/readyz", self.base);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "listo exited ({status}) before it was ready\n{}",
                    self.output()
                );
            }
            let answer = self
                .http
                .get(&readyz)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("listo was not ready within 30 s\n{}", self.output());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the process wrote so far.
    pub fn output(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "stderr:\n{}\nstdout:\n{}",
            read("stderr.log"),
            read("stdout.log")
        )
    }
}

//! The PostgreSQL server the stories use, found and started without installing anything.
//!
//! - `LISTO_TEST_POSTGRES=postgres://…`: that server (its user may create databases).
//! - unset (or `required`): a throwaway cluster this process starts (scripts/lib/postgres.sh:
//!   initdb + pg_ctl in a temporary folder, as the postgres user when root; stopped and deleted
//!   once this process exits) from server binaries found in `LISTO_TEST_POSTGRES_BIN` when set,
//!   else `pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin`, or `initdb` on `PATH`.
//! - none found: the PostgreSQL stories pass without running and one line on stderr says so;
//!   with `LISTO_TEST_POSTGRES=required` each of them fails instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

/// The script that starts and stops throwaway clusters (never installing: it is given the
/// binaries in `PG_BINDIR`).
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/postgres.sh");

/// What this run does about PostgreSQL, decided once.
enum Server {
    /// The URL of a server to create databases on.
    Url(String),
    /// No server: the line that says the PostgreSQL stories were skipped.
    Skipped(String),
    /// No server although one is required, or it would not start: why.
    Failed(String),
}

/// Whether PostgreSQL stories can run. `false` means skip (the skip line is printed once per
/// run); a required server that is missing, or one that will not start, panics with the reason.
pub fn available() -> bool {
    match state() {
        Server::Url(_) => true,
        Server::Skipped(line) => {
            static SAID: Once = Once::new();
            // Straight to stderr: libtest captures print! in passing tests.
            SAID.call_once(|| {
                let _ = std::io::stderr().write_all(format!("\n{line}\n").as_bytes());
            });
            false
        }
        Server::Failed(why) => panic!("{why}"),
    }
}

/// The server's URL (a story on PostgreSQL only runs when [`available`]).
pub fn server() -> &'static str {
    match state() {
        Server::Url(url) => url,
        _ => panic!("no PostgreSQL server here: stories reach it through `stories!`"),
    }
}

fn state() -> &'static Server {
    static STATE: OnceLock<Server> = OnceLock::new();
    STATE.get_or_init(decide)
}

fn decide() -> Server {
    let setting = std::env::var("LISTO_TEST_POSTGRES").unwrap_or_default();
    let required = match setting.as_str() {
        "" => false,
        "required" => true,
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            return Server::Url(url.to_owned());
        }
        other => {
            return Server::Failed(format!(
                "LISTO_TEST_POSTGRES={other:?}: set it to a postgres:// URL, to `required`, or \
                 leave it unset"
            ));
        }
    };
    let Some(bin) = bin_dir() else {
        let searched = searched();
        return if required {
            Server::Failed(format!(
                "LISTO_TEST_POSTGRES=required, but no PostgreSQL server binaries were found \
                 ({searched}): install PostgreSQL (Debian: apt-get install postgresql) or set \
                 LISTO_TEST_POSTGRES to a server's postgres:// URL"
            ))
        } else {
            Server::Skipped(format!(
                "listo tests: PostgreSQL stories SKIPPED (they pass without running): no \
                 PostgreSQL server binaries found ({searched}). To run them install PostgreSQL \
                 or set LISTO_TEST_POSTGRES=postgres://…; LISTO_TEST_POSTGRES=required turns \
                 this skip into a failure."
            ))
        };
    };
    let out = Command::new("bash")
        .args([SCRIPT, "while-alive", &std::process::id().to_string()])
        .env("PG_BINDIR", bin)
        .output()
        .expect("bash runs");
    if !out.status.success() {
        return Server::Failed(format!(
            "could not start a throwaway PostgreSQL from {}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Server::Url(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

/// Where server binaries (`initdb`, `pg_ctl`, `postgres`) were found, if anywhere.
pub fn bin_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| candidates().into_iter().find(|d| has_server(d)))
        .as_deref()
}

/// The folders to look in, in order.
fn candidates() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("LISTO_TEST_POSTGRES_BIN") {
        return vec![dir.into()];
    }
    let mut dirs = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        dirs.push(String::from_utf8_lossy(&out.stdout).trim().into());
    }
    // Debian keeps the server binaries off PATH, one folder per major version: newest first.
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    debian.sort();
    dirs.extend(debian.into_iter().rev().map(|(_, dir)| dir));
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        if let Ok(initdb) = dir.join("initdb").canonicalize() {
            dirs.extend(initdb.parent().map(Path::to_path_buf));
        }
    }
    dirs
}

fn has_server(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// The places [`candidates`] looks, for messages.
fn searched() -> String {
    match std::env::var_os("LISTO_TEST_POSTGRES_BIN") {
        Some(dir) => format!("looked in LISTO_TEST_POSTGRES_BIN={}", dir.display()),
        None => "looked in pg_config --bindir, /usr/lib/postgresql/*/bin and initdb on PATH".into(),
    }
}

/// Creates a new database on the test server and returns its URL.
pub fn fresh_database() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let server = server();
    let name = format!(
        "listo_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // Tests call this from inside their own runtime: a thread of its own may block on another.
    let create = format!("CREATE DATABASE {name}");
    let url = server.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move { connect(&url).await.batch_execute(&create).await })
    })
    .join()
    .unwrap()
    .expect("CREATE DATABASE");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// A client on a PostgreSQL database, its connection driven in the background.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    tokio::spawn(connection);
    client
}

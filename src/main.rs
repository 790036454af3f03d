use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use listo::App;
use listo::config::Config;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// listo: a task-list API in one file, its database inside.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default); configured by LISTO_* environment variables.
    Serve,
    /// Print the OpenAPI document the code produces (regenerates openapi.json).
    Openapi,
    /// Copy the live database (LISTO_DATABASE) to PATH; safe while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
    /// Exit 0 if the local server's /healthz answers 200 (liveness, for container health checks).
    Healthcheck,
    /// Copy a SQLite database (users, tasks, live sessions) into an empty PostgreSQL database;
    /// stop the listo serving the file first.
    Copy {
        /// The SQLite file.
        #[arg(long, value_name = "SQLITE_PATH")]
        from: PathBuf,
        /// The PostgreSQL database, `postgres://user:password@host:port/dbname`.
        #[arg(long, value_name = "POSTGRES_URL")]
        to: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command()
        .after_help(listo::config::help())
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            // A reader that stops early (`| head`, `| cmp`) is no failure of ours: no panic.
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{}", listo::api::spec()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("listo: writing the document: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => serve().await,
        Command::Backup { path } => with_config(|config| backup(config, &path)),
        Command::Healthcheck => with_config(healthcheck),
        Command::Copy { from, to } => copy(&from, &to).await,
    }
}

async fn copy(from: &std::path::Path, to: &str) -> ExitCode {
    use listo::store::{Location, copy};
    let Ok(Location::Postgres(url)) = Location::parse(to) else {
        eprintln!("listo: copy --to takes a postgres:// URL");
        return ExitCode::from(2);
    };
    match copy::sqlite_to_postgres(from, &url).await {
        Ok(copied) => {
            println!(
                "copied {} users, {} tasks and {} live sessions ({} lists) from {} to {url}; \
                 counts and every list's task order checked",
                copied.users,
                copied.tasks,
                copied.sessions,
                copied.lists,
                from.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("listo: copy failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the configuration, or explains in one line which variable is wrong.
fn with_config(run: impl FnOnce(Config) -> ExitCode) -> ExitCode {
    match Config::from_env() {
        Ok(config) => run(config),
        Err(e) => {
            eprintln!("listo: bad configuration: {e}");
            ExitCode::from(2)
        }
    }
}

fn backup(config: Config, dest: &std::path::Path) -> ExitCode {
    let listo::store::Location::Sqlite(source) = &config.database else {
        eprintln!(
            "listo: backup copies a SQLite file; for PostgreSQL use its own tools (pg_dump, or the provider's backups)"
        );
        return ExitCode::FAILURE;
    };
    match listo::store::sqlite::backup(source, dest) {
        Ok(()) => {
            println!("backed up {} to {}", source.display(), dest.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("listo: backup failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A bare HTTP/1.0 GET of /healthz on the local port, so images need no curl. Liveness, not
/// readiness: a full disk or a database restarting makes `/readyz` answer 503, and restarting
/// the container for it would not help.
fn healthcheck(config: Config) -> ExitCode {
    let addr = if config.addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, config.addr.port()))
    } else {
        config.addr
    };
    let probe = || -> std::io::Result<bool> {
        let timeout = Duration::from_secs(3);
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.") && &head[9..12] == b"200")
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("listo: {addr}/healthz did not answer 200");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("listo: {addr}/healthz unreachable: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("listo: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    listo::telemetry::init(config.log_json, &config.log_filter, std::io::stdout);
    let shutdown = match shutdown_signal() {
        Ok(signal) => signal,
        Err(e) => {
            tracing::error!(error = %e, "could not install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    if let Some(replica) = config.replica.clone() {
        return match listo::replicated::serve(config, replica, shutdown).await {
            Ok(()) => {
                tracing::info!("listo stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "listo stopped");
                eprintln!("listo: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mail = config.mail.describe();
    let database = config.database.to_string();
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("listo: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        addr = %app.addr(),
        database,
        mail,
        "listo listening"
    );
    match app.run_until(shutdown).await {
        Ok(()) => {
            tracing::info!("listo stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers now (so a signal during start-up is not fatal) and
/// returns a future that resolves when either arrives.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}

/// Ctrl-C only, where there are no Unix signals.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}

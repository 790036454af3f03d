use clap::{Parser, Subcommand};
use listo::App;
use listo::config::Config;

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", listo::api::spec());
            std::process::ExitCode::SUCCESS
        }
        Command::Serve => serve().await,
    }
}

async fn serve() -> std::process::ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("listo: bad configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    listo::telemetry::init(config.log_json, std::io::stdout);
    let mail = config.mail.describe();
    let database = config.database.display().to_string();
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "listo could not start");
            eprintln!("listo: could not start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        addr = %app.addr(),
        database,
        mail,
        "listo listening"
    );
    match app.run_until(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("listo stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

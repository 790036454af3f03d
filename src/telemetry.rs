//! Log setup: human-readable lines by default, JSON lines for PaaS log search.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Libraries that log what they are given at debug level (the PostgreSQL engine's: statement
/// parameters, bytes on the wire). They are held to `info`, whatever `RUST_LOG` asks for.
const HELD_TO_INFO: &[&str] = crate::store::postgres::CHATTY_LOG_TARGETS;

/// The log filter for `directives` (the syntax of `RUST_LOG`), with the libraries that would log
/// secrets held to `info`.
pub fn filter(directives: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    for target in HELD_TO_INFO {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global subscriber, filtered by `directives` (`RUST_LOG`).
pub fn init<W>(json: bool, directives: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = filter(directives);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi && !json);
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

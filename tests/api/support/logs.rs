//! Log capture: every line any app in this test process logs, at TRACE, kept for stories that
//! check what was (and was not) logged.

use std::sync::{Arc, LazyLock, Mutex};

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

/// Starts capturing (once per process): apps log into the capture from then on.
pub fn capture() {
    LazyLock::force(&LOGS);
}

/// Everything logged so far by every app in this process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// The first log line holding `secret` as a token of its own. Six digits also turn up inside
/// other numbers (microseconds of a timestamp, a latency's fraction, a hex request id), so an
/// occurrence counts only when no letter or digit touches it and it is not a decimal fraction.
pub fn line_logging<'a>(logs: &'a str, secret: &str) -> Option<&'a str> {
    let bytes = logs.as_bytes();
    logs.match_indices(secret).map(|(at, _)| at).find_map(|at| {
        let end = at + secret.len();
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let fraction = before == Some(b'.') && at >= 2 && bytes[at - 2].is_ascii_digit();
        let glued = before.is_some_and(|b| b.is_ascii_alphanumeric())
            || bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric());
        (!fraction && !glued).then(|| {
            let start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            let stop = logs[end..].find('\n').map_or(logs.len(), |i| end + i);
            &logs[start..stop]
        })
    })
}

#[test]
fn line_logging_finds_a_code_on_its_own_but_not_inside_other_numbers() {
    let logs = "2026-11-24T09:21:22.417612Z INFO latency_ms=1.417612 id=ab417612cd\n\
                2026-11-24T09:21:23.000001Z TRACE mail: code=\"417612\" sent\n";
    assert_eq!(
        line_logging(logs, "417612"),
        Some("2026-11-24T09:21:23.000001Z TRACE mail: code=\"417612\" sent")
    );
    assert_eq!(line_logging(logs, "000001"), None);
    assert_eq!(
        line_logging("your code is 417612.", "417612"),
        Some("your code is 417612.")
    );
}

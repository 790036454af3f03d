//! The SMTP catcher: a real SMTP listener on 127.0.0.1 that the app mails to.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

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

//! A Server-Sent Events client for the stories: reads the real stream off the socket and splits
//! it into events and comment lines as a browser's EventSource would.

use reqwest::Response;
use serde_json::Value;
use std::time::Duration;

/// One block of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// An event.
    Event(SseEvent),
    /// Only comment lines (`:`): a heartbeat.
    Comment,
    /// Anything else (a `retry:` line).
    Other(String),
}

/// An event as EventSource sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// `id:`, if any.
    pub id: Option<String>,
    /// `event:`, `message` when absent.
    pub event: String,
    /// `data:` lines joined by newlines.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {}", self.data))
    }
}

/// An open stream.
pub struct Stream {
    resp: Response,
    buffer: String,
}

impl Stream {
    /// Wraps a 200 `text/event-stream` answer.
    pub fn new(resp: Response) -> Self {
        assert_eq!(resp.status(), 200, "the stream opens");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "content type {kind}");
        Self {
            resp,
            buffer: String::new(),
        }
    }

    /// The next block within `wait`; `None` when the stream ended, panics when `wait` passes.
    pub async fn next_block(&mut self, wait: Duration) -> Option<Block> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&raw));
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .unwrap_or_else(|_| panic!("nothing on the stream within {wait:?}"))
                .expect("the stream reads");
            match chunk {
                Some(bytes) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => {
                    assert!(
                        self.buffer.trim().is_empty(),
                        "a torn event: {:?}",
                        self.buffer
                    );
                    return None;
                }
            }
        }
    }

    /// The next event within `wait`, skipping heartbeats; panics if the stream ends first.
    pub async fn next_event(&mut self, wait: Duration) -> SseEvent {
        loop {
            match self.next_block(wait).await {
                Some(Block::Event(event)) => return event,
                Some(_) => continue,
                None => panic!("the stream ended before the next event"),
            }
        }
    }

    /// The next `n` events.
    pub async fn events(&mut self, n: usize) -> Vec<SseEvent> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.next_event(Duration::from_secs(10)).await);
        }
        events
    }

    /// Waits until the server closes the stream, skipping heartbeats; panics on an event.
    pub async fn assert_ends(&mut self) {
        while let Some(block) = self.next_block(Duration::from_secs(10)).await {
            assert!(
                matches!(block, Block::Comment),
                "expected the end, got {block:?}"
            );
        }
    }

    /// Whether nothing but heartbeats arrive within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            match tokio::time::timeout(left, self.next_block(left + Duration::from_secs(1))).await {
                Err(_) => return true,
                Ok(Some(Block::Comment)) => continue,
                Ok(_) => return false,
            }
        }
    }
}

fn parse(raw: &str) -> Block {
    let mut id = None;
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    let mut other = Vec::new();
    let mut comments = 0;
    for line in raw.lines().filter(|l| !l.is_empty()) {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "" => comments += 1,
            "id" => id = Some(value.to_owned()),
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            _ => other.push(line.to_owned()),
        }
    }
    if !data.is_empty() {
        Block::Event(SseEvent {
            id,
            event: event.unwrap_or_else(|| "message".into()),
            data: data.join("\n"),
        })
    } else if comments > 0 && other.is_empty() && id.is_none() && event.is_none() {
        Block::Comment
    } else {
        Block::Other(raw.to_owned())
    }
}

//! The few S3 requests the lease needs: GET and conditional PUT of one small object, signed with
//! SigV4 by rusty-s3 (presigned, with the conditional header signed too) and sent one connection
//! per request with hyper (plain HTTP for a loopback test server, rustls with the webpki roots
//! otherwise). A lease request every few seconds does not need a pool.
//!
//! Nothing here logs: presigned URLs carry signatures, and the credentials are in scope.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

/// How long a presigned URL stays valid: only long enough to send it once.
const SIGNATURE_LIFETIME: Duration = Duration::from_secs(60);
/// The most of an answer's body kept (the lease object is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Why an S3 request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// No answer within the request timeout.
    #[error("no answer from the object store within {0:?}")]
    Timeout(Duration),
    /// Connecting, TLS or HTTP failed (the message never holds the URL: it is signed).
    #[error("object store request failed: {0}")]
    Transport(String),
    /// The endpoint or bucket cannot form a URL.
    #[error("bad object store address: {0}")]
    Address(String),
}

/// What a conditional PUT requires of the object already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: only if there is no object yet.
    Absent,
    /// `If-Match: <etag>`: only if the object is still this version.
    Matches(String),
}

/// The parts of an answer the lease looks at.
#[derive(Debug, Clone)]
pub struct S3Answer {
    /// The HTTP status.
    pub status: u16,
    /// `ETag`, quotes kept as sent.
    pub etag: Option<String>,
    /// `Date`: the store's clock when it answered.
    pub date: Option<DateTime<Utc>>,
    /// `Last-Modified`: the store's clock when the object was written.
    pub last_modified: Option<DateTime<Utc>>,
    /// The body (at most 64 KiB).
    pub body: Bytes,
}

/// Where the store is and who signs: one bucket, one set of credentials.
#[derive(Clone)]
pub struct S3Client {
    bucket: Bucket,
    credentials: Credentials,
    timeout: Duration,
}

impl std::fmt::Debug for S3Client {
    // Credentials never reach a log line, even a debug one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("bucket", &self.bucket.name())
            .field("region", &self.bucket.region())
            .finish_non_exhaustive()
    }
}

impl S3Client {
    /// A client for `bucket`: at `endpoint` in path style when given (an S3-compatible store),
    /// else AWS's regional endpoint in virtual-host style.
    pub fn new(
        endpoint: Option<&Url>,
        region: &str,
        bucket: &str,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<S3Client, S3Error> {
        let (url, style) = match endpoint {
            Some(url) => (url.clone(), UrlStyle::Path),
            None => (
                Url::parse(&format!("https://s3.{region}.amazonaws.com"))
                    .map_err(|e| S3Error::Address(e.to_string()))?,
                UrlStyle::VirtualHost,
            ),
        };
        let bucket = Bucket::new(url, style, bucket.to_owned(), region.to_owned())
            .map_err(|e| S3Error::Address(e.to_string()))?;
        Ok(S3Client {
            bucket,
            credentials,
            timeout,
        })
    }

    /// GET `key`.
    pub async fn get(&self, key: &str) -> Result<S3Answer, S3Error> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGNATURE_LIFETIME);
        self.send(hyper::Method::GET, url, Vec::new(), Bytes::new())
            .await
    }

    /// PUT `body` at `key` if `condition` holds (412 or 409 when it does not).
    pub async fn put(
        &self,
        key: &str,
        body: Bytes,
        condition: &Condition,
    ) -> Result<S3Answer, S3Error> {
        let (name, value) = condition_header(condition);
        let url = self.put_action(key, condition).sign(SIGNATURE_LIFETIME);
        self.send(hyper::Method::PUT, url, vec![(name, value)], body)
            .await
    }

    /// A PUT with its condition header signed, so the condition is part of the signature (AWS,
    /// R2 and moto all accept it); the header must then be sent with exactly that value.
    fn put_action<'a>(
        &'a self,
        key: &'a str,
        condition: &Condition,
    ) -> rusty_s3::actions::PutObject<'a> {
        let (name, value) = condition_header(condition);
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        action.headers_mut().insert(name, value);
        action
    }

    /// Sends one request on a fresh connection, all of it within the timeout.
    async fn send(
        &self,
        method: hyper::Method,
        url: Url,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Result<S3Answer, S3Error> {
        tokio::time::timeout(self.timeout, exchange(method, url, headers, body))
            .await
            .map_err(|_| S3Error::Timeout(self.timeout))?
    }
}

/// The header a condition becomes (names lowercase: rusty-s3 signs them so).
pub fn condition_header(condition: &Condition) -> (&'static str, String) {
    match condition {
        Condition::Absent => ("if-none-match", "*".to_owned()),
        Condition::Matches(etag) => ("if-match", etag.clone()),
    }
}

async fn exchange(
    method: hyper::Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
) -> Result<S3Answer, S3Error> {
    let host = url
        .host_str()
        .ok_or_else(|| S3Error::Address("no host".into()))?
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| S3Error::Address("no port".into()))?;
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| S3Error::Transport(format!("connecting to {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    // Origin form: the path and the signed query, exactly as signed.
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(target)
        .header(hyper::header::HOST, authority)
        // S3 wants a length even for an empty body (411 otherwise).
        .header(hyper::header::CONTENT_LENGTH, body.len());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(body))
        .map_err(|e| S3Error::Transport(e.to_string()))?;
    match url.scheme() {
        "https" => {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| S3Error::Address(e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| S3Error::Transport(format!("TLS with {host}: {e}")))?;
            over(tls, request).await
        }
        _ => over(tcp, request).await,
    }
}

async fn over<S>(stream: S, request: hyper::Request<Full<Bytes>>) -> Result<S3Answer, S3Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let transport = |e: hyper::Error| S3Error::Transport(e.to_string());
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(transport)?;
    // Ends with the connection: dropped with the sender once the answer is read.
    let driver = tokio::spawn(connection);
    let answer = sender.send_request(request).await.map_err(transport)?;
    let (parts, body) = answer.into_parts();
    let body = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| S3Error::Transport(e.to_string()))?
        .to_bytes();
    drop(sender);
    driver.abort();
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(S3Answer {
        status: parts.status.as_u16(),
        etag: header(hyper::header::ETAG),
        date: header(hyper::header::DATE).and_then(|d| http_date(&d)),
        last_modified: header(hyper::header::LAST_MODIFIED).and_then(|d| http_date(&d)),
        body,
    })
}

/// Parses an HTTP date (`Thu, 03 Dec 2026 19:05:33 GMT`, the form S3 sends).
pub fn http_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_as_s3_sends_them() {
        let d = http_date("Thu, 03 Dec 2026 19:05:33 GMT").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-12-03T19:05:33+00:00");
        assert!(http_date("yesterday").is_none());
    }

    /// The same request signed by botocore's `S3SigV4QueryAuth` (AWS's own SDK) at the same
    /// instant gives this URL: our signature matches AWS's, signed condition header included.
    /// (moto does not check signatures, so the stories cannot catch a signing bug.)
    #[test]
    fn a_conditional_put_is_signed_as_aws_signs_it() {
        let client = S3Client::new(
            Some(&Url::parse("http://127.0.0.1:9000").unwrap()),
            "us-east-1",
            "b",
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            Duration::from_secs(5),
        )
        .unwrap();
        // Fri, 24 May 2013 00:00:00 GMT, the instant of AWS's documented examples.
        let at = jiff::Timestamp::from_second(1_369_353_600).unwrap();
        let url = client
            .put_action("p/listo-lease.json", &Condition::Absent)
            .sign_with_time(SIGNATURE_LIFETIME, &at);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9000/b/p/listo-lease.json?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bif-none-match\
             &X-Amz-Signature=0055a56d9a4924e0f05088f809385835091655ce4a84d668446c8fd9305f063b"
        );
    }

    #[test]
    fn without_an_endpoint_aws_is_used_in_virtual_host_style() {
        let client = S3Client::new(
            None,
            "eu-west-3",
            "my-bucket",
            Credentials::new("AKIDKEY", "TOPSECRET"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            client.bucket.object_url("a/b").as_str(),
            "https://my-bucket.s3.eu-west-3.amazonaws.com/a/b"
        );
        let debug = format!("{client:?}");
        assert!(
            !debug.contains("TOPSECRET") && !debug.contains("AKIDKEY"),
            "{debug}"
        );
    }
}

//! The replica lease (issue 28, part 3) through the library: `listo::replica::lease`. Not yet
//! wired into `listo serve`, so these talk to the lease directly.
//!
//! - `lease::s3::…` run against a real S3 server named by `LISTO_TEST_S3=http://127.0.0.1:PORT`
//!   (moto from PyPI, pinned: `scripts/lib/moto.sh`); unset, they pass without running and one
//!   line on stderr says so. Keys `test`/`test` unless `LISTO_TEST_S3_ACCESS_KEY_ID` and
//!   `LISTO_TEST_S3_SECRET_ACCESS_KEY` name others: a store that checks signatures (R2, MinIO),
//!   where the bucket `listo-lease-tests` must exist. (moto's auth mode wants an `Authorization`
//!   header and answers 500 to presigned URLs, so it cannot check ours.)
//! - `lease::file::…` always run, in a temporary folder.

use listo::replica::lease::{
    Acquired, Lease, LeaseError, LeaseHolder, LeaseOptions, LeaseTarget, Standing,
};
use std::sync::Arc;
use std::time::Duration;

/// Short, so the expiry stories take seconds (S3 dates have one-second granularity).
const SHORT_TTL: Duration = Duration::from_secs(2);

fn options(ttl: Duration) -> LeaseOptions {
    LeaseOptions {
        ttl,
        ..LeaseOptions::default()
    }
}

fn handle(target: &LeaseTarget, ttl: Duration) -> Lease {
    Lease::new(target, LeaseHolder::this_process(), options(ttl)).expect("a lease handle")
}

fn held_by_other(acquired: Acquired) -> (Option<LeaseHolder>, Option<Duration>) {
    match acquired {
        Acquired::HeldByOther { holder, expires_in } => (holder, expires_in),
        Acquired::Held => panic!("held, although another process holds the lease"),
    }
}

/// Exactly one of eight handles racing for a free lease gets it.
async fn one_of_eight_racers_wins(target: &LeaseTarget) {
    let handles: Vec<_> = (0..8)
        .map(|_| Arc::new(handle(target, SHORT_TTL)))
        .collect();
    let racers: Vec<_> = handles
        .iter()
        .map(|h| {
            let h = h.clone();
            tokio::spawn(async move { h.acquire().await.expect("acquire") })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if racer.await.unwrap() == Acquired::Held {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one racer holds the lease");
}

mod s3 {
    use super::*;
    use std::io::Write as _;
    use std::sync::Once;

    const BUCKET: &str = "listo-lease-tests";

    /// A fresh replica path on the test server, or `None` (with one line on stderr) without one.
    async fn target() -> Option<LeaseTarget> {
        let Some(server) = std::env::var("LISTO_TEST_S3")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let _ = std::io::stderr().write_all(
                    b"\nS3 lease stories skipped: set LISTO_TEST_S3=http://127.0.0.1:PORT \
                      (bash scripts/lib/moto.sh start DIR)\n",
                );
            });
            return None;
        };
        assert!(
            server.starts_with("http://") || server.starts_with("https://"),
            "LISTO_TEST_S3={server:?}: set it to the test S3 server's URL, or leave it unset"
        );
        let key = std::env::var("LISTO_TEST_S3_ACCESS_KEY_ID").ok();
        let secret = std::env::var("LISTO_TEST_S3_SECRET_ACCESS_KEY").ok();
        if key.is_none() {
            // moto checks no signature by default: an anonymous PUT makes the bucket (409 once
            // it exists).
            let made = reqwest::Client::new()
                .put(format!("{server}/{BUCKET}"))
                .send()
                .await
                .expect("the test S3 server answers");
            assert!(
                made.status().is_success() || made.status().as_u16() == 409,
                "creating the bucket: {}",
                made.status()
            );
        }
        let path = format!("lease-{}", LeaseHolder::this_process().id);
        let target = LeaseTarget::parse(
            &format!("s3://{BUCKET}/{path}"),
            Some(&server),
            Some("us-east-1"),
            |name| match name {
                "LITESTREAM_ACCESS_KEY_ID" => Some(key.clone().unwrap_or_else(|| "test".into())),
                "LITESTREAM_SECRET_ACCESS_KEY" => {
                    Some(secret.clone().unwrap_or_else(|| "test".into()))
                }
                _ => None,
            },
        )
        .expect("a valid replica");
        Some(target)
    }

    /// The lease object as stored (read signed: moto refuses anonymous reads of objects).
    async fn object(target: &LeaseTarget) -> serde_json::Value {
        let LeaseTarget::S3(s3) = target else {
            unreachable!()
        };
        let client = listo::replica::s3::S3Client::new(
            s3.endpoint.as_ref(),
            &s3.region,
            &s3.bucket,
            s3.credentials.clone(),
            Duration::from_secs(5),
        )
        .unwrap();
        let answer = client
            .get(&format!("{}/listo-lease.json", s3.path))
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        serde_json::from_slice(&answer.body).expect("the lease object is JSON")
    }

    #[tokio::test]
    async fn acquire_on_an_empty_bucket() {
        let Some(target) = target().await else { return };
        let lease = handle(&target, SHORT_TTL);
        assert_eq!(lease.acquire().await.unwrap(), Acquired::Held);
        let body = object(&target).await;
        assert_eq!(body["holder"], lease.holder().id.as_str());
        assert_eq!(body["pid"], std::process::id());
        assert!(
            body["host"].is_string() && body["renewed_at"].is_string(),
            "{body}"
        );
        // Acquiring again while held is a no-op that keeps it.
        assert_eq!(lease.acquire().await.unwrap(), Acquired::Held);
        lease.renew().await.unwrap();
    }

    #[tokio::test]
    async fn a_store_that_honours_conditions_passes_the_start_up_check() {
        let Some(target) = target().await else { return };
        let lease = handle(&target, SHORT_TTL);
        // Twice: the probe object is there the second time.
        lease.check_conditional_writes().await.unwrap();
        lease.check_conditional_writes().await.unwrap();
    }

    #[tokio::test]
    async fn a_second_holder_is_told_who_holds_it() {
        let Some(target) = target().await else { return };
        let (first, second) = (handle(&target, SHORT_TTL), handle(&target, SHORT_TTL));
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let (holder, expires_in) = held_by_other(second.acquire().await.unwrap());
        assert_eq!(holder.as_ref(), Some(first.holder()));
        // The TTL and a second for whole-second dates, at most.
        assert!(expires_in.unwrap() <= SHORT_TTL + Duration::from_secs(1));
        // Not held, so nothing to renew.
        assert!(second.renew().await.is_err());
    }

    #[tokio::test]
    async fn renewals_keep_it_past_the_ttl() {
        let Some(target) = target().await else { return };
        let first = Arc::new(handle(&target, SHORT_TTL));
        let second = handle(&target, SHORT_TTL);
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let (standing, keeper) = first.clone().keep(Duration::from_millis(500));
        tokio::time::sleep(SHORT_TTL * 2).await;
        held_by_other(second.acquire().await.unwrap());
        assert_eq!(*standing.borrow(), Standing::Held);
        keeper.abort();
    }

    #[tokio::test]
    async fn a_release_lets_the_next_acquire_at_once() {
        let Some(target) = target().await else { return };
        let ttl = Duration::from_secs(15);
        let (first, second) = (handle(&target, ttl), handle(&target, ttl));
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        held_by_other(second.acquire().await.unwrap());
        first.release().await.unwrap();
        assert_eq!(second.acquire().await.unwrap(), Acquired::Held);
        assert_eq!(object(&target).await["holder"], second.holder().id.as_str());
        // The first cannot renew what it gave up.
        assert!(first.renew().await.is_err());
    }

    #[tokio::test]
    async fn a_holder_that_stops_renewing_expires_and_is_taken_over() {
        let Some(target) = target().await else { return };
        let (first, second) = (handle(&target, SHORT_TTL), handle(&target, SHORT_TTL));
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let start = tokio::time::Instant::now();
        loop {
            match second.acquire().await.unwrap() {
                Acquired::Held => break,
                Acquired::HeldByOther { .. } => {
                    assert!(
                        start.elapsed() < SHORT_TTL + Duration::from_secs(4),
                        "never expired"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        // Never before the TTL, though dates have whole seconds.
        assert!(
            start.elapsed() >= SHORT_TTL,
            "taken over after {:?}",
            start.elapsed()
        );
    }

    /// A loopback forwarder to the test server that can turn into a black hole (connections
    /// accepted, never answered), as a store that went away behind a firewall.
    async fn switchable_proxy(server: &str) -> (String, Arc<std::sync::atomic::AtomicBool>) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let upstream = server
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let open = Arc::new(AtomicBool::new(true));
        let gate = open.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (gate, upstream) = (gate.clone(), upstream.clone());
                tokio::spawn(async move {
                    if gate.load(Ordering::SeqCst) {
                        let mut store = tokio::net::TcpStream::connect(upstream).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut store).await;
                    } else {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        drop(client);
                    }
                });
            }
        });
        (url, open)
    }

    #[tokio::test]
    async fn a_keeper_cut_off_from_the_store_reports_lost_before_the_ttl() {
        let Some(target) = target().await else { return };
        let LeaseTarget::S3(mut s3) = target.clone() else {
            unreachable!()
        };
        let server = s3.endpoint.as_ref().unwrap().as_str().to_owned();
        let (proxy, open) = switchable_proxy(&server).await;
        s3.endpoint = Some(proxy.parse().unwrap());
        let first = Arc::new(handle(&LeaseTarget::S3(s3), SHORT_TTL));
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let (mut standing, keeper) = first.clone().keep(Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(
            *standing.borrow(),
            Standing::Held,
            "renewed through the proxy"
        );
        open.store(false, std::sync::atomic::Ordering::SeqCst);
        let cut = tokio::time::Instant::now();
        tokio::time::timeout(SHORT_TTL, standing.wait_for(|s| *s == Standing::Lost))
            .await
            .expect("Lost within the TTL of the last renewal")
            .unwrap();
        keeper.await.unwrap();
        // Reported before anyone else could take the lease over.
        let second = handle(&target, SHORT_TTL);
        held_by_other(second.acquire().await.unwrap());
        assert!(cut.elapsed() < SHORT_TTL, "{:?}", cut.elapsed());
    }

    #[tokio::test]
    async fn a_renewal_whose_answer_was_lost_is_not_taken_for_a_takeover() {
        let Some(target) = target().await else { return };
        let first = handle(&target, SHORT_TTL);
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        // The same holder writes the object again, as a renewal stored after its answer timed
        // out would: the first handle's version is stale, but the lease is still its own.
        let twin = Lease::new(&target, first.holder().clone(), options(SHORT_TTL)).unwrap();
        assert_eq!(twin.acquire().await.unwrap(), Acquired::Held);
        first.renew().await.expect("still ours");
        first.renew().await.expect("and renewable again");
    }

    #[tokio::test]
    async fn eight_racers_one_holder() {
        let Some(target) = target().await else { return };
        one_of_eight_racers_wins(&target).await;
    }

    #[tokio::test]
    async fn a_renewal_after_a_takeover_is_lost() {
        let Some(target) = target().await else { return };
        let first = Arc::new(handle(&target, SHORT_TTL));
        let second = handle(&target, SHORT_TTL);
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let start = tokio::time::Instant::now();
        while second.acquire().await.unwrap() != Acquired::Held {
            assert!(start.elapsed() < Duration::from_secs(6), "never expired");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(matches!(
            first.renew().await,
            Err(listo::replica::lease::LeaseError::Lost)
        ));
        // A keeper started now reports Lost at its first tick: the handle knows it holds nothing.
        let (mut standing, keeper) = first.clone().keep(Duration::from_millis(100));
        tokio::time::timeout(
            Duration::from_secs(3),
            standing.wait_for(|s| *s == Standing::Lost),
        )
        .await
        .expect("Lost within the TTL")
        .unwrap();
        keeper.await.unwrap();
        // The second still holds it.
        second.renew().await.unwrap();
    }

    #[tokio::test]
    async fn a_keeper_that_cannot_renew_within_the_ttl_reports_lost() {
        let Some(target) = target().await else { return };
        // Renews every 3 s, past the 2 s TTL: the keeper gives up at its first tick (no renewal
        // could succeed in time), and meanwhile the second takes over.
        let first = Arc::new(handle(&target, SHORT_TTL));
        let second = handle(&target, SHORT_TTL);
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let (mut standing, keeper) = first.clone().keep(Duration::from_secs(3));
        let start = tokio::time::Instant::now();
        while second.acquire().await.unwrap() != Acquired::Held {
            assert!(start.elapsed() < Duration::from_secs(6), "never expired");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::timeout(
            Duration::from_secs(5),
            standing.wait_for(|s| *s == Standing::Lost),
        )
        .await
        .expect("Lost reported")
        .unwrap();
        keeper.await.unwrap();
    }
}

/// A store that ignores `If-None-Match` / `If-Match` (as one whose PutObject documents
/// neither may) is refused before any lease is taken: with it, two processes would both hold
/// the lease. No such store runs here, so a loopback server plays it: 200 to every request.
#[tokio::test]
async fn a_store_that_ignores_conditions_is_refused_at_start() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = "HTTP/1.1 200 OK\r\nETag: \"1\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    let env = |name: &str| name.starts_with("LITESTREAM_").then(|| "test".to_owned());
    let target = LeaseTarget::parse("s3://bucket/app", Some(&endpoint), None, env).unwrap();
    let lease = handle(&target, SHORT_TTL);
    match lease.check_conditional_writes().await {
        Err(LeaseError::Unsupported(200)) => {}
        other => panic!("a store answering 200 to an unmet condition was accepted: {other:?}"),
    }
}

mod file {
    use super::*;

    fn target(dir: &std::path::Path) -> LeaseTarget {
        let url = url::Url::from_directory_path(dir).unwrap();
        LeaseTarget::parse(url.as_str(), None, None, |_| None).expect("a valid replica")
    }

    #[tokio::test]
    async fn acquire_creates_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("replica/nested");
        let lease = handle(&target(&dir), SHORT_TTL);
        assert_eq!(lease.acquire().await.unwrap(), Acquired::Held);
        assert!(dir.join("listo-lease.lock").is_file());
        let holder: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("listo-lease.json")).unwrap()).unwrap();
        assert_eq!(holder["holder"], lease.holder().id.as_str());
        lease.renew().await.unwrap();
    }

    #[tokio::test]
    async fn a_second_holder_waits_until_a_release() {
        let tmp = tempfile::tempdir().unwrap();
        let target = target(tmp.path());
        let (first, second) = (handle(&target, SHORT_TTL), handle(&target, SHORT_TTL));
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        let (holder, expires_in) = held_by_other(second.acquire().await.unwrap());
        assert_eq!(holder.as_ref(), Some(first.holder()));
        assert_eq!(expires_in, None, "a file lock lasts as long as its holder");
        // No expiry: still held long after the TTL without renewals.
        tokio::time::sleep(SHORT_TTL + Duration::from_millis(500)).await;
        held_by_other(second.acquire().await.unwrap());
        first.release().await.unwrap();
        assert_eq!(second.acquire().await.unwrap(), Acquired::Held);
        assert!(first.renew().await.is_err());
    }

    #[tokio::test]
    async fn a_holder_that_dies_frees_it() {
        let tmp = tempfile::tempdir().unwrap();
        let target = target(tmp.path());
        let first = handle(&target, SHORT_TTL);
        assert_eq!(first.acquire().await.unwrap(), Acquired::Held);
        // Dropping the handle closes the lock file, as the kernel does when a process dies.
        drop(first);
        assert_eq!(
            handle(&target, SHORT_TTL).acquire().await.unwrap(),
            Acquired::Held
        );
    }

    #[tokio::test]
    async fn eight_racers_one_holder() {
        let tmp = tempfile::tempdir().unwrap();
        one_of_eight_racers_wins(&target(tmp.path())).await;
    }
}

//! Where a replica's lease lives, parsed from `LISTO_REPLICA`, `LISTO_REPLICA_ENDPOINT`,
//! `LISTO_REPLICA_REGION` and the credentials' variables.

use super::terms::LeaseError;
use rusty_s3::Credentials;
use std::path::PathBuf;
use url::Url;

/// Where the lease lives, parsed from the replica's settings.
#[derive(Clone, Debug)]
pub enum LeaseTarget {
    /// `s3://BUCKET/PATH`.
    S3(Box<S3Target>),
    /// `file:///PATH`.
    File {
        /// The replica's folder.
        dir: PathBuf,
    },
}

/// An S3 replica's place and who signs for it.
#[derive(Clone)]
pub struct S3Target {
    /// The bucket.
    pub bucket: String,
    /// The replica's path in it (no leading or trailing `/`; may be empty).
    pub path: String,
    /// An S3-compatible endpoint, addressed path-style; `None` for AWS.
    pub endpoint: Option<Url>,
    /// The region (`us-east-1` when unset).
    pub region: String,
    /// Who signs.
    pub credentials: Credentials,
}

impl std::fmt::Debug for S3Target {
    // Credentials stay out of every log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Target")
            .field("bucket", &self.bucket)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl LeaseTarget {
    /// Parses `LISTO_REPLICA` with `LISTO_REPLICA_ENDPOINT` and `LISTO_REPLICA_REGION`; S3
    /// credentials come from `env` (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` each preferred
    /// over its `LITESTREAM_*` twin, as Litestream does; `AWS_SESSION_TOKEN` when set).
    pub fn parse(
        replica: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<LeaseTarget, LeaseError> {
        let bad = |variable, why: String| LeaseError::Setting { variable, why };
        let url = Url::parse(replica).map_err(|e| {
            bad(
                "LISTO_REPLICA",
                format!("{e}: expected s3://BUCKET/PATH or file:///PATH"),
            )
        })?;
        match url.scheme() {
            "s3" => {
                let bucket = url
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| {
                        bad(
                            "LISTO_REPLICA",
                            "s3:// needs a bucket: s3://BUCKET/PATH".into(),
                        )
                    })?
                    .to_owned();
                let path = url.path().trim_matches('/').to_owned();
                let endpoint = endpoint
                    .map(|e| {
                        Url::parse(e)
                            .ok()
                            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                            .ok_or_else(|| {
                                bad(
                                    "LISTO_REPLICA_ENDPOINT",
                                    "expected an http:// or https:// URL".into(),
                                )
                            })
                    })
                    .transpose()?;
                let get = |name: &str| env(name).filter(|v| !v.is_empty());
                let key = get("AWS_ACCESS_KEY_ID").or_else(|| get("LITESTREAM_ACCESS_KEY_ID"));
                let secret =
                    get("AWS_SECRET_ACCESS_KEY").or_else(|| get("LITESTREAM_SECRET_ACCESS_KEY"));
                let (Some(key), Some(secret)) = (key, secret) else {
                    return Err(bad(
                        "LITESTREAM_ACCESS_KEY_ID",
                        "an s3:// replica needs LITESTREAM_ACCESS_KEY_ID and \
                         LITESTREAM_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                            .into(),
                    ));
                };
                let credentials = match get("AWS_SESSION_TOKEN") {
                    Some(token) => Credentials::new_with_token(key, secret, token),
                    None => Credentials::new(key, secret),
                };
                Ok(LeaseTarget::S3(Box::new(S3Target {
                    bucket,
                    path,
                    endpoint,
                    region: region
                        .filter(|r| !r.is_empty())
                        .unwrap_or("us-east-1")
                        .to_owned(),
                    credentials,
                })))
            }
            "file" if endpoint.is_none() && region.is_none() => {
                let dir = url
                    .to_file_path()
                    .map_err(|()| bad("LISTO_REPLICA", "expected file:///ABSOLUTE/PATH".into()))?;
                Ok(LeaseTarget::File { dir })
            }
            "file" => Err(bad(
                if endpoint.is_some() {
                    "LISTO_REPLICA_ENDPOINT"
                } else {
                    "LISTO_REPLICA_REGION"
                },
                "only an s3:// replica has an endpoint or a region".into(),
            )),
            other => Err(bad(
                "LISTO_REPLICA",
                format!("unknown scheme {other}: expected s3://BUCKET/PATH or file:///PATH"),
            )),
        }
    }
}

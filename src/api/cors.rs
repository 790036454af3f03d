//! CORS for the browser origins listed in `LISTO_CORS_ORIGINS`.
//!
//! Hand-built rather than poem's `Cors`: that one answers 403 to any request whose `Origin` is
//! not listed, which breaks Swagger UI's own same-origin POSTs as soon as one origin is listed.
//! Here an unlisted origin simply gets no CORS headers, and the browser refuses the response.

use poem::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str =
    "authorization, content-type, idempotency-key, if-match, if-none-match, last-event-id";
const EXPOSE_HEADERS: &str = "etag, location, retry-after, idempotent-replayed, x-request-id";
/// How long a browser may reuse a preflight answer.
const MAX_AGE_SECS: &str = "600";

/// The middleware: a list of exact origins (`scheme://host[:port]`).
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Allows exactly these origins; an empty list turns CORS off.
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }
}

impl<E: Endpoint> Middleware<E> for Cors {
    type Output = CorsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CorsEndpoint {
            inner,
            origins: self.origins.clone(),
        }
    }
}

/// [`Cors`] around an endpoint.
pub struct CorsEndpoint<E> {
    inner: E,
    origins: Vec<String>,
}

impl<E> CorsEndpoint<E> {
    /// The request's `Origin` when it is listed and the request is for the API.
    fn allowed_origin(&self, req: &Request) -> Option<HeaderValue> {
        if self.origins.is_empty() || !req.uri().path().starts_with("/v1/") {
            return None;
        }
        let origin = req.headers().get(header::ORIGIN)?;
        let listed = self
            .origins
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes());
        listed.then(|| origin.clone())
    }
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

impl<E: Endpoint> Endpoint for CorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let origin = self.allowed_origin(&req);
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if let (Some(origin), true) = (&origin, preflight) {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            let headers = resp.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            insert(headers, header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
            insert(headers, header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
            insert(headers, header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS);
            insert(headers, header::VARY, "Origin");
            return Ok(resp);
        }
        // Inside this middleware every error is already a problem response, so a 401 carries
        // CORS headers too (else the browser hides it from the page that must react to it).
        let mut resp = self.inner.call(req).await?.into_response();
        if !self.origins.is_empty() {
            insert(resp.headers_mut(), header::VARY, "Origin");
        }
        if let Some(origin) = origin {
            let headers = resp.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            insert(
                headers,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                EXPOSE_HEADERS,
            );
        }
        Ok(resp)
    }
}

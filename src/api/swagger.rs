//! The Swagger UI page at `/docs`, served with a Content-Security-Policy that allows exactly
//! what the page needs: its own two inline scripts (by hash), inline styles, images and fonts
//! from itself or `data:`, requests to this origin; and nothing may frame it.

use base64::Engine as _;
use poem::http::{HeaderValue, header};
use poem::web::Html;
use poem::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The page and the policy it is sent with.
#[derive(Clone)]
pub struct SwaggerPage {
    html: String,
    policy: HeaderValue,
}

impl SwaggerPage {
    /// The page poem-openapi renders (`page`), showing `document` instead of `generated`.
    pub fn new(page: &str, generated: &str, document: &str) -> Self {
        let html = page.replacen(generated, document, 1);
        let scripts: String = inline_scripts(&html)
            .map(|script| {
                let digest = Sha256::digest(script.as_bytes());
                let hash = base64::engine::general_purpose::STANDARD.encode(digest);
                format!(" 'sha256-{hash}'")
            })
            .collect();
        // Swagger UI sets style attributes from its scripts and draws icons as data: SVGs.
        let policy = format!(
            "default-src 'none'; script-src{scripts}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
        Self {
            html,
            policy: HeaderValue::from_str(&policy).expect("a policy is visible ASCII"),
        }
    }
}

impl IntoResponse for SwaggerPage {
    fn into_response(self) -> Response {
        let mut resp = Html(self.html).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, self.policy);
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        resp
    }
}

/// The text of each inline `<script>` element, in order. A script's text ends at the first
/// `</script>` (HTML's rule), so tags written inside one (`<\/script>`) are skipped with it.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let at = rest.find("<script")?;
            let after = &rest[at + "<script".len()..];
            if !after.starts_with(['>', ' ']) {
                rest = after;
                continue;
            }
            let open_end = after.find('>')? + 1;
            let body = &after[open_end..];
            let end = body.find("</script>")?;
            rest = &body[end..];
            return Some(&body[..end]);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_inline_script_is_hashed_once() {
        let page = "<html><script charset=\"UTF-8\">var a = \"<script><\\/script>\";</script>\
                    <p>x</p><script>let spec = {};</script></html>";
        let scripts: Vec<&str> = inline_scripts(page).collect();
        assert_eq!(
            scripts,
            ["var a = \"<script><\\/script>\";", "let spec = {};"]
        );
        let page = SwaggerPage::new(page, "{}", "{}");
        let policy = page.policy.to_str().unwrap();
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"));
    }
}

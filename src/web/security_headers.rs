//! Headers on every response: a strict CSP (scripts and styles only from Tessera itself, forms
//! only to Tessera), no framing, no sniffing, no referrer (links carry one-time tokens), no
//! caching, and HSTS when the issuer is https.
//!
//! Chrome and Safari apply `form-action` to every redirect that follows a form submission
//! (w3c/webappsec-csp#8), and a sign-in form's submission ends at the client (through
//! `/authorize/resume`) or at an upstream provider. So when a browser's form submission is
//! answered with a redirect, the browser gets a page that moves on by itself instead: that
//! move is a new navigation, not a form submission, and `form-action 'self'` stays strict.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// `form-action 'self'`: an injected form cannot post what a person types elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// RFC 6797: once a browser has seen Tessera over https, it never tries plain http again (for
/// a year), so a network attacker cannot strip TLS from a sign-in link.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The layer, given whether to send HSTS: for an https issuer that is not loopback (on plain
/// http it is ignored, and on `https://localhost` it would stick to every local port).
pub async fn layer(State(https): State<bool>, req: Request, next: Next) -> Response {
    let form_submission = req.method() == Method::POST && is_document_navigation(req.headers());
    let mut res = next.run(req).await;
    if form_submission {
        res = continue_page(res);
    }
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // RFC 6749 §5.1: token responses must not be cached; nothing else here should be either.
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    h.entry(header::PRAGMA).or_insert(HeaderValue::from_static("no-cache"));
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    res
}

/// A browser loading a page (Fetch Metadata `Sec-Fetch-Dest: document`; browsers too old to
/// send it say they accept HTML). Programs and `fetch()` calls keep plain redirects.
fn is_document_navigation(h: &HeaderMap) -> bool {
    match h.get("sec-fetch-dest") {
        Some(dest) => dest == "document",
        None => h.get(header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html")),
    }
}

/// A 301/302/303 redirect becomes a page that refreshes to the same address (cookies and
/// other headers kept). 307/308 would repeat the POST and are left alone.
fn continue_page(res: Response) -> Response {
    if !matches!(res.status(), StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER) {
        return res;
    }
    let Some(to) = res.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(escape) else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    parts.status = StatusCode::OK;
    parts.headers.remove(header::LOCATION);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={to}\"><title>Continue</title>\
         <link rel=\"stylesheet\" href=\"/static/tessera.css\"></head>\
         <body><main><p><a href=\"{to}\">Continue</a></p></main></body></html>\n"
    );
    Response::from_parts(parts, Body::from(page))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The CSP of a form_post response page (OAuth 2.0 Form Post Response Mode §2): its one form
/// posts to the client's redirect URI, so `form-action` names that origin and nothing else.
pub fn form_post_csp(redirect_uri: &str) -> HeaderValue {
    // The redirect URI is registered and validated; an origin (or a private-use scheme) has no
    // characters that could end the directive, but never let a bad one through.
    let target = url::Url::parse(redirect_uri)
        .ok()
        .map(|u| match u.origin() {
            url::Origin::Tuple(..) => u.origin().ascii_serialization(),
            url::Origin::Opaque(_) => format!("{}:", u.scheme()),
        })
        .filter(|t| t.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'\''))
        .unwrap_or_else(|| "'none'".into());
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action {target}"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'; form-action 'none'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_post_pages_may_post_only_to_the_client() {
        let csp = |uri: &str| form_post_csp(uri).to_str().unwrap().to_string();
        assert!(csp("https://app.example:8443/cb?x=1").ends_with("form-action https://app.example:8443"));
        assert!(csp("com.example.app:/cb").ends_with("form-action com.example.app:"));
        assert!(csp("not a url").ends_with("form-action 'none'"));
    }

    #[test]
    fn only_browser_page_loads_count_as_form_submissions() {
        let mut h = HeaderMap::new();
        assert!(!is_document_navigation(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html,application/xhtml+xml"));
        assert!(is_document_navigation(&h));
        h.insert("sec-fetch-dest", HeaderValue::from_static("empty"));
        assert!(!is_document_navigation(&h), "fetch() from a page script");
        assert_eq!(escape("/a?x=1&y=\"<"), "/a?x=1&amp;y=&quot;&lt;");
    }
}

//! A person's browser: a cookie jar, no automatic redirects, and the sign-in steps a person
//! takes on Tessera's pages.

use super::TestServer;
use reqwest::StatusCode;
use reqwest::header::LOCATION;

pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    /// The response's `Set-Cookie` headers, as sent.
    pub set_cookies: Vec<String>,
}

impl Page {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf").expect("the page has a CSRF field")
    }
}

/// The "Not now" link of the passkey offer page, if this is that page.
pub fn offer_skip_link(html: &str) -> Option<String> {
    let at = html.find("id=\"passkey-skip\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    Some(html[start..].split('"').next()?.replace("&amp;", "&"))
}

pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    Some(html[at..].split('"').next()?.to_string())
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Self::on_device(base, None, None)
    }

    /// A browser with its own User-Agent, connecting from loopback address `from` (any of
    /// 127.0.0.0/8 on Linux): another device on another network, as the server sees it.
    pub fn on_device(base: &str, user_agent: Option<&str>, from: Option<std::net::IpAddr>) -> Browser {
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(from);
        if let Some(ua) = user_agent {
            builder = builder.user_agent(ua);
        }
        Browser { http: builder.build().unwrap(), base: base.to_string() }
    }

    /// A browser whose requests reach the server through a proxy that reports the client
    /// as `forwarded_for` in `X-Forwarded-For` (the test server's peer is always loopback).
    pub fn behind_proxy(base: &str, forwarded_for: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        Browser { http, base: base.to_string() }
    }

    /// The same browser (one cookie jar) talking to another node of the deployment at
    /// `base`, as a load balancer would send it there.
    pub fn at(&self, base: &str) -> Browser {
        Browser { http: self.http.clone(), base: base.to_string() }
    }

    pub fn abs(&self, url: &str) -> String {
        if url.starts_with('/') { format!("{}{url}", self.base) } else { url.to_string() }
    }

    async fn page(res: reqwest::Response) -> Page {
        let status = res.status();
        let location = res.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string());
        let set_cookies = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        Page { status, location, body: res.text().await.unwrap(), set_cookies }
    }

    pub async fn get(&self, url: &str) -> Page {
        Self::page(self.http.get(self.abs(url)).send().await.unwrap()).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(self.abs(url)).form(form).send().await.unwrap()).await
    }

    /// Follow redirects within Tessera; stop at the first page or at a redirect elsewhere.
    /// Like most people in a hurry, this browser answers "Not now" to the passkey offer.
    pub async fn follow(&self, page: Page) -> Page {
        let mut page = self.follow_raw(page).await;
        while let Some(skip) = offer_skip_link(&page.body) {
            page = self.follow_raw(self.get(&skip).await).await;
        }
        page
    }

    /// Follow redirects within Tessera, stopping at any page, the passkey offer included.
    pub async fn follow_raw(&self, mut page: Page) -> Page {
        while let Some(loc) = page.location.clone() {
            if !(loc.starts_with('/') || loc.starts_with(&self.base)) {
                break;
            }
            page = self.get(&loc).await;
        }
        page
    }

    /// GET `url` and follow redirects across sites (relative ones against the current
    /// address), declining passkey offers; stop at a page, or at a redirect to `stop`.
    /// Returns the page and its address.
    pub async fn go(&self, url: &str, stop: &str) -> (Page, String) {
        let page = self.get(url).await;
        self.continue_from(page, url, stop).await
    }

    pub async fn continue_from(&self, mut page: Page, url: &str, stop: &str) -> (Page, String) {
        let mut current = url::Url::parse(url).unwrap();
        loop {
            let next = match (&page.location, offer_skip_link(&page.body)) {
                (Some(loc), _) => current.join(loc).unwrap(),
                (None, Some(skip)) => current.join(&skip).unwrap(),
                (None, None) => return (page, current.to_string()),
            };
            if next.as_str().starts_with(stop) {
                return (page, next.to_string());
            }
            current = next;
            page = self.get(current.as_str()).await;
        }
    }

    /// From the login page: ask for the sign-in mail. Returns the "check your mail" page.
    pub async fn request_mail(&self, login: &Page, email: &str) -> Page {
        let authz = hidden(&login.body, "authz").unwrap_or_default();
        let res = self.post("/login/email", &[("csrf", &login.csrf()), ("email", email), ("authz", &authz)]).await;
        self.follow(res).await
    }

    /// The whole email sign-in through the link, starting at an authorization URL. Returns
    /// the final redirect (to the client) or page.
    pub async fn sign_in_with_link(&self, server: &TestServer, authorize_url: &str, email: &str) -> Page {
        let login = self.follow(self.get(authorize_url).await).await;
        self.sign_in_from(server, login, email).await
    }

    /// The email sign-in through the link, starting at the login page.
    pub async fn sign_in_from(&self, server: &TestServer, login: Page, email: &str) -> Page {
        assert!(login.body.contains("autocomplete=\"username webauthn\""), "expected the login page: {}", login.body);
        let waiting = self.request_mail(&login, email).await;
        assert!(waiting.body.contains("Check your mail"), "{}", waiting.body);
        let token = server.smtp.last_mail_to(email).await.link_token();
        let confirm = self.get(&format!("/login/link?token={token}")).await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
        assert!(confirm.body.contains("Continue signing in"), "{}", confirm.body);
        let done = self.post("/login/link", &[("csrf", &confirm.csrf()), ("token", &token)]).await;
        self.follow(done).await
    }
}

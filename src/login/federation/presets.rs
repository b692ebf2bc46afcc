//! What Tessera knows about well-known providers: endpoints, default scopes, and quirks.

pub use super::kind::ConnectorKind;

/// Where a provider lives and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// OpenID Connect issuer (discovery); empty for plain OAuth 2.0 providers.
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub scopes: String,
    /// Extra authorization request parameters.
    pub extra: Vec<(&'static str, &'static str)>,
}

/// The endpoints of a preset; `tenant` is Microsoft's (common, consumers, organizations or
/// a tenant id). `None` for kinds without a preset (oidc, oauth2).
pub fn preset(kind: ConnectorKind, tenant: &str) -> Option<Endpoints> {
    let e = |issuer: &str, auth: &str, token: &str, userinfo: &str, scopes: &str| Endpoints {
        issuer: issuer.into(),
        authorization_endpoint: auth.into(),
        token_endpoint: token.into(),
        userinfo_endpoint: userinfo.into(),
        scopes: scopes.into(),
        extra: Vec::new(),
    };
    Some(match kind {
        // https://developers.google.com/identity/openid-connect/openid-connect
        ConnectorKind::Google => e("https://accounts.google.com", "", "", "", "openid email profile"),
        // https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
        ConnectorKind::Microsoft => {
            let tenant = if tenant.is_empty() { "common" } else { tenant };
            e(&format!("https://login.microsoftonline.com/{tenant}/v2.0"), "", "", "", "openid email profile")
        }
        // https://developer.apple.com/documentation/sign_in_with_apple: asking for name or
        // email requires response_mode=form_post.
        ConnectorKind::Apple => Endpoints {
            extra: vec![("response_mode", "form_post")],
            ..e("https://appleid.apple.com", "", "", "", "openid name email")
        },
        // https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
        ConnectorKind::Github => e(
            "",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
            "read:user user:email",
        ),
        // https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
        ConnectorKind::Facebook => e(
            "",
            "https://www.facebook.com/v19.0/dialog/oauth",
            "https://graph.facebook.com/v19.0/oauth/access_token",
            "https://graph.facebook.com/me?fields=id,name,email",
            "email public_profile",
        ),
        _ => return None,
    })
}

/// Microsoft's multi-tenant endpoints issue tokens whose `iss` names the user's tenant
/// (`https://login.microsoftonline.com/{tenantid}/v2.0`), not the discovery document's
/// `{tenantid}` template: accept any tenant's issuer of that shape.
pub fn microsoft_issuer_matches(expected_template: &str, actual: &str) -> bool {
    match expected_template.split_once("{tenantid}") {
        Some((before, after)) => {
            actual.starts_with(before)
                && actual.ends_with(after)
                && actual.len() > before.len() + after.len()
                && !actual[before.len()..actual.len() - after.len()].contains('/')
        }
        None => expected_template == actual,
    }
}

/// The GitHub user's address to trust: the primary one, and only if GitHub verified it.
pub fn github_primary_verified(emails: &serde_json::Value) -> Option<String> {
    emails.as_array()?.iter().find(|e| e["primary"] == true && e["verified"] == true)?["email"]
        .as_str()
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_the_documented_endpoints() {
        assert_eq!(preset(ConnectorKind::Google, "").unwrap().issuer, "https://accounts.google.com");
        assert_eq!(
            preset(ConnectorKind::Microsoft, "").unwrap().issuer,
            "https://login.microsoftonline.com/common/v2.0"
        );
        assert_eq!(
            preset(ConnectorKind::Microsoft, "consumers").unwrap().issuer,
            "https://login.microsoftonline.com/consumers/v2.0"
        );
        let apple = preset(ConnectorKind::Apple, "").unwrap();
        assert_eq!(apple.extra, vec![("response_mode", "form_post")]);
        assert!(apple.scopes.contains("name") && apple.scopes.contains("email"));
        let gh = preset(ConnectorKind::Github, "").unwrap();
        assert!(gh.issuer.is_empty());
        assert_eq!(gh.token_endpoint, "https://github.com/login/oauth/access_token");
        assert!(gh.scopes.contains("user:email"));
        assert!(preset(ConnectorKind::Facebook, "").unwrap().userinfo_endpoint.contains("fields=id,name,email"));
        assert_eq!(preset(ConnectorKind::Oidc, ""), None);
    }

    #[test]
    fn microsoft_issuers_match_any_single_tenant() {
        let t = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(microsoft_issuer_matches(t, "https://login.microsoftonline.com/9188040d-6c67-4c5b/v2.0"));
        assert!(!microsoft_issuer_matches(t, "https://login.microsoftonline.com/a/b/v2.0"));
        assert!(!microsoft_issuer_matches(t, "https://evil.example/x/v2.0"));
    }

    #[test]
    fn github_uses_the_primary_verified_address_only() {
        let emails = serde_json::json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "main@example.com", "primary": true, "verified": true}
        ]);
        assert_eq!(github_primary_verified(&emails).as_deref(), Some("main@example.com"));
        let unverified = serde_json::json!([{"email": "main@example.com", "primary": true, "verified": false}]);
        assert_eq!(github_primary_verified(&unverified), None);
    }
}

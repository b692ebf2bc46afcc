//! Every namespace of the ephemeral store, in one registry. A value's key is
//! `<deployment prefix><namespace>:<id>`: the prefix (`ephemeral_prefix`) keeps deployments
//! that share one Redis apart, and the namespaces keep features apart. A [`Key`] can only be
//! made here, so no feature can invent a namespace that collides with another's.

/// What a key holds. Ids inside a namespace are hashes or random ids unless noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// A pending authorization request, by its id (`oidc::interaction`).
    Authorization,
    /// An issued authorization code, by the hash of the code.
    AuthorizationCode,
    /// The marker of a redeemed code, so a replay revokes what the code gave.
    RedeemedCode,
    /// A pending email sign-in, by the hash of its browser binding.
    EmailSignIn,
    /// The link of an email sign-in, by the hash of the link token.
    EmailLink,
    /// When the last sign-in mail to an address went out, by the hash of the address.
    LastSignInMail,
    /// A passkey registration ceremony, by its id.
    PasskeyRegistration,
    /// A passkey sign-in ceremony, by its id.
    PasskeySignIn,
    /// The review of an account set up through a provider, by session id.
    AccountReview,
    /// An authenticator app being set up, by session id.
    TotpEnrolment,
    /// A parked second step of a sign-in, by the hash of its cookie secret.
    SecondStep,
    /// A sign-in at a provider, by the hash of its `state`.
    FederatedSignIn,
    /// A provider identity waiting to be linked after proof, by the hash of its cookie.
    FederatedLink,
    /// A new email address waiting for its link, by the hash of the link token.
    EmailChange,
    /// A rate-limit window: `<what>:<who>`.
    RateLimit,
}

impl Space {
    pub const ALL: [Space; 15] = [
        Space::Authorization,
        Space::AuthorizationCode,
        Space::RedeemedCode,
        Space::EmailSignIn,
        Space::EmailLink,
        Space::LastSignInMail,
        Space::PasskeyRegistration,
        Space::PasskeySignIn,
        Space::AccountReview,
        Space::TotpEnrolment,
        Space::SecondStep,
        Space::FederatedSignIn,
        Space::FederatedLink,
        Space::EmailChange,
        Space::RateLimit,
    ];

    /// The namespace as it appears in keys. Never change one: values in a shared store
    /// during a rolling upgrade would be lost.
    pub fn name(self) -> &'static str {
        match self {
            Space::Authorization => "authz",
            Space::AuthorizationCode => "code",
            Space::RedeemedCode => "code-used",
            Space::EmailSignIn => "signin",
            Space::EmailLink => "signin-link",
            Space::LastSignInMail => "signin-last-mail",
            Space::PasskeyRegistration => "webauthn-reg",
            Space::PasskeySignIn => "webauthn-auth",
            Space::AccountReview => "review",
            Space::TotpEnrolment => "totp-enrol",
            Space::SecondStep => "second-step",
            Space::FederatedSignIn => "fed",
            Space::FederatedLink => "fed-link",
            Space::EmailChange => "email-change",
            Space::RateLimit => "rl",
        }
    }

    pub fn key(self, id: &str) -> Key {
        Key(format!("{}:{id}", self.name()))
    }
}

/// A key of the ephemeral store (without the deployment prefix, which the store adds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_distinct_and_none_is_a_prefix_of_another_with_its_colon() {
        for a in Space::ALL {
            for b in Space::ALL {
                if a != b {
                    assert_ne!(a.name(), b.name());
                    assert!(!format!("{}:", a.name()).starts_with(&format!("{}:", b.name())), "{a:?} {b:?}");
                }
            }
        }
        assert_eq!(Space::RateLimit.key("authorize:10.0.0.0/24").as_str(), "rl:authorize:10.0.0.0/24");
    }
}

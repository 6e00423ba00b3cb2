//! Who is asking: the session cookie, the client's address, and the CSRF check.
//!
//! The session cookie is `HttpOnly` (scripts cannot read it), `SameSite=Strict` (other sites
//! cannot make the browser send it) and `Secure`. Signing in always starts a new session with
//! a new token, so a token planted before sign-in is worthless (no session fixation). The
//! sign-in form itself is protected by a double-submit token in a short-lived cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use subtle::ConstantTimeEq;
use vigil_store::{Role, Session};

use crate::{AppState, WebError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vigil_session";
/// The sign-in form's double-submit cookie.
pub const LOGIN_CSRF_COOKIE: &str = "vigil_login_csrf";
/// The header API clients send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/`, `Secure` when asked;
/// `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Whether `given` is `expected`, compared in constant time.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// A fresh random token (URL-safe base64 of 32 bytes).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // No randomness means no tokens; an empty one never matches (see `tokens_match`).
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Where a request comes from.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The peer's address.
    pub ip: Option<String>,
    /// Its `User-Agent`.
    pub user_agent: Option<String>,
}

impl Client {
    fn of(parts: &Parts) -> Self {
        Client {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(256).collect()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client::of(parts))
    }
}

/// A signed-in request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session and its account.
    pub session: Session,
    /// The cookie's token (to end the session).
    pub token: String,
    /// Where it comes from.
    pub client: Client,
    /// Whether the request was to the API.
    pub api: bool,
}

impl SignedIn {
    /// The account's role is at least `role`, else 403.
    pub fn require(&self, role: Role) -> Result<(), WebError> {
        if self.session.user.role >= role {
            Ok(())
        } else {
            Err(WebError::forbidden(self.api))
        }
    }

    /// The request carried this session's CSRF token (form field or header), else 403.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), WebError> {
        match given {
            Some(t) if tokens_match(&self.session.csrf_token, t) => Ok(()),
            _ => Err(WebError::csrf(self.api)),
        }
    }

    /// The audit trail's subject for the account.
    pub fn user(&self) -> &vigil_store::User {
        &self.session.user
    }
}

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = WebError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // Under `nest`, `uri` has lost its prefix; the original says where the request went.
        let api = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri.path(), |u| u.0.path())
            .starts_with("/api/");
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
            return Err(WebError::sign_in(api));
        };
        let session = vigil_core::accounts::session(&state.catalog, &token)
            .await
            .map_err(|e| WebError::internal(e, api))?
            .ok_or_else(|| WebError::sign_in(api))?;
        Ok(SignedIn {
            session,
            token,
            client: Client::of(parts),
            api,
        })
    }
}

/// A request that may or may not be signed in.
#[derive(Debug, Clone)]
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequestParts<Arc<AppState>> for MaybeSignedIn {
    type Rejection = WebError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match SignedIn::from_request_parts(parts, state).await {
            Ok(s) => Ok(MaybeSignedIn(Some(s))),
            Err(e) if e.code == "sign-in-required" => Ok(MaybeSignedIn(None)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_tokens_and_flags() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; vigil_session=tok"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "vigil"), None);
        let set = set_cookie(SESSION_COOKIE, "tok", 60, true);
        let set = set.to_str().expect("ascii");
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(set.contains(flag), "{set}");
        }
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd") && !tokens_match("", ""));
        let (a, b) = (random_token(), random_token());
        assert!(a.len() == 43 && a != b, "{a} {b}");
    }
}

//! Signing in to the workspace: passwords (argon2id), sessions, a limit on guessing, and the
//! audit trail every action writes to.
//!
//! A session token is 32 random bytes, given to the browser once (in a cookie) and stored
//! only as its SHA-256. Each session has its own CSRF token that state-changing requests must
//! carry. Sign-in failures are counted per name and per address; past the limit, sign-in is
//! refused for a while even with the right password, so passwords cannot be guessed online.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use vigil_store::{
    AccountError, Catalog, NewAuditEvent, NewSession, Role, Session, Sha256Digest, User,
    now_rfc3339,
};

use crate::CoreError;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins per name, then per address, within [`FAILURE_WINDOW`] before sign-in is
/// refused.
pub const MAX_FAILURES_PER_NAME: u32 = 5;
/// Failed sign-ins from one address within the window (many names tried from one place).
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// The window over which failures count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &str) -> Result<String, CoreError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| CoreError::Usage(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| CoreError::Usage(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Usage(format!("cannot hash the password: {e}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of nothing, verified against when the name is unknown so that a wrong name takes
/// as long as a wrong password (names cannot be probed by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

fn random_token() -> Result<String, CoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CoreError::Usage(format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 a session token is stored under.
pub fn token_hash(token: &str) -> Sha256Digest {
    Sha256Digest::of(token.as_bytes())
}

/// Records one audit event; `user` is `None` for anonymous requests.
pub async fn audit(
    catalog: &Catalog,
    user: Option<&User>,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
    ip: Option<&str>,
) -> Result<(), CoreError> {
    catalog
        .append_audit(&NewAuditEvent {
            at: now_rfc3339(),
            user_id: user.map(|u| u.id),
            actor: user.map_or_else(|| "anonymous".to_owned(), |u| u.username.clone()),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail,
            ip: ip.map(str::to_owned),
        })
        .await?;
    Ok(())
}

/// An account change refused by the store, as the person who asked for it reads it.
fn account_error(e: AccountError) -> CoreError {
    match e {
        AccountError::NameTaken(n) => CoreError::Usage(format!("there is already a user {n:?}")),
        AccountError::Catalog(c) => CoreError::Catalog(c),
        other => CoreError::Usage(other.to_string()),
    }
}

/// Creates an account (`vigil user add`, or an admin in the workspace), recorded in the
/// audit trail under `actor`.
pub async fn add_user(
    catalog: &Catalog,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
    actor: &str,
) -> Result<User, CoreError> {
    let name_ok = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if !name_ok {
        return Err(CoreError::Usage(format!(
            "{username:?} is not a user name (1-64 letters, digits, . - _ @)"
        )));
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(CoreError::Usage(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let hash = tokio::task::block_in_place(|| hash_password(password))?;
    let display = if display_name.trim().is_empty() {
        username
    } else {
        display_name.trim()
    };
    let user = catalog
        .create_user(username, display, role, &hash, &now_rfc3339())
        .await
        .map_err(account_error)?;
    catalog
        .append_audit(&NewAuditEvent {
            at: now_rfc3339(),
            user_id: None,
            actor: actor.to_owned(),
            action: "user-add".into(),
            subject: format!("user:{}", user.username),
            detail: serde_json::json!({ "role": role.as_str() }),
            ip: None,
        })
        .await?;
    Ok(user)
}

/// A signed-in session, as handed to the browser.
#[derive(Debug, Clone)]
pub struct Login {
    /// The cookie's value (never stored).
    pub token: String,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Who.
    pub user: User,
}

/// Why sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong name or password (which one is not said).
    #[error("wrong user name or password")]
    Invalid,
    /// Too many failures lately; try again later.
    #[error("too many failed sign-ins; try again in {} minutes", .0.as_secs().div_ceil(60))]
    TooManyAttempts(Duration),
    /// The store failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Failed sign-ins per key (a name, an address) in the current window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// How long `key` must wait, if it is over `max` failures.
    fn blocked(&self, key: &str, max: u32) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, since) = map.get(key)?;
        let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
        (*count >= max).then_some(left)
    }

    fn fail(&self, key: String) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: stale entries go first.
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = map.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

/// Signs in: checks the limiter, the password (in constant work whether or not the name
/// exists), records the outcome in the audit trail, and creates a session.
pub async fn login(
    catalog: &Catalog,
    limiter: &LoginLimiter,
    username: &str,
    password: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<Login, LoginError> {
    let name_key = format!("name:{}", username.to_lowercase());
    let ip_key = format!("ip:{}", ip.unwrap_or("-"));
    if let Some(wait) = limiter
        .blocked(&name_key, MAX_FAILURES_PER_NAME)
        .or_else(|| limiter.blocked(&ip_key, MAX_FAILURES_PER_ADDRESS))
    {
        audit(
            catalog,
            None,
            "login-refused",
            &format!("user:{username}"),
            serde_json::json!({ "reason": "too many failures" }),
            ip,
        )
        .await?;
        return Err(LoginError::TooManyAttempts(wait));
    }
    let found = catalog
        .user_for_login(username)
        .await
        .map_err(CoreError::from)?;
    let (hash, user) = match &found {
        Some((u, h)) => (h.as_str(), Some(u)),
        None => (decoy_hash(), None),
    };
    let password_ok = tokio::task::block_in_place(|| verify_password(hash, password));
    let user = match user {
        Some(u) if password_ok && !u.disabled => u.clone(),
        _ => {
            limiter.fail(name_key);
            limiter.fail(ip_key);
            audit(
                catalog,
                None,
                "login-failed",
                &format!("user:{username}"),
                serde_json::json!({}),
                ip,
            )
            .await?;
            return Err(LoginError::Invalid);
        }
    };
    limiter.clear(&name_key);
    let token = random_token()?;
    let csrf_token = random_token()?;
    let now = time::OffsetDateTime::now_utc();
    let expires = vigil_store::parse_rfc3339(
        &(now + SESSION_LIFETIME)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| CoreError::Usage(e.to_string()))?,
    )
    .map_err(CoreError::Usage)?;
    catalog
        .create_session(&NewSession {
            token_hash: &token_hash(&token),
            user_id: user.id,
            csrf_token: &csrf_token,
            created_at: &now_rfc3339(),
            expires_at: &expires,
            ip,
            user_agent,
        })
        .await
        .map_err(CoreError::from)?;
    audit(
        catalog,
        Some(&user),
        "login",
        &format!("user:{}", user.username),
        serde_json::json!({}),
        ip,
    )
    .await?;
    Ok(Login {
        token,
        csrf_token,
        user,
    })
}

/// The live session a cookie's token names.
pub async fn session(catalog: &Catalog, token: &str) -> Result<Option<Session>, CoreError> {
    Ok(catalog.session(&token_hash(token), &now_rfc3339()).await?)
}

/// Ends a session, recorded in the audit trail.
pub async fn logout(
    catalog: &Catalog,
    token: &str,
    user: &User,
    ip: Option<&str>,
) -> Result<(), CoreError> {
    catalog.delete_session(&token_hash(token)).await?;
    audit(
        catalog,
        Some(user),
        "logout",
        &format!("user:{}", user.username),
        serde_json::json!({}),
        ip,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").expect("salted")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sign_in_sessions_limits_and_the_audit_trail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        assert!(
            add_user(&cat, "anna", "", Role::Viewer, "short", "cli:t")
                .await
                .is_err()
        );
        assert!(
            add_user(&cat, "a b", "", Role::Viewer, "long enough pass", "cli:t")
                .await
                .is_err()
        );
        let anna = add_user(
            &cat,
            "anna",
            "Анна",
            Role::Viewer,
            "long enough pass",
            "cli:t",
        )
        .await
        .expect("add");
        let limiter = LoginLimiter::default();
        let ip = Some("192.0.2.7");
        let ok = login(&cat, &limiter, "ANNA", "long enough pass", ip, None)
            .await
            .expect("login");
        assert_eq!(ok.user.id, anna.id);
        let s = session(&cat, &ok.token).await.expect("q").expect("live");
        assert_eq!(s.csrf_token, ok.csrf_token);
        logout(&cat, &ok.token, &anna, ip).await.expect("logout");
        assert!(session(&cat, &ok.token).await.expect("q").is_none());

        // Five wrong passwords, then even the right one is refused for a while.
        for _ in 0..MAX_FAILURES_PER_NAME {
            assert!(matches!(
                login(&cat, &limiter, "anna", "wrong password!", ip, None).await,
                Err(LoginError::Invalid)
            ));
        }
        assert!(matches!(
            login(&cat, &limiter, "anna", "long enough pass", ip, None).await,
            Err(LoginError::TooManyAttempts(_))
        ));
        // Unknown names fail the same way.
        assert!(matches!(
            login(
                &cat,
                &limiter,
                "nobody",
                "whatever password",
                Some("198.51.100.1"),
                None
            )
            .await,
            Err(LoginError::Invalid)
        ));

        let actions: Vec<String> = cat
            .audit_events(0, 100, None)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.event.action)
            .collect();
        assert_eq!(actions[..3], ["user-add", "login", "logout"]);
        assert_eq!(actions.iter().filter(|a| *a == "login-failed").count(), 6);
        assert!(actions.contains(&"login-refused".to_string()));
        assert!(cat.verify_audit_chain().await.expect("chain").1.is_empty());
    }
}

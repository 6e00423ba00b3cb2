//! Signing in to the workspace: passwords (argon2id), sessions, a limit on guessing, and the
//! audit trail every action writes to.
//!
//! A session token is 32 random bytes, given to the browser once (in a cookie) and stored
//! only as its SHA-256. Each session has its own CSRF token that state-changing requests must
//! carry. Sign-in failures are counted per name and per address; past the limit, sign-in is
//! refused for a while even with the right password, so passwords cannot be guessed online.
//!
//! Accounts and collections are managed by admins in the workspace or from the command line
//! ([`Actor`]); every change is an audit event, and no change may leave the workspace without
//! an enabled admin.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use vigil_store::{
    AccountError, Catalog, Collection, NewAuditEvent, NewSession, Role, Session, Sha256Digest,
    User, now_rfc3339,
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

/// Longest display name and collection name, in characters (the catalog's limit for names).
pub const MAX_NAME_CHARS: usize = 128;

/// A strong password for an account whose owner will be told it once (`vigil user add`
/// without `--password-stdin`, a new account or a reset in the workspace): 18 random bytes,
/// 24 URL-safe characters.
pub fn generate_password() -> Result<String, CoreError> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| CoreError::Usage(format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
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
    let user = new_account(catalog, username, display_name, role, password).await?;
    Actor::CommandLine(actor)
        .record(
            catalog,
            "user-add",
            &format!("user:{}", user.username),
            serde_json::json!({ "role": role.as_str() }),
        )
        .await?;
    Ok(user)
}

/// Checks the name, display name and password, hashes the password and stores the account.
async fn new_account(
    catalog: &Catalog,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
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
    if display.chars().count() > MAX_NAME_CHARS || display.chars().any(char::is_control) {
        return Err(CoreError::Usage(format!(
            "a display name has at most {MAX_NAME_CHARS} characters and no control characters"
        )));
    }
    catalog
        .create_user(username, display, role, &hash, &now_rfc3339())
        .await
        .map_err(account_error)
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

/// Who manages accounts and collections, as the audit trail names them.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// An account signed in to the workspace, from this address; only admins may act.
    Web {
        /// The account (its role is checked).
        user: &'a User,
        /// The client's address.
        ip: Option<&'a str>,
    },
    /// The command line, as `cli:<os user>`: whoever may run `vigil` on the store's machine
    /// holds the catalog anyway.
    CommandLine(&'a str),
}

impl Actor<'_> {
    /// The name the audit trail gives this actor.
    pub fn name(&self) -> String {
        match self {
            Actor::Web { user, .. } => user.username.clone(),
            Actor::CommandLine(name) => (*name).to_owned(),
        }
    }

    /// Only admins manage accounts and collections (the web checks first; this is the rule).
    fn check(&self) -> Result<(), CoreError> {
        match self {
            Actor::Web { user, .. } if user.role != Role::Admin => Err(CoreError::Usage(
                "only admins manage accounts and collections".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Records what was done; returns the event's id.
    pub async fn record(
        &self,
        catalog: &Catalog,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<i64, CoreError> {
        let (user_id, ip) = match self {
            Actor::Web { user, ip } => (Some(user.id), ip.map(Into::into)),
            Actor::CommandLine(_) => (None, None),
        };
        let actor = self.name();
        Ok(catalog
            .append_audit(&NewAuditEvent {
                at: now_rfc3339(),
                user_id,
                actor,
                action: action.to_owned(),
                subject: subject.to_owned(),
                detail,
                ip,
            })
            .await?)
    }
}

/// The account with this id, or a clear refusal.
async fn existing_user(catalog: &Catalog, id: i64) -> Result<User, CoreError> {
    catalog
        .user(id)
        .await?
        .ok_or_else(|| CoreError::Usage(format!("there is no user #{id}")))
}

/// The account named `username` (without case), or a clear refusal.
pub async fn user_named(catalog: &Catalog, username: &str) -> Result<User, CoreError> {
    catalog
        .user_named(username.trim())
        .await?
        .ok_or_else(|| CoreError::Usage(format!("there is no user {:?}", username.trim())))
}

/// The id of the collection named `name`, or a clear refusal.
pub async fn collection_named(catalog: &Catalog, name: &str) -> Result<i64, CoreError> {
    catalog
        .collection_id(name.trim())
        .await?
        .ok_or_else(|| CoreError::Usage(format!("there is no collection {:?}", name.trim())))
}

/// The name of collection `id`, or a clear refusal.
async fn existing_collection(catalog: &Catalog, id: i64) -> Result<String, CoreError> {
    catalog
        .collection_name(id)
        .await?
        .ok_or_else(|| CoreError::Usage(format!("there is no collection #{id}")))
}

/// Every collection with its members (for admins: the workspace and `vigil collection list`).
pub async fn collections(catalog: &Catalog, by: &Actor<'_>) -> Result<Vec<Collection>, CoreError> {
    by.check()?;
    Ok(catalog.collections().await?)
}

/// Creates an account with a generated password, returned to be shown once; recorded.
pub async fn add_account(
    catalog: &Catalog,
    by: &Actor<'_>,
    username: &str,
    display_name: &str,
    role: Role,
) -> Result<(User, String), CoreError> {
    by.check()?;
    let password = generate_password()?;
    let user = new_account(catalog, username.trim(), display_name, role, &password).await?;
    by.record(
        catalog,
        "user-add",
        &format!("user:{}", user.username),
        serde_json::json!({ "role": role.as_str() }),
    )
    .await?;
    Ok((user, password))
}

/// Creates a collection: the name trimmed, 1 to 128 characters, no control characters, not
/// taken. Returns its id; recorded.
pub async fn create_collection(
    catalog: &Catalog,
    by: &Actor<'_>,
    name: &str,
) -> Result<i64, CoreError> {
    by.check()?;
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(CoreError::Usage(format!(
            "a collection name has 1 to {MAX_NAME_CHARS} characters and no control characters"
        )));
    }
    let id = catalog
        .create_collection(name, &now_rfc3339())
        .await
        .map_err(account_error)?;
    by.record(
        catalog,
        "collection-add",
        &format!("collection:{name}"),
        serde_json::json!({ "id": id }),
    )
    .await?;
    Ok(id)
}

/// Makes a user a member of a collection; whether they were not one before. Recorded either
/// way.
pub async fn add_member(
    catalog: &Catalog,
    by: &Actor<'_>,
    collection_id: i64,
    user_id: i64,
) -> Result<bool, CoreError> {
    set_membership(catalog, by, collection_id, user_id, true).await
}

/// Ends a user's membership of a collection; whether they were a member. Recorded either way.
pub async fn remove_member(
    catalog: &Catalog,
    by: &Actor<'_>,
    collection_id: i64,
    user_id: i64,
) -> Result<bool, CoreError> {
    set_membership(catalog, by, collection_id, user_id, false).await
}

/// Adds (`member`) or removes a membership; whether it changed anything.
async fn set_membership(
    catalog: &Catalog,
    by: &Actor<'_>,
    collection_id: i64,
    user_id: i64,
    member: bool,
) -> Result<bool, CoreError> {
    by.check()?;
    let name = existing_collection(catalog, collection_id).await?;
    let user = existing_user(catalog, user_id).await?;
    let changed = if member {
        let was = catalog
            .collections_of(user_id)
            .await?
            .contains(&collection_id);
        catalog.add_member(collection_id, user_id).await?;
        !was
    } else {
        catalog.remove_member(collection_id, user_id).await?
    };
    by.record(
        catalog,
        if member {
            "member-add"
        } else {
            "member-remove"
        },
        &format!("collection:{name}"),
        serde_json::json!({ "user": user.username, "changed": changed }),
    )
    .await?;
    Ok(changed)
}

/// Changes a user's role (at once: sessions read it on every request); refused for the last
/// enabled admin. Returns the role before; recorded.
pub async fn set_role(
    catalog: &Catalog,
    by: &Actor<'_>,
    user_id: i64,
    role: Role,
) -> Result<Role, CoreError> {
    by.check()?;
    let user = existing_user(catalog, user_id).await?;
    let before = catalog
        .set_role(user_id, role)
        .await
        .map_err(account_error)?;
    by.record(
        catalog,
        "user-role",
        &format!("user:{}", user.username),
        serde_json::json!({ "from": before.as_str(), "to": role.as_str() }),
    )
    .await?;
    Ok(before)
}

/// Disables an account (it cannot sign in and its sessions end at once; its history stays)
/// or enables it again; refused for the last enabled admin. Recorded.
pub async fn set_disabled(
    catalog: &Catalog,
    by: &Actor<'_>,
    user_id: i64,
    disabled: bool,
) -> Result<(), CoreError> {
    by.check()?;
    let user = existing_user(catalog, user_id).await?;
    catalog
        .set_disabled(user_id, disabled)
        .await
        .map_err(account_error)?;
    by.record(
        catalog,
        if disabled {
            "user-disable"
        } else {
            "user-enable"
        },
        &format!("user:{}", user.username),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// Gives an account a new generated password, returned to be shown once; its sessions end.
/// Recorded (the password is not).
pub async fn reset_password(
    catalog: &Catalog,
    by: &Actor<'_>,
    user_id: i64,
) -> Result<String, CoreError> {
    by.check()?;
    let user = existing_user(catalog, user_id).await?;
    let password = generate_password()?;
    let hash = tokio::task::block_in_place(|| hash_password(&password))?;
    catalog
        .set_password_hash(user_id, &hash)
        .await
        .map_err(account_error)?;
    by.record(
        catalog,
        "password-reset",
        &format!("user:{}", user.username),
        serde_json::json!({}),
    )
    .await?;
    Ok(password)
}

/// Records that the whole audit trail is being exported; returns the id of that event, the
/// last one the export is to hold (so the export shows that it was made, and events written
/// while it streams are left for the next).
pub async fn audit_export(catalog: &Catalog, by: &Actor<'_>) -> Result<i64, CoreError> {
    by.check()?;
    by.record(
        catalog,
        "export",
        "audit",
        serde_json::json!({ "format": "jsonl" }),
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

    #[tokio::test(flavor = "multi_thread")]
    async fn admins_manage_accounts_and_collections_and_keep_an_admin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let pass = "long enough pass";
        let root = add_user(&cat, "root", "", Role::Admin, pass, "cli:t")
            .await
            .expect("root");
        let vera = add_user(&cat, "vera", "Вера", Role::Viewer, pass, "cli:t")
            .await
            .expect("vera");
        let ip = Some("192.0.2.9");
        let by = Actor::Web { user: &root, ip };
        let cli = Actor::CommandLine("cli:t");
        fn usage<T>(r: Result<T, CoreError>) -> String {
            match r {
                Err(CoreError::Usage(why)) => why,
                Err(other) => panic!("not a usage error: {other}"),
                Ok(_) => panic!("accepted"),
            }
        }

        // Only admins act.
        let as_vera = Actor::Web {
            user: &vera,
            ip: None,
        };
        assert!(usage(create_collection(&cat, &as_vera, "mine").await).contains("only admins"));
        assert!(usage(set_role(&cat, &as_vera, vera.id, Role::Admin).await).contains("admins"));

        // Collections: trimmed, 1 to 128 characters, unique.
        let case = create_collection(&cat, &by, "  case-17 ")
            .await
            .expect("create");
        assert_eq!(
            collection_named(&cat, "case-17").await.expect("named"),
            case
        );
        assert!(usage(create_collection(&cat, &by, "case-17").await).contains("already"));
        assert!(usage(create_collection(&cat, &by, "   ").await).contains("1 to 128"));
        let long = "ա".repeat(129);
        assert!(usage(create_collection(&cat, &by, &long).await).contains("1 to 128"));
        create_collection(&cat, &cli, &"ա".repeat(128))
            .await
            .expect("128 characters fit");
        assert!(usage(collection_named(&cat, "nope").await).contains("no collection"));

        // Members.
        assert!(add_member(&cat, &by, case, vera.id).await.expect("join"));
        assert!(!add_member(&cat, &by, case, vera.id).await.expect("again"));
        assert!(usage(add_member(&cat, &by, 999, vera.id).await).contains("no collection"));
        assert!(usage(add_member(&cat, &by, case, 999).await).contains("no user"));
        assert_eq!(cat.collections_of(vera.id).await.expect("q"), [1, case]);
        assert!(
            remove_member(&cat, &cli, case, vera.id)
                .await
                .expect("leave")
        );
        assert!(
            !remove_member(&cat, &cli, case, vera.id)
                .await
                .expect("again")
        );
        let listed = collections(&cat, &by).await.expect("list");
        assert_eq!(listed.len(), 3);

        // The last enabled admin can be neither demoted nor disabled.
        assert!(
            usage(set_role(&cat, &by, root.id, Role::Viewer).await).contains("no enabled admin")
        );
        assert!(usage(set_disabled(&cat, &by, root.id, true).await).contains("no enabled admin"));
        assert_eq!(
            set_role(&cat, &by, vera.id, Role::Investigator)
                .await
                .expect("promote"),
            Role::Viewer
        );

        // A new account's generated password signs in; a reset replaces it and ends sessions.
        let (omar, first) = add_account(&cat, &by, " omar ", "Omar", Role::Investigator)
            .await
            .expect("add");
        assert_eq!(omar.username, "omar");
        assert!(first.len() >= MIN_PASSWORD_LEN);
        assert!(usage(add_account(&cat, &by, "OMAR", "", Role::Viewer).await).contains("already"));
        let limiter = LoginLimiter::default();
        let signed_in = login(&cat, &limiter, "omar", &first, ip, None)
            .await
            .expect("login");
        let second = reset_password(&cat, &by, omar.id).await.expect("reset");
        assert_ne!(first, second);
        assert!(session(&cat, &signed_in.token).await.expect("q").is_none());
        assert!(matches!(
            login(&cat, &limiter, "omar", &first, ip, None).await,
            Err(LoginError::Invalid)
        ));
        let signed_in = login(&cat, &limiter, "omar", &second, ip, None)
            .await
            .expect("new password");

        // Disabled: the session ends and sign-in is refused, with the right password too.
        set_disabled(&cat, &by, omar.id, true)
            .await
            .expect("disable");
        assert!(session(&cat, &signed_in.token).await.expect("q").is_none());
        assert!(matches!(
            login(&cat, &limiter, "omar", &second, ip, None).await,
            Err(LoginError::Invalid)
        ));
        set_disabled(&cat, &by, omar.id, false)
            .await
            .expect("enable");
        login(&cat, &limiter, "omar", &second, ip, None)
            .await
            .expect("enabled again");

        // Everything is in the audit trail, by whom and from where; passwords are not.
        let export = audit_export(&cat, &by).await.expect("export");
        let events = cat.audit_events(0, 1000, None).await.expect("events");
        assert_eq!(events.last().map(|e| e.id), Some(export));
        let did = |actor: &str, action: &str, subject: &str| {
            events.iter().any(|e| {
                e.event.actor == actor && e.event.action == action && e.event.subject == subject
            })
        };
        assert!(did("root", "collection-add", "collection:case-17"));
        assert!(did("root", "member-add", "collection:case-17"));
        assert!(did("cli:t", "member-remove", "collection:case-17"));
        assert!(did("root", "user-role", "user:vera"));
        assert!(did("root", "user-add", "user:omar"));
        assert!(did("root", "password-reset", "user:omar"));
        assert!(did("root", "user-disable", "user:omar"));
        assert!(did("root", "user-enable", "user:omar"));
        assert!(did("root", "export", "audit"));
        assert!(
            events
                .iter()
                .filter(|e| e.event.actor == "root")
                .all(|e| e.event.ip.as_deref() == ip && e.event.user_id == Some(root.id))
        );
        let text = serde_json::to_string(&events).expect("json");
        assert!(!text.contains(&first) && !text.contains(&second));
        assert!(cat.verify_audit_chain().await.expect("chain").1.is_empty());
    }
}

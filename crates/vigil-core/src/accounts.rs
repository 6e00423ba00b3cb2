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
        && username.len() <= MAX_USERNAME_BYTES
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
    /// Every password checker is busy and the queue is full; nothing was evaluated.
    #[error("the server is busy checking other sign-ins; try again in a moment")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Longest user name (bytes), as [`add_user`] accepts; longer names cannot exist, and are
/// cut to this length in the limiter's keys and the audit trail so they cannot grow either.
pub const MAX_USERNAME_BYTES: usize = 64;

/// Sign-in attempts per key (a name, an address) in the current window, and the threads that
/// check passwords.
///
/// An attempt is charged *before* its password is checked, in the same lock as the check of
/// the limit, so however many arrive at once no more than the limit are ever evaluated; it is
/// refunded only when nothing was evaluated (checkers busy) and cleared for the name when it
/// succeeds.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    checker: PasswordChecker,
}

impl LoginLimiter {
    /// A limiter whose passwords are checked by `checker`.
    pub fn with_checker(checker: PasswordChecker) -> Self {
        LoginLimiter {
            failures: Mutex::default(),
            checker,
        }
    }

    /// The password checker (for its counters).
    pub fn checker(&self) -> &PasswordChecker {
        &self.checker
    }

    /// Charges one attempt to both keys, or says how long to wait if either is at its limit
    /// (then nothing is charged).
    fn reserve(&self, name_key: &str, ip_key: &str) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let wait = |map: &HashMap<String, (u32, Instant)>, key: &str, max: u32| {
            let (count, since) = map.get(key)?;
            let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
            (*count >= max).then_some(left)
        };
        if let Some(left) = wait(&map, name_key, MAX_FAILURES_PER_NAME)
            .or_else(|| wait(&map, ip_key, MAX_FAILURES_PER_ADDRESS))
        {
            return Err(left);
        }
        // Bounded: stale entries go first.
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        for key in [name_key, ip_key] {
            let entry = map.entry(key.to_owned()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= FAILURE_WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// Takes back one charge from `key` (an attempt that was not a failure).
    fn refund(map: &mut HashMap<String, (u32, Instant)>, key: &str) {
        if let Some(entry) = map.get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                map.remove(key);
            }
        }
    }

    /// Nothing was evaluated: both charges are taken back.
    fn nothing_evaluated(&self, name_key: &str, ip_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Self::refund(&mut map, name_key);
        Self::refund(&mut map, ip_key);
    }

    /// The right password: the name starts afresh, and the address is not charged for it.
    fn succeeded(&self, name_key: &str, ip_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(name_key);
        Self::refund(&mut map, ip_key);
    }
}

/// What a [`PasswordChecker`] has done, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckerCounts {
    /// Passwords checked (argon2 runs).
    pub checked: u64,
    /// Attempts refused because every checker was busy and the queue full.
    pub refused_busy: u64,
    /// Most checks ever running at once.
    pub peak_running: usize,
}

/// Checks passwords on a few dedicated threads, one argon2 at a time each, with a bounded
/// queue: argon2id takes 19 MiB and tens of milliseconds per check, so concurrency × memory
/// stays bounded whatever arrives (before, each attempt took a runtime thread of its own, and a
/// flood took the server to gigabytes). A full queue answers at once ([`LoginError::Busy`])
/// rather than piling up work. The threads start with the first check and end with the checker.
#[derive(Debug)]
pub struct PasswordChecker {
    threads: usize,
    queue: usize,
    jobs: std::sync::OnceLock<Option<std::sync::mpsc::SyncSender<CheckJob>>>,
    counts: std::sync::Arc<CheckerState>,
}

#[derive(Debug, Default)]
struct CheckerState {
    checked: std::sync::atomic::AtomicU64,
    refused_busy: std::sync::atomic::AtomicU64,
    running: std::sync::atomic::AtomicUsize,
    peak_running: std::sync::atomic::AtomicUsize,
    /// Jobs accepted and not yet finished (queued or running).
    pending: std::sync::atomic::AtomicUsize,
}

struct CheckJob {
    /// The account's PHC string, or `None` for an unknown name (checked against the decoy).
    hash: Option<String>,
    password: String,
    reply: tokio::sync::oneshot::Sender<bool>,
}

impl std::fmt::Debug for CheckJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckJob")
    }
}

impl Default for PasswordChecker {
    /// One thread per core (at most 4: each holds 19 MiB while it works), and a queue of 8
    /// per thread (a wait of a few hundred milliseconds at most).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let threads = cores.clamp(1, 4);
        PasswordChecker::new(threads, threads * 8)
    }
}

impl PasswordChecker {
    /// `threads` checks at once (at least 1), and at most `queue` more waiting.
    pub fn new(threads: usize, queue: usize) -> Self {
        PasswordChecker {
            threads: threads.max(1),
            queue,
            jobs: std::sync::OnceLock::new(),
            counts: Default::default(),
        }
    }

    /// What it has done so far.
    pub fn counts(&self) -> CheckerCounts {
        use std::sync::atomic::Ordering::Relaxed;
        CheckerCounts {
            checked: self.counts.checked.load(Relaxed),
            refused_busy: self.counts.refused_busy.load(Relaxed),
            peak_running: self.counts.peak_running.load(Relaxed),
        }
    }

    /// The queue, with its threads started on first use; `None` if no thread could start.
    fn sender(&self) -> Option<&std::sync::mpsc::SyncSender<CheckJob>> {
        self.jobs
            .get_or_init(|| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<CheckJob>(self.queue);
                let rx = std::sync::Arc::new(Mutex::new(rx));
                let mut started = 0;
                for n in 0..self.threads {
                    let (rx, counts) = (rx.clone(), self.counts.clone());
                    let spawned = std::thread::Builder::new()
                        .name(format!("vigil-password-{n}"))
                        .spawn(move || check_passwords(&rx, &counts));
                    match spawned {
                        Ok(_) => started += 1,
                        Err(e) => tracing::error!(error = %e, "cannot start a password checker"),
                    }
                }
                (started > 0).then_some(tx)
            })
            .as_ref()
    }

    /// Whether `password` matches `hash` (`None`: an unknown name, checked against a decoy so
    /// it takes as long); `None` when every checker is busy and the queue is full.
    pub async fn check(&self, hash: Option<String>, password: &str) -> Option<bool> {
        use std::sync::atomic::Ordering::Relaxed;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = CheckJob {
            hash,
            password: password.to_owned(),
            reply,
        };
        self.counts.pending.fetch_add(1, Relaxed);
        let queued = self.sender().map(|tx| tx.try_send(job).is_ok());
        if queued != Some(true) {
            self.counts.pending.fetch_sub(1, Relaxed);
            self.counts.refused_busy.fetch_add(1, Relaxed);
            return None;
        }
        // A checker that died answers "no": never a sign-in by accident.
        Some(answer.await.unwrap_or(false))
    }
}

/// A checker thread: runs jobs until the checker is dropped. When the last pending job is
/// done, memory freed by the burst is handed back to the system (glibc keeps it otherwise).
fn check_passwords(rx: &Mutex<std::sync::mpsc::Receiver<CheckJob>>, state: &CheckerState) {
    use std::sync::atomic::Ordering::{Relaxed, SeqCst};
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { return };
        // Whoever asked has gone (the client disconnected): the attempt is already charged.
        if !job.reply.is_closed() {
            let running = state.running.fetch_add(1, SeqCst) + 1;
            state.peak_running.fetch_max(running, SeqCst);
            let ok = std::panic::catch_unwind(|| match job.hash.as_deref() {
                Some(hash) => verify_password(hash, &job.password),
                None => verify_password(decoy_hash(), &job.password),
            })
            .unwrap_or(false);
            state.checked.fetch_add(1, Relaxed);
            state.running.fetch_sub(1, SeqCst);
            let _ = job.reply.send(ok);
        }
        if state.pending.fetch_sub(1, SeqCst) == 1 {
            release_freed_memory();
        }
    }
}

/// Returns the allocator's free pages to the system (glibc keeps what the argon2 buffers of a
/// burst used in its arenas; other allocators do not need this).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Signs in: charges the attempt to the name and the address (refused if either is at its
/// limit), checks the password on the [`PasswordChecker`] (in constant work whether or not
/// the name exists), records the outcome in the audit trail, and creates a session.
pub async fn login(
    catalog: &Catalog,
    limiter: &LoginLimiter,
    username: &str,
    password: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<Login, LoginError> {
    // A longer name cannot exist: it is checked against the decoy, and kept short here.
    let exists_maybe = username.len() <= MAX_USERNAME_BYTES;
    let username = cut_to(username, MAX_USERNAME_BYTES);
    let name_key = format!("name:{}", username.to_lowercase());
    let ip_key = format!("ip:{}", ip.unwrap_or("-"));
    if let Err(wait) = limiter.reserve(&name_key, &ip_key) {
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
    let looked_up = if exists_maybe {
        catalog.user_for_login(username).await
    } else {
        Ok(None)
    };
    let found = match looked_up {
        Ok(found) => found,
        Err(e) => {
            limiter.nothing_evaluated(&name_key, &ip_key);
            return Err(CoreError::from(e).into());
        }
    };
    let (hash, user) = match found {
        Some((u, h)) => (Some(h), Some(u)),
        None => (None, None),
    };
    let Some(password_ok) = limiter.checker.check(hash, password).await else {
        limiter.nothing_evaluated(&name_key, &ip_key);
        audit(
            catalog,
            None,
            "login-refused",
            &format!("user:{username}"),
            serde_json::json!({ "reason": "busy" }),
            ip,
        )
        .await?;
        return Err(LoginError::Busy);
    };
    let user = match user {
        Some(u) if password_ok && !u.disabled => u,
        _ => {
            // The charge stays: it was a failure.
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
    limiter.succeeded(&name_key, &ip_key);
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

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut_to(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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

    /// However many checks are asked for at once, no more than the checker's threads run, and
    /// past its queue the rest are refused at once instead of waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_checks_run_a_bounded_number_at_a_time() {
        let hash = hash_password("correct horse battery").expect("hash");
        let checker = std::sync::Arc::new(PasswordChecker::new(2, 3));
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let (checker, hash) = (checker.clone(), hash.clone());
                tokio::spawn(
                    async move { checker.check(Some(hash), "correct horse battery").await },
                )
            })
            .collect();
        let (mut answered, mut busy) = (0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Some(ok) => {
                    assert!(ok, "the right password");
                    answered += 1;
                }
                None => busy += 1,
            }
        }
        let counts = checker.counts();
        assert!((1..=2).contains(&counts.peak_running), "{counts:?}");
        assert_eq!((counts.checked, counts.refused_busy), (answered, busy));
        // 2 running + 3 queued, and a few more as the first finish: the rest refused at once.
        assert!(busy >= 12, "{counts:?}");
        // Once the burst is over, checks are answered again; a wrong password is no.
        assert_eq!(
            checker.check(Some(hash.clone()), "wrong").await,
            Some(false)
        );
        assert_eq!(checker.check(None, "anything").await, Some(false));
    }

    /// Forty attempts at once on one name (each from its own address, so only the name's
    /// limit applies): no more than the limit are evaluated, and the right password, sent while
    /// those are being checked, is refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_limit_holds_under_concurrency() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        add_user(&cat, "anna", "", Role::Viewer, "long enough pass", "cli:t")
            .await
            .expect("add");
        let limiter = std::sync::Arc::new(LoginLimiter::default());
        let attempt = |password: &'static str, n: u32| {
            let (cat, limiter) = (cat.clone(), limiter.clone());
            tokio::spawn(async move {
                let ip = format!("192.0.2.{n}");
                login(&cat, &limiter, "anna", password, Some(&ip), None).await
            })
        };
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..39 {
            let (task, done) = (attempt("wrong password!", n), done.clone());
            tokio::spawn(async move {
                let _ = done.send(task.await.expect("task"));
            });
        }
        drop(done);
        // The right password goes in once a refusal shows the limit is reached (with all 39
        // answered, if none is ever refused).
        let mut outcomes = Vec::new();
        while let Some(outcome) = finished.recv().await {
            let refused = matches!(outcome, Err(LoginError::TooManyAttempts(_)));
            outcomes.push(outcome);
            if refused {
                break;
            }
        }
        let right = attempt("long enough pass", 99);
        while let Some(outcome) = finished.recv().await {
            outcomes.push(outcome);
        }
        let right = right.await.expect("task");
        assert!(
            matches!(right, Err(LoginError::TooManyAttempts(_))),
            "the right password was evaluated past the limit: {:?}",
            right.map(|l| l.user.username)
        );
        let invalid = outcomes
            .iter()
            .filter(|o| matches!(o, Err(LoginError::Invalid)))
            .count();
        assert_eq!(invalid, MAX_FAILURES_PER_NAME as usize, "evaluated");
        let failed = cat
            .audit_events(0, 200, None)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e.event.action == "login-failed")
            .count();
        assert_eq!(failed, MAX_FAILURES_PER_NAME as usize);
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

//! Accounts, sessions and collections of the web workspace (migration `0007_accounts.sql`).
//!
//! Passwords arrive here already hashed (argon2id, by `vigil-core`); session tokens arrive as
//! their SHA-256, so the catalog never holds anything that lets its reader sign in.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;

/// What a user may do. Ordered: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads what their collections hold; changes nothing.
    Viewer,
    /// Captures, qualifies, links persons; sees person records.
    Investigator,
    /// Everything, every collection, accounts and the audit trail.
    Admin,
}

impl Role {
    /// The word stored in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Investigator => "investigator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "investigator" => Ok(Role::Investigator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (admin, investigator, viewer)"
            )),
        }
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Catalog id.
    pub id: i64,
    /// Sign-in name (unique, case-insensitive).
    pub username: String,
    /// Name shown in the interface and the audit trail.
    pub display_name: String,
    /// What they may do.
    pub role: Role,
    /// A disabled account cannot sign in; its history stays.
    pub disabled: bool,
    /// Preference: show graphic media without the blur (off by default).
    pub show_graphic: bool,
    /// When it was created.
    pub created_at: String,
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// The token state-changing requests must carry.
    pub csrf_token: String,
    /// When it ends (RFC 3339, UTC).
    pub expires_at: String,
}

/// A session to record.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// SHA-256 of the token the cookie carries.
    pub token_hash: &'a Sha256Digest,
    /// Whose.
    pub user_id: i64,
    /// The token state-changing requests must carry.
    pub csrf_token: &'a str,
    /// When it starts.
    pub created_at: &'a str,
    /// When it ends.
    pub expires_at: &'a str,
    /// The client's address.
    pub ip: Option<&'a str>,
    /// The client's `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is taken (names compare without case).
    #[error("there is already a user named {0:?}")]
    NameTaken(String),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        AccountError::Catalog(CatalogError::Database(e))
    }
}

fn user_from_row(row: &SqliteRow) -> Result<User, CatalogError> {
    let id: i64 = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    Ok(User {
        id,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: role.parse().map_err(|problem| CatalogError::Malformed {
            table: "users",
            key: id.to_string(),
            problem,
        })?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        show_graphic: row.try_get::<i64, _>("show_graphic")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

impl Catalog {
    /// Creates an account with an already hashed password; a new investigator or viewer
    /// joins the `default` collection.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        password_hash: &str,
        created_at: &str,
    ) -> Result<User, AccountError> {
        let mut tx = self.pool().begin().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(AccountError::NameTaken(username.to_owned()));
        }
        let row = sqlx::query(
            "INSERT INTO users (username, display_name, role, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(username)
        .bind(display_name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(created_at)
        .fetch_one(&mut *tx)
        .await?;
        let user = user_from_row(&row)?;
        if role != Role::Admin {
            sqlx::query("INSERT INTO collection_members (collection_id, user_id) VALUES (1, ?)")
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// An account and its password hash, by sign-in name.
    pub async fn user_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, CatalogError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => {
                let hash: String = row.try_get("password_hash")?;
                Ok(Some((user_from_row(&row)?, hash)))
            }
            None => Ok(None),
        }
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<User>, CatalogError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Number of accounts.
    pub async fn user_count(&self) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    /// Records a session by the SHA-256 of its token.
    pub async fn create_session(&self, s: &NewSession<'_>) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.token_hash.0.to_vec())
        .bind(s.user_id)
        .bind(s.csrf_token)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.ip)
        .bind(s.user_agent)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this token hash: not expired at `now`, its account enabled.
    pub async fn session(
        &self,
        token_hash: &Sha256Digest,
        now: &str,
    ) -> Result<Option<Session>, CatalogError> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
        )
        .bind(token_hash.0.to_vec())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(Session {
                user: user_from_row(&row)?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: row.try_get("expires_at")?,
            })),
            None => Ok(None),
        }
    }

    /// Ends a session (sign-out).
    pub async fn delete_session(&self, token_hash: &Sha256Digest) -> Result<(), CatalogError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash.0.to_vec())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets sessions that ended before `now`.
    pub async fn delete_expired_sessions(&self, now: &str) -> Result<u64, CatalogError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Whether `user` may see `item`: admins see everything; others see items of captures in
    /// their collections (captures without one are in `default`), and pictures derived from
    /// those.
    pub async fn item_visible_to(
        &self,
        item: &Sha256Digest,
        user: &User,
    ) -> Result<bool, CatalogError> {
        if user.role == Role::Admin {
            return Ok(true);
        }
        let visible: i64 = sqlx::query_scalar(
            "WITH sources(sha256) AS (
                 SELECT ?1 UNION
                 SELECT d.source_sha256 FROM derivation_items di
                 JOIN derivations d ON d.id = di.derivation_id WHERE di.sha256 = ?1)
             SELECT EXISTS (
                 SELECT 1 FROM capture_items ci
                 JOIN sources s ON s.sha256 = ci.sha256
                 LEFT JOIN capture_collections cc ON cc.capture_id = ci.capture_id
                 JOIN collection_members m
                   ON m.collection_id = coalesce(cc.collection_id, 1) AND m.user_id = ?2)",
        )
        .bind(item.to_hex())
        .bind(user.id)
        .fetch_one(self.pool())
        .await?;
        Ok(visible != 0)
    }

    /// Whether `user` may see capture `id` (admins: all; others: their collections').
    pub async fn capture_visible_to(&self, id: i64, user: &User) -> Result<bool, CatalogError> {
        let visible: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM captures c
                 LEFT JOIN capture_collections cc ON cc.capture_id = c.id
                 WHERE c.id = ?1 AND (?2 OR EXISTS (SELECT 1 FROM collection_members m
                     WHERE m.user_id = ?3 AND m.collection_id = coalesce(cc.collection_id, 1))))",
        )
        .bind(id)
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .fetch_one(self.pool())
        .await?;
        Ok(visible != 0)
    }

    /// The collection a capture belongs to (`default`, 1, unless assigned).
    pub async fn capture_collection(&self, capture_id: i64) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT coalesce((SELECT collection_id FROM capture_collections WHERE capture_id = ?), 1)",
        )
        .bind(capture_id)
        .fetch_one(self.pool())
        .await?)
    }

    /// Sets a user's preference for graphic media (unblurred by default, or not).
    pub async fn set_show_graphic(&self, user_id: i64, show: bool) -> Result<(), CatalogError> {
        sqlx::query("UPDATE users SET show_graphic = ? WHERE id = ?")
            .bind(show)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ids of the captures `user` may see, newest first, at most `limit`.
    pub async fn captures_visible_to(
        &self,
        user: &User,
        limit: i64,
    ) -> Result<Vec<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM captures c
             LEFT JOIN capture_collections cc ON cc.capture_id = c.id
             WHERE ?1 OR EXISTS (SELECT 1 FROM collection_members m
                                 WHERE m.user_id = ?2
                                   AND m.collection_id = coalesce(cc.collection_id, 1))
             ORDER BY c.id DESC LIMIT ?3",
        )
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Creates a collection; returns its id.
    pub async fn create_collection(&self, name: &str, at: &str) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO collections (name, created_at) VALUES (?, ?) RETURNING id",
        )
        .bind(name)
        .bind(at)
        .fetch_one(self.pool())
        .await?)
    }

    /// Makes a user a member of a collection (again: no change).
    pub async fn add_member(&self, collection_id: i64, user_id: i64) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO collection_members (collection_id, user_id) VALUES (?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(collection_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ids of the collections a user belongs to.
    pub async fn collections_of(&self, user_id: i64) -> Result<Vec<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT collection_id FROM collection_members WHERE user_id = ? ORDER BY collection_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Puts a capture in a collection (captures start in `default`).
    pub async fn assign_capture(
        &self,
        capture_id: i64,
        collection_id: i64,
    ) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO capture_collections (capture_id, collection_id) VALUES (?, ?)
             ON CONFLICT (capture_id) DO UPDATE SET collection_id = excluded.collection_id",
        )
        .bind(capture_id)
        .bind(collection_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(item: Sha256Digest) -> crate::CaptureRecord {
        crate::test_support::capture(&[item])
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn users_sessions_and_what_each_may_see() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let at = "2026-11-27T10:00:00.000000Z";
        let admin = cat
            .create_user("Root", "Root", Role::Admin, "$argon2id$x", at)
            .await
            .expect("admin");
        let viewer = cat
            .create_user("anna", "Анна", Role::Viewer, "$argon2id$y", at)
            .await
            .expect("viewer");
        let outsider = cat
            .create_user("omar", "Omar", Role::Investigator, "$argon2id$z", at)
            .await
            .expect("outsider");
        assert!(matches!(
            cat.create_user("ROOT", "x", Role::Viewer, "h", at).await,
            Err(AccountError::NameTaken(_))
        ));
        let (found, hash) = cat.user_for_login("root").await.expect("q").expect("found");
        assert_eq!((found.id, hash.as_str()), (admin.id, "$argon2id$x"));

        // Sessions by token hash, until they expire.
        let token = Sha256Digest::of(b"token");
        cat.create_session(&NewSession {
            token_hash: &token,
            user_id: viewer.id,
            csrf_token: "csrf",
            created_at: at,
            expires_at: "2026-11-28T10:00:00.000000Z",
            ip: None,
            user_agent: None,
        })
        .await
        .expect("session");
        let live = cat.session(&token, at).await.expect("q").expect("live");
        assert_eq!(
            (live.user.id, live.csrf_token.as_str()),
            (viewer.id, "csrf")
        );
        assert!(
            cat.session(&token, "2026-11-29T00:00:00.000000Z")
                .await
                .expect("q")
                .is_none()
        );
        cat.delete_session(&token).await.expect("logout");
        assert!(cat.session(&token, at).await.expect("q").is_none());

        // Items: in `default` unless their capture is moved; derived pictures follow their
        // source.
        let (a, b) = (Sha256Digest::of(b"a"), Sha256Digest::of(b"b"));
        let ids = cat
            .commit_captures(&[capture(a), capture(b)])
            .await
            .expect("captures");
        let private = cat
            .create_collection("case-17", at)
            .await
            .expect("collection");
        cat.assign_capture(ids[1], private).await.expect("assign");
        cat.add_member(private, outsider.id).await.expect("member");
        let sees = |u: &User, item: Sha256Digest| {
            let (cat, u) = (cat.clone(), u.clone());
            async move { cat.item_visible_to(&item, &u).await.expect("q") }
        };
        assert!(sees(&admin, b).await);
        assert!(sees(&viewer, a).await && !sees(&viewer, b).await);
        assert!(sees(&outsider, a).await && sees(&outsider, b).await);
        assert_eq!(
            cat.captures_visible_to(&viewer, 10).await.expect("q"),
            [ids[0]]
        );
        let thumb = Sha256Digest::of(b"thumb");
        cat.commit_derivation(&crate::DerivationRecord {
            source: b,
            source_size: 1,
            kind: "preview".into(),
            tool: "t".into(),
            params: serde_json::json!({}),
            created_at: at.into(),
            vigil_version: "0".into(),
            items: vec![crate::DerivedItem {
                sha256: thumb,
                size: 5,
                role: "thumbnail".into(),
                name: "thumbnail.jpg".into(),
                detail: serde_json::json!({}),
            }],
        })
        .await
        .expect("derive");
        assert!(!sees(&viewer, thumb).await && sees(&outsider, thumb).await);
        assert_eq!(cat.user_count().await.expect("count"), 3);
    }
}

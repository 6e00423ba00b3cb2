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

/// A group of captures, incidents and persons, and the accounts that may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    /// Catalog id (1 is `default`).
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// Ids of its members, ascending (admins see every collection, member or not).
    pub members: Vec<i64>,
}

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is taken (names compare without case).
    #[error("there is already a user named {0:?}")]
    NameTaken(String),
    /// A collection of that name exists already.
    #[error("there is already a collection named {0:?}")]
    CollectionTaken(String),
    /// No account has this id.
    #[error("there is no user #{0}")]
    NoSuchUser(i64),
    /// The change would leave no enabled admin, and so nobody able to manage accounts from
    /// the workspace.
    #[error("that would leave no enabled admin (make another account admin first)")]
    LastAdmin,
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

    /// The captures holding `item`, each with its collection, in capture order: what an item's
    /// search documents are built from, one per collection, so that a note or a file name
    /// written in one collection never reaches the members of another.
    pub async fn captures_of_item_by_collection(
        &self,
        item: &Sha256Digest,
    ) -> Result<Vec<(i64, i64)>, CatalogError> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT ci.capture_id, coalesce(cc.collection_id, 1)
             FROM capture_items ci
             LEFT JOIN capture_collections cc ON cc.capture_id = ci.capture_id
             WHERE ci.sha256 = ? ORDER BY ci.capture_id",
        )
        .bind(item.to_hex())
        .fetch_all(self.pool())
        .await?)
    }

    /// The captures holding `item` that `user` may see, in capture order (admins: all).
    pub async fn captures_with_item_visible_to(
        &self,
        item: &Sha256Digest,
        user: &User,
    ) -> Result<Vec<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT ci.capture_id FROM capture_items ci
             LEFT JOIN capture_collections cc ON cc.capture_id = ci.capture_id
             WHERE ci.sha256 = ?1 AND (?2 OR EXISTS (SELECT 1 FROM collection_members m
                 WHERE m.user_id = ?3 AND m.collection_id = coalesce(cc.collection_id, 1)))
             ORDER BY ci.capture_id",
        )
        .bind(item.to_hex())
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .fetch_all(self.pool())
        .await?)
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

    /// Creates a collection; returns its id. A taken name is refused, whoever got there
    /// first (the check and the insert are one statement).
    pub async fn create_collection(&self, name: &str, at: &str) -> Result<i64, AccountError> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO collections (name, created_at) VALUES (?, ?)
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(at)
        .fetch_optional(self.pool())
        .await?;
        id.ok_or_else(|| AccountError::CollectionTaken(name.to_owned()))
    }

    /// Every collection with its members, by name.
    pub async fn collections(&self) -> Result<Vec<Collection>, CatalogError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM collections ORDER BY name, id")
            .fetch_all(self.pool())
            .await?;
        let members: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT collection_id, user_id FROM collection_members ORDER BY collection_id, user_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                Ok(Collection {
                    id,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    members: members
                        .iter()
                        .filter(|(c, _)| *c == id)
                        .map(|(_, u)| *u)
                        .collect(),
                })
            })
            .collect()
    }

    /// The id of the collection named `name` (names compare exactly).
    pub async fn collection_id(&self, name: &str) -> Result<Option<i64>, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM collections WHERE name = ?")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The name of collection `id`, if there is one.
    pub async fn collection_name(&self, id: i64) -> Result<Option<String>, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM collections WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Ends a user's membership of a collection; whether they were a member.
    pub async fn remove_member(
        &self,
        collection_id: i64,
        user_id: i64,
    ) -> Result<bool, CatalogError> {
        Ok(
            sqlx::query("DELETE FROM collection_members WHERE collection_id = ? AND user_id = ?")
                .bind(collection_id)
                .bind(user_id)
                .execute(self.pool())
                .await?
                .rows_affected()
                > 0,
        )
    }

    /// An account by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>, CatalogError> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// An account by sign-in name (without case).
    pub async fn user_named(&self, username: &str) -> Result<Option<User>, CatalogError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Changes a user's role; returns the role they had. Demoting the last enabled admin is
    /// refused ([`AccountError::LastAdmin`]), atomically with the change.
    pub async fn set_role(&self, user_id: i64, role: Role) -> Result<Role, AccountError> {
        self.change_account(user_id, Some(role), None)
            .await
            .map(|(before, _)| before)
    }

    /// Disables or enables an account; returns whether it was disabled. Disabling ends its
    /// sessions at once, and is refused for the last enabled admin.
    pub async fn set_disabled(&self, user_id: i64, disabled: bool) -> Result<bool, AccountError> {
        self.change_account(user_id, None, Some(disabled))
            .await
            .map(|(_, before)| before)
    }

    /// Replaces a user's password hash and ends their sessions (whoever knew the old one is
    /// signed out).
    pub async fn set_password_hash(&self, user_id: i64, hash: &str) -> Result<(), AccountError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let changed = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(AccountError::NoSuchUser(user_id));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a role and/or the disabled flag in one write transaction, so that two admins
    /// demoting each other at once cannot both succeed; returns the role and flag before.
    async fn change_account(
        &self,
        user_id: i64,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<(Role, bool), AccountError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AccountError::NoSuchUser(user_id))?;
        let before = user_from_row(&row)?;
        let role = role.unwrap_or(before.role);
        let disabled = disabled.unwrap_or(before.disabled);
        let was_admin = before.role == Role::Admin && !before.disabled;
        let stays_admin = role == Role::Admin && !disabled;
        if was_admin && !stays_admin {
            let others: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
            )
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Err(AccountError::LastAdmin);
            }
        }
        sqlx::query("UPDATE users SET role = ?, disabled = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(disabled)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((before.role, before.disabled))
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

    async fn session_for(cat: &Catalog, user_id: i64, token: &[u8]) -> Sha256Digest {
        let hash = Sha256Digest::of(token);
        cat.create_session(&NewSession {
            token_hash: &hash,
            user_id,
            csrf_token: "csrf",
            created_at: "2026-11-27T10:00:00.000000Z",
            expires_at: "2026-11-28T10:00:00.000000Z",
            ip: None,
            user_agent: None,
        })
        .await
        .expect("session");
        hash
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn collections_roles_disabling_and_the_last_admin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let at = "2026-11-27T10:00:00.000000Z";
        let root = cat
            .create_user("root", "Root", Role::Admin, "$argon2id$x", at)
            .await
            .expect("admin");
        let ivan = cat
            .create_user("ivan", "Иван", Role::Investigator, "$argon2id$y", at)
            .await
            .expect("investigator");

        // Collections: unique names, members listed, leaving says whether one was a member.
        let case = cat.create_collection("case-17", at).await.expect("create");
        assert!(matches!(
            cat.create_collection("case-17", at).await,
            Err(AccountError::CollectionTaken(n)) if n == "case-17"
        ));
        assert_eq!(cat.collection_id("case-17").await.expect("q"), Some(case));
        assert_eq!(cat.collection_id("Case-17").await.expect("q"), None);
        assert_eq!(
            cat.collection_name(case).await.expect("q").as_deref(),
            Some("case-17")
        );
        cat.add_member(case, ivan.id).await.expect("join");
        let all = cat.collections().await.expect("list");
        let names: Vec<(&str, &[i64])> = all
            .iter()
            .map(|c| (c.name.as_str(), c.members.as_slice()))
            .collect();
        assert_eq!(
            names,
            [("case-17", &[ivan.id][..]), ("default", &[ivan.id][..])]
        );
        assert!(cat.remove_member(case, ivan.id).await.expect("leave"));
        assert!(!cat.remove_member(case, ivan.id).await.expect("again"));
        assert_eq!(cat.collections_of(ivan.id).await.expect("q"), [1]);

        // Accounts by id and name.
        assert_eq!(cat.user(ivan.id).await.expect("q"), Some(ivan.clone()));
        assert_eq!(cat.user_named("IVAN").await.expect("q"), Some(ivan.clone()));
        assert_eq!(cat.user(999).await.expect("q"), None);

        // The last enabled admin can be neither demoted nor disabled.
        assert!(matches!(
            cat.set_role(root.id, Role::Investigator).await,
            Err(AccountError::LastAdmin)
        ));
        assert!(matches!(
            cat.set_disabled(root.id, true).await,
            Err(AccountError::LastAdmin)
        ));
        assert!(matches!(
            cat.set_role(999, Role::Viewer).await,
            Err(AccountError::NoSuchUser(999))
        ));
        assert_eq!(
            cat.set_role(ivan.id, Role::Admin).await.expect("promote"),
            Role::Investigator
        );
        // With ivan an admin, root may step down; then ivan, disabled, is not counted.
        assert_eq!(
            cat.set_role(root.id, Role::Viewer).await.expect("demote"),
            Role::Admin
        );
        assert!(matches!(
            cat.set_disabled(ivan.id, true).await,
            Err(AccountError::LastAdmin)
        ));
        cat.set_role(root.id, Role::Admin).await.expect("back");

        // Disabling ends the sessions at once and the account stays disabled until enabled.
        let token = session_for(&cat, ivan.id, b"ivan").await;
        assert!(cat.session(&token, at).await.expect("q").is_some());
        assert!(!cat.set_disabled(ivan.id, true).await.expect("disable"));
        assert!(cat.session(&token, at).await.expect("q").is_none());
        let token = session_for(&cat, ivan.id, b"ivan again").await;
        assert!(
            cat.session(&token, at).await.expect("q").is_none(),
            "a disabled account's session opens nothing"
        );
        assert!(cat.user(ivan.id).await.expect("q").expect("ivan").disabled);
        assert!(cat.set_disabled(ivan.id, false).await.expect("enable"));
        assert!(cat.session(&token, at).await.expect("q").is_some());

        // A new password ends every session.
        cat.set_password_hash(ivan.id, "$argon2id$new")
            .await
            .expect("reset");
        assert!(cat.session(&token, at).await.expect("q").is_none());
        let (_, hash) = cat.user_for_login("ivan").await.expect("q").expect("ivan");
        assert_eq!(hash, "$argon2id$new");
        assert!(matches!(
            cat.set_password_hash(999, "h").await,
            Err(AccountError::NoSuchUser(999))
        ));
    }
}

//! The audit trail: every view, download, edit, export, sign-in and account change, as a hash
//! chain. Each event's hash covers the previous event's hash and the event's canonical JSON,
//! so editing, removing or reordering any event breaks every link after it
//! ([`Catalog::verify_audit_chain`]).

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;
use crate::leaf::write_canonical;

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAuditEvent {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The account, when signed in.
    pub user_id: Option<i64>,
    /// Who, as a person reads it: a username, `cli:<os user>`, `anonymous`.
    pub actor: String,
    /// What was done: `login`, `login-failed`, `logout`, `view`, `download`, `user-add`, ...
    pub action: String,
    /// What it concerned: `item:<sha256>`, `user:<name>`, `page:/...`.
    pub subject: String,
    /// Anything else worth keeping (JSON object).
    pub detail: serde_json::Value,
    /// The client's address.
    pub ip: Option<String>,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Position in the chain (increasing).
    pub id: i64,
    /// The event.
    #[serde(flatten)]
    pub event: NewAuditEvent,
    /// Hash of the event before it (zeros for the first).
    #[serde(with = "hex_hash")]
    pub prev_hash: [u8; 32],
    /// This event's hash.
    #[serde(with = "hex_hash")]
    pub hash: [u8; 32],
}

mod hex_hash {
    pub fn serialize<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }
}

/// Where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditBreak {
    /// The event.
    pub id: i64,
    /// What is wrong.
    pub problem: String,
}

/// The hash of event `id` after `prev`: SHA-256 of `prev` followed by the event's canonical
/// JSON (sorted keys), so anyone can recompute it from an export.
pub fn audit_hash(prev: &[u8; 32], id: i64, e: &NewAuditEvent) -> [u8; 32] {
    let value = json!({
        "id": id, "at": e.at, "user_id": e.user_id, "actor": e.actor, "action": e.action,
        "subject": e.subject, "detail": e.detail, "ip": e.ip,
    });
    let mut text = String::with_capacity(256);
    write_canonical(&value, &mut text);
    let mut bytes = prev.to_vec();
    bytes.extend_from_slice(text.as_bytes());
    Sha256Digest::of(&bytes).0
}

/// A stored 32-byte hash of event `id`.
fn stored_hash(id: i64, bytes: Vec<u8>) -> Result<[u8; 32], CatalogError> {
    bytes.try_into().map_err(|_| CatalogError::Malformed {
        table: "audit_events",
        key: id.to_string(),
        problem: "a hash is not 32 bytes".into(),
    })
}

fn event_from_row(row: &SqliteRow) -> Result<AuditEvent, CatalogError> {
    let id: i64 = row.try_get("id")?;
    let malformed = |problem: String| CatalogError::Malformed {
        table: "audit_events",
        key: id.to_string(),
        problem,
    };
    let detail: String = row.try_get("detail")?;
    let hash32 = |v: Vec<u8>| -> Result<[u8; 32], CatalogError> {
        v.try_into()
            .map_err(|_| malformed("a hash is not 32 bytes".into()))
    };
    Ok(AuditEvent {
        id,
        event: NewAuditEvent {
            at: row.try_get("at")?,
            user_id: row.try_get("user_id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            subject: row.try_get("subject")?,
            detail: serde_json::from_str(&detail).map_err(|e| malformed(e.to_string()))?,
            ip: row.try_get("ip")?,
        },
        prev_hash: hash32(row.try_get("prev_hash")?)?,
        hash: hash32(row.try_get("hash")?)?,
    })
}

impl Catalog {
    /// Appends an event at the end of the chain; returns its id.
    pub async fn append_audit(&self, e: &NewAuditEvent) -> Result<i64, CatalogError> {
        // The write lock first, so no other event slips in between reading the end and
        // appending after it.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let last: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (prev_id, prev) = match last {
            Some((id, h)) => (
                id,
                h.try_into().map_err(|_| CatalogError::Malformed {
                    table: "audit_events",
                    key: id.to_string(),
                    problem: "its hash is not 32 bytes".into(),
                })?,
            ),
            None => (0, [0u8; 32]),
        };
        let counter: i64 = sqlx::query_scalar(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0)",
        )
        .fetch_one(&mut *tx)
        .await?;
        let id = prev_id.max(counter) + 1;
        let hash = audit_hash(&prev, id, e);
        sqlx::query(
            "INSERT INTO audit_events (id, at, user_id, actor, action, subject, detail, ip, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(&e.at)
        .bind(e.user_id)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.subject)
        .bind(e.detail.to_string())
        .bind(&e.ip)
        .bind(prev.to_vec())
        .bind(hash.to_vec())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The last event of the trail and its hash: what an audit anchor puts into the log.
    pub async fn audit_head(&self) -> Result<Option<(i64, [u8; 32])>, CatalogError> {
        let row: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
                .fetch_optional(self.pool())
                .await?;
        row.map(|(id, h)| Ok((id, stored_hash(id, h)?))).transpose()
    }

    /// The stored hash of event `id`, when it exists.
    pub async fn audit_hash_of(&self, id: i64) -> Result<Option<[u8; 32]>, CatalogError> {
        let row: Option<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|h| stored_hash(id, h)).transpose()
    }

    /// Events after `after_id`, oldest first, at most `limit`; optionally only those about
    /// `subject`.
    pub async fn audit_events(
        &self,
        after_id: i64,
        limit: i64,
        subject: Option<&str>,
    ) -> Result<Vec<AuditEvent>, CatalogError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events WHERE id > ?1 AND (?2 IS NULL OR subject = ?2)
             ORDER BY id LIMIT ?3",
        )
        .bind(after_id)
        .bind(subject)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Walks the whole chain; every event whose link or hash does not hold is named, and
    /// newest events removed. Returns the number of events and the breaks.
    pub async fn verify_audit_chain(&self) -> Result<(u64, Vec<AuditBreak>), CatalogError> {
        let mut breaks = Vec::new();
        let mut prev = [0u8; 32];
        let mut after = 0;
        let mut count = 0u64;
        let mut last_id = 0;
        loop {
            let page = self.audit_events(after, 1000, None).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in page {
                count += 1;
                if e.id != last_id + 1 {
                    breaks.push(AuditBreak {
                        id: e.id,
                        problem: format!("events #{} to #{} are missing", last_id + 1, e.id - 1),
                    });
                }
                last_id = e.id;
                if e.prev_hash != prev {
                    breaks.push(AuditBreak {
                        id: e.id,
                        problem: "does not follow the event before it (one was removed, inserted or reordered)".into(),
                    });
                }
                if audit_hash(&e.prev_hash, e.id, &e.event) != e.hash {
                    breaks.push(AuditBreak {
                        id: e.id,
                        problem: "its content is not what its hash covers (it was edited)".into(),
                    });
                }
                prev = e.hash;
            }
        }
        // Removing the newest events leaves the chain whole; SQLite's AUTOINCREMENT counter
        // still remembers the highest id given.
        let given: i64 = sqlx::query_scalar(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0)",
        )
        .fetch_one(self.pool())
        .await?;
        if given > after {
            breaks.push(AuditBreak {
                id: given,
                problem: format!("events #{} to #{given} were removed", after + 1),
            });
        }
        Ok((count, breaks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> NewAuditEvent {
        NewAuditEvent {
            at: format!("2026-11-27T10:00:{n:02}.000000Z"),
            user_id: None,
            actor: "cli:tester".into(),
            action: "view".into(),
            subject: format!("item:{n}"),
            detail: json!({ "n": n }),
            ip: Some("127.0.0.1".into()),
        }
    }

    async fn sql(cat: &Catalog, statement: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(cat.pool())
            .await
            .expect("sql");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_chain_names_edits_removals_and_truncation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        for n in 0..5 {
            cat.append_audit(&event(n)).await.expect("append");
        }
        assert_eq!(cat.verify_audit_chain().await.expect("verify"), (5, vec![]));
        let about_two = cat
            .audit_events(0, 10, Some("item:2"))
            .await
            .expect("events");
        assert_eq!(about_two.len(), 1);
        assert_eq!(
            about_two[0].hash,
            audit_hash(&about_two[0].prev_hash, 3, &event(2))
        );

        sql(
            &cat,
            "UPDATE audit_events SET actor = 'someone else' WHERE id = 2",
        )
        .await;
        let (_, breaks) = cat.verify_audit_chain().await.expect("verify");
        assert_eq!(breaks.iter().map(|b| b.id).collect::<Vec<_>>(), [2]);
        sql(
            &cat,
            "UPDATE audit_events SET actor = 'cli:tester' WHERE id = 2",
        )
        .await;

        sql(&cat, "DELETE FROM audit_events WHERE id = 3").await;
        let (_, breaks) = cat.verify_audit_chain().await.expect("verify");
        assert_eq!(breaks.iter().map(|b| b.id).collect::<Vec<_>>(), [4, 4]);

        let dir2 = tempfile::tempdir().expect("tempdir");
        let cat2 = Catalog::open_sqlite(&dir2.path().join("c.sqlite"), true)
            .await
            .expect("open");
        for n in 0..3 {
            cat2.append_audit(&event(n)).await.expect("append");
        }
        sql(&cat2, "DELETE FROM audit_events WHERE id = 3").await;
        let (count, breaks) = cat2.verify_audit_chain().await.expect("verify");
        assert_eq!(count, 2);
        assert_eq!(breaks.len(), 1, "{breaks:?}");
        assert!(breaks[0].problem.contains("removed"), "{breaks:?}");
        // The next event does not reuse the removed id, and the gap stays visible.
        assert_eq!(cat2.append_audit(&event(9)).await.expect("append"), 4);
        let (_, breaks) = cat2.verify_audit_chain().await.expect("verify");
        assert_eq!(breaks.len(), 1, "{breaks:?}");
        assert!(breaks[0].problem.contains("missing"), "{breaks:?}");
    }
}

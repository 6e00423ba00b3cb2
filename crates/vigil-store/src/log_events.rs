//! What the transparency log records about itself (migration `0012_log_events.sql`): log
//! events, each one leaf (`vigil.log-event/v1`), and the keys that have signed the log.
//!
//! - An **audit anchor** puts the audit trail's last event and hash into the log before a
//!   checkpoint is signed, so removing or rewriting anchored events contradicts a signed tree.
//! - A **key rotation** records a new signing key and why; [`Catalog::log_keys`] says which
//!   key signs from which tree size, so a replaced or recreated key file is refused.
//! - A **store upgrade** records the one-time logging of captures made before the log existed
//!   ([`Catalog::log_legacy_captures`]); after it, a capture without a leaf is tampering.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::catalog::{Catalog, CatalogError, encode_and_insert_capture_leaf};
use crate::leaf::encode_event_leaf;
use crate::timestamp::now_rfc3339;

/// What a log event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogEventKind {
    /// The audit trail's head: `{"audit_event": id, "audit_hash": hex}`.
    AuditAnchor,
    /// A new signing key: `{"old_origin", "old_vkey", "new_origin", "new_vkey", "reason",
    /// "old_key_signed"}`.
    KeyRotation,
    /// Captures made before the log existed, logged once: `{"captures": [ids]}`.
    StoreUpgrade,
}

impl LogEventKind {
    /// The name stored and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            LogEventKind::AuditAnchor => "audit-anchor",
            LogEventKind::KeyRotation => "key-rotation",
            LogEventKind::StoreUpgrade => "store-upgrade",
        }
    }

    fn parse(name: &str) -> Option<LogEventKind> {
        [
            LogEventKind::AuditAnchor,
            LogEventKind::KeyRotation,
            LogEventKind::StoreUpgrade,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// A log event as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredLogEvent {
    /// Catalog id.
    pub id: i64,
    /// What it records.
    pub kind: LogEventKind,
    /// When (RFC 3339, UTC).
    pub created_at: String,
    /// The details, exactly as logged.
    pub detail: Value,
}

impl StoredLogEvent {
    /// The canonical leaf bytes this event is logged as.
    pub fn leaf(&self) -> Vec<u8> {
        encode_event_leaf(self.id, self.kind.as_str(), &self.created_at, &self.detail)
    }
}

/// A key that signs the log from a tree size on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogKey {
    /// The key's name, which is the origin line of the checkpoints it signs.
    pub origin: String,
    /// Its C2SP verifier key.
    pub vkey: String,
    /// The first tree size it signs.
    pub first_size: u64,
    /// When it was recorded.
    pub added_at: String,
}

fn malformed(key: String, problem: String) -> CatalogError {
    CatalogError::Malformed {
        table: "log_events",
        key,
        problem,
    }
}

impl Catalog {
    /// Appends a log event and its leaf at the end of the log, in one transaction; returns the
    /// event's id and its leaf index. Durable on return.
    pub async fn append_log_event(
        &self,
        kind: LogEventKind,
        detail: &Value,
    ) -> Result<(i64, u64), CatalogError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let placed = insert_event(&mut tx, kind, detail).await?;
        tx.commit().await?;
        Ok(placed)
    }

    /// One log event.
    pub async fn log_event(&self, id: i64) -> Result<Option<StoredLogEvent>, CatalogError> {
        let row = sqlx::query("SELECT id, kind, created_at, detail FROM log_events WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| event_from_row(&r)).transpose()
    }

    /// Every log event of one kind, oldest first.
    pub async fn log_events_of(
        &self,
        kind: LogEventKind,
    ) -> Result<Vec<StoredLogEvent>, CatalogError> {
        let rows = sqlx::query(
            "SELECT id, kind, created_at, detail FROM log_events WHERE kind = ? ORDER BY id",
        )
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Number of log events (each has one leaf).
    pub async fn log_event_count(&self) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM log_events")
            .fetch_one(self.pool())
            .await?)
    }

    /// The audit event the last anchor names, with its hash: what the log last committed to.
    pub async fn latest_audit_anchor(&self) -> Result<Option<(i64, [u8; 32])>, CatalogError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, detail FROM log_events WHERE kind = 'audit-anchor' ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        let Some((id, detail)) = row else {
            return Ok(None);
        };
        let detail: Value =
            serde_json::from_str(&detail).map_err(|e| malformed(id.to_string(), e.to_string()))?;
        anchor_of(&detail)
            .map(Some)
            .ok_or_else(|| malformed(id.to_string(), "not an audit anchor".into()))
    }

    /// The keys that have signed this log, by the first tree size each signs.
    pub async fn log_keys(&self) -> Result<Vec<LogKey>, CatalogError> {
        let rows = sqlx::query(
            "SELECT origin, vkey, first_size, added_at FROM log_keys ORDER BY first_size",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogKey {
                    origin: r.try_get("origin")?,
                    vkey: r.try_get("vkey")?,
                    first_size: r.try_get::<i64, _>("first_size")?.max(0) as u64,
                    added_at: r.try_get("added_at")?,
                })
            })
            .collect()
    }

    /// Records the log's first key (stores made before keys were recorded adopt the key they
    /// hold, from size 0). Does nothing when a key is recorded already.
    pub async fn adopt_first_log_key(&self, origin: &str, vkey: &str) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO log_keys (origin, vkey, first_size, added_at)
             SELECT ?, ?, 0, ? WHERE NOT EXISTS (SELECT 1 FROM log_keys)",
        )
        .bind(origin)
        .bind(vkey)
        .bind(now_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a key rotation in one transaction: the `key-rotation` event and its leaf, and
    /// the new key, which signs from the tree that includes that leaf. Returns the new key's
    /// first tree size.
    pub async fn record_key_rotation(
        &self,
        new_origin: &str,
        new_vkey: &str,
        detail: &Value,
    ) -> Result<u64, CatalogError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let (_, leaf_index) = insert_event(&mut tx, LogEventKind::KeyRotation, detail).await?;
        let first_size = leaf_index + 1;
        sqlx::query(
            "INSERT INTO log_keys (origin, vkey, first_size, added_at) VALUES (?, ?, ?, ?)",
        )
        .bind(new_origin)
        .bind(new_vkey)
        .bind(first_size as i64)
        .bind(now_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(first_size)
    }

    /// Captures the catalog holds without a log leaf, in id order. Vigil writes a capture and
    /// its leaf in one transaction, so each one is a row Vigil did not commit (tampering), or
    /// a capture of a store made before the log ([`Catalog::log_legacy_captures`]).
    pub async fn unlogged_captures(&self) -> Result<Vec<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM captures c LEFT JOIN log_leaves l ON l.capture_id = c.id
             WHERE l.capture_id IS NULL ORDER BY c.id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The one-time upgrade of a store made before the transparency log existed: gives every
    /// capture a leaf, in id order, and records a `store-upgrade` event naming them, all in one
    /// transaction. Refused once the log has any leaf: from then on a capture without a leaf
    /// was not committed by Vigil, and logging it would launder it.
    pub async fn log_legacy_captures(&self) -> Result<Vec<i64>, CatalogError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let leaves: i64 = sqlx::query_scalar("SELECT count(*) FROM log_leaves")
            .fetch_one(&mut *tx)
            .await?;
        if leaves > 0 {
            return Err(CatalogError::LogStarted {
                leaves: leaves as u64,
            });
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM captures ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        for id in &ids {
            // Read through another connection: WAL lets it see the committed rows.
            if let Some(c) = self.capture(*id).await? {
                encode_and_insert_capture_leaf(&mut tx, c.id, &c.record).await?;
            }
        }
        insert_event(
            &mut tx,
            LogEventKind::StoreUpgrade,
            &serde_json::json!({ "captures": ids }),
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }
}

/// The audit event id and hash an anchor's detail names.
pub fn anchor_of(detail: &Value) -> Option<(i64, [u8; 32])> {
    let id = detail["audit_event"].as_i64()?;
    let hash = hex::decode(detail["audit_hash"].as_str()?).ok()?;
    Some((id, hash.try_into().ok()?))
}

/// Appends an event row and its leaf at the end of the log inside `tx`.
async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    kind: LogEventKind,
    detail: &Value,
) -> Result<(i64, u64), CatalogError> {
    let created_at = now_rfc3339();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO log_events (kind, created_at, detail) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(&created_at)
    .bind(detail.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let leaf = encode_event_leaf(id, kind.as_str(), &created_at, detail);
    let hash = vigil_tlog::leaf_hash(&leaf);
    let index: i64 = sqlx::query_scalar(
        "INSERT INTO log_leaves (leaf_index, event_id, leaf, leaf_hash)
         VALUES ((SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves), ?, ?, ?)
         RETURNING leaf_index",
    )
    .bind(id)
    .bind(leaf)
    .bind(hash.0.to_vec())
    .fetch_one(&mut **tx)
    .await?;
    Ok((id, index as u64))
}

fn event_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredLogEvent, CatalogError> {
    let id: i64 = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let detail: String = row.try_get("detail")?;
    Ok(StoredLogEvent {
        id,
        kind: LogEventKind::parse(&kind)
            .ok_or_else(|| malformed(id.to_string(), format!("unknown kind {kind:?}")))?,
        created_at: row.try_get("created_at")?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| malformed(id.to_string(), e.to_string()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::capture;
    use crate::{LeafSubject, Sha256Digest};

    async fn catalog(dir: &tempfile::TempDir) -> Catalog {
        Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open")
    }

    #[tokio::test]
    async fn an_event_is_one_leaf_whose_bytes_its_row_rebuilds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = catalog(&dir).await;
        cat.commit_captures(&[capture(&[Sha256Digest::of(b"a")])])
            .await
            .expect("capture");
        let detail = serde_json::json!({ "audit_event": 7, "audit_hash": hex::encode([9u8; 32]) });
        let (id, index) = cat
            .append_log_event(LogEventKind::AuditAnchor, &detail)
            .await
            .expect("event");
        assert_eq!(index, 1, "after the capture's leaf");
        let leaves = cat.log_leaves(0, 10).await.expect("leaves");
        assert_eq!(leaves[1].subject, LeafSubject::Event(id));
        let stored = cat.log_event(id).await.expect("read").expect("stored");
        assert_eq!(stored.leaf(), leaves[1].leaf);
        assert_eq!(
            cat.latest_audit_anchor().await.expect("anchor"),
            Some((7, [9u8; 32]))
        );
        assert_eq!(cat.log_event_count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn captures_without_a_leaf_are_listed_and_only_a_store_before_the_log_is_upgraded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = catalog(&dir).await;
        cat.commit_captures(&[capture(&[Sha256Digest::of(b"a")])])
            .await
            .expect("capture");
        // A store before the log: captures, no leaves.
        sqlx::query("DELETE FROM log_leaves")
            .execute(cat.pool())
            .await
            .expect("delete");
        assert_eq!(cat.unlogged_captures().await.expect("unlogged"), [1]);
        // Nothing new goes in until it is upgraded.
        assert!(matches!(
            cat.commit_captures(&[capture(&[Sha256Digest::of(b"b")])])
                .await,
            Err(CatalogError::PredatesLog { captures: 1 })
        ));
        assert_eq!(cat.log_legacy_captures().await.expect("upgrade"), [1]);
        assert!(cat.unlogged_captures().await.expect("unlogged").is_empty());
        assert_eq!(cat.log_size().await.expect("size"), 2, "capture and event");
        let upgrade = cat
            .log_events_of(LogEventKind::StoreUpgrade)
            .await
            .expect("events");
        assert_eq!(upgrade[0].detail["captures"], serde_json::json!([1]));
        // Once the log has begun, a capture without a leaf is never logged.
        sqlx::query(
            "INSERT INTO captures (id, run_id, source, kind, method, status, collector,
                 captured_at, vigil_version, tools, tags, details)
             VALUES (9, 'x', 'planted', 'file', 'file', 'ok', 'x', 't', '0', '{}', '[]', '{}')",
        )
        .execute(cat.pool())
        .await
        .expect("plant");
        assert!(matches!(
            cat.log_legacy_captures().await,
            Err(CatalogError::LogStarted { leaves: 2 })
        ));
        assert_eq!(cat.unlogged_captures().await.expect("unlogged"), [9]);
    }

    #[tokio::test]
    async fn keys_are_recorded_from_the_size_they_sign() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = catalog(&dir).await;
        cat.adopt_first_log_key("old.example/log", "old-vkey")
            .await
            .expect("adopt");
        cat.adopt_first_log_key("other.example/log", "other-vkey")
            .await
            .expect("adopting twice keeps the first");
        cat.commit_captures(&[capture(&[Sha256Digest::of(b"a")])])
            .await
            .expect("capture");
        let first = cat
            .record_key_rotation("new.example/log", "new-vkey", &serde_json::json!({}))
            .await
            .expect("rotate");
        assert_eq!(first, 2, "the capture, then the rotation's own leaf");
        let keys = cat.log_keys().await.expect("keys");
        let names: Vec<(&str, u64)> = keys
            .iter()
            .map(|k| (k.origin.as_str(), k.first_size))
            .collect();
        assert_eq!(names, [("old.example/log", 0), ("new.example/log", 2)]);
    }
}

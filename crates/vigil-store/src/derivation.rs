//! Derived items: pictures Vigil made from an item (a thumbnail, keyframes, a contact sheet)
//! so that people can look at a video without playing it, and so that a report can show a
//! court exactly what was examined.
//!
//! A derived item is an item like any other (a row in `items`, a blob under its SHA-256), but
//! it belongs to a *derivation*, never to a capture: it was made here, not collected. Each
//! derivation is a leaf of the transparency log in its own format
//! ([`crate::encode_derivation_leaf`]), written in the same transaction as its rows.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite, sqlite::SqliteRow};
use vigil_tlog::leaf_hash;

use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;
use crate::leaf::encode_derivation_leaf;

/// One item made by a derivation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedItem {
    /// The derived item.
    #[serde(with = "crate::catalog::digest_hex")]
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
    /// `thumbnail`, `keyframe` or `contact-sheet`.
    pub role: String,
    /// A file name to show and export it under (`keyframe-0007-00m12.480s.jpg`).
    pub name: String,
    /// What it shows: timestamp, width, height, change…
    pub detail: serde_json::Value,
}

/// Everything recorded about one derivation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivationRecord {
    /// The item the pictures were made from.
    #[serde(with = "crate::catalog::digest_hex")]
    pub source: Sha256Digest,
    /// Its size in bytes (recorded in the leaf, so the leaf alone names the bytes).
    pub source_size: u64,
    /// What kind of derivation: `preview`.
    pub kind: String,
    /// What made it, e.g. `vigil-media/video_preview`.
    pub tool: String,
    /// The settings used, so the same pictures can be made again.
    pub params: serde_json::Value,
    /// When (RFC 3339, UTC, our clock).
    pub created_at: String,
    /// The Vigil version that made them.
    pub vigil_version: String,
    /// The items made, in order.
    pub items: Vec<DerivedItem>,
}

/// A derivation as stored, with its id and log leaf.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDerivation {
    /// Catalog id, increasing in commit order.
    pub id: i64,
    /// Its leaf in the transparency log.
    pub leaf_index: Option<u64>,
    /// The record.
    #[serde(flatten)]
    pub record: DerivationRecord,
}

impl Catalog {
    /// Writes a derivation, its items and its log leaf in one transaction; returns its id.
    /// The caller must have published the derived blobs first; the source must be an item.
    pub async fn commit_derivation(&self, record: &DerivationRecord) -> Result<i64, CatalogError> {
        self.write_derivation(record)
            .await
            .map_err(|e| self.named(e))
    }

    async fn write_derivation(&self, record: &DerivationRecord) -> Result<i64, CatalogError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO derivations (source_sha256, kind, tool, params, created_at, vigil_version)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(record.source.to_hex())
        .bind(&record.kind)
        .bind(&record.tool)
        .bind(record.params.to_string())
        .bind(&record.created_at)
        .bind(&record.vigil_version)
        .fetch_one(&mut *tx)
        .await?;
        if !record.items.is_empty() {
            let mut q =
                QueryBuilder::<Sqlite>::new("INSERT INTO items (sha256, size, first_captured_at) ");
            q.push_values(&record.items, |mut row, item| {
                row.push_bind(item.sha256.to_hex())
                    .push_bind(item.size as i64)
                    .push_bind(record.created_at.clone());
            });
            q.push(" ON CONFLICT (sha256) DO NOTHING");
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO derivation_items (derivation_id, position, sha256, role, name, detail) ",
            );
            q.push_values(record.items.iter().enumerate(), |mut row, (n, item)| {
                row.push_bind(id)
                    .push_bind(n as i64)
                    .push_bind(item.sha256.to_hex())
                    .push_bind(item.role.clone())
                    .push_bind(item.name.clone())
                    .push_bind(item.detail.to_string());
            });
            q.build().execute(&mut *tx).await?;
        }
        let leaf = encode_derivation_leaf(id, record);
        let hash = leaf_hash(&leaf);
        sqlx::query(
            "INSERT INTO log_leaves (leaf_index, derivation_id, leaf, leaf_hash)
             VALUES ((SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves), ?, ?, ?)",
        )
        .bind(id)
        .bind(leaf)
        .bind(hash.0.to_vec())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One derivation by id.
    pub async fn derivation(&self, id: i64) -> Result<Option<StoredDerivation>, CatalogError> {
        let row = sqlx::query(
            "SELECT d.*, l.leaf_index FROM derivations d
             LEFT JOIN log_leaves l ON l.derivation_id = d.id WHERE d.id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.hydrate_derivation(&row).await?)),
            None => Ok(None),
        }
    }

    /// The derivations made from an item, oldest first.
    pub async fn derivations_of(
        &self,
        source: &Sha256Digest,
    ) -> Result<Vec<StoredDerivation>, CatalogError> {
        let rows = sqlx::query(
            "SELECT d.*, l.leaf_index FROM derivations d
             LEFT JOIN log_leaves l ON l.derivation_id = d.id
             WHERE d.source_sha256 = ? ORDER BY d.id",
        )
        .bind(source.to_hex())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.hydrate_derivation(row).await?);
        }
        Ok(out)
    }

    /// What an item was derived from, when it is a derived item: (derivation id, source, role).
    pub async fn derived_from(
        &self,
        item: &Sha256Digest,
    ) -> Result<Vec<(i64, Sha256Digest, String)>, CatalogError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT d.id, d.source_sha256, di.role FROM derivation_items di
             JOIN derivations d ON d.id = di.derivation_id
             WHERE di.sha256 = ? ORDER BY d.id, di.position",
        )
        .bind(item.to_hex())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, source, role)| {
                let source = source.parse().map_err(|e| CatalogError::Malformed {
                    table: "derivations",
                    key: id.to_string(),
                    problem: format!("source: {e}"),
                })?;
                Ok((id, source, role))
            })
            .collect()
    }

    /// Number of derivations.
    pub async fn derivation_count(&self) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM derivations")
            .fetch_one(self.pool())
            .await?)
    }

    async fn hydrate_derivation(&self, row: &SqliteRow) -> Result<StoredDerivation, CatalogError> {
        let id: i64 = row.try_get("id")?;
        let malformed = |problem: String| CatalogError::Malformed {
            table: "derivations",
            key: id.to_string(),
            problem,
        };
        let source_hex: String = row.try_get("source_sha256")?;
        let source: Sha256Digest = source_hex
            .parse()
            .map_err(|e| malformed(format!("source: {e}")))?;
        let source_size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM items WHERE sha256 = ?")
                .bind(&source_hex)
                .fetch_optional(self.pool())
                .await?;
        let params: String = row.try_get("params")?;
        let leaf_index: Option<i64> = row.try_get("leaf_index")?;
        let item_rows = sqlx::query(
            "SELECT di.sha256, di.role, di.name, di.detail, i.size FROM derivation_items di
             LEFT JOIN items i ON i.sha256 = di.sha256
             WHERE di.derivation_id = ? ORDER BY di.position",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut items = Vec::with_capacity(item_rows.len());
        for r in &item_rows {
            let sha: String = r.try_get("sha256")?;
            let detail: String = r.try_get("detail")?;
            let size: Option<i64> = r.try_get("size")?;
            items.push(DerivedItem {
                sha256: sha.parse().map_err(|e| malformed(format!("item: {e}")))?,
                size: size.unwrap_or(0).max(0) as u64,
                role: r.try_get("role")?,
                name: r.try_get("name")?,
                detail: serde_json::from_str(&detail)
                    .map_err(|e| malformed(format!("item detail: {e}")))?,
            });
        }
        Ok(StoredDerivation {
            id,
            leaf_index: leaf_index.map(|i| i.max(0) as u64),
            record: DerivationRecord {
                source,
                source_size: source_size.unwrap_or(0).max(0) as u64,
                kind: row.try_get("kind")?,
                tool: row.try_get("tool")?,
                params: serde_json::from_str(&params)
                    .map_err(|e| malformed(format!("params: {e}")))?,
                created_at: row.try_get("created_at")?,
                vigil_version: row.try_get("vigil_version")?,
                items,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaptureRecord, LeafSubject, decode_capture_leaf, decode_derivation_leaf};

    fn capture(item: Sha256Digest) -> CaptureRecord {
        let mut c = crate::test_support::capture(&[item]);
        c.source = "/src/post.mp4".into();
        c.items[0].size = 1000;
        c.items[0].name = Some("post.mp4".into());
        c
    }

    fn derivation(source: Sha256Digest) -> DerivationRecord {
        DerivationRecord {
            source,
            source_size: 1000,
            kind: "preview".into(),
            tool: "vigil-media/video_preview".into(),
            params: serde_json::json!({ "max_side": 512 }),
            created_at: "2026-11-25T10:00:01.000000Z".into(),
            vigil_version: "0.1.0".into(),
            items: vec![
                DerivedItem {
                    sha256: Sha256Digest::of(b"thumbnail"),
                    size: 9,
                    role: "thumbnail".into(),
                    name: "thumbnail.jpg".into(),
                    detail: serde_json::json!({}),
                },
                DerivedItem {
                    sha256: Sha256Digest::of(b"keyframe"),
                    size: 8,
                    role: "keyframe".into(),
                    name: "keyframe-001-at-0.000s.jpg".into(),
                    detail: serde_json::json!({ "timestamp": 0.0 }),
                },
            ],
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn derivations_are_items_with_a_source_and_a_leaf() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let video = Sha256Digest::of(b"video");
        cat.commit_captures(&[capture(video)])
            .await
            .expect("capture");
        let record = derivation(video);
        let id = cat.commit_derivation(&record).await.expect("derive");

        let stored = cat.derivation(id).await.expect("read").expect("there");
        assert_eq!(stored.record, record);
        assert_eq!(stored.leaf_index, Some(1), "after the capture's leaf");
        assert_eq!(cat.derivations_of(&video).await.expect("of").len(), 1);
        let thumb = Sha256Digest::of(b"thumbnail");
        assert_eq!(
            cat.derived_from(&thumb).await.expect("from"),
            [(id, video, "thumbnail".to_string())]
        );
        assert!(cat.item(&thumb).await.expect("item").is_some());
        // Derived items are items, but not evidence: no job runs on them.
        let pending = cat
            .items_pending_job("analysis", false, None, 10)
            .await
            .expect("pending");
        assert_eq!(
            pending.iter().map(|i| i.sha256).collect::<Vec<_>>(),
            [video]
        );

        let leaves = cat.log_leaves(0, 10).await.expect("leaves");
        assert_eq!(leaves.len(), 2);
        assert_eq!(leaves[0].subject, LeafSubject::Capture(1));
        assert_eq!(leaves[1].subject, LeafSubject::Derivation(id));
        let logged = decode_derivation_leaf(&leaves[1].leaf).expect("decode");
        assert_eq!((logged.derivation_id, logged.source), (id, video));
        assert_eq!(logged.items.len(), 2);
        assert!(decode_capture_leaf(&leaves[1].leaf).is_err());
        assert!(decode_derivation_leaf(&leaves[0].leaf).is_err());
        assert_eq!(cat.derivation_count().await.expect("count"), 1);
    }

    /// A catalog written before 0006 keeps its log leaves, in order, through the table rebuild,
    /// and its analyses count as the analysis job's outcome.
    #[tokio::test(flavor = "multi_thread")]
    async fn migration_keeps_log_leaves_and_analyses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.sqlite");
        let old = dir.path().join("migrations");
        std::fs::create_dir(&old).expect("mkdir");
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).expect("migrations") {
            let name = entry.expect("entry").file_name();
            if name.to_string_lossy().as_ref() < "0006" {
                std::fs::copy(all.join(&name), old.join(&name)).expect("copy");
            }
        }
        let items = [Sha256Digest::of(b"a"), Sha256Digest::of(b"b")];
        // The old schema and rows as an earlier version wrote them.
        {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.expect("pool");
            sqlx::migrate::Migrator::new(old.as_path())
                .await
                .expect("migrator")
                .run(&pool)
                .await
                .expect("old schema");
            for (n, sha) in items.iter().enumerate() {
                let id = n as i64 + 1;
                let record = capture(*sha);
                let leaf = crate::encode_capture_leaf(id, &record);
                sqlx::query(
                    "INSERT INTO items (sha256, size, first_captured_at) VALUES (?, 1000, 'x')",
                )
                .bind(sha.to_hex())
                .execute(&pool)
                .await
                .expect("item");
                sqlx::query(
                    "INSERT INTO captures (id, run_id, source, kind, method, status, collector,
                         captured_at, vigil_version, tools, tags, details)
                     VALUES (?, 'run', '/src/post.mp4', 'file', 'file', 'ok', 'tester',
                         '2026-11-25T10:00:00.000000Z', '0.1.0', '{}', '[]', '{}')",
                )
                .bind(id)
                .execute(&pool)
                .await
                .expect("capture");
                sqlx::query(
                    "INSERT INTO capture_items (capture_id, position, sha256, role, name)
                     VALUES (?, 0, ?, 'file', 'post.mp4')",
                )
                .bind(id)
                .bind(sha.to_hex())
                .execute(&pool)
                .await
                .expect("link");
                sqlx::query(
                    "INSERT INTO log_leaves (leaf_index, capture_id, leaf, leaf_hash)
                     VALUES (?, ?, ?, ?)",
                )
                .bind(n as i64)
                .bind(id)
                .bind(leaf.clone())
                .bind(vigil_tlog::leaf_hash(&leaf).0.to_vec())
                .execute(&pool)
                .await
                .expect("leaf");
            }
            sqlx::query(
                "INSERT INTO media_analyses (sha256, kind, error_code, error, analysed_at, vigil_version)
                 VALUES (?, 'image', 'corrupt', 'truncated', 't', '0.1.0'),
                        (?, 'image', NULL, NULL, 't', '0.1.0')",
            )
            .bind(items[0].to_hex())
            .bind(items[1].to_hex())
            .execute(&pool)
            .await
            .expect("analyses");
            pool.close().await;
        }
        let cat = Catalog::open_sqlite(&path, false).await.expect("migrate");
        let leaves = cat.log_leaves(0, 10).await.expect("leaves");
        assert_eq!(
            leaves.iter().map(|l| l.subject).collect::<Vec<_>>(),
            [LeafSubject::Capture(1), LeafSubject::Capture(2)]
        );
        assert_eq!(
            leaves[1].leaf,
            crate::encode_capture_leaf(2, &capture(items[1]))
        );
        // Neither analysis runs again; the failed one does when asked.
        let pending = |retry| {
            let cat = cat.clone();
            async move {
                cat.items_pending_job("analysis", retry, None, 10)
                    .await
                    .expect("pending")
                    .into_iter()
                    .map(|i| i.sha256)
                    .collect::<Vec<_>>()
            }
        };
        assert!(pending(false).await.is_empty());
        assert_eq!(pending(true).await, [items[0]]);
        // New derivation leaves follow the old ones.
        cat.commit_derivation(&derivation(items[0]))
            .await
            .expect("derive");
        assert_eq!(cat.log_size().await.expect("size"), 3);
    }
}

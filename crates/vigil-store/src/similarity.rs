//! The catalog's near-duplicate records: PDQ rows by id (what the near-duplicate index names),
//! similarity links between items, and the clusters those links form.
//!
//! All of it is derived data, recomputable from the blobs: the one exception to "rows are only
//! inserted" besides [`Catalog::record_analysis`]. Links are facts found by a search and are
//! kept when an item is re-analysed; clusters only grow (a link is never removed, so a cluster
//! never splits).
//!
//! Cluster invariant: every item that has a link has an `item_clusters` row, and a cluster is
//! named by the smallest digest among its members. [`Catalog::record_similarity`] writes the
//! link and merges the two clusters in one transaction, so a crash leaves both or neither.

use std::str::FromStr;

use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;
use crate::media::PdqRow;

/// A PDQ row with its catalog id: the id the near-duplicate index stores for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexedPdqRow {
    /// `pdq_hashes.id`, never reused, so an id in an index snapshot names this row or none.
    pub id: i64,
    /// The item the hash belongs to.
    #[serde(with = "crate::catalog::digest_hex")]
    pub sha256: Sha256Digest,
    /// The hash and where in the item it comes from.
    #[serde(flatten)]
    pub row: PdqRow,
}

/// How a near-duplicate relation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SimilarityMethod {
    /// PDQ distance between an image and an image or a video frame.
    Pdq,
    /// The vPDQ rule between two videos (share of each side's frames matched).
    Vpdq,
}

impl SimilarityMethod {
    /// The word stored in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            SimilarityMethod::Pdq => "pdq",
            SimilarityMethod::Vpdq => "vpdq",
        }
    }
}

impl FromStr for SimilarityMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pdq" => Ok(SimilarityMethod::Pdq),
            "vpdq" => Ok(SimilarityMethod::Vpdq),
            other => Err(format!("unknown similarity method {other:?} (pdq, vpdq)")),
        }
    }
}

/// A near-duplicate relation between two items. `item_a` sorts before `item_b`, so a pair has
/// one row per method whichever item was found first; `detail` speaks of `a` and `b` in that
/// order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similarity {
    /// The item with the smaller digest.
    #[serde(with = "crate::catalog::digest_hex")]
    pub item_a: Sha256Digest,
    /// The item with the larger digest.
    #[serde(with = "crate::catalog::digest_hex")]
    pub item_b: Sha256Digest,
    /// How it was found.
    pub method: SimilarityMethod,
    /// The smallest Hamming distance between a hash of one and a hash of the other.
    pub distance: u32,
    /// Method-specific evidence (which hashes; for videos both match percentages and the
    /// shared segments).
    pub detail: serde_json::Value,
    /// When it was first found (RFC 3339, UTC).
    pub found_at: String,
}

impl Similarity {
    /// The other item of the pair, seen from `item`.
    pub fn other(&self, item: &Sha256Digest) -> Sha256Digest {
        if &self.item_a == item {
            self.item_b
        } else {
            self.item_a
        }
    }
}

/// An item's cluster of near-duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// The cluster's name: the smallest digest among its members.
    #[serde(with = "crate::catalog::digest_hex")]
    pub name: Sha256Digest,
    /// Every member, in digest order (the item alone when it has no link).
    #[serde(serialize_with = "digests_hex")]
    pub members: Vec<Sha256Digest>,
}

fn digests_hex<S: serde::Serializer>(v: &[Sha256Digest], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(Sha256Digest::to_hex))
}

fn indexed_row(row: &SqliteRow) -> Result<IndexedPdqRow, CatalogError> {
    let id: i64 = row.try_get("id")?;
    let sha: String = row.try_get("sha256")?;
    let malformed = |problem: String| CatalogError::Malformed {
        table: "pdq_hashes",
        key: id.to_string(),
        problem,
    };
    let bytes: Vec<u8> = row.try_get("hash")?;
    let quality: i64 = row.try_get("quality")?;
    Ok(IndexedPdqRow {
        id,
        sha256: sha.parse().map_err(|e| malformed(format!("{e}")))?,
        row: PdqRow {
            variant: row.try_get("variant")?,
            frame: row.try_get("frame")?,
            timestamp: row.try_get("timestamp")?,
            hash: bytes
                .try_into()
                .map_err(|_| malformed("hash is not 32 bytes".into()))?,
            quality: quality.clamp(0, 100) as u8,
        },
    })
}

fn similarity_row(row: &SqliteRow) -> Result<Similarity, CatalogError> {
    let a: String = row.try_get("item_a")?;
    let b: String = row.try_get("item_b")?;
    let malformed = |problem: String| CatalogError::Malformed {
        table: "similarities",
        key: format!("{a},{b}"),
        problem,
    };
    let method: String = row.try_get("method")?;
    let distance: i64 = row.try_get("distance")?;
    let detail: String = row.try_get("detail")?;
    Ok(Similarity {
        item_a: a.parse().map_err(|e| malformed(format!("{e}")))?,
        item_b: b.parse().map_err(|e| malformed(format!("{e}")))?,
        method: method.parse().map_err(malformed)?,
        distance: distance.clamp(0, 256) as u32,
        detail: serde_json::from_str(&detail).map_err(|e| malformed(format!("detail: {e}")))?,
        found_at: row.try_get("found_at")?,
    })
}

impl Catalog {
    /// The largest PDQ row id ever assigned (0 when none): ids above it do not exist yet.
    pub async fn last_pdq_id(&self) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT max(coalesce((SELECT max(id) FROM pdq_hashes), 0),
                        coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'pdq_hashes'), 0))",
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// PDQ rows with id above `after` and quality at least `min_quality`, in id order, at most
    /// `limit` (keyset paging: how the index catches up with the catalog, and how it is
    /// rebuilt, in bounded memory).
    pub async fn pdq_rows_after(
        &self,
        after: i64,
        min_quality: u8,
        limit: i64,
    ) -> Result<Vec<IndexedPdqRow>, CatalogError> {
        let rows = sqlx::query(
            "SELECT id, sha256, variant, frame, timestamp, hash, quality FROM pdq_hashes
             WHERE id > ? AND quality >= ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(min_quality))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(indexed_row).collect()
    }

    /// The PDQ rows with these ids that still exist (any order; missing ids are left out:
    /// their item was re-analysed after the index named them).
    pub async fn pdq_rows_by_ids(&self, ids: &[i64]) -> Result<Vec<IndexedPdqRow>, CatalogError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT id, sha256, variant, frame, timestamp, hash, quality FROM pdq_hashes
                 WHERE id IN (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(self.pool()).await? {
                out.push(indexed_row(&row)?);
            }
        }
        Ok(out)
    }

    /// Every PDQ row of one item, by frame then variant.
    pub async fn pdq_rows_of(
        &self,
        sha256: &Sha256Digest,
    ) -> Result<Vec<IndexedPdqRow>, CatalogError> {
        let rows = sqlx::query(
            "SELECT id, sha256, variant, frame, timestamp, hash, quality FROM pdq_hashes
             WHERE sha256 = ? ORDER BY frame, variant",
        )
        .bind(sha256.to_hex())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(indexed_row).collect()
    }

    /// Items that have PDQ rows, in digest order after `after` (keyset paging): what a full
    /// relink walks.
    pub async fn hashed_items_after(
        &self,
        after: Option<&Sha256Digest>,
        limit: i64,
    ) -> Result<Vec<Sha256Digest>, CatalogError> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT sha256 FROM pdq_hashes WHERE ?1 IS NULL OR sha256 > ?1
             ORDER BY sha256 LIMIT ?2",
        )
        .bind(after.map(Sha256Digest::to_hex))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        keys.iter()
            .map(|k| {
                k.parse().map_err(|e| CatalogError::Malformed {
                    table: "pdq_hashes",
                    key: k.clone(),
                    problem: format!("{e}"),
                })
            })
            .collect()
    }

    /// The media kind recorded for an item (`image`, `video`, …), when it has been analysed.
    pub async fn media_kind(&self, sha256: &Sha256Digest) -> Result<Option<String>, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT kind FROM media_analyses WHERE sha256 = ?")
                .bind(sha256.to_hex())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Records a near-duplicate link and merges the clusters of its two items, in one
    /// transaction. A link found again keeps its first `found_at` and takes the new distance
    /// and detail. Returns the name of the (merged) cluster.
    pub async fn record_similarity(&self, s: &Similarity) -> Result<Sha256Digest, CatalogError> {
        if s.item_a >= s.item_b {
            return Err(CatalogError::Malformed {
                table: "similarities",
                key: format!("{},{}", s.item_a, s.item_b),
                problem: "item_a must sort before item_b (and differ from it)".into(),
            });
        }
        let (a, b) = (s.item_a.to_hex(), s.item_b.to_hex());
        // The write lock first: the cluster names read below stay true until commit.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO similarities (item_a, item_b, method, distance, detail, found_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (item_a, item_b, method)
             DO UPDATE SET distance = excluded.distance, detail = excluded.detail",
        )
        .bind(&a)
        .bind(&b)
        .bind(s.method.as_str())
        .bind(i64::from(s.distance))
        .bind(s.detail.to_string())
        .bind(&s.found_at)
        .execute(&mut *tx)
        .await?;
        // An item without a row is alone, in the cluster named by itself.
        let mut names = Vec::with_capacity(2);
        for sha in [&a, &b] {
            let name: Option<String> =
                sqlx::query_scalar("SELECT cluster FROM item_clusters WHERE sha256 = ?")
                    .bind(sha)
                    .fetch_optional(&mut *tx)
                    .await?;
            names.push(name.unwrap_or_else(|| sha.clone()));
        }
        let (ca, cb) = (names[0].clone(), names[1].clone());
        let (keep, merged) = if ca <= cb { (ca, cb) } else { (cb, ca) };
        sqlx::query(
            "INSERT INTO item_clusters (sha256, cluster) VALUES (?1, ?3), (?2, ?3)
             ON CONFLICT (sha256) DO UPDATE SET cluster = excluded.cluster",
        )
        .bind(&a)
        .bind(&b)
        .bind(&keep)
        .execute(&mut *tx)
        .await?;
        if merged != keep {
            sqlx::query("UPDATE item_clusters SET cluster = ? WHERE cluster = ?")
                .bind(&keep)
                .bind(&merged)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        keep.parse().map_err(|e| CatalogError::Malformed {
            table: "item_clusters",
            key: keep.clone(),
            problem: format!("{e}"),
        })
    }

    /// Every near-duplicate link of one item, nearest first.
    pub async fn similarities_of(
        &self,
        sha256: &Sha256Digest,
    ) -> Result<Vec<Similarity>, CatalogError> {
        let rows = sqlx::query(
            "SELECT * FROM similarities WHERE item_a = ?1 OR item_b = ?1
             ORDER BY distance, item_a, item_b, method",
        )
        .bind(sha256.to_hex())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(similarity_row).collect()
    }

    /// The cluster an item belongs to, with every member.
    pub async fn cluster_of(&self, sha256: &Sha256Digest) -> Result<Cluster, CatalogError> {
        let name: Option<String> =
            sqlx::query_scalar("SELECT cluster FROM item_clusters WHERE sha256 = ?")
                .bind(sha256.to_hex())
                .fetch_optional(self.pool())
                .await?;
        let Some(name) = name else {
            return Ok(Cluster {
                name: *sha256,
                members: vec![*sha256],
            });
        };
        let members: Vec<String> = sqlx::query_scalar(
            "SELECT sha256 FROM item_clusters WHERE cluster = ? ORDER BY sha256",
        )
        .bind(&name)
        .fetch_all(self.pool())
        .await?;
        let malformed = |key: &str, e: crate::ParseDigestError| CatalogError::Malformed {
            table: "item_clusters",
            key: key.to_owned(),
            problem: format!("{e}"),
        };
        Ok(Cluster {
            name: name.parse().map_err(|e| malformed(&name, e))?,
            members: members
                .iter()
                .map(|m| m.parse().map_err(|e| malformed(m, e)))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaAnalysis;

    use crate::test_support::capture;

    fn analysis(sha256: Sha256Digest, hashes: &[(u8, u8)]) -> MediaAnalysis {
        MediaAnalysis {
            sha256,
            kind: "image".into(),
            format: Some("jpeg".into()),
            width: Some(10),
            height: Some(10),
            orientation: Some(1),
            error_code: None,
            error: None,
            analysed_at: "2026-11-25T10:00:00Z".into(),
            vigil_version: "0.1.0".into(),
            pdq: hashes
                .iter()
                .enumerate()
                .map(|(n, (byte, quality))| PdqRow {
                    variant: if n == 0 { "stored" } else { "displayed" }.into(),
                    frame: -1,
                    timestamp: None,
                    hash: [*byte; 32],
                    quality: *quality,
                })
                .collect(),
        }
    }

    fn link(x: Sha256Digest, y: Sha256Digest, distance: u32) -> Similarity {
        let (item_a, item_b) = if x < y { (x, y) } else { (y, x) };
        Similarity {
            item_a,
            item_b,
            method: SimilarityMethod::Pdq,
            distance,
            detail: serde_json::json!({"a": "stored", "b": "stored"}),
            found_at: "2026-11-26T00:00:00Z".into(),
        }
    }

    fn digests(n: u8) -> Vec<Sha256Digest> {
        let mut v: Vec<Sha256Digest> = (0..n).map(|i| Sha256Digest::of(&[i])).collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn pdq_rows_get_ids_that_are_never_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let d = digests(2);
        cat.commit_captures(&[capture(&d)]).await.expect("commit");
        assert_eq!(cat.last_pdq_id().await.expect("last"), 0);
        cat.record_analysis(&analysis(d[0], &[(1, 90), (2, 30)]))
            .await
            .expect("record");
        cat.record_analysis(&analysis(d[1], &[(3, 80)]))
            .await
            .expect("record");
        let all = cat.pdq_rows_after(0, 0, 100).await.expect("rows");
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
        let good = cat.pdq_rows_after(0, 50, 100).await.expect("rows");
        assert_eq!(good.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 3]);
        // Re-analysed: new rows, new ids; the old ids name nothing.
        cat.record_analysis(&analysis(d[0], &[(1, 90)]))
            .await
            .expect("record");
        assert_eq!(cat.last_pdq_id().await.expect("last"), 4);
        let found = cat.pdq_rows_by_ids(&[1, 2, 3, 4, 99]).await.expect("ids");
        let mut ids: Vec<i64> = found.iter().map(|r| r.id).collect();
        ids.sort();
        assert_eq!(ids, [3, 4]);
        let of = cat.pdq_rows_of(&d[0]).await.expect("of");
        assert_eq!(of.len(), 1);
        assert_eq!((of[0].id, of[0].row.hash), (4, [1; 32]));
        assert_eq!(
            cat.media_kind(&d[0]).await.expect("kind").as_deref(),
            Some("image")
        );
        assert_eq!(cat.hashed_items_after(None, 10).await.expect("items"), d);
        assert_eq!(
            cat.hashed_items_after(Some(&d[0]), 10)
                .await
                .expect("items"),
            [d[1]]
        );
    }

    #[tokio::test]
    async fn links_merge_clusters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let d = digests(6);
        cat.commit_captures(&[capture(&d)]).await.expect("commit");
        let alone = cat.cluster_of(&d[0]).await.expect("cluster");
        assert_eq!((alone.name, alone.members.clone()), (d[0], vec![d[0]]));

        // Two separate clusters: {1, 3} and {2, 4}.
        assert_eq!(
            cat.record_similarity(&link(d[3], d[1], 5))
                .await
                .expect("link"),
            d[1]
        );
        assert_eq!(
            cat.record_similarity(&link(d[4], d[2], 7))
                .await
                .expect("link"),
            d[2]
        );
        assert_eq!(
            cat.cluster_of(&d[3]).await.expect("c").members,
            [d[1], d[3]]
        );
        assert_eq!(
            cat.cluster_of(&d[4]).await.expect("c").members,
            [d[2], d[4]]
        );
        // A link between them merges both under the smaller name.
        assert_eq!(
            cat.record_similarity(&link(d[4], d[3], 9))
                .await
                .expect("link"),
            d[1]
        );
        for m in [d[1], d[2], d[3], d[4]] {
            let c = cat.cluster_of(&m).await.expect("c");
            assert_eq!(c.name, d[1]);
            assert_eq!(c.members, [d[1], d[2], d[3], d[4]]);
        }
        // Joining the smallest digest renames the cluster after it.
        assert_eq!(
            cat.record_similarity(&link(d[0], d[4], 2))
                .await
                .expect("link"),
            d[0]
        );
        assert_eq!(cat.cluster_of(&d[2]).await.expect("c").members.len(), 5);
        assert_eq!(cat.cluster_of(&d[5]).await.expect("c").members, [d[5]]);

        // Found again: one row, the new distance, the first time found kept.
        let mut again = link(d[1], d[3], 4);
        again.found_at = "2027-01-01T00:00:00Z".into();
        cat.record_similarity(&again).await.expect("again");
        let links = cat.similarities_of(&d[3]).await.expect("links");
        assert_eq!(links.len(), 2, "{links:?}");
        assert_eq!(links[0].distance, 4);
        assert_eq!(links[0].found_at, "2026-11-26T00:00:00Z");
        assert_eq!(links[0].other(&d[3]), d[1]);

        // Out of order or self-links are refused, never stored.
        let mut bad = link(d[1], d[2], 1);
        std::mem::swap(&mut bad.item_a, &mut bad.item_b);
        assert!(cat.record_similarity(&bad).await.is_err());
        assert!(cat.record_similarity(&link(d[2], d[2], 0)).await.is_err());
    }

    /// A catalog written before 0004 (hash rows without ids) is migrated with its rows.
    #[tokio::test]
    async fn migration_keeps_existing_hash_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.sqlite");
        let old = dir.path().join("migrations");
        std::fs::create_dir(&old).expect("mkdir");
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for name in ["0001_locker.sql", "0002_log.sql", "0003_media.sql"] {
            std::fs::copy(all.join(name), old.join(name)).expect("copy");
        }
        let d = digests(2);
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
            for (n, sha) in d.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO items (sha256, size, first_captured_at) VALUES (?, 1, 'x')",
                )
                .bind(sha.to_hex())
                .execute(&pool)
                .await
                .expect("item");
                sqlx::query(
                    "INSERT INTO pdq_hashes (sha256, variant, frame, timestamp, hash, quality)
                     VALUES (?, 'stored', -1, NULL, ?, 90), (?, 'displayed', -1, NULL, ?, 40)",
                )
                .bind(sha.to_hex())
                .bind(vec![n as u8; 32])
                .bind(sha.to_hex())
                .bind(vec![n as u8 + 10; 32])
                .execute(&pool)
                .await
                .expect("hash rows");
            }
            pool.close().await;
        }
        let cat = Catalog::open_sqlite(&path, false).await.expect("migrate");
        let rows = cat.pdq_rows_after(0, 0, 100).await.expect("rows");
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "ids given in (item, frame, variant) order"
        );
        assert_eq!(rows[0].sha256, d[0]);
        assert_eq!(
            (rows[0].row.variant.as_str(), rows[0].row.hash),
            ("displayed", [10; 32])
        );
        assert_eq!(
            (rows[1].row.variant.as_str(), rows[1].row.quality),
            ("stored", 90)
        );
        let analysis_rows = cat.pdq_rows_of(&d[1]).await.expect("of");
        assert_eq!(analysis_rows.len(), 2);
        // The uniqueness rule of the old primary key still holds.
        let dup = sqlx::query(
            "INSERT INTO pdq_hashes (sha256, variant, frame, hash, quality)
             VALUES (?, 'stored', -1, ?, 90)",
        )
        .bind(d[0].to_hex())
        .bind(vec![0u8; 32])
        .execute(cat.pool())
        .await;
        assert!(dup.is_err());
        assert_eq!(cat.last_pdq_id().await.expect("last"), 4);
    }
}

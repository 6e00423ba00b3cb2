//! What enrichment learnt about each item beyond its hashes: the metadata report and its
//! flags, and how each enrichment job ended (so a failure is recorded once, shown, and only
//! retried when asked).

use serde::Serialize;
use sqlx::Row;

use crate::catalog::{Catalog, CatalogError, ItemRecord};
use crate::digest::Sha256Digest;

/// How one enrichment job ended on one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// The item.
    #[serde(with = "crate::catalog::digest_hex")]
    pub sha256: Sha256Digest,
    /// `analysis`, `metadata` or `preview`.
    pub job: String,
    /// Whether it produced its result.
    pub ok: bool,
    /// Stable code when it did not (`timeout`, `panicked`, `corrupt`, ...).
    pub error_code: Option<String>,
    /// What happened, for a person.
    pub error: Option<String>,
    /// Wall-clock seconds it took.
    pub seconds: f64,
    /// When it ended (RFC 3339, UTC).
    pub finished_at: String,
    /// The Vigil version that ran it.
    pub vigil_version: String,
}

/// What the captures of an item said about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaptureContext {
    /// Names the sources gave it (file names, URL file names).
    pub names: Vec<String>,
    /// `Content-Type`s servers sent with it.
    pub content_types: Vec<String>,
    /// When it was first captured (RFC 3339, UTC).
    pub first_captured_at: Option<String>,
}

/// A flag raised by the metadata job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFlag {
    /// Stable code (`gps-present`, `editing-software`, ...).
    pub code: String,
    /// What was seen.
    pub detail: String,
}

/// The metadata report of an item as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredMetadata {
    /// The report (JSON, as the metadata job wrote it).
    pub report: serde_json::Value,
    /// Its flags.
    pub flags: Vec<StoredFlag>,
    /// When it was extracted.
    pub extracted_at: String,
    /// By which version.
    pub vigil_version: String,
}

impl Catalog {
    /// Captured items (those of at least one capture: derived pictures are not examined as
    /// evidence) that `job` has not run on yet — or, with `retry_failed`, on which it failed —
    /// in digest order after `after`.
    pub async fn items_pending_job(
        &self,
        job: &str,
        retry_failed: bool,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ItemRecord>, CatalogError> {
        let rows = sqlx::query(
            "SELECT i.sha256, i.size, i.first_captured_at FROM items i
             LEFT JOIN enrichment_jobs j ON j.sha256 = i.sha256 AND j.job = ?1
             WHERE (j.sha256 IS NULL OR (?2 AND j.status = 'failed'))
               AND (?3 IS NULL OR i.sha256 > ?3)
               AND EXISTS (SELECT 1 FROM capture_items ci WHERE ci.sha256 = i.sha256)
             ORDER BY i.sha256 LIMIT ?4",
        )
        .bind(job)
        .bind(retry_failed)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(crate::catalog::item_from_row).collect()
    }

    /// Records how a job ended (replacing an earlier outcome of the same job on the item).
    pub async fn record_job(&self, job: &JobRecord) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO enrichment_jobs
                 (sha256, job, status, error_code, error, seconds, finished_at, vigil_version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (sha256, job) DO UPDATE SET
                 status = excluded.status, error_code = excluded.error_code,
                 error = excluded.error, seconds = excluded.seconds,
                 finished_at = excluded.finished_at, vigil_version = excluded.vigil_version",
        )
        .bind(job.sha256.to_hex())
        .bind(&job.job)
        .bind(if job.ok { "ok" } else { "failed" })
        .bind(&job.error_code)
        .bind(&job.error)
        .bind(job.seconds)
        .bind(&job.finished_at)
        .bind(&job.vigil_version)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How every job ended on an item, by job name.
    pub async fn jobs_of(&self, sha256: &Sha256Digest) -> Result<Vec<JobRecord>, CatalogError> {
        let rows = sqlx::query("SELECT * FROM enrichment_jobs WHERE sha256 = ? ORDER BY job")
            .bind(sha256.to_hex())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(JobRecord {
                    sha256: *sha256,
                    job: r.try_get("job")?,
                    ok: status == "ok",
                    error_code: r.try_get("error_code")?,
                    error: r.try_get("error")?,
                    seconds: r.try_get("seconds")?,
                    finished_at: r.try_get("finished_at")?,
                    vigil_version: r.try_get("vigil_version")?,
                })
            })
            .collect()
    }

    /// Replaces an item's metadata report and flags in one transaction.
    pub async fn record_metadata(
        &self,
        sha256: &Sha256Digest,
        report: &serde_json::Value,
        flags: &[StoredFlag],
        extracted_at: &str,
        vigil_version: &str,
    ) -> Result<(), CatalogError> {
        let sha = sha256.to_hex();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO item_metadata (sha256, report, extracted_at, vigil_version)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (sha256) DO UPDATE SET report = excluded.report,
                 extracted_at = excluded.extracted_at, vigil_version = excluded.vigil_version",
        )
        .bind(&sha)
        .bind(report.to_string())
        .bind(extracted_at)
        .bind(vigil_version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM item_flags WHERE sha256 = ?")
            .bind(&sha)
            .execute(&mut *tx)
            .await?;
        for flag in flags {
            sqlx::query("INSERT INTO item_flags (sha256, code, detail) VALUES (?, ?, ?)")
                .bind(&sha)
                .bind(&flag.code)
                .bind(&flag.detail)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An item's stored metadata report and flags.
    pub async fn metadata_of(
        &self,
        sha256: &Sha256Digest,
    ) -> Result<Option<StoredMetadata>, CatalogError> {
        let sha = sha256.to_hex();
        let Some(row) = sqlx::query("SELECT * FROM item_metadata WHERE sha256 = ?")
            .bind(&sha)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let report: String = row.try_get("report")?;
        let flags: Vec<(String, String)> =
            sqlx::query_as("SELECT code, detail FROM item_flags WHERE sha256 = ? ORDER BY rowid")
                .bind(&sha)
                .fetch_all(self.pool())
                .await?;
        Ok(Some(StoredMetadata {
            report: serde_json::from_str(&report).map_err(|e| CatalogError::Malformed {
                table: "item_metadata",
                key: sha.clone(),
                problem: e.to_string(),
            })?,
            flags: flags
                .into_iter()
                .map(|(code, detail)| StoredFlag { code, detail })
                .collect(),
            extracted_at: row.try_get("extracted_at")?,
            vigil_version: row.try_get("vigil_version")?,
        }))
    }

    /// Items carrying a flag, with its detail, in digest order (for review queues).
    pub async fn items_flagged(
        &self,
        code: &str,
        limit: i64,
    ) -> Result<Vec<(Sha256Digest, String)>, CatalogError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT sha256, detail FROM item_flags WHERE code = ? ORDER BY sha256 LIMIT ?",
        )
        .bind(code)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, d)| s.parse().ok().map(|s| (s, d)))
            .collect())
    }

    /// What the captures of an item claimed about it (names, `Content-Type`s) and when it
    /// was first captured: what the metadata job judges the file against.
    pub async fn capture_context(
        &self,
        sha256: &Sha256Digest,
    ) -> Result<CaptureContext, CatalogError> {
        let sha = sha256.to_hex();
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT name FROM capture_items WHERE sha256 = ? AND name IS NOT NULL
             ORDER BY name",
        )
        .bind(&sha)
        .fetch_all(self.pool())
        .await?;
        // The final response's headers of the captures whose body this item is.
        let content_types: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT CAST(json_extract(h.value, '$[1]') AS TEXT)
             FROM capture_items ci JOIN captures c ON c.id = ci.capture_id,
                  json_each(CASE WHEN json_valid(c.details) THEN c.details ELSE '{}' END,
                            '$.headers') h
             WHERE ci.sha256 = ? AND ci.role = 'body'
               AND lower(CAST(json_extract(h.value, '$[0]') AS TEXT)) = 'content-type'
             ORDER BY 1",
        )
        .bind(&sha)
        .fetch_all(self.pool())
        .await?;
        let first_captured_at: Option<String> = sqlx::query_scalar(
            "SELECT min(c.captured_at) FROM capture_items ci JOIN captures c ON c.id = ci.capture_id
             WHERE ci.sha256 = ?",
        )
        .bind(&sha)
        .fetch_one(self.pool())
        .await?;
        Ok(CaptureContext {
            names,
            content_types,
            first_captured_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaptureRecord;

    fn capture(at: &str, role: &str, name: &str, details: serde_json::Value) -> CaptureRecord {
        let mut c = crate::test_support::capture(&[Sha256Digest::of(b"photo")]);
        c.source = format!("https://example.org/{name}");
        (c.kind, c.method) = ("url".into(), "http".into());
        c.captured_at = at.into();
        c.details = details;
        c.items[0].size = 5;
        c.items[0].role = role.into();
        c.items[0].name = Some(name.into());
        c
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn capture_context_jobs_and_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let item = Sha256Digest::of(b"photo");
        let headers =
            serde_json::json!({ "headers": [["Content-Type", "text/html"], ["server", "x"]] });
        cat.commit_captures(&[
            capture("2026-11-25T10:00:00.000000Z", "body", "post.jpg", headers),
            capture(
                "2026-11-24T10:00:00.000000Z",
                "file",
                "IMG_1.JPG",
                serde_json::json!("not an object"),
            ),
        ])
        .await
        .expect("captures");
        let context = cat.capture_context(&item).await.expect("context");
        assert_eq!(context.names, ["IMG_1.JPG", "post.jpg"]);
        assert_eq!(context.content_types, ["text/html"]);
        assert_eq!(
            context.first_captured_at.as_deref(),
            Some("2026-11-24T10:00:00.000000Z")
        );

        let job = |ok: bool| JobRecord {
            sha256: item,
            job: "metadata".into(),
            ok,
            error_code: (!ok).then(|| "timeout".into()),
            error: None,
            seconds: 1.5,
            finished_at: "t".into(),
            vigil_version: "0.1.0".into(),
        };
        cat.record_job(&job(false)).await.expect("job");
        assert!(
            cat.items_pending_job("metadata", false, None, 5)
                .await
                .expect("p")
                .is_empty()
        );
        assert_eq!(
            cat.items_pending_job("metadata", true, None, 5)
                .await
                .expect("p")
                .len(),
            1
        );
        cat.record_job(&job(true)).await.expect("job again");
        assert_eq!(cat.jobs_of(&item).await.expect("jobs"), [job(true)]);
        assert!(
            cat.items_pending_job("metadata", true, None, 5)
                .await
                .expect("p")
                .is_empty()
        );

        let flags = [StoredFlag {
            code: "gps-present".into(),
            detail: "40.1, 44.5".into(),
        }];
        let report = serde_json::json!({ "size": 5 });
        cat.record_metadata(&item, &report, &flags, "t1", "0.1.0")
            .await
            .expect("meta");
        cat.record_metadata(&item, &report, &flags, "t2", "0.1.0")
            .await
            .expect("again");
        let stored = cat.metadata_of(&item).await.expect("read").expect("there");
        assert_eq!(
            (stored.flags.len(), stored.extracted_at.as_str()),
            (1, "t2")
        );
        assert_eq!(
            cat.items_flagged("gps-present", 10).await.expect("flagged"),
            [(item, "40.1, 44.5".to_string())]
        );
    }
}

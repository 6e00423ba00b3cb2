//! The catalog's record of what each item is as media, and its perceptual hashes.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;

/// The analysis of one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaAnalysis {
    /// The item.
    #[serde(with = "crate::catalog::digest_hex")]
    pub sha256: Sha256Digest,
    /// `image`, `video`, `audio` or `other`.
    pub kind: String,
    /// The format recognised.
    pub format: Option<String>,
    /// Width as stored.
    pub width: Option<u32>,
    /// Height as stored.
    pub height: Option<u32>,
    /// EXIF orientation (images).
    pub orientation: Option<u8>,
    /// Why analysis failed (stable code), when it did.
    pub error_code: Option<String>,
    /// What happened, for a person.
    pub error: Option<String>,
    /// When (RFC 3339, UTC).
    pub analysed_at: String,
    /// The Vigil version that analysed it.
    pub vigil_version: String,
    /// Its PDQ hashes.
    pub pdq: Vec<PdqRow>,
}

impl MediaAnalysis {
    /// What the item is, for a person: `video (webm, 320×240)`, `image (jpeg)`, `other`.
    pub fn describe(&self) -> String {
        match (&self.format, self.width, self.height) {
            (Some(f), Some(w), Some(h)) => format!("{} ({f}, {w}×{h})", self.kind),
            (Some(f), _, _) => format!("{} ({f})", self.kind),
            _ => self.kind.clone(),
        }
    }
}

/// One PDQ hash of an item: of an image as stored or displayed, or of a video frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdqRow {
    /// `stored`, `displayed` or `frame`.
    pub variant: String,
    /// Video frame number; -1 for still images.
    pub frame: i64,
    /// Seconds into the video.
    pub timestamp: Option<f64>,
    /// The 256-bit hash.
    #[serde(serialize_with = "hex_bytes")]
    pub hash: [u8; 32],
    /// 0..=100.
    pub quality: u8,
}

fn hex_bytes<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(h))
}

impl Catalog {
    /// Records an analysis and its hashes in one transaction (again: replaced).
    pub async fn record_analysis(&self, a: &MediaAnalysis) -> Result<(), CatalogError> {
        let sha = a.sha256.to_hex();
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM pdq_hashes WHERE sha256 = ?")
            .bind(&sha)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT OR REPLACE INTO media_analyses (sha256, kind, format, width, height,
                 orientation, error_code, error, analysed_at, vigil_version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&sha)
        .bind(&a.kind)
        .bind(&a.format)
        .bind(a.width)
        .bind(a.height)
        .bind(a.orientation)
        .bind(&a.error_code)
        .bind(&a.error)
        .bind(&a.analysed_at)
        .bind(&a.vigil_version)
        .execute(&mut *tx)
        .await?;
        for chunk in a.pdq.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO pdq_hashes (sha256, variant, frame, timestamp, hash, quality) ",
            );
            q.push_values(chunk, |mut row, p| {
                row.push_bind(sha.clone())
                    .push_bind(p.variant.clone())
                    .push_bind(p.frame)
                    .push_bind(p.timestamp)
                    .push_bind(p.hash.to_vec())
                    .push_bind(i64::from(p.quality));
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The analysis of an item, with its hashes.
    pub async fn analysis(
        &self,
        sha256: &Sha256Digest,
    ) -> Result<Option<MediaAnalysis>, CatalogError> {
        let sha = sha256.to_hex();
        let Some(row) = sqlx::query("SELECT * FROM media_analyses WHERE sha256 = ?")
            .bind(&sha)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let hashes = sqlx::query(
            "SELECT variant, frame, timestamp, hash, quality FROM pdq_hashes
             WHERE sha256 = ? ORDER BY frame, variant",
        )
        .bind(&sha)
        .fetch_all(self.pool())
        .await?;
        let mut pdq = Vec::with_capacity(hashes.len());
        for h in hashes {
            let bytes: Vec<u8> = h.try_get("hash")?;
            let quality: i64 = h.try_get("quality")?;
            pdq.push(PdqRow {
                variant: h.try_get("variant")?,
                frame: h.try_get("frame")?,
                timestamp: h.try_get("timestamp")?,
                hash: bytes.try_into().map_err(|_| CatalogError::Malformed {
                    table: "pdq_hashes",
                    key: sha.clone(),
                    problem: "hash is not 32 bytes".into(),
                })?,
                quality: quality.clamp(0, 100) as u8,
            });
        }
        Ok(Some(MediaAnalysis {
            sha256: *sha256,
            kind: row.try_get("kind")?,
            format: row.try_get("format")?,
            width: row.try_get("width")?,
            height: row.try_get("height")?,
            orientation: row.try_get("orientation")?,
            error_code: row.try_get("error_code")?,
            error: row.try_get("error")?,
            analysed_at: row.try_get("analysed_at")?,
            vigil_version: row.try_get("vigil_version")?,
            pdq,
        }))
    }
}

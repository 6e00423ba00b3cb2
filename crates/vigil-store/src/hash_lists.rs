//! Hash lists imported into the catalog: which list, from which file (by SHA-256), when, and
//! its entries, so the collection can be matched against a partner's list again as it grows.
//! Rows are only inserted; a name is imported once.

use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;

/// A list as imported (without its entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashListInfo {
    /// The name it was imported under.
    pub name: String,
    /// The file as given.
    pub source: String,
    /// SHA-256 of the file's bytes.
    #[serde(with = "crate::catalog::digest_hex")]
    pub sha256: Sha256Digest,
    /// When (RFC 3339, UTC).
    pub imported_at: String,
    /// Hash lines imported.
    pub entries: u64,
    /// Lines that were not hashes, not imported.
    pub bad_lines: u64,
}

/// One entry of an imported list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredListEntry {
    /// 1-based line in the file.
    pub line: u64,
    /// The PDQ hash.
    #[serde(serialize_with = "hex32")]
    pub hash: [u8; 32],
    /// Its tags.
    pub tags: Vec<String>,
}

fn hex32<S: serde::Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(h))
}

impl Catalog {
    /// Imports a list and its entries in one transaction. A name already used is refused
    /// (`Ok(false)`), never overwritten: what was matched against stays on record.
    pub async fn import_hash_list(
        &self,
        info: &HashListInfo,
        entries: &[StoredListEntry],
    ) -> Result<bool, CatalogError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM hash_lists WHERE name = ?")
            .bind(&info.name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(false);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO hash_lists (name, source, sha256, imported_at, entries, bad_lines)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&info.name)
        .bind(&info.source)
        .bind(info.sha256.to_hex())
        .bind(&info.imported_at)
        .bind(entries.len() as i64)
        .bind(info.bad_lines as i64)
        .fetch_one(&mut *tx)
        .await?;
        for chunk in entries.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO hash_list_entries (list_id, line, hash, tags) ",
            );
            q.push_values(chunk, |mut row, e| {
                row.push_bind(id)
                    .push_bind(e.line as i64)
                    .push_bind(e.hash.to_vec())
                    .push_bind(serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()));
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Every imported list, oldest first.
    pub async fn hash_lists(&self) -> Result<Vec<HashListInfo>, CatalogError> {
        let rows = sqlx::query("SELECT * FROM hash_lists ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("name")?;
                let sha: String = r.try_get("sha256")?;
                let entries: i64 = r.try_get("entries")?;
                let bad: i64 = r.try_get("bad_lines")?;
                Ok(HashListInfo {
                    sha256: sha.parse().map_err(|e| CatalogError::Malformed {
                        table: "hash_lists",
                        key: name.clone(),
                        problem: format!("{e}"),
                    })?,
                    name,
                    source: r.try_get("source")?,
                    imported_at: r.try_get("imported_at")?,
                    entries: entries.max(0) as u64,
                    bad_lines: bad.max(0) as u64,
                })
            })
            .collect()
    }

    /// The entries of the list imported under `name`, by line; `None` when there is none.
    pub async fn hash_list_entries(
        &self,
        name: &str,
    ) -> Result<Option<Vec<StoredListEntry>>, CatalogError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM hash_lists WHERE name = ?")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        let Some(id) = id else { return Ok(None) };
        let rows = sqlx::query(
            "SELECT line, hash, tags FROM hash_list_entries WHERE list_id = ? ORDER BY line",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let line: i64 = r.try_get("line")?;
            let malformed = |problem: String| CatalogError::Malformed {
                table: "hash_list_entries",
                key: format!("{name}:{line}"),
                problem,
            };
            let hash: Vec<u8> = r.try_get("hash")?;
            let tags: String = r.try_get("tags")?;
            out.push(StoredListEntry {
                line: line.max(0) as u64,
                hash: hash
                    .try_into()
                    .map_err(|_| malformed("hash is not 32 bytes".into()))?,
                tags: serde_json::from_str(&tags).map_err(|e| malformed(format!("tags: {e}")))?,
            });
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_import_once_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        let info = HashListInfo {
            name: "partner-a".into(),
            source: "/lists/a.txt".into(),
            sha256: Sha256Digest::of(b"list"),
            imported_at: "2026-11-27T00:00:00Z".into(),
            entries: 2,
            bad_lines: 1,
        };
        let entries: Vec<StoredListEntry> = (0..700u64)
            .map(|n| StoredListEntry {
                line: n + 3,
                hash: [n as u8; 32],
                tags: vec![format!("t{n}")],
            })
            .collect();
        assert!(cat.import_hash_list(&info, &entries).await.expect("import"));
        assert!(
            !cat.import_hash_list(&info, &entries[..1])
                .await
                .expect("again")
        );
        let lists = cat.hash_lists().await.expect("lists");
        assert_eq!(lists.len(), 1);
        assert_eq!((lists[0].entries, lists[0].bad_lines), (700, 1));
        let back = cat
            .hash_list_entries("partner-a")
            .await
            .expect("entries")
            .expect("some");
        assert_eq!(back, entries);
        assert!(cat.hash_list_entries("nope").await.expect("none").is_none());
    }
}

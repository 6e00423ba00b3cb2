//! Incidents (migration `0008_incidents.sql`): what footage shows happening, with its legal
//! qualification, the items that show it, comments, and the history of every change.
//!
//! This module stores and reads; who may do what, and which taxonomy ids exist, is decided
//! by `vigil-core` before anything here is called.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::accounts::{Role, User};
use crate::catalog::{Catalog, CatalogError};
use crate::digest::Sha256Digest;

/// The fields of an incident that people write.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFields {
    /// Short title.
    pub title: String,
    /// What happened, as far as known.
    #[serde(default)]
    pub description: String,
    /// When: an ISO 8601 date as precise as known (`2023-09-19`, `2023-09`, `2023`).
    #[serde(default)]
    pub occurred: Option<String>,
    /// `day`, `month`, `year`, `approximate` or `unknown`.
    #[serde(default = "unknown")]
    pub date_precision: String,
    /// Where, as the sources name it.
    #[serde(default)]
    pub place: Option<String>,
    /// `exact`, `settlement`, `district`, `region`, `country` or `unknown`.
    #[serde(default = "unknown")]
    pub place_precision: String,
    /// Latitude, when a point is known.
    #[serde(default)]
    pub latitude: Option<f64>,
    /// Longitude, when a point is known.
    #[serde(default)]
    pub longitude: Option<f64>,
}

fn unknown() -> String {
    "unknown".into()
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Catalog id.
    pub id: i64,
    /// The collection whose members may see it.
    pub collection_id: i64,
    /// Its fields.
    #[serde(flatten)]
    pub fields: IncidentFields,
    /// `new`, `in-review`, `verified` or `reported`.
    pub status: String,
    /// Sensitivity labels.
    pub labels: Vec<String>,
    /// Taxonomy entry ids.
    pub tags: Vec<String>,
    /// Linked items.
    pub items: Vec<String>,
    /// Who created it.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// One recorded change of an incident or a person record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordChange {
    /// Who.
    pub user_id: Option<i64>,
    /// When.
    pub at: String,
    /// What: a field name, or `created`, or a link added or removed (`tag+`, `item-`, ...).
    pub field: String,
    /// Before.
    pub old_value: Option<String>,
    /// After.
    pub new_value: Option<String>,
}

/// A change of an incident.
pub type IncidentChange = RecordChange;

/// Which history a change belongs to: the table and the column naming the record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum History {
    /// `incident_changes`.
    Incident,
    /// `person_changes`.
    Person,
}

impl History {
    fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            History::Incident => ("incident_changes", "incident_id"),
            History::Person => ("person_changes", "person_id"),
        }
    }
}

/// Appends one change to a record's history, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    history: History,
    id: i64,
    user_id: Option<i64>,
    at: &str,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), CatalogError> {
    let (table, key) = history.table_and_key();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} ({key}, user_id, at, field, old_value, new_value)
         VALUES (?, ?, ?, ?, ?, ?)"
    )))
    .bind(id)
    .bind(user_id)
    .bind(at)
    .bind(field)
    .bind(old)
    .bind(new)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A record's history, oldest first.
pub(crate) async fn read_changes(
    catalog: &Catalog,
    history: History,
    id: i64,
) -> Result<Vec<RecordChange>, CatalogError> {
    let (table, key) = history.table_and_key();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT user_id, at, field, old_value, new_value FROM {table} WHERE {key} = ? ORDER BY id"
    )))
    .bind(id)
    .fetch_all(catalog.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RecordChange {
                user_id: r.try_get("user_id")?,
                at: r.try_get("at")?,
                field: r.try_get("field")?,
                old_value: r.try_get("old_value")?,
                new_value: r.try_get("new_value")?,
            })
        })
        .collect()
}

/// A comment with its earlier texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Catalog id.
    pub id: i64,
    /// Author.
    pub user_id: Option<i64>,
    /// Current text.
    pub body: String,
    /// When written.
    pub created_at: String,
    /// When last edited.
    pub edited_at: Option<String>,
    /// Earlier texts, oldest first: (text, replaced at).
    pub revisions: Vec<(String, String)>,
}

fn fields_from_row(row: &SqliteRow) -> Result<IncidentFields, sqlx::Error> {
    Ok(IncidentFields {
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        occurred: row.try_get("occurred")?,
        date_precision: row.try_get("date_precision")?,
        place: row.try_get("place")?,
        place_precision: row.try_get("place_precision")?,
        latitude: row.try_get("latitude")?,
        longitude: row.try_get("longitude")?,
    })
}

/// The changed fields between two versions, as (field, old, new).
fn field_changes(
    old: &IncidentFields,
    new: &IncidentFields,
) -> Vec<(&'static str, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut cmp = |name: &'static str, a: Option<String>, b: Option<String>| {
        if a != b {
            out.push((name, a, b));
        }
    };
    cmp("title", Some(old.title.clone()), Some(new.title.clone()));
    cmp(
        "description",
        Some(old.description.clone()),
        Some(new.description.clone()),
    );
    cmp("occurred", old.occurred.clone(), new.occurred.clone());
    cmp(
        "date_precision",
        Some(old.date_precision.clone()),
        Some(new.date_precision.clone()),
    );
    cmp("place", old.place.clone(), new.place.clone());
    cmp(
        "place_precision",
        Some(old.place_precision.clone()),
        Some(new.place_precision.clone()),
    );
    cmp(
        "latitude",
        old.latitude.map(|v| v.to_string()),
        new.latitude.map(|v| v.to_string()),
    );
    cmp(
        "longitude",
        old.longitude.map(|v| v.to_string()),
        new.longitude.map(|v| v.to_string()),
    );
    out
}

impl Catalog {
    /// Creates an incident in `collection_id`; returns its id.
    pub async fn create_incident(
        &self,
        collection_id: i64,
        f: &IncidentFields,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<i64, CatalogError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (collection_id, title, description, occurred, date_precision,
                 place, place_precision, latitude, longitude, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(collection_id)
        .bind(&f.title)
        .bind(&f.description)
        .bind(&f.occurred)
        .bind(&f.date_precision)
        .bind(&f.place)
        .bind(&f.place_precision)
        .bind(f.latitude)
        .bind(f.longitude)
        .bind(user_id)
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            History::Incident,
            id,
            user_id,
            at,
            "created",
            None,
            Some(&f.title),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One incident with its labels, tags and items.
    pub async fn incident(&self, id: i64) -> Result<Option<Incident>, CatalogError> {
        let Some(row) = sqlx::query("SELECT * FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let list = |sql: &'static str| {
            let pool = self.pool().clone();
            async move {
                sqlx::query_scalar::<_, String>(sql)
                    .bind(id)
                    .fetch_all(&pool)
                    .await
            }
        };
        Ok(Some(Incident {
            id,
            collection_id: row.try_get("collection_id")?,
            fields: fields_from_row(&row)?,
            status: row.try_get("status")?,
            labels: list("SELECT label FROM incident_labels WHERE incident_id = ? ORDER BY label")
                .await?,
            tags: list(
                "SELECT taxonomy_id FROM incident_tags WHERE incident_id = ? ORDER BY taxonomy_id",
            )
            .await?,
            items: list(
                "SELECT sha256 FROM incident_items WHERE incident_id = ? ORDER BY added_at, sha256",
            )
            .await?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }

    /// Whether `user` may see incident `id` (admins: all; others: their collections').
    pub async fn incident_visible_to(&self, id: i64, user: &User) -> Result<bool, CatalogError> {
        let visible: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM incidents i WHERE i.id = ?1 AND (?2 OR EXISTS (
                 SELECT 1 FROM collection_members m
                 WHERE m.collection_id = i.collection_id AND m.user_id = ?3)))",
        )
        .bind(id)
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .fetch_one(self.pool())
        .await?;
        Ok(visible != 0)
    }

    /// Ids of the incidents `user` may see, most recently changed first.
    pub async fn incidents_visible_to(
        &self,
        user: &User,
        limit: i64,
    ) -> Result<Vec<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT i.id FROM incidents i
             WHERE ?1 OR EXISTS (SELECT 1 FROM collection_members m
                                 WHERE m.collection_id = i.collection_id AND m.user_id = ?2)
             ORDER BY i.updated_at DESC, i.id DESC LIMIT ?3",
        )
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces an incident's fields and status, recording each change; returns the changes.
    pub async fn update_incident(
        &self,
        id: i64,
        fields: &IncidentFields,
        status: &str,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<Vec<IncidentChange>, CatalogError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query("SELECT * FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let old = fields_from_row(&row)?;
        let old_status: String = row.try_get("status")?;
        let mut changes = field_changes(&old, fields);
        if old_status != status {
            changes.push(("status", Some(old_status), Some(status.to_owned())));
        }
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query(
            "UPDATE incidents SET title = ?, description = ?, occurred = ?, date_precision = ?,
                 place = ?, place_precision = ?, latitude = ?, longitude = ?, status = ?,
                 updated_at = ?
             WHERE id = ?",
        )
        .bind(&fields.title)
        .bind(&fields.description)
        .bind(&fields.occurred)
        .bind(&fields.date_precision)
        .bind(&fields.place)
        .bind(&fields.place_precision)
        .bind(fields.latitude)
        .bind(fields.longitude)
        .bind(status)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut out = Vec::new();
        for (field, old, new) in changes {
            record_change(
                &mut tx,
                History::Incident,
                id,
                user_id,
                at,
                field,
                old.as_deref(),
                new.as_deref(),
            )
            .await?;
            out.push(IncidentChange {
                user_id,
                at: at.to_owned(),
                field: field.to_owned(),
                old_value: old,
                new_value: new,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Adds (`add`) or removes a tag, label or item link (`what`: `tag`, `label`, `item`);
    /// false when nothing changed.
    pub async fn set_incident_link(
        &self,
        id: i64,
        what: &str,
        value: &str,
        add: bool,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<bool, CatalogError> {
        let (table, column, extra) = match what {
            "tag" => ("incident_tags", "taxonomy_id", true),
            "label" => ("incident_labels", "label", false),
            "item" => ("incident_items", "sha256", true),
            other => {
                return Err(CatalogError::Malformed {
                    table: "incidents",
                    key: id.to_string(),
                    problem: format!("no link kind {other:?}"),
                });
            }
        };
        let mut tx = self.pool().begin().await?;
        let sql = match (add, extra) {
            (true, true) => format!(
                "INSERT INTO {table} (incident_id, {column}, added_by, added_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT DO NOTHING"
            ),
            (true, false) => format!(
                "INSERT INTO {table} (incident_id, {column}) VALUES (?, ?) ON CONFLICT DO NOTHING"
            ),
            (false, _) => format!("DELETE FROM {table} WHERE incident_id = ? AND {column} = ?"),
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(value);
        if add && extra {
            q = q.bind(user_id).bind(at);
        }
        let changed = q.execute(&mut *tx).await?.rows_affected() > 0;
        if changed {
            let field = format!("{what}{}", if add { "+" } else { "-" });
            record_change(
                &mut tx,
                History::Incident,
                id,
                user_id,
                at,
                &field,
                None,
                Some(value),
            )
            .await?;
            sqlx::query("UPDATE incidents SET updated_at = ? WHERE id = ?")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The history of an incident, oldest first.
    pub async fn incident_changes(&self, id: i64) -> Result<Vec<IncidentChange>, CatalogError> {
        read_changes(self, History::Incident, id).await
    }

    /// Records who published an item (replacing an earlier statement).
    pub async fn set_item_publisher(
        &self,
        item: &Sha256Digest,
        publisher: &str,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO item_publishers (sha256, publisher, set_by, set_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (sha256) DO UPDATE SET publisher = excluded.publisher,
                 set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(item.to_hex())
        .bind(publisher)
        .bind(user_id)
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Who published an item, when someone said.
    pub async fn item_publisher(
        &self,
        item: &Sha256Digest,
    ) -> Result<Option<String>, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT publisher FROM item_publishers WHERE sha256 = ?")
                .bind(item.to_hex())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Adds a comment; returns its id.
    pub async fn add_comment(
        &self,
        incident_id: i64,
        user_id: Option<i64>,
        body: &str,
        at: &str,
    ) -> Result<i64, CatalogError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO comments (incident_id, user_id, body, created_at) VALUES (?, ?, ?, ?)
             RETURNING id",
        )
        .bind(incident_id)
        .bind(user_id)
        .bind(body)
        .bind(at)
        .fetch_one(self.pool())
        .await?)
    }

    /// Replaces a comment's text, keeping the old one; false when there is no such comment
    /// on that incident.
    pub async fn edit_comment(
        &self,
        incident_id: i64,
        comment_id: i64,
        body: &str,
        at: &str,
    ) -> Result<bool, CatalogError> {
        let mut tx = self.pool().begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT body FROM comments WHERE id = ? AND incident_id = ?")
                .bind(comment_id)
                .bind(incident_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO comment_revisions (comment_id, body, replaced_at) VALUES (?, ?, ?)",
        )
        .bind(comment_id)
        .bind(old)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE comments SET body = ?, edited_at = ? WHERE id = ?")
            .bind(body)
            .bind(at)
            .bind(comment_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The author of a comment on an incident, when it exists.
    pub async fn comment_author(
        &self,
        incident_id: i64,
        comment_id: i64,
    ) -> Result<Option<Option<i64>>, CatalogError> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM comments WHERE id = ? AND incident_id = ?")
                .bind(comment_id)
                .bind(incident_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// An incident's comments with their revisions, oldest first.
    pub async fn comments(&self, incident_id: i64) -> Result<Vec<Comment>, CatalogError> {
        let rows = sqlx::query("SELECT * FROM comments WHERE incident_id = ? ORDER BY id")
            .bind(incident_id)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let revisions: Vec<(String, String)> = sqlx::query_as(
                "SELECT body, replaced_at FROM comment_revisions WHERE comment_id = ? ORDER BY rowid",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            out.push(Comment {
                id,
                user_id: r.try_get("user_id")?,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
                edited_at: r.try_get("edited_at")?,
                revisions,
            });
        }
        Ok(out)
    }
}

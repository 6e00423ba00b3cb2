//! Persons (migration `0009_persons.sql`): prisoners, detainees, the missing, the dead, with
//! their names in every script, linked incidents and items, and the history of every change.
//! Who may read them (investigators and admins of their collection) is decided in
//! `vigil-core`.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::accounts::{Role, User};
use crate::catalog::{Catalog, CatalogError};
use crate::incidents::{History, read_changes, record_change};

/// One name of a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    /// As written.
    pub name: String,
    /// `armn`, `cyrl`, `latn` or `other` (ISO 15924, lower case); left empty, it is
    /// recognised from the letters.
    #[serde(default)]
    pub script: String,
    /// Whether this is a transliteration of another of the names rather than a spelling a
    /// source used.
    #[serde(default)]
    pub transliteration: bool,
}

/// The fields of a person record that people write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonFields {
    /// Names, the principal one first.
    pub names: Vec<PersonName>,
    /// `pow`, `detained`, `missing`, `deceased`, `remains-returned`, `released`, `unknown`.
    #[serde(default = "unknown")]
    pub status: String,
    /// Military unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// Service number.
    #[serde(default)]
    pub service_number: Option<String>,
    /// Date of birth, as precise as known (ISO 8601).
    #[serde(default)]
    pub born: Option<String>,
    /// Since when the status holds, as precise as known (ISO 8601).
    #[serde(default)]
    pub status_since: Option<String>,
    /// Free notes.
    #[serde(default)]
    pub notes: String,
}

fn unknown() -> String {
    "unknown".into()
}

/// A person record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Catalog id.
    pub id: i64,
    /// The collection whose investigators may see it.
    pub collection_id: i64,
    /// Its fields.
    #[serde(flatten)]
    pub fields: PersonFields,
    /// Linked incidents: (incident id, role).
    pub incidents: Vec<(i64, String)>,
    /// Linked items.
    pub items: Vec<String>,
    /// When created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// A change of a person record.
pub type PersonChange = crate::incidents::RecordChange;

fn scalar_fields(row: &SqliteRow, names: Vec<PersonName>) -> Result<PersonFields, sqlx::Error> {
    Ok(PersonFields {
        names,
        status: row.try_get("status")?,
        unit: row.try_get("unit")?,
        service_number: row.try_get("service_number")?,
        born: row.try_get("born")?,
        status_since: row.try_get("status_since")?,
        notes: row.try_get("notes")?,
    })
}

fn describe_names(names: &[PersonName]) -> String {
    names
        .iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

async fn write_names(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    names: &[PersonName],
) -> Result<(), CatalogError> {
    sqlx::query("DELETE FROM person_names WHERE person_id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (n, name) in names.iter().enumerate() {
        sqlx::query(
            "INSERT INTO person_names (person_id, position, name, script, transliteration)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(n as i64)
        .bind(&name.name)
        .bind(&name.script)
        .bind(name.transliteration)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    user_id: Option<i64>,
    at: &str,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), CatalogError> {
    record_change(tx, History::Person, id, user_id, at, field, old, new).await
}

impl Catalog {
    /// Creates a person record; returns its id.
    pub async fn create_person(
        &self,
        collection_id: i64,
        f: &PersonFields,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<i64, CatalogError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO persons (collection_id, status, unit, service_number, born, status_since,
                 notes, created_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(collection_id)
        .bind(&f.status)
        .bind(&f.unit)
        .bind(&f.service_number)
        .bind(&f.born)
        .bind(&f.status_since)
        .bind(&f.notes)
        .bind(user_id)
        .bind(at)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        write_names(&mut tx, id, &f.names).await?;
        record(
            &mut tx,
            id,
            user_id,
            at,
            "created",
            None,
            Some(&describe_names(&f.names)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One person record with names and links.
    pub async fn person(&self, id: i64) -> Result<Option<Person>, CatalogError> {
        let Some(row) = sqlx::query("SELECT * FROM persons WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let names = sqlx::query(
            "SELECT name, script, transliteration FROM person_names WHERE person_id = ?
             ORDER BY position",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(PersonName {
                name: r.try_get("name")?,
                script: r.try_get("script")?,
                transliteration: r.try_get::<i64, _>("transliteration")? != 0,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let incidents: Vec<(i64, String)> = sqlx::query_as(
            "SELECT incident_id, role FROM incident_persons WHERE person_id = ? ORDER BY incident_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let items: Vec<String> = sqlx::query_scalar(
            "SELECT sha256 FROM person_items WHERE person_id = ? ORDER BY added_at, sha256",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(Some(Person {
            id,
            collection_id: row.try_get("collection_id")?,
            fields: scalar_fields(&row, names)?,
            incidents,
            items,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }

    /// Whether `user` may see person `id`: investigators and admins of its collection (admins
    /// of any); never viewers.
    pub async fn person_visible_to(&self, id: i64, user: &User) -> Result<bool, CatalogError> {
        if user.role < Role::Investigator {
            return Ok(false);
        }
        let visible: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM persons p WHERE p.id = ?1 AND (?2 OR EXISTS (
                 SELECT 1 FROM collection_members m
                 WHERE m.collection_id = p.collection_id AND m.user_id = ?3)))",
        )
        .bind(id)
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .fetch_one(self.pool())
        .await?;
        Ok(visible != 0)
    }

    /// Ids of the person records `user` may see, most recently changed first.
    pub async fn persons_visible_to(
        &self,
        user: &User,
        limit: i64,
    ) -> Result<Vec<i64>, CatalogError> {
        if user.role < Role::Investigator {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT p.id FROM persons p
             WHERE ?1 OR EXISTS (SELECT 1 FROM collection_members m
                                 WHERE m.collection_id = p.collection_id AND m.user_id = ?2)
             ORDER BY p.updated_at DESC, p.id DESC LIMIT ?3",
        )
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces a person record's fields, recording each change; returns the changed fields.
    pub async fn update_person(
        &self,
        id: i64,
        f: &PersonFields,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<Vec<String>, CatalogError> {
        let Some(old) = self.person(id).await? else {
            return Ok(Vec::new());
        };
        let o = &old.fields;
        let mut changes: Vec<(&str, Option<String>, Option<String>)> = Vec::new();
        let mut cmp = |field: &'static str, a: Option<String>, b: Option<String>| {
            if a != b {
                changes.push((field, a, b));
            }
        };
        cmp(
            "names",
            Some(describe_names(&o.names)),
            Some(describe_names(&f.names)),
        );
        cmp("status", Some(o.status.clone()), Some(f.status.clone()));
        cmp("unit", o.unit.clone(), f.unit.clone());
        cmp(
            "service_number",
            o.service_number.clone(),
            f.service_number.clone(),
        );
        cmp("born", o.born.clone(), f.born.clone());
        cmp(
            "status_since",
            o.status_since.clone(),
            f.status_since.clone(),
        );
        cmp("notes", Some(o.notes.clone()), Some(f.notes.clone()));
        if changes.is_empty() && o.names == f.names {
            return Ok(Vec::new());
        }
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE persons SET status = ?, unit = ?, service_number = ?, born = ?,
                 status_since = ?, notes = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&f.status)
        .bind(&f.unit)
        .bind(&f.service_number)
        .bind(&f.born)
        .bind(&f.status_since)
        .bind(&f.notes)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_names(&mut tx, id, &f.names).await?;
        let mut fields = Vec::new();
        for (field, a, b) in &changes {
            record(&mut tx, id, user_id, at, field, a.as_deref(), b.as_deref()).await?;
            fields.push((*field).to_owned());
        }
        tx.commit().await?;
        Ok(fields)
    }

    /// Links (or unlinks) a person and an incident with a role; false when nothing changed.
    pub async fn set_incident_person(
        &self,
        incident_id: i64,
        person_id: i64,
        role: Option<&str>,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<bool, CatalogError> {
        let mut tx = self.pool().begin().await?;
        let changed = match role {
            Some(role) => sqlx::query(
                "INSERT INTO incident_persons (incident_id, person_id, role, added_by, added_at)
                 VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (incident_id, person_id) DO UPDATE SET role = excluded.role
                 WHERE role != excluded.role",
            )
            .bind(incident_id)
            .bind(person_id)
            .bind(role)
            .bind(user_id)
            .bind(at),
            None => {
                sqlx::query("DELETE FROM incident_persons WHERE incident_id = ? AND person_id = ?")
                    .bind(incident_id)
                    .bind(person_id)
            }
        }
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            let value = format!(
                "incident {incident_id}{}",
                role.map(|r| format!(" as {r}")).unwrap_or_default()
            );
            let field = if role.is_some() {
                "incident+"
            } else {
                "incident-"
            };
            record(&mut tx, person_id, user_id, at, field, None, Some(&value)).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Links (or unlinks) a person and an item; false when nothing changed.
    pub async fn set_person_item(
        &self,
        person_id: i64,
        item: &str,
        add: bool,
        user_id: Option<i64>,
        at: &str,
    ) -> Result<bool, CatalogError> {
        let mut tx = self.pool().begin().await?;
        let changed = if add {
            sqlx::query(
                "INSERT INTO person_items (person_id, sha256, added_by, added_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(person_id)
            .bind(item)
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM person_items WHERE person_id = ? AND sha256 = ?")
                .bind(person_id)
                .bind(item)
                .execute(&mut *tx)
                .await?
        }
        .rows_affected()
            > 0;
        if changed {
            let field = if add { "item+" } else { "item-" };
            record(&mut tx, person_id, user_id, at, field, None, Some(item)).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The history of a person record, oldest first.
    pub async fn person_changes(&self, id: i64) -> Result<Vec<PersonChange>, CatalogError> {
        read_changes(self, History::Person, id).await
    }

    /// The persons linked to an incident with their roles (for those allowed to see them).
    pub async fn incident_persons(
        &self,
        incident_id: i64,
    ) -> Result<Vec<(i64, String)>, CatalogError> {
        Ok(sqlx::query_as(
            "SELECT person_id, role FROM incident_persons WHERE incident_id = ? ORDER BY person_id",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?)
    }
}

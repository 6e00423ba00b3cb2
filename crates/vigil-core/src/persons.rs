//! Person records as the workspace edits them: only investigators and admins of the
//! record's collection see them (they hold personal data of protected persons); every read
//! and change is an audit event.
//!
//! A name's script is recognised from its letters (Armenian, Cyrillic, Latin) when not
//! given, so names can be searched and shown by script.

use serde::Serialize;
use vigil_store::{Catalog, Person, PersonChange, PersonFields, Sha256Digest, User, now_rfc3339};

use crate::incidents::{IncidentError, record_event, require_membership};

/// Statuses of a person record.
pub const STATUSES: [&str; 7] = [
    "pow",
    "detained",
    "missing",
    "deceased",
    "remains-returned",
    "released",
    "unknown",
];
/// Roles of a person in an incident.
pub const ROLES: [&str; 4] = ["victim", "perpetrator", "witness", "mentioned"];

/// The script most of a name's letters are written in: `armn`, `cyrl`, `latn` or `other`.
pub fn script_of(name: &str) -> &'static str {
    let (mut armn, mut cyrl, mut latn, mut other) = (0, 0, 0, 0);
    for c in name.chars().filter(|c| c.is_alphabetic()) {
        match c as u32 {
            0x0530..=0x058F | 0xFB13..=0xFB17 => armn += 1,
            0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => cyrl += 1,
            _ if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) => latn += 1,
            _ => other += 1,
        }
    }
    let best = armn.max(cyrl).max(latn).max(other);
    match best {
        0 => "other",
        n if n == armn => "armn",
        n if n == cyrl => "cyrl",
        n if n == latn => "latn",
        _ => "other",
    }
}

/// A person record with its history.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    /// The record.
    #[serde(flatten)]
    pub person: Person,
    /// Every change, oldest first.
    pub history: Vec<PersonChange>,
}

/// Person records are for investigators and admins only.
fn may_see_persons(user: &User) -> Result<(), IncidentError> {
    crate::incidents::may_edit(user)
}

fn iso_date_ok(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m] => digits(y, 4) && digits(m, 2),
        [y, m, d] => digits(y, 4) && digits(m, 2) && digits(d, 2),
        _ => false,
    }
}

/// Checks the fields and fills in each name's script where it was left empty.
fn normalise(f: &PersonFields) -> Result<PersonFields, IncidentError> {
    let bad = |why: String| Err(IncidentError::Invalid(why));
    let mut f = f.clone();
    if f.names.is_empty() {
        return bad("a person needs at least one name".into());
    }
    for n in &mut f.names {
        n.name = n.name.trim().to_owned();
        if n.name.is_empty() || n.name.chars().count() > 300 {
            return bad("each name has 1 to 300 characters".into());
        }
        if n.script.is_empty() || n.script == "auto" {
            n.script = script_of(&n.name).to_owned();
        } else if !["armn", "cyrl", "latn", "other"].contains(&n.script.as_str()) {
            return bad(format!(
                "script {:?} is not armn, cyrl, latn or other",
                n.script
            ));
        }
    }
    if !STATUSES.contains(&f.status.as_str()) {
        return bad(format!("status must be one of {STATUSES:?}"));
    }
    for (what, date) in [("born", &f.born), ("status_since", &f.status_since)] {
        if date.as_deref().is_some_and(|d| !iso_date_ok(d)) {
            return bad(format!("{what} must be YYYY, YYYY-MM or YYYY-MM-DD"));
        }
    }
    if f.notes.chars().count() > 100_000 {
        return bad("the notes are longer than 100,000 characters".into());
    }
    Ok(f)
}

async fn visible(catalog: &Catalog, user: &User, id: i64) -> Result<Person, IncidentError> {
    may_see_persons(user)?;
    if !catalog.person_visible_to(id, user).await? {
        return Err(IncidentError::NotFound);
    }
    catalog.person(id).await?.ok_or(IncidentError::NotFound)
}

async fn log(
    catalog: &Catalog,
    user: &User,
    action: &str,
    id: i64,
    detail: serde_json::Value,
    ip: Option<&str>,
) -> Result<(), IncidentError> {
    record_event(catalog, user, action, &format!("person:{id}"), detail, ip).await
}

/// Creates a person record in a collection the user belongs to (admins: any).
pub async fn create(
    catalog: &Catalog,
    user: &User,
    collection_id: i64,
    fields: &PersonFields,
    ip: Option<&str>,
) -> Result<Person, IncidentError> {
    may_see_persons(user)?;
    let fields = normalise(fields)?;
    require_membership(catalog, user, collection_id).await?;
    let id = catalog
        .create_person(collection_id, &fields, Some(user.id), &now_rfc3339())
        .await?;
    log(
        catalog,
        user,
        "person-create",
        id,
        serde_json::json!({}),
        ip,
    )
    .await?;
    catalog.person(id).await?.ok_or(IncidentError::NotFound)
}

/// A person record with its history (recorded as a view).
pub async fn view(
    catalog: &Catalog,
    user: &User,
    id: i64,
    ip: Option<&str>,
) -> Result<PersonView, IncidentError> {
    let person = visible(catalog, user, id).await?;
    log(catalog, user, "view", id, serde_json::json!({}), ip).await?;
    Ok(PersonView {
        history: catalog.person_changes(id).await?,
        person,
    })
}

/// The person records the user may see (none for viewers), most recently changed first.
pub async fn list(catalog: &Catalog, user: &User) -> Result<Vec<Person>, IncidentError> {
    may_see_persons(user)?;
    let mut out = Vec::new();
    for id in catalog.persons_visible_to(user, 500).await? {
        if let Some(p) = catalog.person(id).await? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Replaces the fields; returns the names of those that changed.
pub async fn update(
    catalog: &Catalog,
    user: &User,
    id: i64,
    fields: &PersonFields,
    ip: Option<&str>,
) -> Result<Vec<String>, IncidentError> {
    visible(catalog, user, id).await?;
    let fields = normalise(fields)?;
    let changed = catalog
        .update_person(id, &fields, Some(user.id), &now_rfc3339())
        .await?;
    if !changed.is_empty() {
        log(
            catalog,
            user,
            "person-edit",
            id,
            serde_json::json!({ "fields": changed }),
            ip,
        )
        .await?;
    }
    Ok(changed)
}

/// Links the person to an incident with a role, or unlinks (`role` `None`); both must be
/// visible to the user.
pub async fn link_incident(
    catalog: &Catalog,
    user: &User,
    id: i64,
    incident_id: i64,
    role: Option<&str>,
    ip: Option<&str>,
) -> Result<bool, IncidentError> {
    visible(catalog, user, id).await?;
    if !catalog.incident_visible_to(incident_id, user).await? {
        return Err(IncidentError::NotFound);
    }
    if role.is_some_and(|r| !ROLES.contains(&r)) {
        return Err(IncidentError::Invalid(format!(
            "role must be one of {ROLES:?}"
        )));
    }
    let changed = catalog
        .set_incident_person(incident_id, id, role, Some(user.id), &now_rfc3339())
        .await?;
    if changed {
        log(
            catalog,
            user,
            if role.is_some() {
                "person-incident+"
            } else {
                "person-incident-"
            },
            id,
            serde_json::json!({ "incident": incident_id, "role": role }),
            ip,
        )
        .await?;
    }
    Ok(changed)
}

/// Links (or unlinks) the person and an item the user may see.
pub async fn link_item(
    catalog: &Catalog,
    user: &User,
    id: i64,
    item: &str,
    add: bool,
    ip: Option<&str>,
) -> Result<bool, IncidentError> {
    visible(catalog, user, id).await?;
    let digest: Sha256Digest = item.parse().map_err(|_| IncidentError::NotFound)?;
    if add && !catalog.item_visible_to(&digest, user).await? {
        return Err(IncidentError::NotFound);
    }
    let changed = catalog
        .set_person_item(id, &digest.to_hex(), add, Some(user.id), &now_rfc3339())
        .await?;
    if changed {
        log(
            catalog,
            user,
            if add { "person-item+" } else { "person-item-" },
            id,
            serde_json::json!({ "item": digest.to_hex() }),
            ip,
        )
        .await?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_recognised() {
        assert_eq!(script_of("Արամ Պետրոսյան"), "armn");
        assert_eq!(script_of("Арам Петросян"), "cyrl");
        assert_eq!(script_of("Aram Petrosyan"), "latn");
        assert_eq!(script_of("Əliyev Ramil"), "latn");
        assert_eq!(script_of("1234"), "other");
        assert_eq!(script_of("Արամ Petrosyan Պետրոսյան"), "armn");
    }

    #[test]
    fn fields_are_checked_and_scripts_filled_in() {
        let f = PersonFields {
            names: vec![vigil_store::PersonName {
                name: " Արամ Պետրոսյան ".into(),
                script: String::new(),
                transliteration: false,
            }],
            status: "pow".into(),
            born: Some("1999-04".into()),
            ..Default::default()
        };
        let n = normalise(&f).expect("valid");
        assert_eq!(
            (n.names[0].name.as_str(), n.names[0].script.as_str()),
            ("Արամ Պետրոսյան", "armn")
        );
        let mut bad = f.clone();
        bad.status = "captured".into();
        assert!(normalise(&bad).is_err());
        let mut bad = f.clone();
        bad.born = Some("April 1999".into());
        assert!(normalise(&bad).is_err());
        let mut bad = f;
        bad.names.clear();
        assert!(normalise(&bad).is_err());
    }
}

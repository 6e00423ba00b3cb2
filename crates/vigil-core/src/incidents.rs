//! Incidents as the workspace edits them: who may do what, what a valid incident is, the IHL
//! taxonomy's rules, and an audit event for every change.
//!
//! - Viewers read the incidents of their collections; investigators also create and edit
//!   them, tag, label, link items, comment; admins do all of it everywhere.
//! - Status moves one step at a time (new → in-review → verified → reported), or back to
//!   in-review to reopen.
//! - Tags are entries of the compiled-in taxonomy. An entry that cannot apply to the office's
//!   own holdings (publishing images of captives: "public curiosity") needs a linked item
//!   that someone else published; the office's own copies never qualify.

use serde::Serialize;
use vigil_store::{
    Catalog, Comment, Incident, IncidentChange, IncidentFields, Role, Sha256Digest, User,
    now_rfc3339,
};
use vigil_taxonomy::{Publisher, Taxonomy};

use crate::CoreError;
use crate::accounts::audit;

/// Sensitivity labels an incident can carry.
pub const LABELS: [&str; 4] = [
    "graphic-violence",
    "identifiable-prisoner",
    "personal-data",
    "deceptive-or-misleading",
];
/// Statuses, in order.
pub const STATUSES: [&str; 4] = ["new", "in-review", "verified", "reported"];
const DATE_PRECISIONS: [&str; 5] = ["day", "month", "year", "approximate", "unknown"];
const PLACE_PRECISIONS: [&str; 6] = [
    "exact",
    "settlement",
    "district",
    "region",
    "country",
    "unknown",
];

/// Why an incident operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// No such incident (or item), or not visible to this account: the same answer.
    #[error("not found")]
    NotFound,
    /// The account's role does not allow it.
    #[error("your role does not allow this")]
    Forbidden,
    /// The request is not valid; says why.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<vigil_store::CatalogError> for IncidentError {
    fn from(e: vigil_store::CatalogError) -> Self {
        IncidentError::Core(CoreError::Catalog(e))
    }
}

/// A tag with what the taxonomy says of it.
#[derive(Debug, Clone, Serialize)]
pub struct TagView {
    /// Taxonomy id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Its provisions, as cited (`GCIII 13(2)`), with `unverified` ones marked.
    pub provisions: Vec<(String, bool)>,
    /// The points of law to show with it (codes and texts).
    pub notes: Vec<(&'static str, &'static str)>,
}

/// An incident with everything shown with it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// The incident.
    #[serde(flatten)]
    pub incident: Incident,
    /// Its tags, explained.
    pub tag_details: Vec<TagView>,
    /// Every change, oldest first.
    pub history: Vec<IncidentChange>,
    /// Comments with their earlier texts.
    pub comments: Vec<Comment>,
    /// Linked persons (id, role): only for investigators and admins, who may see person
    /// records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persons: Option<Vec<(i64, String)>>,
}

/// A tag explained by the embedded taxonomy (an unknown id is shown as it is).
pub fn tag_view(id: &str) -> TagView {
    match Taxonomy::load().get(id) {
        Some(e) => TagView {
            id: id.to_owned(),
            label: e.label.clone(),
            provisions: e
                .provisions
                .iter()
                .map(|p| (p.text.clone(), e.is_verified(p)))
                .collect(),
            notes: e
                .legal_notes()
                .iter()
                .map(|n| (n.code(), n.text()))
                .collect(),
        },
        // A tag from a taxonomy version that has since dropped the entry: shown as it is.
        None => TagView {
            id: id.to_owned(),
            label: id.to_owned(),
            provisions: Vec::new(),
            notes: Vec::new(),
        },
    }
}

fn validate(f: &IncidentFields) -> Result<(), IncidentError> {
    let bad = |why: String| Err(IncidentError::Invalid(why));
    let title = f.title.trim();
    if title.is_empty() || title.chars().count() > 500 {
        return bad("the title must have 1 to 500 characters".into());
    }
    if f.description.chars().count() > 100_000 {
        return bad("the description is longer than 100,000 characters".into());
    }
    if !DATE_PRECISIONS.contains(&f.date_precision.as_str()) {
        return bad(format!("date precision must be one of {DATE_PRECISIONS:?}"));
    }
    if !PLACE_PRECISIONS.contains(&f.place_precision.as_str()) {
        return bad(format!(
            "place precision must be one of {PLACE_PRECISIONS:?}"
        ));
    }
    if let Some(date) = &f.occurred {
        let parts: Vec<&str> = date.split('-').collect();
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let shape_ok = match parts.as_slice() {
            [y] => digits(y, 4),
            [y, m] => digits(y, 4) && digits(m, 2),
            [y, m, d] => digits(y, 4) && digits(m, 2) && digits(d, 2),
            _ => false,
        };
        let needs = match f.date_precision.as_str() {
            "day" => 3,
            "month" => 2,
            "year" => 1,
            _ => parts.len(),
        };
        if !shape_ok || parts.len() != needs {
            return bad(format!(
                "occurred must be YYYY, YYYY-MM or YYYY-MM-DD matching its precision ({}), not {date:?}",
                f.date_precision
            ));
        }
    }
    match (f.latitude, f.longitude) {
        (Some(lat), Some(lon))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {}
        (None, None) => {}
        _ => return bad("latitude and longitude go together, within ±90 and ±180".into()),
    }
    Ok(())
}

/// Investigators and admins only (viewers read incidents; they neither edit them nor see
/// person records).
pub(crate) fn may_edit(user: &User) -> Result<(), IncidentError> {
    if user.role >= Role::Investigator {
        Ok(())
    } else {
        Err(IncidentError::Forbidden)
    }
}

async fn visible(catalog: &Catalog, user: &User, id: i64) -> Result<Incident, IncidentError> {
    if !catalog.incident_visible_to(id, user).await? {
        return Err(IncidentError::NotFound);
    }
    catalog.incident(id).await?.ok_or(IncidentError::NotFound)
}

async fn log(
    catalog: &Catalog,
    user: &User,
    action: &str,
    id: i64,
    detail: serde_json::Value,
    ip: Option<&str>,
) -> Result<(), IncidentError> {
    record_event(catalog, user, action, &format!("incident:{id}"), detail, ip).await
}

/// Writes an audit event about a workspace record.
pub(crate) async fn record_event(
    catalog: &Catalog,
    user: &User,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
    ip: Option<&str>,
) -> Result<(), IncidentError> {
    audit(catalog, Some(user), action, subject, detail, ip).await?;
    Ok(())
}

/// Records go only into a collection the user belongs to (admins: any); another
/// collection is answered as not found.
pub(crate) async fn require_membership(
    catalog: &Catalog,
    user: &User,
    collection_id: i64,
) -> Result<(), IncidentError> {
    let member = user.role == Role::Admin
        || catalog
            .collections_of(user.id)
            .await?
            .contains(&collection_id);
    if member {
        Ok(())
    } else {
        Err(IncidentError::NotFound)
    }
}

/// Creates an incident in a collection the user belongs to (admins: any).
pub async fn create(
    catalog: &Catalog,
    user: &User,
    collection_id: i64,
    fields: &IncidentFields,
    ip: Option<&str>,
) -> Result<Incident, IncidentError> {
    may_edit(user)?;
    validate(fields)?;
    require_membership(catalog, user, collection_id).await?;
    let mut fields = fields.clone();
    fields.title = fields.title.trim().to_owned();
    let id = catalog
        .create_incident(collection_id, &fields, Some(user.id), &now_rfc3339())
        .await?;
    log(
        catalog,
        user,
        "incident-create",
        id,
        serde_json::json!({ "title": fields.title }),
        ip,
    )
    .await?;
    catalog.incident(id).await?.ok_or(IncidentError::NotFound)
}

/// An incident with its tags explained, history and comments (recorded as a view).
pub async fn view(
    catalog: &Catalog,
    user: &User,
    id: i64,
    ip: Option<&str>,
) -> Result<IncidentView, IncidentError> {
    let incident = visible(catalog, user, id).await?;
    log(catalog, user, "view", id, serde_json::json!({}), ip).await?;
    let persons = if user.role >= Role::Investigator {
        Some(catalog.incident_persons(id).await?)
    } else {
        None
    };
    Ok(IncidentView {
        tag_details: incident.tags.iter().map(|t| tag_view(t)).collect(),
        history: catalog.incident_changes(id).await?,
        comments: catalog.comments(id).await?,
        persons,
        incident,
    })
}

/// Whether the status may move from `old` to `new`.
pub fn status_move_allowed(old: &str, new: &str) -> bool {
    let pos = |s: &str| STATUSES.iter().position(|x| *x == s);
    match (pos(old), pos(new)) {
        (Some(a), Some(b)) => b == a || b == a + 1 || (new == "in-review" && a > 1),
        _ => false,
    }
}

/// Replaces the fields and status; returns the recorded changes.
pub async fn update(
    catalog: &Catalog,
    user: &User,
    id: i64,
    fields: &IncidentFields,
    status: &str,
    ip: Option<&str>,
) -> Result<Vec<IncidentChange>, IncidentError> {
    may_edit(user)?;
    let incident = visible(catalog, user, id).await?;
    validate(fields)?;
    if !status_move_allowed(&incident.status, status) {
        return Err(IncidentError::Invalid(format!(
            "the status cannot move from {} to {status} (one step forward, or back to in-review)",
            incident.status
        )));
    }
    let mut fields = fields.clone();
    fields.title = fields.title.trim().to_owned();
    let changes = catalog
        .update_incident(id, &fields, status, Some(user.id), &now_rfc3339())
        .await?;
    if !changes.is_empty() {
        let changed: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        log(
            catalog,
            user,
            "incident-edit",
            id,
            serde_json::json!({ "fields": changed }),
            ip,
        )
        .await?;
    }
    Ok(changes)
}

/// Adds or removes a tag (taxonomy id), label, or linked item (SHA-256 the user may see).
pub async fn link(
    catalog: &Catalog,
    user: &User,
    id: i64,
    what: &str,
    value: &str,
    add: bool,
    ip: Option<&str>,
) -> Result<bool, IncidentError> {
    may_edit(user)?;
    let incident = visible(catalog, user, id).await?;
    match what {
        "tag" if add => {
            let entry = Taxonomy::load().get(value).ok_or_else(|| {
                IncidentError::Invalid(format!("{value:?} is not an entry of the IHL taxonomy"))
            })?;
            if !entry.may_apply_to(Publisher::OwnOffice) {
                let mut someone_else = false;
                for item in &incident.items {
                    let digest: Sha256Digest = item.parse().map_err(|_| IncidentError::NotFound)?;
                    let publisher = catalog.item_publisher(&digest).await?;
                    someone_else |= publisher
                        .as_deref()
                        .and_then(Publisher::from_code)
                        .is_some_and(|p| p != Publisher::OwnOffice);
                }
                if !someone_else {
                    return Err(IncidentError::Invalid(format!(
                        "{value} applies to footage published by others: link an item and say \
                         who published it (perpetrator side or third party) first; the office's \
                         own holdings are never \"public curiosity\""
                    )));
                }
            }
        }
        "tag" => {}
        "label" if LABELS.contains(&value) => {}
        "label" => {
            return Err(IncidentError::Invalid(format!(
                "label must be one of {LABELS:?}"
            )));
        }
        "item" => {
            let digest: Sha256Digest = value.parse().map_err(|_| IncidentError::NotFound)?;
            if add && !catalog.item_visible_to(&digest, user).await? {
                return Err(IncidentError::NotFound);
            }
        }
        other => return Err(IncidentError::Invalid(format!("cannot link a {other}"))),
    }
    let changed = catalog
        .set_incident_link(id, what, value, add, Some(user.id), &now_rfc3339())
        .await?;
    if changed {
        let action = format!("incident-{what}{}", if add { "+" } else { "-" });
        log(
            catalog,
            user,
            &action,
            id,
            serde_json::json!({ "value": value }),
            ip,
        )
        .await?;
    }
    Ok(changed)
}

/// Says who published an item the user may see.
pub async fn set_publisher(
    catalog: &Catalog,
    user: &User,
    item: &Sha256Digest,
    publisher: &str,
    ip: Option<&str>,
) -> Result<(), IncidentError> {
    may_edit(user)?;
    if !catalog.item_visible_to(item, user).await? {
        return Err(IncidentError::NotFound);
    }
    if Publisher::from_code(publisher).is_none() {
        return Err(IncidentError::Invalid(
            "publisher must be perpetrator-side, third-party or own-office".into(),
        ));
    }
    catalog
        .set_item_publisher(item, publisher, Some(user.id), &now_rfc3339())
        .await?;
    audit(
        catalog,
        Some(user),
        "item-publisher",
        &format!("item:{}", item.to_hex()),
        serde_json::json!({ "publisher": publisher }),
        ip,
    )
    .await?;
    Ok(())
}

/// Adds a comment (investigators and admins); returns its id.
pub async fn comment(
    catalog: &Catalog,
    user: &User,
    id: i64,
    body: &str,
    ip: Option<&str>,
) -> Result<i64, IncidentError> {
    may_edit(user)?;
    visible(catalog, user, id).await?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(IncidentError::Invalid(
            "a comment has 1 to 20,000 characters".into(),
        ));
    }
    let comment = catalog
        .add_comment(id, Some(user.id), body, &now_rfc3339())
        .await?;
    log(
        catalog,
        user,
        "comment-add",
        id,
        serde_json::json!({ "comment": comment }),
        ip,
    )
    .await?;
    Ok(comment)
}

/// Edits a comment (its author, or an admin); the old text is kept.
pub async fn edit_comment(
    catalog: &Catalog,
    user: &User,
    id: i64,
    comment_id: i64,
    body: &str,
    ip: Option<&str>,
) -> Result<(), IncidentError> {
    may_edit(user)?;
    visible(catalog, user, id).await?;
    let author = catalog
        .comment_author(id, comment_id)
        .await?
        .ok_or(IncidentError::NotFound)?;
    if author != Some(user.id) && user.role != Role::Admin {
        return Err(IncidentError::Forbidden);
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(IncidentError::Invalid(
            "a comment has 1 to 20,000 characters".into(),
        ));
    }
    catalog
        .edit_comment(id, comment_id, body, &now_rfc3339())
        .await?;
    log(
        catalog,
        user,
        "comment-edit",
        id,
        serde_json::json!({ "comment": comment_id }),
        ip,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_one_step_or_reopen() {
        assert!(status_move_allowed("new", "in-review"));
        assert!(status_move_allowed("in-review", "verified"));
        assert!(status_move_allowed("verified", "reported"));
        assert!(status_move_allowed("reported", "in-review"));
        assert!(status_move_allowed("verified", "verified"));
        assert!(!status_move_allowed("new", "verified"));
        assert!(!status_move_allowed("new", "reported"));
        assert!(!status_move_allowed("in-review", "new"));
        assert!(!status_move_allowed("new", "closed"));
    }

    #[test]
    fn fields_are_validated() {
        let ok = IncidentFields {
            title: "Beating of a captured soldier".into(),
            occurred: Some("2023-09".into()),
            date_precision: "month".into(),
            place_precision: "unknown".into(),
            ..Default::default()
        };
        assert!(validate(&ok).is_ok());
        let with = |f: &dyn Fn(&mut IncidentFields)| {
            let mut x = ok.clone();
            f(&mut x);
            validate(&x).is_err()
        };
        assert!(with(&|x| x.title = "  ".into()));
        assert!(
            with(&|x| x.occurred = Some("2023-09-19".into())),
            "day given, month said"
        );
        assert!(with(&|x| x.occurred = Some("Sept 2023".into())));
        assert!(with(&|x| x.date_precision = "roughly".into()));
        assert!(
            with(&|x| x.latitude = Some(40.0)),
            "latitude without longitude"
        );
        assert!(with(&|x| {
            x.latitude = Some(91.0);
            x.longitude = Some(0.0);
        }));
    }
}

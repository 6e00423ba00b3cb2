//! The workspace's full-text search: documents built from the catalog for `vigil-search`
//! (incidents with their comments, person records, captured items with what their posts
//! say), and queries limited to what the asking account may see.

use vigil_search::{DocKind, Query, SearchDoc, SearchIndex, Visibility};
use vigil_store::{Catalog, Role, Sha256Digest, User};

use crate::CoreError;

/// The search document of an incident (title, description and comments; tags, status,
/// labels, date), or `None` when it no longer exists.
pub async fn incident_doc(catalog: &Catalog, id: i64) -> Result<Option<SearchDoc>, CoreError> {
    let Some(i) = catalog.incident(id).await? else {
        return Ok(None);
    };
    let mut body = i.fields.description.clone();
    if let Some(place) = &i.fields.place {
        body.push('\n');
        body.push_str(place);
    }
    for c in catalog.comments(id).await? {
        body.push('\n');
        body.push_str(&c.body);
    }
    Ok(Some(SearchDoc {
        kind: DocKind::Incident,
        id: id.to_string(),
        collection_id: i.collection_id,
        title: i.fields.title,
        body,
        tags: i.tags,
        status: Some(i.status),
        sensitivity: i.labels,
        date: i.fields.occurred,
        ..Default::default()
    }))
}

/// The search document of a person record (every name, unit, service number, notes);
/// restricted, so viewers never find it.
pub async fn person_doc(catalog: &Catalog, id: i64) -> Result<Option<SearchDoc>, CoreError> {
    let Some(p) = catalog.person(id).await? else {
        return Ok(None);
    };
    let names: Vec<String> = p.fields.names.iter().map(|n| n.name.clone()).collect();
    let body = [
        p.fields.unit.clone(),
        p.fields.service_number.clone(),
        Some(p.fields.notes.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    Ok(Some(SearchDoc {
        kind: DocKind::Person,
        id: id.to_string(),
        collection_id: p.collection_id,
        title: names.first().cloned().unwrap_or_default(),
        body,
        names,
        status: Some(p.fields.status),
        date: p.fields.status_since,
        restricted: true,
        ..Default::default()
    }))
}

/// The search documents of a captured item, one per collection holding it: each has the
/// names and sources it was captured under and the notes written in that collection only, and
/// what its post says (title, description, uploader, platform: read from the item's own
/// bytes, so the same in every collection) when a yt-dlp `.info.json` of it was read. Empty
/// for items of no capture (derived pictures).
pub async fn item_docs(
    catalog: &Catalog,
    item: &Sha256Digest,
) -> Result<Vec<SearchDoc>, CoreError> {
    let captures = catalog.captures_of_item_by_collection(item).await?;
    if captures.is_empty() {
        return Ok(Vec::new());
    }
    let mut post_body = Vec::new();
    let mut post_title = None;
    let mut names = Vec::new();
    let mut platform = None;
    if let Some(m) = catalog.metadata_of(item).await? {
        let post = &m.report["post"];
        for key in ["title", "description"] {
            if let Some(t) = post[key].as_str() {
                post_body.push(t.to_owned());
            }
        }
        post_title = post["title"].as_str().map(str::to_owned);
        names.extend(post["uploader"].as_str().map(str::to_owned));
        platform = post["platform"].as_str().map(str::to_lowercase);
    }
    // Collections in the order of their first capture of the item.
    let mut collections: Vec<i64> = Vec::new();
    for (_, collection) in &captures {
        if !collections.contains(collection) {
            collections.push(*collection);
        }
    }
    let mut docs = Vec::with_capacity(collections.len());
    for collection in collections {
        let mut body = Vec::new();
        let mut file_names = Vec::new();
        let mut first_captured_at: Option<String> = None;
        for (id, _) in captures.iter().filter(|(_, c)| *c == collection) {
            let Some(c) = catalog.capture(*id).await? else {
                continue;
            };
            body.push(c.record.source.clone());
            body.extend(c.record.note.clone());
            if let Some(name) = c.record.name_of(item)
                && !file_names.contains(&name)
            {
                file_names.push(name);
            }
            if first_captured_at
                .as_ref()
                .is_none_or(|t| c.record.captured_at < *t)
            {
                first_captured_at = Some(c.record.captured_at.clone());
            }
        }
        body.extend(post_body.iter().cloned());
        file_names.sort();
        let title = post_title
            .clone()
            .or_else(|| file_names.first().cloned())
            .unwrap_or_else(|| item.to_hex()[..12].to_owned());
        docs.push(SearchDoc {
            kind: DocKind::Item,
            id: item.to_hex(),
            collection_id: collection,
            title,
            body: body.join("\n"),
            names: names.clone(),
            platform: platform.clone(),
            date: first_captured_at.map(|t| t[..10.min(t.len())].to_owned()),
            ..Default::default()
        });
    }
    Ok(docs)
}

/// Every document of the catalog (rebuilding the index from scratch).
pub async fn all_docs(catalog: &Catalog) -> Result<Vec<SearchDoc>, CoreError> {
    let mut docs = Vec::new();
    let everyone = User {
        id: 0,
        username: String::new(),
        display_name: String::new(),
        role: Role::Admin,
        disabled: false,
        show_graphic: false,
        created_at: String::new(),
    };
    for id in catalog.incidents_visible_to(&everyone, i64::MAX).await? {
        docs.extend(incident_doc(catalog, id).await?);
    }
    for id in catalog.persons_visible_to(&everyone, i64::MAX).await? {
        docs.extend(person_doc(catalog, id).await?);
    }
    let mut after: Option<String> = None;
    loop {
        let (items, _, last) = catalog.items_page(after.as_deref(), 1000).await?;
        if items.is_empty() {
            break;
        }
        for i in &items {
            docs.extend(item_docs(catalog, &i.sha256).await?);
        }
        after = last;
    }
    Ok(docs)
}

/// A query limited to what `user` may see: admins every collection, others their own;
/// person records only for investigators and admins.
pub async fn query_for(catalog: &Catalog, user: &User, text: &str) -> Result<Query, CoreError> {
    let collections = if user.role == Role::Admin {
        Visibility::All
    } else {
        Visibility::Only(catalog.collections_of(user.id).await?)
    };
    let mut q = Query::new(text, collections);
    q.include_restricted = user.role >= Role::Investigator;
    Ok(q)
}

/// Rebuilds `index` from the catalog.
pub async fn rebuild(
    catalog: &Catalog,
    index: &std::sync::RwLock<SearchIndex>,
) -> Result<usize, CoreError> {
    let docs = all_docs(catalog).await?;
    let n = docs.len();
    let mut guard = index
        .write()
        .map_err(|_| CoreError::Usage("the search index lock is poisoned".into()))?;
    guard.upsert(docs).map_err(search_error)?;
    guard.commit().map_err(search_error)?;
    Ok(n)
}

/// Re-indexes some documents after a change.
pub fn update(
    index: &std::sync::RwLock<SearchIndex>,
    docs: Vec<SearchDoc>,
) -> Result<(), CoreError> {
    let mut guard = index
        .write()
        .map_err(|_| CoreError::Usage("the search index lock is poisoned".into()))?;
    guard.upsert(docs).map_err(search_error)?;
    guard.commit().map_err(search_error)
}

/// A search error as a core error.
pub fn search_error(e: vigil_search::SearchError) -> CoreError {
    CoreError::Usage(format!("search index: {e}"))
}

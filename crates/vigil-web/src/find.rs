//! Search: the page and `/api/v1/search`, limited to what the account may see, and keeping
//! the index current after each change made through the workspace.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_search::{DocKind, Hit, SearchResults};
use vigil_store::{Sha256Digest, User};

use crate::auth::SignedIn;
use crate::{AppState, WebError};

/// Search parameters.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
}

async fn run(state: &AppState, who: &SignedIn, p: &Params) -> Result<SearchResults, WebError> {
    let Some(index) = &state.search else {
        return Err(WebError::bad_request(
            "search is turned off on this server",
            who.api,
        ));
    };
    let mut q = vigil_core::search::query_for(&state.catalog, who.user(), &p.q)
        .await
        .map_err(|e| WebError::internal(e, who.api))?;
    q.kinds = p
        .kind
        .as_deref()
        .and_then(DocKind::parse)
        .into_iter()
        .collect();
    q.tags = p.tag.clone().into_iter().collect();
    q.statuses = p.status.clone().into_iter().collect();
    q.limit = p.limit.unwrap_or(20).min(200);
    q.offset = p.offset.unwrap_or(0);
    let results = tokio::task::block_in_place(|| {
        index
            .read()
            .map_err(|_| WebError::internal("search index lock poisoned", who.api))?
            .search(&q)
            .map_err(|e| WebError::bad_request(e.to_string(), who.api))
    })?;
    vigil_core::accounts::audit(
        &state.catalog,
        Some(who.user()),
        "search",
        "search",
        json!({ "q": p.q, "results": results.total }),
        who.client.ip.as_deref(),
    )
    .await
    .map_err(|e| WebError::internal(e, who.api))?;
    Ok(results)
}

fn link(hit: &Hit) -> String {
    match hit.kind {
        DocKind::Incident => format!("/incidents/{}", hit.id),
        DocKind::Person => format!("/persons/{}", hit.id),
        _ => format!("/items/{}", hit.id),
    }
}

/// `GET /api/v1/search`.
pub async fn api(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Query(p): Query<Params>,
) -> Result<Json<Value>, WebError> {
    let r = run(&state, &who, &p).await?;
    let hits: Vec<Value> = r
        .hits
        .iter()
        .map(|h| json!({ "kind": h.kind.as_str(), "id": h.id, "title": h.title, "snippet": h.snippet, "url": link(h) }))
        .collect();
    Ok(Json(
        json!({ "total": r.total, "hits": hits, "facets": r.facets }),
    ))
}

/// Results with each hit's link.
struct PairedResults {
    total: usize,
    hits: Vec<(Hit, String)>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    q: &'a str,
    results: Option<PairedResults>,
    facets: Vec<(String, Vec<(String, u64)>)>,
}

/// `GET /search?q=…`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Query(p): Query<Params>,
) -> Result<Response, WebError> {
    let results = if p.q.trim().is_empty() {
        None
    } else {
        Some(run(&state, &who, &p).await?)
    };
    let facets = results
        .as_ref()
        .map(|r| {
            r.facets
                .iter()
                .filter(|(_, values)| !values.is_empty())
                .map(|(k, v): (&String, &BTreeMap<String, u64>)| {
                    (k.clone(), v.iter().map(|(a, b)| (a.clone(), *b)).collect())
                })
                .collect()
        })
        .unwrap_or_default();
    let results = results.map(|r| PairedResults {
        total: r.total,
        hits: r
            .hits
            .into_iter()
            .map(|h| {
                let l = link(&h);
                (h, l)
            })
            .collect(),
    });
    SearchPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        q: &p.q,
        results,
        facets,
    }
    .render()
    .map(|h| axum::response::Html(h).into_response())
    .map_err(|e| WebError::internal(e, false))
}

/// Re-indexes an incident after a change (errors are logged: the catalog is the record).
pub async fn refresh_incident(state: &AppState, id: i64) {
    if let Some(index) = &state.search {
        match vigil_core::search::incident_doc(&state.catalog, id).await {
            Ok(doc) => update(index, doc.into_iter().collect()),
            Err(e) => tracing::warn!(error = %e, "could not index incident {id}"),
        }
    }
}

/// Re-indexes a person record after a change.
pub async fn refresh_person(state: &AppState, id: i64) {
    if let Some(index) = &state.search {
        match vigil_core::search::person_doc(&state.catalog, id).await {
            Ok(doc) => update(index, doc.into_iter().collect()),
            Err(e) => tracing::warn!(error = %e, "could not index person {id}"),
        }
    }
}

/// Re-indexes items after a capture or their enrichment.
pub async fn refresh_items(state: &AppState, items: &[Sha256Digest]) {
    if let Some(index) = &state.search {
        let mut docs = Vec::new();
        for i in items {
            match vigil_core::search::item_doc(&state.catalog, i).await {
                Ok(doc) => docs.extend(doc),
                Err(e) => tracing::warn!(error = %e, "could not index an item"),
            }
        }
        update(index, docs);
    }
}

fn update(
    index: &std::sync::RwLock<vigil_search::SearchIndex>,
    docs: Vec<vigil_search::SearchDoc>,
) {
    if docs.is_empty() {
        return;
    }
    if let Err(e) = tokio::task::block_in_place(|| vigil_core::search::update(index, docs)) {
        tracing::warn!(error = %e, "could not update the search index");
    }
}

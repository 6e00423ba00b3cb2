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

/// Search parameters: the words and one value per filter (an empty value is no filter, as an
/// untouched form field sends).
#[derive(Debug, Default, Clone, Deserialize)]
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
    platform: Option<String>,
    #[serde(default)]
    sensitivity: Option<String>,
    /// Earliest date (ISO 8601, as precise as known).
    #[serde(default)]
    from: Option<String>,
    /// Latest date.
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
}

impl Params {
    /// A filter's value when one was given (blank form fields are no filter).
    fn set<'a>(&self, value: &'a Option<String>) -> Option<&'a str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    /// Whether there is anything to search for: words or at least one filter.
    fn asks(&self) -> bool {
        !self.q.trim().is_empty()
            || [
                &self.kind,
                &self.tag,
                &self.status,
                &self.platform,
                &self.sensitivity,
                &self.from,
                &self.to,
            ]
            .into_iter()
            .any(|v| self.set(v).is_some())
    }

    /// This search's address with `facet` narrowed to `value` (the facet link).
    fn narrowed(&self, facet: &str, value: &str) -> String {
        let mut p = self.clone();
        let slot = match facet {
            "kind" => &mut p.kind,
            "tag" => &mut p.tag,
            "status" => &mut p.status,
            "platform" => &mut p.platform,
            "sensitivity" => &mut p.sensitivity,
            _ => return String::new(),
        };
        *slot = Some(value.to_owned());
        let mut url = url::form_urlencoded::Serializer::for_suffix(String::from("/search?"), 8);
        url.append_pair("q", &p.q);
        for (name, v) in [
            ("kind", &p.kind),
            ("tag", &p.tag),
            ("status", &p.status),
            ("platform", &p.platform),
            ("sensitivity", &p.sensitivity),
            ("from", &p.from),
            ("to", &p.to),
        ] {
            if let Some(v) = p.set(v) {
                url.append_pair(name, v);
            }
        }
        url.finish()
    }
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
    q.kinds = match p.set(&p.kind) {
        Some(k) => vec![DocKind::parse(k).ok_or_else(|| {
            WebError::bad_request(format!("there is no kind of record {k:?}"), who.api)
        })?],
        None => Vec::new(),
    };
    q.tags = p.set(&p.tag).map(str::to_owned).into_iter().collect();
    q.statuses = p.set(&p.status).map(str::to_owned).into_iter().collect();
    q.platforms = p.set(&p.platform).map(str::to_owned).into_iter().collect();
    q.sensitivity = p
        .set(&p.sensitivity)
        .map(str::to_owned)
        .into_iter()
        .collect();
    q.date_from = p.set(&p.from).map(str::to_owned);
    q.date_to = p.set(&p.to).map(str::to_owned);
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

/// A facet value on the page: (value, how many matches carry it, the search narrowed to it).
type FacetValue = (String, u64, String);

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    p: &'a Params,
    results: Option<PairedResults>,
    /// Facet → its values.
    facets: Vec<(String, Vec<FacetValue>)>,
    /// Taxonomy entries for the tag filter, by category.
    tags: Vec<(String, Vec<(String, String)>)>,
    /// Statuses for the status filter: incidents', then persons'.
    statuses: Vec<&'static str>,
    labels: [&'static str; 4],
}

impl SearchPage<'_> {
    fn value<'b>(&self, v: &'b Option<String>) -> &'b str {
        v.as_deref().unwrap_or("")
    }
}

/// `GET /search?q=…`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Query(p): Query<Params>,
) -> Result<Response, WebError> {
    let results = if !p.asks() {
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
                    let values = v
                        .iter()
                        .map(|(a, b)| (a.clone(), *b, p.narrowed(k, a)))
                        .collect();
                    (k.clone(), values)
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
        p: &p,
        results,
        facets,
        tags: crate::work::taxonomy_choices(),
        statuses: vigil_core::incidents::STATUSES
            .iter()
            .chain(vigil_core::persons::STATUSES.iter())
            .copied()
            .collect(),
        labels: vigil_core::incidents::LABELS,
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
            match vigil_core::search::item_docs(&state.catalog, i).await {
                Ok(item_docs) => docs.extend(item_docs),
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

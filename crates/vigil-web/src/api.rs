//! The JSON API under `/api/v1`, described by the OpenAPI document it serves at
//! `/api/v1/openapi.json`. The same sign-in (session cookie), visibility and audit rules as
//! the pages; state-changing requests carry the session's CSRF token in `X-CSRF-Token`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::accounts;
use vigil_core::incidents::{self, IncidentError};
use vigil_core::persons;
use vigil_store::{IncidentFields, PersonFields, Role};

use crate::auth::SignedIn;
use crate::pages::visible_item;
use crate::{AppState, WebError};

/// The API's routes (mounted under `/api/v1`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me))
        .route("/captures", get(captures))
        .route("/items/{sha256}", get(item))
        .route("/taxonomy", get(taxonomy))
        .route("/incidents", get(incidents).post(create_incident))
        .route("/incidents/{id}", get(incident).put(update_incident))
        .route("/incidents/{id}/links", post(link))
        .route("/incidents/{id}/comments", post(add_comment))
        .route("/incidents/{id}/comments/{comment}", put(edit_comment))
        .route("/items/{sha256}/publisher", put(set_publisher))
        .route("/search", get(crate::find::api))
        .route("/persons", get(persons).post(create_person))
        .route("/persons/{id}", get(person).put(update_person))
        .route("/persons/{id}/incidents", post(person_incident))
        .route("/persons/{id}/items", post(person_item))
        .route("/admin/users", get(crate::admin::api_users))
        .route("/admin/collections", get(crate::admin::api_collections))
}

/// Body of `POST /api/v1/persons`.
#[derive(Deserialize)]
struct NewPerson {
    #[serde(default = "default_collection")]
    collection_id: i64,
    #[serde(flatten)]
    fields: PersonFields,
}

/// `GET /api/v1/persons` (investigators, admins).
async fn persons(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Json<Value>, WebError> {
    let list = persons::list(&state.catalog, who.user())
        .await
        .map_err(incident_error)?;
    Ok(Json(json!({ "persons": list })))
}

/// `POST /api/v1/persons` (investigators, admins).
async fn create_person(
    State(state): State<Arc<AppState>>,
    Edit { who, body: new }: Edit<NewPerson>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let created = persons::create(
        &state.catalog,
        who.user(),
        new.collection_id,
        &new.fields,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_person(&state, created.id).await;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

/// `GET /api/v1/persons/{id}`: with its history; recorded as a view.
async fn person(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, WebError> {
    let view = persons::view(&state.catalog, who.user(), id, who.client.ip.as_deref())
        .await
        .map_err(incident_error)?;
    Ok(Json(json!(view)))
}

/// `PUT /api/v1/persons/{id}`: all fields; answers the fields that changed.
async fn update_person(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Edit { who, body: fields }: Edit<PersonFields>,
) -> Result<Json<Value>, WebError> {
    let changed = persons::update(
        &state.catalog,
        who.user(),
        id,
        &fields,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_person(&state, id).await;
    Ok(Json(json!({ "changed": changed })))
}

/// Body of `POST /api/v1/persons/{id}/incidents`.
#[derive(Deserialize)]
struct PersonIncident {
    incident_id: i64,
    /// `victim`, `perpetrator`, `witness`, `mentioned`; null to unlink.
    role: Option<String>,
}

/// `POST /api/v1/persons/{id}/incidents`.
async fn person_incident(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Edit { who, body: l }: Edit<PersonIncident>,
) -> Result<Json<Value>, WebError> {
    let changed = persons::link_incident(
        &state.catalog,
        who.user(),
        id,
        l.incident_id,
        l.role.as_deref(),
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_person(&state, id).await;
    Ok(Json(json!({ "changed": changed })))
}

/// Body of `POST /api/v1/persons/{id}/items`.
#[derive(Deserialize)]
struct PersonItem {
    sha256: String,
    #[serde(default = "yes")]
    add: bool,
}

/// `POST /api/v1/persons/{id}/items`.
async fn person_item(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Edit { who, body: l }: Edit<PersonItem>,
) -> Result<Json<Value>, WebError> {
    let changed = persons::link_item(
        &state.catalog,
        who.user(),
        id,
        &l.sha256,
        l.add,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_person(&state, id).await;
    Ok(Json(json!({ "changed": changed })))
}

fn incident_error(e: IncidentError) -> WebError {
    match e {
        IncidentError::NotFound => WebError::not_found(true),
        IncidentError::Forbidden => WebError::forbidden(true),
        IncidentError::Invalid(why) => WebError::bad_request(why, true),
        IncidentError::Core(e) => WebError::internal(e, true),
    }
}

/// A JSON body, or a JSON error saying what is wrong with it.
/// A state-changing API request by an investigator or admin: the session, its CSRF header,
/// the role, then the JSON body, checked in that order (a forged or unauthorised request
/// never has its body read).
pub(crate) struct Edit<T> {
    who: SignedIn,
    body: T,
}

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<Arc<AppState>> for Edit<T> {
    type Rejection = WebError;

    async fn from_request(
        request: axum::extract::Request,
        state: &Arc<AppState>,
    ) -> Result<Self, WebError> {
        use axum::extract::FromRequestParts;
        let (mut parts, body_bytes) = request.into_parts();
        let who = SignedIn::from_request_parts(&mut parts, state).await?;
        csrf(&who, &parts.headers)?;
        who.require(Role::Investigator)?;
        let json =
            Json::<T>::from_request(axum::extract::Request::from_parts(parts, body_bytes), state)
                .await;
        Ok(Edit {
            body: body(json)?,
            who,
        })
    }
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, WebError> {
    b.map(|Json(v)| v)
        .map_err(|e| WebError::bad_request(e.body_text(), true))
}

/// The CSRF token of a state-changing API request, from `X-CSRF-Token`.
fn csrf(who: &SignedIn, headers: &HeaderMap) -> Result<(), WebError> {
    who.check_csrf(
        headers
            .get(crate::auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok()),
    )
}

/// `GET /api/v1/incidents`: the incidents the user may see, most recently changed first.
async fn incidents(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Json<Value>, WebError> {
    let api = |e: vigil_store::CatalogError| WebError::internal(e, true);
    let ids = state
        .catalog
        .incidents_visible_to(who.user(), 500)
        .await
        .map_err(api)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(i) = state.catalog.incident(id).await.map_err(api)? {
            out.push(i);
        }
    }
    Ok(Json(json!({ "incidents": out })))
}

/// Body of `POST /api/v1/incidents`.
#[derive(Deserialize)]
struct NewIncident {
    #[serde(default = "default_collection")]
    collection_id: i64,
    #[serde(flatten)]
    fields: IncidentFields,
}

fn default_collection() -> i64 {
    1
}

/// `POST /api/v1/incidents` (investigators, admins).
async fn create_incident(
    State(state): State<Arc<AppState>>,
    Edit { who, body: new }: Edit<NewIncident>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let created = incidents::create(
        &state.catalog,
        who.user(),
        new.collection_id,
        &new.fields,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_incident(&state, created.id).await;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

/// `GET /api/v1/incidents/{id}`: with tags explained, history and comments.
async fn incident(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Value>, WebError> {
    let view = incidents::view(&state.catalog, who.user(), id, who.client.ip.as_deref())
        .await
        .map_err(incident_error)?;
    Ok(Json(json!(view)))
}

/// Body of `PUT /api/v1/incidents/{id}`.
#[derive(Deserialize)]
struct IncidentUpdate {
    status: String,
    #[serde(flatten)]
    fields: IncidentFields,
}

/// `PUT /api/v1/incidents/{id}`: all fields and the status; answers the changes recorded.
async fn update_incident(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Edit { who, body: u }: Edit<IncidentUpdate>,
) -> Result<Json<Value>, WebError> {
    let changes = incidents::update(
        &state.catalog,
        who.user(),
        id,
        &u.fields,
        &u.status,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_incident(&state, id).await;
    Ok(Json(json!({ "changes": changes })))
}

/// Body of `POST /api/v1/incidents/{id}/links`.
#[derive(Deserialize)]
struct Link {
    /// `tag`, `label` or `item`.
    kind: String,
    value: String,
    #[serde(default = "yes")]
    add: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/incidents/{id}/links`: add or remove a tag, label or item.
async fn link(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Edit { who, body: l }: Edit<Link>,
) -> Result<Json<Value>, WebError> {
    let changed = incidents::link(
        &state.catalog,
        who.user(),
        id,
        &l.kind,
        &l.value,
        l.add,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_incident(&state, id).await;
    Ok(Json(json!({ "changed": changed })))
}

/// Body of the comment endpoints.
#[derive(Deserialize)]
struct CommentBody {
    body: String,
}

/// `POST /api/v1/incidents/{id}/comments`.
async fn add_comment(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Edit { who, body: c }: Edit<CommentBody>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let comment = incidents::comment(
        &state.catalog,
        who.user(),
        id,
        &c.body,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_incident(&state, id).await;
    Ok((StatusCode::CREATED, Json(json!({ "id": comment }))))
}

/// `PUT /api/v1/incidents/{id}/comments/{comment}` (its author, or an admin).
async fn edit_comment(
    State(state): State<Arc<AppState>>,
    Path((id, comment)): Path<(i64, i64)>,
    Edit { who, body: c }: Edit<CommentBody>,
) -> Result<StatusCode, WebError> {
    incidents::edit_comment(
        &state.catalog,
        who.user(),
        id,
        comment,
        &c.body,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    crate::find::refresh_incident(&state, id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `PUT /api/v1/items/{sha256}/publisher`.
#[derive(Deserialize)]
struct PublisherBody {
    publisher: String,
}

/// `PUT /api/v1/items/{sha256}/publisher`: who published the footage.
async fn set_publisher(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Edit { who, body: p }: Edit<PublisherBody>,
) -> Result<StatusCode, WebError> {
    let digest: vigil_store::Sha256Digest = id.parse().map_err(|_| WebError::not_found(true))?;
    incidents::set_publisher(
        &state.catalog,
        who.user(),
        &digest,
        &p.publisher,
        who.client.ip.as_deref(),
    )
    .await
    .map_err(incident_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me`: the signed-in account and its CSRF token.
async fn me(who: SignedIn) -> Json<Value> {
    Json(json!({ "user": who.user(), "csrf_token": who.session.csrf_token }))
}

/// `GET /api/v1/captures`: the newest captures the user may see (at most 200).
async fn captures(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Json<Value>, WebError> {
    let api = |e: vigil_store::CatalogError| WebError::internal(e, true);
    let ids = state
        .catalog
        .captures_visible_to(who.user(), 200)
        .await
        .map_err(api)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(c) = state.catalog.capture(id).await.map_err(api)? {
            out.push(c);
        }
    }
    Ok(Json(json!({ "captures": out })))
}

/// `GET /api/v1/items/{sha256}`: an item with its analysis, metadata, flags, jobs and
/// derived pictures; recorded as a view.
async fn item(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let item = visible_item(&state, &who, &id).await?;
    let api = |e: vigil_store::CatalogError| WebError::internal(e, true);
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        &format!("item:{}", item.sha256.to_hex()),
        json!({ "via": "api" }),
        who.client.ip.as_deref(),
    )
    .await
    .map_err(|e| WebError::internal(e, true))?;
    let c = &state.catalog;
    Ok(Json(json!({
        "item": item,
        "analysis": c.analysis(&item.sha256).await.map_err(api)?,
        "metadata": c.metadata_of(&item.sha256).await.map_err(api)?,
        "jobs": c.jobs_of(&item.sha256).await.map_err(api)?,
        "derivations": c.derivations_of(&item.sha256).await.map_err(api)?,
        "captures": c
            .captures_with_item_visible_to(&item.sha256, who.user())
            .await
            .map_err(api)?,
    })))
}

/// `GET /api/v1/taxonomy`: the IHL taxonomy tags are chosen from, with each entry's
/// provisions and legal notes.
async fn taxonomy(_who: SignedIn) -> Json<Value> {
    Json(serde_json::to_value(vigil_taxonomy::Taxonomy::load()).unwrap_or_default())
}

/// `GET /api/v1/openapi.json` (public: it describes, it holds nothing).
async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The OpenAPI 3.1 description of this API.
pub fn openapi_document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let errors = |codes: &[&str]| -> Value {
        let mut map = serde_json::Map::new();
        for code in codes {
            let why = match *code {
                "401" => "Not signed in (`sign-in-required`).",
                "403" => "The role does not allow it (`forbidden`), or no CSRF token (`csrf`).",
                "404" => "Missing, or not visible to this account (`not-found`).",
                "400" => "The request is not valid (`bad-request`); the message says why.",
                _ => "Error.",
            };
            map.insert(
                (*code).into(),
                json!({ "description": why, "content": { "application/json": { "schema": error } } }),
            );
        }
        Value::Object(map)
    };
    let ok = |description: &str, mut extra: Value| -> Value {
        if let Some(map) = extra.as_object_mut() {
            map.insert(
                "200".into(),
                json!({ "description": description, "content": { "application/json": { "schema": { "type": "object" } } } }),
            );
        }
        extra
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Vigil workspace API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Evidence captured by Vigil, as the signed-in account may see it. Sign in with the web form (POST /login); the session cookie authenticates API requests. Every item read is recorded in the audit trail.",
        },
        "servers": [{ "url": "/api/v1" }],
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "enum": ["sign-in-required", "forbidden", "not-found", "csrf", "bad-request", "too-many-attempts", "internal"] },
                        "message": { "type": "string" },
                    },
                },
            },
        },
        "security": [{ "session": [] }],
        "paths": {
            "/me": { "get": { "summary": "The signed-in account and its CSRF token.", "responses": ok("Account.", errors(&["401"])) } },
            "/captures": { "get": { "summary": "The newest captures the account may see (at most 200).", "responses": ok("Captures with their items.", errors(&["401"])) } },
            "/items/{sha256}": { "get": {
                "summary": "An item: analysis, metadata and flags, enrichment jobs, derived pictures, captures. Recorded as a view.",
                "parameters": [{ "name": "sha256", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" } }],
                "responses": ok("The item.", errors(&["401", "404"])),
            } },
            "/taxonomy": { "get": { "summary": "The IHL taxonomy: categories, entries, provisions, legal notes.", "responses": ok("The taxonomy.", errors(&["401"])) } },
            "/openapi.json": { "get": { "summary": "This document.", "security": [], "responses": ok("OpenAPI 3.1.", json!({})) } },
            "/incidents": {
                "get": { "summary": "The incidents the account may see, most recently changed first.", "responses": ok("Incidents.", errors(&["401"])) },
                "post": { "summary": "Create an incident (investigators, admins; X-CSRF-Token). Body: collection_id (default 1), title, description, occurred (YYYY[-MM[-DD]]), date_precision, place, place_precision, latitude, longitude.", "responses": ok("Created (201).", errors(&["400", "401", "403", "404"])) },
            },
            "/incidents/{id}": {
                "get": { "summary": "An incident with its tags explained (provisions, points of law), history and comments. Recorded as a view.", "responses": ok("The incident.", errors(&["401", "404"])) },
                "put": { "summary": "Replace its fields and status (one step forward, or back to in-review). X-CSRF-Token.", "responses": ok("The changes recorded.", errors(&["400", "401", "403", "404"])) },
            },
            "/incidents/{id}/links": { "post": { "summary": "Add or remove a tag (taxonomy id), label or item: {kind, value, add}. X-CSRF-Token.", "responses": ok("Whether anything changed.", errors(&["400", "401", "403", "404"])) } },
            "/incidents/{id}/comments": { "post": { "summary": "Comment: {body}. X-CSRF-Token.", "responses": ok("Created (201).", errors(&["400", "401", "403", "404"])) } },
            "/incidents/{id}/comments/{comment}": { "put": { "summary": "Edit a comment (its author or an admin); the old text is kept. X-CSRF-Token.", "responses": ok("Edited (204).", errors(&["400", "401", "403", "404"])) } },
            "/search": { "get": { "summary": "Full-text search over incidents, items and (for investigators and admins) persons the account may see: q (words ANDed, \"phrases\", prefix*), kind (incident, item, person), tag, status, platform, sensitivity, from and to (ISO 8601 dates as precise as known), limit, offset; a blank value is no filter. Answers total, hits (kind, id, title, snippet) and facets.", "responses": ok("Results.", errors(&["401"])) } },
            "/persons": {
                "get": { "summary": "Person records the account may see (investigators and admins only).", "responses": ok("Persons.", errors(&["401", "403"])) },
                "post": { "summary": "Create a person record: collection_id (default 1), names [{name, script (armn|cyrl|latn|other, or empty to detect), transliteration}], status (pow|detained|missing|deceased|remains-returned|released|unknown), unit, service_number, born, status_since, notes. X-CSRF-Token.", "responses": ok("Created (201).", errors(&["400", "401", "403", "404"])) },
            },
            "/persons/{id}": {
                "get": { "summary": "A person record with its history. Recorded as a view.", "responses": ok("The person.", errors(&["401", "403", "404"])) },
                "put": { "summary": "Replace its fields. X-CSRF-Token.", "responses": ok("The fields that changed.", errors(&["400", "401", "403", "404"])) },
            },
            "/persons/{id}/incidents": { "post": { "summary": "Link to an incident with a role (victim|perpetrator|witness|mentioned), or unlink with role null. X-CSRF-Token.", "responses": ok("Whether anything changed.", errors(&["400", "401", "403", "404"])) } },
            "/persons/{id}/items": { "post": { "summary": "Link or unlink an item: {sha256, add}. X-CSRF-Token.", "responses": ok("Whether anything changed.", errors(&["401", "403", "404"])) } },
            "/admin/users": { "get": { "summary": "Every account (admins only) with the ids of its collections. Recorded as a view.", "responses": ok("Accounts.", errors(&["401", "403"])) } },
            "/admin/collections": { "get": { "summary": "Every collection (admins only) with the ids of its members. Recorded as a view.", "responses": ok("Collections.", errors(&["401", "403"])) } },
            "/items/{sha256}/publisher": { "put": { "summary": "Who published the footage: {publisher: perpetrator-side | third-party | own-office}. X-CSRF-Token.", "responses": ok("Recorded (204).", errors(&["400", "401", "403", "404"])) } },
        },
    })
}

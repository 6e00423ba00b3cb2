//! The JSON API under `/api/v1`, described by the OpenAPI document it serves at
//! `/api/v1/openapi.json`. The same sign-in (session cookie), visibility and audit rules as
//! the pages; state-changing requests carry the session's CSRF token in `X-CSRF-Token`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use vigil_core::accounts;

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
        "captures": c.captures_with_item(&item.sha256).await.map_err(api)?,
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
        },
    })
}

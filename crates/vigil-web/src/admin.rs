//! Administration, for admins only (others are refused with 403, as on `/audit`): accounts
//! (roles, disabling, password resets, new accounts), collections and their members, and the
//! whole audit trail as a download. Forms post here and are redirected back to `/admin` with a
//! short message (post/redirect/get), except a new password, which is shown once on the page
//! that answers the form (every answer is `Cache-Control: no-store`). Every form carries the
//! session's CSRF token; the rules (nothing may leave no enabled admin) and the audit events
//! are `vigil_core::accounts`'.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Json, extract::rejection::QueryRejection};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::CoreError;
use vigil_core::accounts::{self, Actor};
use vigil_store::{Catalog, Role, User};

use crate::auth::SignedIn;
use crate::{AppState, WebError};

/// Events read from the catalog at a time while the audit trail is exported.
const EXPORT_PAGE: i64 = 1000;

/// The roles, in the order the forms offer them.
const ROLES: [&str; 3] = ["viewer", "investigator", "admin"];

/// The messages a redirect back to `/admin` may show, by the code in its `done` parameter
/// (fixed texts: nothing a link's author writes is shown).
const MESSAGES: [(&str, &str); 6] = [
    ("role", "Role changed."),
    ("disabled", "Account disabled: its sessions have ended."),
    ("enabled", "Account enabled."),
    ("collection", "Collection created."),
    ("joined", "Member added."),
    ("left", "Member removed."),
];

/// The acting admin, as the core rules and the audit trail name them.
fn actor(who: &SignedIn) -> Actor<'_> {
    Actor::Web {
        user: who.user(),
        ip: who.client.ip.as_deref(),
    }
}

/// A refusal by the rules (a taken name, the last admin) as a 400 that says why; anything
/// else as an internal error.
fn admin_error(e: CoreError, api: bool) -> WebError {
    match e {
        CoreError::Usage(why) => WebError::bad_request(why, api),
        other => WebError::internal(other, api),
    }
}

fn render(t: &impl Template) -> Result<Response, WebError> {
    t.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| WebError::internal(e, false))
}

/// An account as the admin page lists it.
struct AccountRow {
    id: i64,
    username: String,
    display_name: String,
    role: &'static str,
    disabled: bool,
    /// Names of its collections.
    collections: Vec<String>,
}

/// A collection as the admin page lists it.
struct CollectionRow {
    id: i64,
    name: String,
    created_at: String,
    /// (user id, username).
    members: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    message: Option<&'static str>,
    accounts: Vec<AccountRow>,
    collections: Vec<CollectionRow>,
    roles: [&'static str; 3],
}

/// Accounts with their collections' names, and collections with their members' names.
async fn listing(
    catalog: &Catalog,
    by: &Actor<'_>,
) -> Result<(Vec<AccountRow>, Vec<CollectionRow>), CoreError> {
    let users = catalog.users().await?;
    let collections = accounts::collections(catalog, by).await?;
    let names: HashMap<i64, &str> = users.iter().map(|u| (u.id, u.username.as_str())).collect();
    let accounts = users
        .iter()
        .map(|u| AccountRow {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.as_str(),
            disabled: u.disabled,
            collections: collections
                .iter()
                .filter(|c| c.members.contains(&u.id))
                .map(|c| c.name.clone())
                .collect(),
        })
        .collect();
    let collections = collections
        .into_iter()
        .map(|c| CollectionRow {
            id: c.id,
            members: c
                .members
                .iter()
                .map(|m| (*m, names.get(m).copied().unwrap_or("?").to_owned()))
                .collect(),
            name: c.name,
            created_at: c.created_at,
        })
        .collect();
    Ok((accounts, collections))
}

/// Query of the admin page.
#[derive(Deserialize)]
pub struct AdminQuery {
    #[serde(default)]
    done: String,
}

/// `GET /admin` (admins): accounts and collections with the forms that change them;
/// recorded as a view.
pub async fn page(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    query: Result<Query<AdminQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    who.require(Role::Admin)?;
    let done = query.map(|Query(q)| q.done).unwrap_or_default();
    let by = actor(&who);
    let (accounts, collections) = listing(&state.catalog, &by)
        .await
        .map_err(|e| admin_error(e, false))?;
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        "admin",
        json!({}),
        who.client.ip.as_deref(),
    )
    .await?;
    render(&AdminPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        message: MESSAGES
            .iter()
            .find(|(code, _)| *code == done)
            .map(|(_, text)| *text),
        accounts,
        collections,
        roles: ROLES,
    })
}

fn back(done: &str) -> Response {
    Redirect::to(&format!("/admin?done={done}")).into_response()
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    /// Whose password it is.
    account: &'a str,
    /// What was done.
    what: String,
    password: &'a str,
    /// The admin reset their own password (their session has ended).
    own: bool,
}

/// The new-account form.
#[derive(Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

fn role_of(text: &str) -> Result<Role, WebError> {
    text.parse()
        .map_err(|why: String| WebError::bad_request(why, false))
}

/// `POST /admin/users`: a new account with a generated password, shown once.
pub async fn add_user(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Form(f): Form<NewAccountForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Admin)?;
    let role = role_of(&f.role)?;
    let (account, password) = accounts::add_account(
        &state.catalog,
        &actor(&who),
        &f.username,
        &f.display_name,
        role,
    )
    .await
    .map_err(|e| admin_error(e, false))?;
    render(&PasswordPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        account: &account.username,
        what: format!("Account {} created ({}).", account.username, role.as_str()),
        password: &password,
        own: false,
    })
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/users/{id}/role`.
pub async fn role(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Admin)?;
    let role = role_of(&f.role)?;
    accounts::set_role(&state.catalog, &actor(&who), id, role)
        .await
        .map_err(|e| admin_error(e, false))?;
    Ok(back("role"))
}

/// The disable/enable form.
#[derive(Deserialize)]
pub struct DisabledForm {
    #[serde(default)]
    csrf: String,
    /// `true` or `false`.
    #[serde(default)]
    disabled: String,
}

/// `POST /admin/users/{id}/disabled`: disabling ends the account's sessions at once.
pub async fn disabled(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<DisabledForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Admin)?;
    let disabled = match f.disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(WebError::bad_request("disabled is true or false", false)),
    };
    accounts::set_disabled(&state.catalog, &actor(&who), id, disabled)
        .await
        .map_err(|e| admin_error(e, false))?;
    Ok(back(if disabled { "disabled" } else { "enabled" }))
}

/// A form that only carries the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/users/{id}/password`: a new generated password, shown once; the account's
/// sessions end.
pub async fn password(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Admin)?;
    let password = accounts::reset_password(&state.catalog, &actor(&who), id)
        .await
        .map_err(|e| admin_error(e, false))?;
    let account = state
        .catalog
        .user(id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    render(&PasswordPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        what: format!("The password of {account} was reset; their sessions have ended."),
        account: &account,
        password: &password,
        own: id == who.user().id,
    })
}

/// The new-collection form.
#[derive(Deserialize)]
pub struct CollectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /admin/collections`.
pub async fn create_collection(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Form(f): Form<CollectionForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Admin)?;
    accounts::create_collection(&state.catalog, &actor(&who), &f.name)
        .await
        .map_err(|e| admin_error(e, false))?;
    Ok(back("collection"))
}

/// The membership forms.
#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
}

impl MemberForm {
    fn user_id(&self) -> Result<i64, WebError> {
        self.user_id
            .trim()
            .parse()
            .map_err(|_| WebError::bad_request("choose an account", false))
    }
}

/// `POST /admin/collections/{id}/join`: the account becomes a member.
pub async fn join(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<MemberForm>,
) -> Result<Response, WebError> {
    membership(&state, &who, id, &f, true).await
}

/// `POST /admin/collections/{id}/leave`: the account is no longer a member.
pub async fn leave(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<MemberForm>,
) -> Result<Response, WebError> {
    membership(&state, &who, id, &f, false).await
}

/// Adds (`member`) or removes the form's account in collection `id`, then back to `/admin`.
async fn membership(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    f: &MemberForm,
    member: bool,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Admin)?;
    let (by, user) = (actor(who), f.user_id()?);
    let changed = if member {
        accounts::add_member(&state.catalog, &by, id, user).await
    } else {
        accounts::remove_member(&state.catalog, &by, id, user).await
    };
    changed.map_err(|e| admin_error(e, false))?;
    Ok(back(if member { "joined" } else { "left" }))
}

/// `GET /audit/export` (admins): the whole audit trail as JSON Lines, oldest first, each
/// event as stored (id, fields, `prev_hash`, `hash`) so that anyone can recompute the chain
/// (`vigil_store::audit_hash`). The export is itself recorded first and is its last line;
/// events are read a page at a time while the answer streams, never all at once.
pub async fn export_audit(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Response, WebError> {
    who.require(Role::Admin)?;
    let end = accounts::audit_export(&state.catalog, &actor(&who))
        .await
        .map_err(|e| admin_error(e, false))?;
    let catalog = state.catalog.clone();
    let pages = futures_util::stream::try_unfold(0i64, move |after| {
        let catalog = catalog.clone();
        async move { export_page(&catalog, after, end).await }
    });
    let mut response = Body::from_stream(pages).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    let date = vigil_store::now_rfc3339()
        .get(..10)
        .unwrap_or("undated")
        .to_owned();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"audit-{date}.jsonl\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The events after `after` up to `end`, one JSON document a line, and where the next page
/// starts; `None` past the end. A failure ends the download early (logged), so a truncated
/// file never passes for a whole one: its last line is not the export's own event.
async fn export_page(
    catalog: &Catalog,
    after: i64,
    end: i64,
) -> Result<Option<(Bytes, i64)>, std::io::Error> {
    if after >= end {
        return Ok(None);
    }
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "audit export failed");
        std::io::Error::other("audit export failed")
    };
    let page = catalog
        .audit_events(after, EXPORT_PAGE, None)
        .await
        .map_err(|e| failed(&e))?;
    let mut text = Vec::with_capacity(page.len() * 512);
    let mut last = None;
    for event in page.iter().take_while(|e| e.id <= end) {
        serde_json::to_writer(&mut text, event).map_err(|e| failed(&e))?;
        text.push(b'\n');
        last = Some(event.id);
    }
    Ok(last.map(|id| (Bytes::from(text), id)))
}

/// `GET /api/v1/admin/users` (admins): every account with the ids of its collections;
/// recorded as a view.
pub async fn api_users(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Json<Value>, WebError> {
    who.require(Role::Admin)?;
    let by = actor(&who);
    let collections = accounts::collections(&state.catalog, &by)
        .await
        .map_err(|e| admin_error(e, true))?;
    let users = state
        .catalog
        .users()
        .await
        .map_err(|e| WebError::internal(e, true))?;
    let out: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut v = json!(u);
            v["collections"] = collections
                .iter()
                .filter(|c| c.members.contains(&u.id))
                .map(|c| c.id)
                .collect::<Vec<_>>()
                .into();
            v
        })
        .collect();
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        "admin",
        json!({ "via": "api", "list": "users" }),
        who.client.ip.as_deref(),
    )
    .await
    .map_err(|e| WebError::internal(e, true))?;
    Ok(Json(json!({ "users": out })))
}

/// `GET /api/v1/admin/collections` (admins): every collection with its members' ids;
/// recorded as a view.
pub async fn api_collections(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Json<Value>, WebError> {
    who.require(Role::Admin)?;
    let collections = accounts::collections(&state.catalog, &actor(&who))
        .await
        .map_err(|e| admin_error(e, true))?;
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        "admin",
        json!({ "via": "api", "list": "collections" }),
        who.client.ip.as_deref(),
    )
    .await
    .map_err(|e| WebError::internal(e, true))?;
    Ok(Json(json!({ "collections": collections })))
}

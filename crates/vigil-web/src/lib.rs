//! The investigators' workspace: `vigil serve` serves a web UI and a JSON API under `/api/v1`
//! from one binary, with nothing loaded from outside (it works offline).
//!
//! Pages are rendered on the server from compile-time-checked templates (askama) that escape
//! everything they insert; a little JavaScript only enhances them (revealing a blurred
//! picture works without it). Every request goes through the same checks:
//! - **who**: the `vigil_session` cookie names a live session ([`auth`]); pages send strangers
//!   to the sign-in form, the API answers 401;
//! - **what they may see**: admins see everything, others the captures of their collections
//!   ([`vigil_store::Catalog::item_visible_to`]); anything else is answered as not found, so
//!   ids cannot be probed;
//! - **forged requests**: every state-changing request carries the session's CSRF token, and
//!   cookies are `HttpOnly`, `SameSite=Strict`;
//! - **what was done**: every view, download, sign-in and account change is an audit event
//!   ([`vigil_core::accounts::audit`]); admins manage accounts and collections at `/admin`
//!   and download the whole trail from `/audit/export`.
//!
//! Graphic media are blurred until a person chooses to see them, per item, or always by
//! their own preference.

#![deny(missing_docs)]

mod admin;
pub mod api;
pub mod auth;
mod error;
mod find;
pub mod media;
mod pages;
mod security;
mod upload;
mod watch;
mod work;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use vigil_core::accounts::LoginLimiter;
use vigil_store::{BlobStore, Catalog};

pub use error::WebError;
pub use upload::{
    BEFORE_TOKEN, MAX_COLLECTION_FIELD, MAX_CSRF_FIELD, MAX_NOTE, MAX_UPLOAD, PART_HEADERS,
};

/// What every request handler shares.
pub struct AppState {
    /// The catalog.
    pub catalog: Catalog,
    /// The blobs (raw items and derived pictures).
    pub blobs: Arc<BlobStore>,
    /// Failed sign-ins.
    pub limiter: LoginLimiter,
    /// The store's transparency log (uploads are logged like any capture).
    pub log: Arc<vigil_core::log::Log>,
    /// The near-duplicate index snapshot (`StoreLayout::pdq_index`), for enrichment.
    pub pdq_index: std::path::PathBuf,
    /// How links pasted in the browser are captured (the store's settings, the network guard
    /// on: pages cannot make the server reach private addresses); `None` turns it off.
    pub capture_settings: Option<vigil_core::capture::CaptureSettings>,
    /// The full-text index (`None`: search answers that it is off).
    pub search: Option<std::sync::RwLock<vigil_search::SearchIndex>>,
    /// One enrichment run at a time, in the background after uploads (and after watched
    /// sources' captures, which share it).
    pub enrich_lock: Arc<tokio::sync::Mutex<()>>,
    /// Mark cookies `Secure` (on unless serving plain HTTP to another machine for testing:
    /// browsers accept secure cookies from `http://localhost` and `127.0.0.1`).
    pub secure_cookies: bool,
}

/// The whole application: pages, API, static files, behind the security headers.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/captures", get(pages::captures))
        .route("/captures/new", get(upload::form))
        .route("/captures/{id}/receipt", get(pages::receipt))
        .route("/settings/graphic", post(pages::graphic_preference))
        .route("/audit", get(pages::audit_trail))
        .route("/audit/export", get(admin::export_audit))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::add_user))
        .route("/admin/users/{id}/role", post(admin::role))
        .route("/admin/users/{id}/disabled", post(admin::disabled))
        .route("/admin/users/{id}/password", post(admin::password))
        .route("/admin/collections", post(admin::create_collection))
        .route("/admin/collections/{id}/join", post(admin::join))
        .route("/admin/collections/{id}/leave", post(admin::leave))
        .route("/captures/links", post(upload::links))
        .route(
            "/captures/upload",
            post(upload::upload).layer(axum::extract::DefaultBodyLimit::max(upload::MAX_UPLOAD)),
        )
        .route("/items/{sha256}", get(pages::item))
        .route("/items/{sha256}/raw", get(pages::raw))
        .route("/items/{sha256}/media", get(media::media))
        .route("/items/{sha256}/reveal", post(pages::reveal))
        .route("/items/{sha256}/derived/{derived}", get(pages::derived))
        .route("/incidents", get(work::list).post(work::create))
        .route("/incidents/{id}", get(work::show))
        .route("/incidents/{id}/links", post(work::link))
        .route("/incidents/{id}/status", post(work::status))
        .route("/incidents/{id}/comments", post(work::comment))
        .route(
            "/persons",
            get(work::persons_list).post(work::create_person),
        )
        .route("/persons/{id}", get(work::person))
        .route("/persons/{id}/incidents", post(work::person_incident))
        .route("/search", get(find::page))
        .route("/watch", get(watch::page))
        .route("/static/app.css", get(pages::css))
        .route("/static/app.js", get(pages::js))
        .nest("/api/v1", api::router())
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

//! Capture from the browser: files are streamed into the blob store as they arrive (hashed on
//! the way, never held whole in memory), committed and logged as one capture, then enriched in
//! the background.

use std::io::Write;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use vigil_core::capture::{Upload, commit_upload};
use vigil_store::{Role, User};

use crate::auth::SignedIn;
use crate::{AppState, WebError};

/// Largest upload accepted in one request (a long 4K video fits).
pub const MAX_UPLOAD: usize = 64 << 30;

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    /// The collections the user may capture into: (id, name), `default` first when theirs.
    collections: Vec<(i64, String)>,
}

/// The collections `user` may put captures in (admins: all), `default` first.
async fn collections_for(state: &AppState, user: &User) -> Result<Vec<(i64, String)>, WebError> {
    let mine = state.catalog.collections_of(user.id).await?;
    let mut out: Vec<(i64, String)> = state
        .catalog
        .collections()
        .await?
        .into_iter()
        .filter(|c| user.role == Role::Admin || mine.contains(&c.id))
        .map(|c| (c.id, c.name))
        .collect();
    out.sort_by_key(|(id, _)| *id != 1);
    Ok(out)
}

/// The collection a form named, if the user may capture into it (else a refusal that says
/// so); none named: `default`.
async fn chosen_collection(
    state: &AppState,
    user: &User,
    given: Option<&str>,
) -> Result<i64, WebError> {
    let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(1);
    };
    let id: i64 = given
        .parse()
        .map_err(|_| WebError::bad_request("choose a collection from the list", false))?;
    if collections_for(state, user)
        .await?
        .iter()
        .any(|(c, _)| *c == id)
    {
        Ok(id)
    } else {
        Err(WebError::bad_request(
            "you are not a member of that collection",
            false,
        ))
    }
}

/// `GET /captures/new` (investigators, admins).
pub async fn form(State(state): State<Arc<AppState>>, who: SignedIn) -> Result<Response, WebError> {
    who.require(Role::Investigator)?;
    UploadPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        collections: collections_for(&state, who.user()).await?,
    }
    .render()
    .map(|h| axum::response::Html(h).into_response())
    .map_err(|e| WebError::internal(e, false))
}

/// How much of an upload's body may be read before its CSRF token is checked: the form sends
/// the token first, so this holds the boundary, the first part's headers and the token.
pub const BEFORE_TOKEN: u64 = 16 << 10;
/// Most bytes of one part's headers (and the boundary before them).
pub const PART_HEADERS: u64 = 16 << 10;
/// Longest `csrf` field (a token is 43 characters).
pub const MAX_CSRF_FIELD: usize = 256;
/// Longest `collection` field (a collection's id).
pub const MAX_COLLECTION_FIELD: usize = 32;
/// Longest `note` (where the files came from, who sent them).
pub const MAX_NOTE: usize = 64 << 10;

/// What the upload handler is reading, for the error when a bound is reached.
#[derive(Clone, Copy)]
enum Reading {
    /// Anything before the token was checked.
    BeforeToken,
    /// A part's headers.
    Headers,
    /// A text field and its limit.
    Text(&'static str, usize),
    /// A file (bounded only by [`MAX_UPLOAD`]).
    File,
}

/// How far the handler lets the body be read: a request body is pulled from the connection
/// only up to `allowed` bytes (plus the one chunk that crosses it), whatever the multipart
/// parser would like to buffer, so a forged or oversized field costs at most the bound.
#[derive(Default)]
struct Gate {
    pulled: std::sync::atomic::AtomicU64,
    allowed: std::sync::atomic::AtomicU64,
    /// Set when the body was asked for more than `allowed`.
    blocked: std::sync::atomic::AtomicBool,
}

impl Gate {
    /// Lets `more` bytes past what was pulled so far be read (`u64::MAX`: no bound).
    fn allow(&self, more: u64) {
        use std::sync::atomic::Ordering::SeqCst;
        let pulled = self.pulled.load(SeqCst);
        self.allowed.store(pulled.saturating_add(more), SeqCst);
        self.blocked.store(false, SeqCst);
    }
}

/// The request body, read only as far as its [`Gate`] allows.
struct GatedBody {
    inner: axum::body::BodyDataStream,
    gate: Arc<Gate>,
}

impl futures_util::Stream for GatedBody {
    type Item = Result<axum::body::Bytes, axum::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::sync::atomic::Ordering::SeqCst;
        let gate = self.gate.clone();
        if gate.pulled.load(SeqCst) >= gate.allowed.load(SeqCst) {
            // Not an error: the parser asks for more than it needs; it fails only if it
            // cannot go on without it (see `bounded`).
            gate.blocked.store(true, SeqCst);
            return std::task::Poll::Pending;
        }
        let next = futures_util::StreamExt::poll_next_unpin(&mut self.inner, cx);
        if let std::task::Poll::Ready(Some(Ok(chunk))) = &next {
            gate.pulled.fetch_add(chunk.len() as u64, SeqCst);
        }
        next
    }
}

/// Runs one step of the multipart parser; `None` when it cannot finish without reading past
/// the gate's bound.
async fn bounded<T>(gate: &Gate, step: impl std::future::Future<Output = T>) -> Option<T> {
    let mut step = std::pin::pin!(step);
    std::future::poll_fn(|cx| match step.as_mut().poll(cx) {
        std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
        std::task::Poll::Pending if gate.blocked.load(std::sync::atomic::Ordering::SeqCst) => {
            std::task::Poll::Ready(None)
        }
        std::task::Poll::Pending => std::task::Poll::Pending,
    })
    .await
}

/// The refusal for a bound reached while `reading`.
fn past_bound(reading: Reading) -> WebError {
    match reading {
        Reading::BeforeToken => WebError::csrf(false),
        Reading::Headers => WebError::too_large(
            format!("a part's headers are longer than {PART_HEADERS} bytes"),
            false,
        ),
        Reading::Text(name, max) => text_too_long(name, max),
        Reading::File => WebError::bad_request("the upload was cut short", false),
    }
}

fn text_too_long(name: &str, max: usize) -> WebError {
    WebError::too_large(
        format!("the {name} field is longer than {max} bytes"),
        false,
    )
}

/// A text field read whole, if it has at most `max` bytes.
async fn read_text(
    gate: &Gate,
    field: &mut axum::extract::multipart::Field<'_>,
    name: &'static str,
    max: usize,
) -> Result<String, WebError> {
    let reading = Reading::Text(name, max);
    gate.allow(max as u64 + PART_HEADERS);
    let mut text = Vec::new();
    loop {
        let chunk = bounded(gate, field.chunk())
            .await
            .ok_or_else(|| past_bound(reading))?
            .map_err(malformed)?;
        let Some(chunk) = chunk else { break };
        if text.len() + chunk.len() > max {
            return Err(text_too_long(name, max));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text)
        .map_err(|_| WebError::bad_request(format!("the {name} field is not UTF-8"), false))
}

fn malformed(e: axum::extract::multipart::MultipartError) -> WebError {
    WebError::bad_request(format!("the upload was cut short or malformed: {e}"), false)
}

/// `POST /captures/upload` (multipart: `csrf` first — or the token in `X-CSRF-Token` — then
/// `collection`, `note` and any number of `file`).
///
/// The session and role are checked before the body is touched, and the token before more
/// than [`BEFORE_TOKEN`] bytes of it are read; text fields are bounded, files streamed.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    request: axum::extract::Request,
) -> Result<Response, WebError> {
    use axum::extract::FromRequest;
    who.require(Role::Investigator)?;
    let (parts, body) = request.into_parts();
    let header_token = parts
        .headers
        .get(crate::auth::CSRF_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let mut csrf_ok = false;
    if let Some(token) = &header_token {
        who.check_csrf(Some(token))?;
        csrf_ok = true;
    }
    let gate = Arc::new(Gate::default());
    gate.allow(if csrf_ok { PART_HEADERS } else { BEFORE_TOKEN });
    let body = axum::body::Body::from_stream(GatedBody {
        inner: body.into_data_stream(),
        gate: gate.clone(),
    });
    let mut multipart =
        Multipart::from_request(axum::extract::Request::from_parts(parts, body), &state)
            .await
            .map_err(|e| WebError::bad_request(e.body_text(), false))?;
    let mut note = None;
    let mut collection = None;
    let mut uploads = Vec::new();
    loop {
        let reading = if csrf_ok {
            gate.allow(PART_HEADERS);
            Reading::Headers
        } else {
            Reading::BeforeToken
        };
        let next = bounded(&gate, multipart.next_field())
            .await
            .ok_or_else(|| past_bound(reading))?
            .map_err(malformed)?;
        let Some(mut field) = next else { break };
        let name = field.name().unwrap_or_default().to_owned();
        // Without the header, the token must be the first part: nothing else is read first.
        if !csrf_ok && name != "csrf" {
            return Err(WebError::csrf(false));
        }
        match name.as_str() {
            "csrf" => {
                let token = read_text(&gate, &mut field, "csrf", MAX_CSRF_FIELD).await?;
                who.check_csrf(Some(&token))?;
                csrf_ok = true;
            }
            "note" => {
                let text = read_text(&gate, &mut field, "note", MAX_NOTE).await?;
                note = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
            }
            "collection" => {
                let text = read_text(&gate, &mut field, "collection", MAX_COLLECTION_FIELD).await?;
                collection = Some(chosen_collection(&state, who.user(), Some(&text)).await?);
            }
            "file" => {
                gate.allow(u64::MAX);
                let file_name = field
                    .file_name()
                    .map(|n| n.chars().take(255).collect::<String>());
                let content_type = field.content_type().map(str::to_owned);
                let mut staged = state
                    .blobs
                    .stage()
                    .map_err(|e| WebError::internal(e, false))?;
                while let Some(chunk) = bounded(&gate, field.chunk())
                    .await
                    .ok_or_else(|| past_bound(Reading::File))?
                    .map_err(malformed)?
                {
                    tokio::task::block_in_place(|| staged.write_all(&chunk))
                        .map_err(|e| WebError::internal(e, false))?;
                }
                let blob = tokio::task::block_in_place(|| staged.finish())
                    .map_err(|e| WebError::internal(e, false))?;
                if blob.size == 0 && file_name.as_deref().unwrap_or("").is_empty() {
                    continue; // an empty file input
                }
                uploads.push(Upload {
                    blob,
                    file_name,
                    content_type,
                });
            }
            other => {
                let shown: String = other.chars().take(64).collect();
                return Err(WebError::bad_request(
                    format!("the upload form has no field {shown:?}"),
                    false,
                ));
            }
        }
    }
    if !csrf_ok {
        return Err(WebError::csrf(false));
    }
    if uploads.is_empty() {
        return Err(WebError::bad_request("no file was sent", false));
    }
    let client = serde_json::json!({
        "ip": who.client.ip, "user_agent": who.client.user_agent, "account": who.user().username,
    });
    let stored = commit_upload(
        &state.catalog,
        &state.blobs,
        &state.log,
        uploads,
        &who.user().username,
        note,
        client,
    )
    .await
    .map_err(|e| WebError::internal(e, false))?;
    let collection = collection.unwrap_or(1);
    if collection != 1 {
        state.catalog.assign_capture(stored.id, collection).await?;
    }
    vigil_core::accounts::audit(
        &state.catalog,
        Some(who.user()),
        "capture-upload",
        &format!("capture:{}", stored.id),
        serde_json::json!({ "items": stored.record.items.len(), "collection": collection }),
        who.client.ip.as_deref(),
    )
    .await?;
    let items: Vec<vigil_store::Sha256Digest> =
        stored.record.items.iter().map(|i| i.sha256).collect();
    crate::find::refresh_items(&state, &items).await;
    spawn_enrichment(state.clone(), Some(items));
    Ok(Redirect::to("/captures").into_response())
}

/// The links form.
#[derive(serde::Deserialize)]
pub struct LinksForm {
    #[serde(default)]
    csrf: String,
    urls: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    collection: Option<String>,
}

/// Most links in one request.
const MAX_LINKS: usize = 500;

/// `POST /captures/links`: http(s) links only — never a path, which would read the
/// server's own disk — captured in the background, then enriched.
pub async fn links(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    axum::Form(f): axum::Form<LinksForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    who.require(Role::Investigator)?;
    let collection = chosen_collection(&state, who.user(), f.collection.as_deref()).await?;
    let Some(settings) = state.capture_settings.clone() else {
        return Err(WebError::bad_request(
            "capturing links is turned off on this server",
            false,
        ));
    };
    let mut sources = Vec::new();
    let mut refused = Vec::new();
    for line in f.urls.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match url::Url::parse(line) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                sources.push(vigil_core::capture::CaptureSource {
                    source: line.to_owned(),
                    note: Some(f.note.trim().to_owned()).filter(|n| !n.is_empty()),
                    tags: Vec::new(),
                    watch: None,
                });
            }
            _ => refused.push(line.chars().take(200).collect::<String>()),
        }
    }
    if !refused.is_empty() {
        return Err(WebError::bad_request(
            format!("not http(s) links: {}", refused.join(", ")),
            false,
        ));
    }
    if sources.is_empty() || sources.len() > MAX_LINKS {
        return Err(WebError::bad_request(
            format!("give 1 to {MAX_LINKS} links, one a line"),
            false,
        ));
    }
    vigil_core::accounts::audit(
        &state.catalog,
        Some(who.user()),
        "capture-links",
        "captures",
        serde_json::json!({
            "links": sources.iter().map(|s| &s.source).collect::<Vec<_>>(),
            "collection": collection,
        }),
        who.client.ip.as_deref(),
    )
    .await?;
    let mut settings = settings;
    settings.collector = who.user().username.clone();
    let task_state = state.clone();
    tokio::spawn(async move {
        let s = &task_state;
        let committed = Arc::new(CommittedItems::default());
        let observer: Arc<dyn vigil_core::capture::CaptureObserver> = committed.clone();
        if let Err(e) = vigil_core::capture::run(
            &s.catalog,
            s.blobs.clone(),
            &s.log,
            sources,
            &settings,
            observer,
        )
        .await
        {
            tracing::error!(error = %e, "capturing links from the workspace failed");
        }
        let (captures, items) = committed.take();
        if collection != 1 {
            for id in captures {
                if let Err(e) = s.catalog.assign_capture(id, collection).await {
                    tracing::error!(error = %e, "could not put capture #{id} in its collection");
                }
            }
        }
        spawn_enrichment(task_state.clone(), Some(items));
    });
    Ok(Redirect::to("/captures").into_response())
}

/// The captures a background run committed and their items, so that the captures go into
/// the chosen collection and only their items are re-indexed.
#[derive(Default)]
struct CommittedItems(std::sync::Mutex<(Vec<i64>, Vec<vigil_store::Sha256Digest>)>);

impl CommittedItems {
    fn take(&self) -> (Vec<i64>, Vec<vigil_store::Sha256Digest>) {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl vigil_core::capture::CaptureObserver for CommittedItems {
    fn committed(&self, capture: &vigil_store::StoredCapture, _already_held: bool) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.0.push(capture.id);
        seen.1.extend(capture.record.items.iter().map(|i| i.sha256));
    }
}

/// Runs the enrichment jobs on whatever is pending, one run at a time, off the request; then
/// re-indexes `items` for search (what their posts say is known only now), or the whole
/// index when the new items are not known.
pub fn spawn_enrichment(state: Arc<AppState>, items: Option<Vec<vigil_store::Sha256Digest>>) {
    tokio::spawn(async move {
        let _one_at_a_time = state.enrich_lock.lock().await;
        match vigil_core::enrich::enrich(
            &state.catalog,
            &state.blobs,
            &vigil_core::enrich::EnrichOptions::default(),
            &state.pdq_index,
        )
        .await
        {
            Ok(summary) if summary.derivations > 0 => {
                if let Err(e) = state.log.publish(&state.catalog).await {
                    tracing::error!(error = %e, "could not sign a checkpoint after enrichment");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "enrichment after an upload failed"),
        }
        match (&items, &state.search) {
            (Some(items), _) => crate::find::refresh_items(&state, items).await,
            (None, Some(index)) => {
                if let Err(e) = vigil_core::search::rebuild(&state.catalog, index).await {
                    tracing::warn!(error = %e, "could not rebuild the search index");
                }
            }
            (None, None) => {}
        }
    });
}

//! The HTML pages: sign-in, the captures list, the item page, and the files they show.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use vigil_core::accounts::{self, LoginError, SESSION_LIFETIME};
use vigil_store::{Sha256Digest, StoredCapture, User};

use crate::auth::{
    Client, LOGIN_CSRF_COOKIE, MaybeSignedIn, SESSION_COOKIE, SignedIn, cookie, random_token,
    set_cookie, tokens_match,
};
use crate::{AppState, WebError};

fn render(t: &impl Template) -> Result<Html<String>, WebError> {
    t.render()
        .map(Html)
        .map_err(|e| WebError::internal(e, false))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    status: String,
    message: &'a str,
}

/// An error as a page (no user menu: the error may be that there is no user).
pub(crate) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let page = ErrorPage {
        user: None,
        csrf: "",
        status: status.to_string(),
        message,
    };
    Html(page.render().unwrap_or_else(|_| "error".into()))
}

/// `/`: the captures list, or the sign-in form.
pub async fn home(who: MaybeSignedIn) -> Redirect {
    match who.0 {
        Some(_) => Redirect::to("/captures"),
        None => Redirect::to("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    message: Option<String>,
    username: &'a str,
}

fn login_page(message: Option<String>, username: &str, secure: bool) -> Result<Response, WebError> {
    let csrf = random_token();
    let page = render(&LoginPage {
        user: None,
        csrf: &csrf,
        message,
        username,
    })?;
    let mut response = page.into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, secure),
    );
    Ok(response)
}

/// `GET /login`.
pub async fn login_form(State(state): State<Arc<AppState>>) -> Result<Response, WebError> {
    login_page(None, "", state.secure_cookies)
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: a new session (never the one the browser came with), or the form again.
pub async fn login(
    State(state): State<Arc<AppState>>,
    client: Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !tokens_match(&expected, &form.csrf) {
        return Err(WebError::csrf(false));
    }
    let outcome = accounts::login(
        &state.catalog,
        &state.limiter,
        form.username.trim(),
        &form.password,
        client.ip.as_deref(),
        client.user_agent.as_deref(),
    )
    .await;
    match outcome {
        Ok(login) => {
            let mut response = Redirect::to("/captures").into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &login.token,
                    SESSION_LIFETIME.as_secs(),
                    state.secure_cookies,
                ),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, state.secure_cookies),
            );
            Ok(response)
        }
        Err(LoginError::Invalid) => {
            let mut r = login_page(
                Some("Wrong user name or password.".into()),
                form.username.trim(),
                state.secure_cookies,
            )?;
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(r)
        }
        Err(e @ LoginError::TooManyAttempts(_)) => {
            let mut r = login_page(
                Some(e.to_string()),
                form.username.trim(),
                state.secure_cookies,
            )?;
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok(r)
        }
        Err(e @ LoginError::Busy) => {
            // Nothing was evaluated: the attempt is not counted; the browser may try again.
            let mut r = login_page(
                Some(e.to_string()),
                form.username.trim(),
                state.secure_cookies,
            )?;
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(r)
        }
        Err(LoginError::Core(e)) => Err(WebError::internal(e, false)),
    }
}

/// A form that only carries the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&form.csrf))?;
    accounts::logout(
        &state.catalog,
        &who.token,
        who.user(),
        who.client.ip.as_deref(),
    )
    .await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.secure_cookies),
    );
    Ok(response)
}

/// One item as the captures list shows it.
struct ListedItem {
    /// No enrichment job has finished on it yet.
    pending: bool,
    sha256: String,
    short: String,
    role: String,
    name: String,
    thumbnail: Option<String>,
}

struct ListedCapture {
    id: i64,
    captured_at: String,
    source: String,
    collector: String,
    status: &'static str,
    failure: Option<String>,
    items: Vec<ListedItem>,
}

#[derive(Template)]
#[template(path = "captures.html")]
struct CapturesPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    captures: Vec<ListedCapture>,
    /// Items of the page whose enrichment has not finished.
    pending: usize,
}

/// The thumbnail derived from an item, if one was made.
async fn thumbnail_of(state: &AppState, item: &Sha256Digest) -> Result<Option<String>, WebError> {
    Ok(state
        .catalog
        .derivations_of(item)
        .await?
        .iter()
        .flat_map(|d| d.record.items.iter())
        .find(|i| i.role == "thumbnail")
        .map(|i| i.sha256.to_hex()))
}

/// `GET /captures`: the newest captures the user may see.
pub async fn captures(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Response, WebError> {
    let ids = state.catalog.captures_visible_to(who.user(), 200).await?;
    let mut listed = Vec::with_capacity(ids.len());
    let mut pending_items = 0;
    for id in ids {
        let Some(StoredCapture { id, record }) = state.catalog.capture(id).await? else {
            continue;
        };
        let mut items = Vec::new();
        for i in &record.items {
            let hex = i.sha256.to_hex();
            let pending = state.catalog.jobs_of(&i.sha256).await?.len() < 3;
            pending_items += usize::from(pending);
            items.push(ListedItem {
                pending,
                short: hex[..12].to_owned(),
                thumbnail: thumbnail_of(&state, &i.sha256).await?,
                sha256: hex,
                role: i.role.clone(),
                name: i.name.clone().unwrap_or_default(),
            });
        }
        listed.push(ListedCapture {
            id,
            captured_at: record.captured_at,
            source: record.source,
            collector: record.collector,
            status: record.status.as_str(),
            failure: record
                .failure
                .map(|f| format!("[{}] {}", f.code, f.message)),
            items,
        });
    }
    Ok(render(&CapturesPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        captures: listed,
        pending: pending_items,
    })?
    .into_response())
}

struct Picture {
    sha256: String,
    role: String,
    caption: String,
}

struct ItemCapture {
    id: i64,
    captured_at: String,
    source: String,
    collector: String,
    name: Option<String>,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    sha256: String,
    short: String,
    size: u64,
    kind: String,
    revealed: bool,
    pictures: Vec<Picture>,
    preview_error: Option<String>,
    flags: Vec<vigil_store::StoredFlag>,
    facts: Vec<(String, String)>,
    captures: Vec<ItemCapture>,
    jobs: Vec<(String, String)>,
    /// Near-duplicates the user may see: (item, distance, method).
    similar: Vec<(String, u32, &'static str)>,
    /// How the original is shown on the page, when a browser can show it.
    player: Option<Player>,
    /// Perceptual hashes: (what was hashed, hash in hex, quality).
    hashes: Vec<(String, String, u8)>,
    /// How many frame hashes a video has beyond those listed.
    more_hashes: usize,
    /// Every capture the user may see of the item and its near-duplicates, earliest first.
    spread: Vec<SpreadRow>,
}

/// One capture on the spread timeline.
struct SpreadRow {
    captured_at: String,
    capture_id: i64,
    item: String,
    /// The item of this page (not a near-duplicate).
    this_item: bool,
    platform: String,
    account: String,
    posted_at: String,
    source: String,
    /// The first capture we hold of anything in the cluster.
    earliest: bool,
}

/// Frame hashes listed on the page before "and N more".
const LISTED_HASHES: usize = 12;

/// The page's viewer for the original bytes.
struct Player {
    /// `image`, `video` or `audio`.
    kind: &'static str,
    /// Frames a second, for stepping one frame at a time (25 when the file does not say).
    frame_rate: f64,
}

impl Player {
    /// The frame rate as people write it: `25`, `29.97`.
    fn frame_rate_label(&self) -> String {
        let text = format!("{:.3}", self.frame_rate);
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// An item id from the path, visible to the user, else "not found" (the same answer for
/// both, so ids cannot be probed).
pub(crate) async fn visible_item(
    state: &AppState,
    who: &SignedIn,
    id: &str,
) -> Result<vigil_store::ItemRecord, WebError> {
    let digest: Sha256Digest = id.parse().map_err(|_| WebError::not_found(who.api))?;
    let item = state
        .catalog
        .item(&digest)
        .await?
        .ok_or_else(|| WebError::not_found(who.api))?;
    if !state.catalog.item_visible_to(&digest, who.user()).await? {
        return Err(WebError::not_found(who.api));
    }
    Ok(item)
}

/// The readable facts of a stored metadata report.
fn facts_of(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    fn add(facts: &mut Vec<(String, String)>, label: &str, v: &serde_json::Value) {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => return,
            other => other.to_string(),
        };
        if !text.is_empty() {
            facts.push((label.to_owned(), text));
        }
    }
    let image = &report["image"];
    add(&mut facts, "Camera", &image["camera"]);
    add(&mut facts, "Software", &image["software"]);
    add(&mut facts, "Taken", &image["taken_at"]);
    add(&mut facts, "Modified", &image["modified_at"]);
    if let (Some(lat), Some(lon)) = (
        image["gps"]["latitude"].as_f64(),
        image["gps"]["longitude"].as_f64(),
    ) {
        facts.push(("GPS".into(), format!("{lat:.6}, {lon:.6}")));
    }
    let container = &report["container"];
    add(&mut facts, "Container", &container["container"]);
    add(&mut facts, "Duration (s)", &container["duration_secs"]);
    for s in container["streams"].as_array().into_iter().flatten() {
        let dims = match (s["width"].as_u64(), s["height"].as_u64()) {
            (Some(w), Some(h)) => format!(" {w}×{h}"),
            _ => String::new(),
        };
        facts.push((
            format!("Stream {}", s["index"]),
            format!(
                "{} {}{dims}",
                s["kind"].as_str().unwrap_or(""),
                s["codec"].as_str().unwrap_or("")
            ),
        ));
    }
    for (k, v) in container["tags"].as_object().into_iter().flatten() {
        add(&mut facts, &format!("Tag {k}"), v);
    }
    let post = &report["post"];
    add(&mut facts, "Platform", &post["platform"]);
    add(&mut facts, "Posted by", &post["uploader"]);
    add(&mut facts, "Posted at (claimed)", &post["posted_at"]);
    add(&mut facts, "Title", &post["title"]);
    let c2pa = &report["credentials"];
    add(&mut facts, "Content Credentials", &c2pa["validation_state"]);
    facts
}

/// Query of the item page.
#[derive(Deserialize)]
pub struct ItemQuery {
    #[serde(default)]
    reveal: Option<String>,
}

/// `GET /items/{sha256}`: the item, blurred unless revealed; recorded as a view.
pub async fn item(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<ItemQuery>,
) -> Result<Response, WebError> {
    let item = visible_item(&state, &who, &id).await?;
    let revealed = who.user().show_graphic || query.reveal.is_some();
    let hex = item.sha256.to_hex();
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        &format!("item:{hex}"),
        serde_json::json!({ "revealed": revealed }),
        who.client.ip.as_deref(),
    )
    .await?;
    let analysis = state.catalog.analysis(&item.sha256).await?;
    let metadata = state.catalog.metadata_of(&item.sha256).await?;
    let mut pictures = Vec::new();
    for d in state.catalog.derivations_of(&item.sha256).await? {
        for p in d.record.items {
            let caption = p.detail["timestamp"]
                .as_f64()
                .map(|t| format!("{t:.2} s"))
                .unwrap_or_default();
            pictures.push(Picture {
                sha256: p.sha256.to_hex(),
                role: p.role,
                caption,
            });
        }
    }
    let jobs: Vec<(String, String)> = state
        .catalog
        .jobs_of(&item.sha256)
        .await?
        .into_iter()
        .map(|j| {
            let outcome = match (&j.error_code, &j.error) {
                (None, _) => format!("done in {:.2} s", j.seconds),
                (Some(code), message) => {
                    format!("failed [{code}] {}", message.as_deref().unwrap_or(""))
                }
            };
            (j.job, outcome)
        })
        .collect();
    let preview_error = jobs
        .iter()
        .find(|(j, o)| j == "preview" && o.starts_with("failed"))
        .map(|(_, o)| o.clone());
    let mut captures = Vec::new();
    for cid in state
        .catalog
        .captures_with_item_visible_to(&item.sha256, who.user())
        .await?
    {
        if let Some(c) = state.catalog.capture(cid).await? {
            let name = c.record.name_of(&item.sha256);
            captures.push(ItemCapture {
                id: c.id,
                captured_at: c.record.captured_at,
                source: c.record.source,
                collector: c.record.collector,
                name,
            });
        }
    }
    let mut similar = Vec::new();
    for link in state.catalog.similarities_of(&item.sha256).await? {
        let other = link.other(&item.sha256);
        if state.catalog.item_visible_to(&other, who.user()).await? {
            similar.push((other.to_hex(), link.distance, link.method.as_str()));
        }
    }
    let frame_rate = metadata
        .as_ref()
        .and_then(|m| {
            m.report["container"]["streams"]
                .as_array()?
                .iter()
                .find_map(|s| s["frame_rate"].as_f64())
        })
        .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1000.0)
        .unwrap_or(25.0);
    let player =
        crate::media::playable(crate::media::sniff_blob(&state, &item.sha256).await?).map(|p| {
            Player {
                kind: match p {
                    crate::media::Playable::Image(_) => "image",
                    crate::media::Playable::Video(_) => "video",
                    crate::media::Playable::Audio(_) => "audio",
                },
                frame_rate,
            }
        });
    let mut hashes: Vec<(String, String, u8)> = analysis
        .iter()
        .flat_map(|a| &a.pdq)
        .map(|h| {
            let what = match h.timestamp {
                Some(t) => format!("frame {} ({t:.2} s)", h.frame),
                None => format!("picture as {}", h.variant),
            };
            (what, hex::encode(h.hash), h.quality)
        })
        .collect();
    let more_hashes = hashes.len().saturating_sub(LISTED_HASHES);
    hashes.truncate(LISTED_HASHES);
    let mut spread = Vec::new();
    let timeline = vigil_core::similar::spread(&state.catalog, &state.blobs, &item.sha256)
        .await
        .map_err(|e| WebError::internal(e, false))?;
    for entry in timeline.captures {
        if !state
            .catalog
            .capture_visible_to(entry.capture_id, who.user())
            .await?
        {
            continue;
        }
        spread.push(SpreadRow {
            captured_at: entry.captured_at,
            capture_id: entry.capture_id,
            this_item: entry.item == item.sha256,
            item: entry.item.to_hex(),
            platform: entry.platform,
            account: entry.account.unwrap_or_default(),
            posted_at: entry.posted_at.unwrap_or_default(),
            source: entry.source,
            earliest: entry.earliest_we_hold,
        });
    }
    if spread.len() < 2 {
        // One capture of one item: the captures list says it all.
        spread.clear();
    }
    let kind = analysis
        .map(|a| a.describe())
        .unwrap_or_else(|| "not analysed yet".into());
    let page = ItemPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        short: hex[..12].to_owned(),
        sha256: hex.clone(),
        size: item.size,
        kind,
        revealed,
        pictures,
        preview_error,
        flags: metadata
            .as_ref()
            .map(|m| m.flags.clone())
            .unwrap_or_default(),
        facts: metadata.map(|m| facts_of(&m.report)).unwrap_or_default(),
        captures,
        jobs,
        similar,
        player,
        hashes,
        more_hashes,
        spread,
    };
    Ok(render(&page)?.into_response())
}

/// `POST /items/{sha256}/reveal`: records that the user chose to see the pictures (the page
/// script reveals them in place).
pub async fn reveal(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    who.check_csrf(
        headers
            .get(crate::auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok()),
    )?;
    let item = visible_item(&state, &who, &id).await?;
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "reveal",
        &format!("item:{}", item.sha256.to_hex()),
        serde_json::json!({}),
        who.client.ip.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A stored blob opened for reading, and its length.
pub(crate) async fn open_blob(
    state: &AppState,
    digest: &Sha256Digest,
) -> Result<(tokio::fs::File, u64), WebError> {
    let file = tokio::fs::File::open(state.blobs.path_of(digest))
        .await
        .map_err(|e| WebError::internal(e, false))?;
    let length = file
        .metadata()
        .await
        .map_err(|e| WebError::internal(e, false))?
        .len();
    Ok((file, length))
}

/// Bytes of a stored blob, streamed (a video may be gigabytes), with a safe type: never
/// rendered by the browser as a page, whatever they contain.
async fn blob_response(
    state: &AppState,
    digest: &Sha256Digest,
    content_type: &'static str,
    download: bool,
    name: &str,
) -> Result<Response, WebError> {
    let (file, length) = open_blob(state, digest).await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if download {
        let value = format!("attachment; filename=\"{name}\"");
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

/// `GET /items/{sha256}/raw`: the original bytes, as a download; recorded.
pub async fn raw(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let item = visible_item(&state, &who, &id).await?;
    let hex = item.sha256.to_hex();
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "download",
        &format!("item:{hex}"),
        serde_json::json!({ "size": item.size }),
        who.client.ip.as_deref(),
    )
    .await?;
    blob_response(
        &state,
        &item.sha256,
        "application/octet-stream",
        true,
        &format!("{hex}.bin"),
    )
    .await
}

/// `GET /items/{sha256}/derived/{derived}`: a picture derived from the item (JPEG).
pub async fn derived(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path((id, derived)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let item = visible_item(&state, &who, &id).await?;
    let digest: Sha256Digest = derived.parse().map_err(|_| WebError::not_found(false))?;
    let belongs = state
        .catalog
        .derived_from(&digest)
        .await?
        .iter()
        .any(|(_, source, _)| *source == item.sha256);
    if !belongs {
        return Err(WebError::not_found(false));
    }
    let mut response = blob_response(&state, &digest, "image/jpeg", false, "").await?;
    // Content-addressed: the bytes behind this URL never change; private to this browser.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600, immutable"),
    );
    Ok(response)
}

/// `GET /static/app.css`.
pub async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/app.css"),
    )
}

/// `GET /static/app.js`.
pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/app.js"),
    )
}

/// `GET /captures/{id}/receipt`: the capture's C2SP tlog-proof receipt, checkable offline
/// with `vigil verify-receipt` and the log's verifier key; recorded.
pub async fn receipt(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    if !state.catalog.capture_visible_to(id, who.user()).await? {
        return Err(WebError::not_found(false));
    }
    let receipt = state.log.receipt(&state.catalog, id).await?;
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "download-receipt",
        &format!("capture:{id}"),
        serde_json::json!({}),
        who.client.ip.as_deref(),
    )
    .await?;
    let mut response = receipt.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"capture-{id}.tlog-proof\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The graphic-media preference form.
#[derive(Deserialize)]
pub struct GraphicForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    show: String,
}

/// `POST /settings/graphic`: show graphic media unblurred by default, or not; recorded.
pub async fn graphic_preference(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
    Form(f): Form<GraphicForm>,
) -> Result<Response, WebError> {
    who.check_csrf(Some(&f.csrf))?;
    let show = f.show == "on";
    state.catalog.set_show_graphic(who.user().id, show).await?;
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "preference",
        &format!("user:{}", who.user().username),
        serde_json::json!({ "show_graphic": show }),
        who.client.ip.as_deref(),
    )
    .await?;
    Ok(Redirect::to("/captures").into_response())
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    events: Vec<vigil_store::AuditEvent>,
    broken: usize,
}

/// `GET /audit` (admins): the newest audit events and whether the chain holds.
pub async fn audit_trail(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Response, WebError> {
    who.require(vigil_store::Role::Admin)?;
    let (count, breaks) = state.catalog.verify_audit_chain().await?;
    let from = (count as i64 - 500).max(0);
    let mut events = state.catalog.audit_events(from, 500, None).await?;
    events.reverse();
    accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        "audit",
        serde_json::json!({}),
        who.client.ip.as_deref(),
    )
    .await?;
    Ok(render(&AuditPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        events,
        broken: breaks.len(),
    })?
    .into_response())
}

//! Watching channels, feeds and playlists (issue 9): `vigil watch add|list|remove|run`.
//!
//! A cycle ([`run_cycle`]) does three things, each safe to stop at any point:
//! 1. **Poll** every due source: sources are grouped by host, hosts are polled a few at a time
//!    and each host one request at a time (politeness); a page that parses records its posts as
//!    `pending` with the next due time (interval ± 10 % jitter) in one transaction; a failure
//!    (429, 5xx, timeouts…) backs off exponentially, or as long as `Retry-After` asks.
//! 2. **Capture** every pending post through the normal capture path (the post's page, with
//!    yt-dlp and the browser as configured, and each media link the source gave), with what
//!    the source said of it in the capture's `details.watch`, so that it is in the log leaf;
//!    then link it. A capture committed but not linked (a kill in between) is found by its
//!    source URL and watch key and linked, never captured twice.
//! 3. **Re-check** captured posts on the slower schedule: a Telegram post whose embed page says
//!    it is gone, or any post page answering 404 or 410, is recorded as deleted. A post still
//!    there is compared with what we hold: each medium it shows now is hashed as it streams
//!    (never kept unless new), and a hash we do not hold, a medium gone, or (Telegram) edited
//!    text records the post as changed. The new version is captured first, marked with why, so
//!    a kill before the change is recorded leaves the capture and the next check records it.
//!    Videos that only yt-dlp can fetch are not re-downloaded to be compared.
//!
//! New captures, deletions and changes go into the audit trail, and to a webhook when one is
//! set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use vigil_capture::http::PageClient;
use vigil_feeds::{FeedPage, Post, PostStatus, SourceKind};

mod feed;
use feed::{PlaylistLister, PollFailure, PollTools, feed_of};
use vigil_store::{
    BlobStore, Catalog, NewWatchSource, PollOutcome, SeenPost, StoredCapture, WatchCounts,
    WatchPost, WatchSource, now_rfc3339, rfc3339_in,
};

use crate::CoreError;
use crate::capture::{CaptureObserver, CaptureSettings, CaptureSource};
use crate::log::Log;

/// Default time between polls of a source.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(600);
/// Default time between re-checks of a captured post.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(6 * 3600);
/// Shortest interval accepted (the catalog's limit too).
pub const MIN_EVERY: Duration = Duration::from_secs(60);
/// Longest a failing source is left alone.
const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// A post whose capture failed this many times is given up (marked `failed`).
const MAX_ATTEMPTS: i64 = 5;

/// How watching runs.
#[derive(Clone)]
pub struct WatchSettings {
    /// Capture settings for posts (collector, HTTP limits and guard, media, browser).
    pub capture: CaptureSettings,
    /// Hosts polled at once (each host one request at a time).
    pub hosts_at_once: usize,
    /// Sources polled in one cycle at most.
    pub max_sources_per_cycle: i64,
    /// Posts captured in one cycle at most (the rest wait, pending, for the next).
    pub max_captures_per_cycle: i64,
    /// Posts re-checked in one cycle at most.
    pub max_rechecks_per_cycle: i64,
    /// Largest medium hashed to compare it at a re-check.
    pub recheck_max_bytes: u64,
    /// Poll every source now, whatever its schedule (`vigil watch run --now`).
    pub ignore_schedule: bool,
    /// Re-check every captured post now, whatever its schedule (`--recheck-now`).
    pub recheck_all: bool,
    /// Where to POST a JSON notice of each new capture and deletion (operator-chosen, so
    /// outside the SSRF guard, like the time-stamping authority).
    pub webhook: Option<String>,
    /// Enrich what a cycle captured (hashes, near-duplicates, metadata, previews) before the
    /// next one; `None` leaves it to `vigil enrich`.
    pub enrich: Option<WatchEnrichment>,
}

impl WatchSettings {
    /// Settings from a store's configuration (`[capture]` and `[watch]`), polling on the
    /// schedule, with what a cycle captured enriched before the next; network policy from the
    /// caller. Flags change the fields after.
    pub fn from_config(
        config: &crate::config::Config,
        policy: vigil_capture::netguard::NetPolicy,
        pdq_index: std::path::PathBuf,
        enrich_lock: Arc<tokio::sync::Mutex<()>>,
    ) -> Result<WatchSettings, CoreError> {
        let w = &config.watch;
        Ok(WatchSettings {
            capture: CaptureSettings::from_config(config, "watch".into(), policy)?,
            hosts_at_once: w.hosts_at_once.max(1),
            max_sources_per_cycle: 5000,
            max_captures_per_cycle: w.max_captures_per_cycle.max(1),
            max_rechecks_per_cycle: w.max_rechecks_per_cycle.max(0),
            recheck_max_bytes: w.recheck_max_bytes,
            ignore_schedule: false,
            recheck_all: false,
            webhook: w.webhook.clone(),
            enrich: Some(WatchEnrichment {
                pdq_index,
                lock: enrich_lock,
            }),
        })
    }
}

/// How a cycle's captures are enriched.
#[derive(Clone)]
pub struct WatchEnrichment {
    /// The near-duplicate index snapshot (`StoreLayout::pdq_index`).
    pub pdq_index: std::path::PathBuf,
    /// Held while enriching, so that one enrichment runs at a time in a process (the
    /// workspace shares its own).
    pub lock: Arc<tokio::sync::Mutex<()>>,
}

/// A source to watch, as given.
#[derive(Debug, Clone)]
pub struct AddSource<'a> {
    /// The channel, feed or playlist URL.
    pub url: &'a str,
    /// Time between polls.
    pub every: Duration,
    /// Time between re-checks of its captured posts.
    pub recheck: Duration,
    /// Note for its captures.
    pub note: Option<&'a str>,
    /// Tags for its captures.
    pub tags: &'a [String],
    /// The collection its captures go into.
    pub collection_id: i64,
    /// Who adds it.
    pub added_by: &'a str,
    /// `telegram`, `feed` or `playlist` when the address does not say (a mirror of a
    /// channel's preview, a feed without a telling path); detected otherwise.
    pub kind: Option<&'a str>,
}

/// Starts watching a source; refused with a clear message when the URL is not http(s), the
/// interval is too short, or it is already watched.
pub async fn add_source(catalog: &Catalog, add: &AddSource<'_>) -> Result<WatchSource, CoreError> {
    let url = vigil_capture::http::parse_http_url(add.url.trim())
        .map_err(|e| CoreError::Usage(e.to_string()))?;
    if add.every < MIN_EVERY || add.recheck < MIN_EVERY {
        return Err(CoreError::Usage(format!(
            "poll and re-check intervals must be at least {} s",
            MIN_EVERY.as_secs()
        )));
    }
    let detected = vigil_feeds::classify(&url);
    let (kind, poll_url) = match add.kind {
        None => (kind_name(&detected), vigil_feeds::poll_url(&detected, &url)),
        Some(k) if k == kind_name(&detected) => (k, vigil_feeds::poll_url(&detected, &url)),
        // Told what it is: polled at the address given.
        Some(k @ ("telegram" | "feed" | "playlist")) => (k, url.clone()),
        Some(other) => {
            return Err(CoreError::Usage(format!(
                "{other:?} is not a kind of source (telegram, feed, playlist)"
            )));
        }
    };
    let at = now_rfc3339();
    let added = catalog
        .add_watch_source(&NewWatchSource {
            url: url.as_str(),
            kind,
            poll_url: poll_url.as_str(),
            every_secs: add.every.as_secs() as i64,
            recheck_secs: add.recheck.as_secs() as i64,
            note: add.note,
            tags: add.tags,
            collection_id: add.collection_id,
            added_by: add.added_by,
            at: &at,
        })
        .await?
        .ok_or_else(|| CoreError::Usage(format!("{url} is already watched")))?;
    record(
        catalog,
        add.added_by,
        "watch-add",
        &format!("watch:{}", added.id),
        json!({ "url": added.url, "kind": added.kind, "every_secs": added.every_secs }),
    )
    .await?;
    Ok(added)
}

/// Stops watching source `id` (its posts stay); whether it was watched.
pub async fn remove_source(catalog: &Catalog, id: i64, by: &str) -> Result<bool, CoreError> {
    let removed = catalog.remove_watch_source(id, &now_rfc3339()).await?;
    if removed {
        record(
            catalog,
            by,
            "watch-remove",
            &format!("watch:{id}"),
            json!({}),
        )
        .await?;
    }
    Ok(removed)
}

/// An audit event by `actor` (an account name, `cli:<os user>`, or `watch` for the poller).
async fn record(
    catalog: &Catalog,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), CoreError> {
    crate::accounts::Actor::CommandLine(actor)
        .record(catalog, action, subject, detail)
        .await?;
    Ok(())
}

fn kind_name(kind: &SourceKind) -> &'static str {
    match kind {
        SourceKind::TelegramChannel { .. } => "telegram",
        SourceKind::Feed => "feed",
        SourceKind::Playlist => "playlist",
    }
}

/// A source with the count of its posts in each state.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The source.
    pub source: WatchSource,
    /// Its posts by state.
    #[serde(flatten)]
    pub counts: WatchCounts,
}

/// Every watched source with its posts counted (`vigil watch list`, the web page).
pub async fn status(catalog: &Catalog) -> Result<Vec<SourceStatus>, CoreError> {
    let counts = catalog.watch_post_counts().await?;
    Ok(catalog
        .watch_sources(false)
        .await?
        .into_iter()
        .map(|source| SourceStatus {
            counts: counts.get(&source.id).copied().unwrap_or_default(),
            source,
        })
        .collect())
}

/// Seconds until the next source is due (0 when one is overdue; a minute when none is
/// watched).
pub async fn seconds_until_due(catalog: &Catalog) -> Result<f64, CoreError> {
    let next = catalog
        .watch_sources(false)
        .await?
        .into_iter()
        .map(|s| s.next_poll_at)
        .min();
    let Some(next) = next else {
        return Ok(60.0);
    };
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    };
    Ok(match (parse(&next), parse(&now_rfc3339())) {
        (Some(n), Some(now)) => (n - now).as_seconds_f64().max(0.0),
        _ => 0.0,
    })
}

/// Runs cycles until `stop` resolves (or once), sleeping until the next source is due (at
/// most 30 s between looks, so that sources added meanwhile are seen): `vigil watch run` in
/// the foreground, and `vigil serve` in the background. A failed cycle is reported and the
/// next one tried after a pause; `on_cycle` hears of each.
pub async fn run_loop(
    catalog: &Catalog,
    blobs: Arc<BlobStore>,
    log: &Log,
    settings: &WatchSettings,
    once: bool,
    mut on_cycle: impl FnMut(&Result<CycleSummary, CoreError>),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), CoreError> {
    let client = PageClient::new(settings.capture.http.clone())
        .map_err(|e| CoreError::Usage(format!("watch: {e}")))?;
    let mut stop = std::pin::pin!(stop);
    loop {
        let result = run_cycle(catalog, blobs.clone(), log, &client, settings).await;
        on_cycle(&result);
        if once {
            return result.map(|_| ());
        }
        let wait = match result {
            Ok(_) => seconds_until_due(catalog).await.unwrap_or(30.0),
            Err(_) => 30.0,
        }
        .clamp(1.0, 30.0);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}

/// What one cycle did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CycleSummary {
    /// Sources polled.
    pub polled: usize,
    /// Polls that failed (the source backs off).
    pub poll_failures: usize,
    /// Posts seen for the first time.
    pub new_posts: usize,
    /// Posts captured and linked (including captures found again after a kill).
    pub captured: usize,
    /// Capture attempts that failed (retried next cycle, up to a limit).
    pub capture_failures: usize,
    /// Posts re-checked.
    pub rechecked: usize,
    /// Posts newly found deleted.
    pub gone: usize,
    /// Re-checks that found a post changed (its new version captured).
    pub changed: usize,
}

/// One poll's result.
struct Polled {
    source: WatchSource,
    result: Result<FeedPage, PollFailure>,
}

/// Polls, captures and re-checks once.
pub async fn run_cycle(
    catalog: &Catalog,
    blobs: Arc<BlobStore>,
    log: &Log,
    client: &PageClient,
    settings: &WatchSettings,
) -> Result<CycleSummary, CoreError> {
    let mut summary = CycleSummary::default();
    let now = now_rfc3339();
    let due = if settings.ignore_schedule {
        catalog.watch_sources(false).await?
    } else {
        catalog
            .due_watch_sources(&now, settings.max_sources_per_cycle)
            .await?
    };
    // What the sources said of their new posts, for their captures in this cycle (a post
    // left pending by a stopped run is captured later from its page alone).
    let mut described = Described::new();
    let lister = PlaylistLister::prepare(&settings.capture, &due).await;
    let tools = PollTools {
        client,
        lister: &lister,
    };
    for polled in poll_all(catalog, &tools, due, settings.hosts_at_once.max(1)).await {
        summary.polled += 1;
        record_poll(catalog, polled, &mut described, &mut summary).await?;
    }
    capture_pending(
        catalog,
        blobs.clone(),
        log,
        settings,
        &mut described,
        &mut summary,
    )
    .await?;
    recheck(catalog, blobs.clone(), log, client, settings, &mut summary).await?;
    if summary.captured + summary.changed > 0
        && let Some(e) = &settings.enrich
    {
        let _one_at_a_time = e.lock.lock().await;
        let enriched = crate::enrich::enrich(
            catalog,
            &blobs,
            &crate::enrich::EnrichOptions::default(),
            &e.pdq_index,
        )
        .await?;
        if enriched.derivations > 0 {
            log.publish(catalog).await?;
        }
    }
    Ok(summary)
}

/// Pages of older posts read at most in one poll, to catch up with a source that posted more
/// than a page since it was last polled.
const MAX_CATCH_UP_PAGES: usize = 10;

/// Polls sources, hosts in parallel, one request at a time per host.
async fn poll_all(
    catalog: &Catalog,
    tools: &PollTools<'_>,
    due: Vec<WatchSource>,
    hosts_at_once: usize,
) -> Vec<Polled> {
    let mut by_host: BTreeMap<String, Vec<WatchSource>> = BTreeMap::new();
    for s in due {
        let host = url::Url::parse(&s.poll_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        by_host.entry(host).or_default().push(s);
    }
    use futures_util::StreamExt;
    futures_util::stream::iter(by_host.into_values())
        .map(|sources| async move {
            let mut out = Vec::with_capacity(sources.len());
            for source in sources {
                let result = match feed_of(&source.kind) {
                    Some(feed) => match feed.poll(tools, &source).await {
                        Ok(page) => Ok(catch_up(catalog, tools, feed, &source, keyed(page)).await),
                        Err(e) => Err(e),
                    },
                    None => Err((
                        "unknown-kind".to_owned(),
                        format!("this version cannot poll a {:?} source", source.kind),
                        None,
                    )),
                };
                out.push(Polled { source, result });
            }
            out
        })
        .buffer_unordered(hosts_at_once)
        .collect::<Vec<Vec<Polled>>>()
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Longest post key the catalog keeps (`watch_posts.post_key`).
const MAX_POST_KEY: usize = 512;

/// A page with every post's id made a key the catalog accepts: ids of 1 to
/// [`MAX_POST_KEY`] bytes as they are, others (a feed's 8 KiB guid) as `sha256:` and the hex
/// digest of the id, stable from poll to poll.
fn keyed(mut page: FeedPage) -> FeedPage {
    for post in &mut page.posts {
        post.id = post_key(&post.id);
    }
    page
}

fn post_key(id: &str) -> String {
    if (1..=MAX_POST_KEY).contains(&id.len()) {
        id.to_owned()
    } else {
        format!(
            "sha256:{}",
            vigil_store::Sha256Digest::of(id.as_bytes()).to_hex()
        )
    }
}

/// Follows a polled page's link to older posts while every post on the last page read is new
/// to us (the source posted more than a page since its last poll), at most
/// [`MAX_CATCH_UP_PAGES`]. Not on a source's first poll: watching starts from now. A failure
/// stops catching up and keeps what was read.
async fn catch_up(
    catalog: &Catalog,
    tools: &PollTools<'_>,
    feed: &dyn feed::Feed,
    source: &WatchSource,
    mut page: FeedPage,
) -> FeedPage {
    if source.last_poll_at.is_none() {
        return page;
    }
    let mut last: Vec<String> = page.posts.iter().map(|p| p.id.clone()).collect();
    let mut older = page.older.take();
    for _ in 0..MAX_CATCH_UP_PAGES {
        let Some(next) = older.take() else { break };
        match catalog.watch_posts_known(source.id, &last).await {
            Ok(0) if !last.is_empty() => {}
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "catching up with {}", source.url);
                break;
            }
        }
        let Some(reading) = feed.poll_older(tools, &next) else {
            break;
        };
        match reading.await {
            Ok(more) => {
                let mut more = keyed(more);
                last = more.posts.iter().map(|p| p.id.clone()).collect();
                older = more.older.take();
                page.posts.append(&mut more.posts);
            }
            Err((code, message, _)) => {
                tracing::warn!("catching up with {}: {code}: {message}", source.url);
                break;
            }
        }
    }
    page
}

/// When a source is next due: its interval ± 10 % after a good poll; after `failures` failed
/// ones, twice as long each time (at most a day), or as long as the server asked.
fn next_poll_in(every_secs: i64, failures: i64, retry_after: Option<u64>) -> f64 {
    let jitter = 0.9 + 0.2 * random_unit();
    if failures == 0 {
        return every_secs as f64 * jitter;
    }
    let backoff = (every_secs as f64) * 2f64.powi(failures.clamp(0, 16) as i32);
    let asked = retry_after.unwrap_or(0) as f64;
    backoff.max(asked).min(MAX_BACKOFF.as_secs_f64()) * jitter
}

/// A number in [0, 1) for jitter.
fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Posts as their source described them, by (source, key).
type Described = BTreeMap<(i64, String), Post>;

async fn record_poll(
    catalog: &Catalog,
    polled: Polled,
    described: &mut Described,
    summary: &mut CycleSummary,
) -> Result<(), CoreError> {
    let at = now_rfc3339();
    let s = &polled.source;
    match polled.result {
        Ok(page) => {
            let next = rfc3339_in(next_poll_in(s.every_secs, 0, None));
            let seen: Vec<SeenPost<'_>> = page
                .posts
                .iter()
                .map(|p| SeenPost {
                    post_key: &p.id,
                    url: &p.url,
                    author: p.author.as_deref(),
                    published_at: p.published_at.as_deref(),
                })
                .collect();
            let outcome = PollOutcome {
                at: &at,
                outcome: "ok",
                error: None,
                next_poll_at: &next,
                consecutive_failures: 0,
            };
            let new = catalog.record_watch_poll(s.id, &outcome, &seen).await?;
            summary.new_posts += new.len();
            for post in page.posts {
                if new.contains(&post.id) {
                    described.insert((s.id, post.id.clone()), post);
                }
            }
        }
        Err((code, message, retry_after)) => {
            summary.poll_failures += 1;
            let failures = s.consecutive_failures + 1;
            let next = rfc3339_in(next_poll_in(s.every_secs, failures, retry_after));
            let outcome = PollOutcome {
                at: &at,
                outcome: &code,
                error: Some(&message),
                next_poll_at: &next,
                consecutive_failures: failures,
            };
            catalog.record_watch_poll(s.id, &outcome, &[]).await?;
            tracing::warn!(source = %s.url, code, "poll failed; next try at {next}");
        }
    }
    Ok(())
}

/// Every source, removed ones included (their pending posts are still captured), by id.
async fn sources_by_id(catalog: &Catalog) -> Result<BTreeMap<i64, WatchSource>, CoreError> {
    Ok(catalog
        .watch_sources(true)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

/// Collects the captures a run committed.
#[derive(Default)]
struct Committed(std::sync::Mutex<Vec<StoredCapture>>);

impl CaptureObserver for Committed {
    fn committed(&self, capture: &StoredCapture, _already_held: bool) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(capture.clone());
    }
}

async fn capture_pending(
    catalog: &Catalog,
    blobs: Arc<BlobStore>,
    log: &Log,
    settings: &WatchSettings,
    described: &mut Described,
    summary: &mut CycleSummary,
) -> Result<(), CoreError> {
    let pending = catalog
        .pending_watch_posts(settings.max_captures_per_cycle)
        .await?;
    if pending.is_empty() {
        return Ok(());
    }
    let sources = sources_by_id(catalog).await?;
    let mut to_capture = Vec::new();
    for post in pending {
        // Captured before a kill, not yet linked: link it, never capture twice.
        if let Some(id) = catalog
            .capture_of_watch_post(post.source_id, &post.post_key, &post.url)
            .await?
        {
            link(catalog, &sources, &post, id, settings, summary).await?;
            continue;
        }
        to_capture.push(post);
    }
    let mut run_sources = Vec::new();
    for post in &to_capture {
        let Some(source) = sources.get(&post.source_id) else {
            continue;
        };
        let described = described.remove(&(post.source_id, post.post_key.clone()));
        let watch = watch_details(source, post, described.as_ref(), json!({}));
        // The post's page, and each picture or video the source linked, as its own capture
        // of the same post.
        run_sources.extend(post_captures(
            source,
            post,
            &watch,
            Some(&post.url),
            described.iter().flat_map(|p| &p.media).map(|m| &m.url),
        ));
    }
    let captures = capture_all(catalog, blobs, log, run_sources, settings).await?;
    for post in &to_capture {
        let found = captures.iter().find(|c| {
            c.record.source == post.url
                && c.record.details["watch"]["post_key"] == post.post_key.as_str()
                && c.record.details["watch"]["source_id"] == post.source_id
        });
        match found {
            Some(c) => link(catalog, &sources, post, c.id, settings, summary).await?,
            None => {
                summary.capture_failures += 1;
                catalog
                    .watch_capture_failed(
                        post.source_id,
                        &post.post_key,
                        "the capture run ended without committing this post",
                        post.attempts + 1 >= MAX_ATTEMPTS,
                    )
                    .await?;
            }
        }
    }
    Ok(())
}

async fn link(
    catalog: &Catalog,
    sources: &BTreeMap<i64, WatchSource>,
    post: &WatchPost,
    capture_id: i64,
    settings: &WatchSettings,
    summary: &mut CycleSummary,
) -> Result<(), CoreError> {
    let recheck = sources
        .get(&post.source_id)
        .map_or(DEFAULT_RECHECK.as_secs() as i64, |s| s.recheck_secs);
    catalog
        .link_watch_capture(
            post.source_id,
            &post.post_key,
            capture_id,
            &rfc3339_in(recheck as f64),
        )
        .await?;
    summary.captured += 1;
    let detail = json!({
        "event": "watch-captured", "source_id": post.source_id, "post_key": post.post_key,
        "url": post.url, "capture": capture_id,
    });
    announce(
        catalog,
        settings,
        "watch-capture",
        &format!("capture:{capture_id}"),
        detail,
    )
    .await
}

/// Re-checks captured posts that are due: deleted (404/410, or Telegram's "post not found"),
/// or changed (media or text no longer what we hold; the new version is captured).
async fn recheck(
    catalog: &Catalog,
    blobs: Arc<BlobStore>,
    log: &Log,
    client: &PageClient,
    settings: &WatchSettings,
    summary: &mut CycleSummary,
) -> Result<(), CoreError> {
    let until = if settings.recheck_all {
        rfc3339_in(MAX_BACKOFF.as_secs_f64() * 365.0)
    } else {
        now_rfc3339()
    };
    let due = catalog
        .watch_posts_to_recheck(&until, settings.max_rechecks_per_cycle)
        .await?;
    if due.is_empty() {
        return Ok(());
    }
    let sources = sources_by_id(catalog).await?;
    for post in due {
        let Some(source) = sources.get(&post.source_id) else {
            continue;
        };
        let (gone, present) = presence(client, source, &post).await;
        let change = match gone {
            Some(_) => None,
            None => find_change(catalog, client, settings, source, &post, present.as_ref()).await?,
        };
        // The new version is committed before the check is recorded (see the module docs).
        let mut new_captures = Vec::new();
        if let Some(change) = &change
            && !change.recapture.is_empty()
        {
            new_captures = capture_all(
                catalog,
                blobs.clone(),
                log,
                change.recapture.clone(),
                settings,
            )
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        }
        summary.rechecked += 1;
        let at = now_rfc3339();
        catalog
            .record_watch_check(
                post.source_id,
                &post.post_key,
                &at,
                gone.as_deref(),
                change.as_ref().map(|c| c.all_reasons.as_str()),
                &rfc3339_in(source.recheck_secs as f64),
            )
            .await?;
        if let Some(reason) = gone {
            summary.gone += 1;
            let detail = json!({
                "event": "watch-gone", "source_id": post.source_id, "post_key": post.post_key,
                "url": post.url, "capture": post.capture_id, "reason": reason,
            });
            announce(
                catalog,
                settings,
                "watch-gone",
                &format!("capture:{}", post.capture_id.unwrap_or_default()),
                detail,
            )
            .await?;
        }
        if let Some(change) = change {
            summary.changed += 1;
            let detail = json!({
                "event": "watch-changed", "source_id": post.source_id, "post_key": post.post_key,
                "url": post.url, "capture": post.capture_id, "reason": change.reason,
                "new_hashes": change.new_hashes, "new_captures": new_captures,
            });
            announce(
                catalog,
                settings,
                "watch-changed",
                &format!("capture:{}", post.capture_id.unwrap_or_default()),
                detail,
            )
            .await?;
        }
    }
    Ok(())
}

/// Whether a captured post is still at its source: why it is not (a stable code), or what it
/// shows now when the source says (a Telegram post's embed page).
async fn presence(
    client: &PageClient,
    source: &WatchSource,
    post: &WatchPost,
) -> (Option<String>, Option<Post>) {
    let feed = feed_of(&source.kind);
    let check_url = feed.map_or_else(|| post.url.clone(), |f| f.check_url(&post.url));
    match client.get(&check_url).await {
        Ok(page) if matches!(page.status, 404 | 410) => {
            (Some(format!("http-{}", page.status)), None)
        }
        Ok(page) if page.status == 200 => {
            match feed.and_then(|f| {
                url::Url::parse(&check_url)
                    .ok()
                    .and_then(|u| f.read_check(&page.body, &u))
            }) {
                Some(PostStatus::Deleted) => (Some("not-found-page".to_owned()), None),
                Some(PostStatus::Present(now)) => (None, Some(now)),
                None => (None, None),
            }
        }
        // Anything else says nothing about the post: checked again later.
        _ => (None, None),
    }
}

/// A post found changed: why, the new hashes seen, and what to capture of it.
struct Change {
    /// What this re-check found (comma-separated).
    reason: String,
    /// Every kind of change found so far, this one included (what the post records).
    all_reasons: String,
    new_hashes: Vec<String>,
    recapture: Vec<CaptureSource>,
}

/// Compares a post that is still up with what we hold of it. Media are compared by SHA-256:
/// those the source shows now (Telegram) or those we captured (other sources, whose page
/// does not list them again). `None`: nothing differs, or nothing could be compared.
async fn find_change(
    catalog: &Catalog,
    client: &PageClient,
    settings: &WatchSettings,
    source: &WatchSource,
    post: &WatchPost,
    present: Option<&Post>,
) -> Result<Option<Change>, CoreError> {
    let held = catalog
        .watch_post_captures(post.source_id, &post.post_key)
        .await?;
    let Some(page) = held.iter().rev().find(|c| c.media_of.is_none()) else {
        return Ok(None);
    };
    let held_media: Vec<_> = held.iter().filter(|c| c.media_of.is_some()).collect();
    let held_hashes: std::collections::BTreeSet<&str> = held_media
        .iter()
        .filter_map(|c| c.body_sha256.as_deref())
        .collect();
    let mut originals: Vec<&str> = held_media
        .iter()
        .filter(|c| c.change_reason.is_none())
        .map(|c| c.source.as_str())
        .collect();
    originals.sort_unstable();
    originals.dedup();
    let mut reasons = std::collections::BTreeSet::new();
    let mut changed_media = Vec::new();
    let mut new_hashes = Vec::new();
    let mut new_text = None;
    let current: Vec<&str> = match present {
        Some(now) => {
            if now.media.len() < originals.len() {
                reasons.insert("media-removed");
            }
            let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
            if let (Some(then), Some(text)) = (page.text.as_deref(), now.text.as_deref())
                && words(then) != words(text)
            {
                reasons.insert("text-edited");
                new_text = Some(text.to_owned());
            }
            now.media.iter().map(|m| m.url.as_str()).collect()
        }
        // Telegram's media addresses are signed and expire: the ones we captured say nothing
        // now, and the page that would list the current ones did not answer.
        None if feed_of(&source.kind).is_some_and(|f| f.media_addresses_expire()) => vec![],
        None => originals.clone(),
    };
    for url in current {
        let limit = settings
            .recheck_max_bytes
            .min(settings.capture.http.max_bytes);
        match client.digest(url, limit).await {
            Ok(d) if matches!(d.status, 404 | 410) && present.is_none() => {
                reasons.insert("media-removed");
            }
            Ok(d) => {
                if let Some((sha, _)) = d.body
                    && !held_hashes.contains(sha.to_hex().as_str())
                {
                    reasons.insert(if held_hashes.is_empty() {
                        "media-added"
                    } else {
                        "media-replaced"
                    });
                    new_hashes.push(sha.to_hex());
                    changed_media.push(url.to_owned());
                }
            }
            // Unreachable for now (too large, timed out…): says nothing about the post.
            Err(e) => tracing::debug!(error = %e, "re-check of {url} failed"),
        }
    }
    // A removal leaves nothing new to capture, so it is told once, not at every re-check.
    let known: std::collections::BTreeSet<&str> = post
        .changed_reason
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .collect();
    if known.contains("media-removed") {
        reasons.remove("media-removed");
    }
    if reasons.is_empty() {
        // A new version captured by a run stopped before it recorded the change.
        if post.changed_at.is_none()
            && let Some(reason) = held.iter().find_map(|c| c.change_reason.clone())
        {
            return Ok(Some(Change {
                all_reasons: reason.clone(),
                reason,
                new_hashes: vec![],
                recapture: vec![],
            }));
        }
        return Ok(None);
    }
    let all_reasons = known
        .iter()
        .chain(reasons.iter())
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(",");
    let reason = reasons.into_iter().collect::<Vec<_>>().join(",");
    let mut watch = watch_details(
        source,
        post,
        present,
        json!({ "change_reason": reason, "recheck_of": post.capture_id }),
    );
    if watch["text"].is_null() {
        watch["text"] = json!(page.text);
    }
    let recapture = post_captures(
        source,
        post,
        &watch,
        new_text.is_some().then_some(&post.url),
        changed_media.iter(),
    );
    Ok(Some(Change {
        reason,
        all_reasons,
        new_hashes,
        recapture,
    }))
}

/// What a watched post's captures keep in `details.watch` (and so in their log leaves): the
/// source, the post's key, what the source said of it (`said`: text and media), and `extra`.
fn watch_details(
    source: &WatchSource,
    post: &WatchPost,
    said: Option<&Post>,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut watch = json!({
        "source_id": source.id,
        "source": source.url,
        "post_key": post.post_key,
        "author": post.author,
        "published_at": post.published_at,
        "first_seen_at": post.first_seen_at,
        "text": said.and_then(|p| p.text.clone()),
        "media": said.map(|p| json!(p.media)).unwrap_or(json!([])),
    });
    if let (Some(w), serde_json::Value::Object(extra)) = (watch.as_object_mut(), extra) {
        w.extend(extra);
    }
    watch
}

/// The captures to make of a post: its `page` when given, and each medium (marked
/// `media_of` the post), with the source's note and tags.
fn post_captures<'a>(
    source: &WatchSource,
    post: &WatchPost,
    watch: &serde_json::Value,
    page: Option<&String>,
    media: impl Iterator<Item = &'a String>,
) -> Vec<CaptureSource> {
    let capture = |url: &String, watch: serde_json::Value| CaptureSource {
        source: url.clone(),
        note: source.note.clone(),
        tags: source.tags.clone(),
        watch: Some(watch),
    };
    let mut out: Vec<CaptureSource> = page
        .map(|u| capture(u, watch.clone()))
        .into_iter()
        .collect();
    for url in media {
        let mut w = watch.clone();
        w["media_of"] = json!(post.url);
        out.push(capture(url, w));
    }
    out
}

/// Captures `sources` politely ([`polite`]) through the normal path; what was committed.
async fn capture_all(
    catalog: &Catalog,
    blobs: Arc<BlobStore>,
    log: &Log,
    sources: Vec<CaptureSource>,
    settings: &WatchSettings,
) -> Result<Vec<StoredCapture>, CoreError> {
    let committed = Arc::new(Committed::default());
    let observer: Arc<dyn CaptureObserver> = committed.clone();
    crate::capture::run(
        catalog,
        blobs,
        log,
        sources,
        &polite(&settings.capture),
        observer,
    )
    .await?;
    let captures = std::mem::take(&mut *committed.0.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(captures)
}

/// Records a watch event in the audit trail (actor `watch`) and sends it to the webhook.
async fn announce(
    catalog: &Catalog,
    settings: &WatchSettings,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), CoreError> {
    record(catalog, "watch", action, subject, detail.clone()).await?;
    notify(settings, &detail).await;
    Ok(())
}

/// Capture settings for a watched source's posts: one fetch per host at a time, as polling.
fn polite(capture: &CaptureSettings) -> CaptureSettings {
    CaptureSettings {
        per_host: Some(1),
        ..capture.clone()
    }
}

/// POSTs `detail` to the webhook, if one is set; a failure is logged, never fatal.
async fn notify(settings: &WatchSettings, detail: &serde_json::Value) {
    let Some(url) = &settings.webhook else {
        return;
    };
    // The operator chose the address: it may be on their own network.
    let mut opts = settings.capture.http.clone();
    opts.policy = Arc::new(vigil_capture::netguard::NetPolicy {
        allow_private: true,
        ..Default::default()
    });
    opts.timeout = Duration::from_secs(10);
    let sent = match PageClient::new(opts) {
        Ok(client) => client.post_json(url, detail).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => tracing::warn!("webhook {url} answered HTTP {status}"),
        Err(e) => tracing::warn!(error = %e, "webhook {url} failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_keys_fit_the_catalog_and_stay_stable() {
        assert_eq!(post_key("chan/12"), "chan/12");
        let long = "g".repeat(MAX_POST_KEY + 1);
        let key = post_key(&long);
        assert!(
            key.starts_with("sha256:") && key.len() <= MAX_POST_KEY,
            "{key}"
        );
        assert_eq!(key, post_key(&long), "the same id gives the same key");
        assert_ne!(key, post_key(&"h".repeat(MAX_POST_KEY + 1)));
        assert!(post_key("").starts_with("sha256:"), "never empty");
        assert_eq!(post_key(&"g".repeat(MAX_POST_KEY)).len(), MAX_POST_KEY);
    }

    #[test]
    fn backoff_doubles_to_a_day_and_honours_retry_after() {
        let ok = next_poll_in(600, 0, None);
        assert!((540.0..=660.0).contains(&ok), "{ok}");
        let one = next_poll_in(600, 1, None);
        assert!((1080.0..=1320.0).contains(&one), "{one}");
        let asked = next_poll_in(60, 1, Some(3600));
        assert!((3240.0..=3960.0).contains(&asked), "{asked}");
        let many = next_poll_in(600, 40, None);
        assert!(many <= MAX_BACKOFF.as_secs_f64() * 1.1, "{many}");
    }
}

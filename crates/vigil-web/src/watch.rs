//! `GET /watch`: the watched channels and feeds of the account's collections (admins: all),
//! with their last poll, what failed, how many posts were captured, the newest posts (linked
//! to what we captured of them), and which were deleted or changed at their source since we
//! captured them. Sources are added with `vigil watch add`.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use vigil_store::{PostSelection, Role, User, WatchPost};

use crate::auth::SignedIn;
use crate::{AppState, WebError};

#[derive(Template)]
#[template(path = "watch.html")]
struct WatchPage<'a> {
    user: Option<&'a User>,
    csrf: &'a str,
    sources: Vec<vigil_core::watch::SourceStatus>,
    /// Captured posts found deleted at their source: (source URL, post).
    gone: Vec<(String, WatchPost)>,
    /// Captured posts found changed at their source: (source URL, post).
    changed: Vec<(String, WatchPost)>,
    /// The newest posts seen, over all these sources.
    recent: Vec<RecentPost>,
}

/// A post on the page, with the item its capture holds (to open it).
struct RecentPost {
    source: String,
    post: WatchPost,
    item: Option<String>,
}

/// Deleted (changed) posts listed per source at most.
const LISTED_POSTS: i64 = 1000;

/// Posts listed as the newest, over all the sources shown.
const RECENT_POSTS: i64 = 30;

/// `GET /watch` (every signed-in role; only sources of the account's collections).
pub async fn page(State(state): State<Arc<AppState>>, who: SignedIn) -> Result<Response, WebError> {
    let mine = state.catalog.collections_of(who.user().id).await?;
    let sources: Vec<_> = vigil_core::watch::status(&state.catalog)
        .await
        .map_err(|e| WebError::internal(e, false))?
        .into_iter()
        .filter(|s| who.user().role == Role::Admin || mine.contains(&s.source.collection_id))
        .collect();
    let (mut gone, mut changed) = (Vec::new(), Vec::new());
    for s in &sources {
        for (count, which, list) in [
            (s.counts.gone, PostSelection::Gone, &mut gone),
            (s.counts.changed, PostSelection::Changed, &mut changed),
        ] {
            if count > 0 {
                let posts = state
                    .catalog
                    .watch_posts_of(s.source.id, which, LISTED_POSTS)
                    .await?;
                list.extend(posts.into_iter().map(|p| (s.source.url.clone(), p)));
            }
        }
    }
    let ids: Vec<i64> = sources.iter().map(|s| s.source.id).collect();
    let recent = state.catalog.recent_watch_posts(&ids, RECENT_POSTS).await?;
    let mut shown = Vec::with_capacity(recent.len());
    for post in recent {
        let source = sources
            .iter()
            .find(|s| s.source.id == post.source_id)
            .map(|s| s.source.url.clone())
            .unwrap_or_default();
        let item = match post.capture_id {
            Some(id) => state
                .catalog
                .capture(id)
                .await?
                .and_then(|c| c.record.items.first().map(|i| i.sha256.to_hex())),
            None => None,
        };
        shown.push(RecentPost { source, post, item });
    }
    gone.sort_by(|a, b| b.1.gone_at.cmp(&a.1.gone_at));
    changed.sort_by(|a, b| b.1.changed_at.cmp(&a.1.changed_at));
    vigil_core::accounts::audit(
        &state.catalog,
        Some(who.user()),
        "view",
        "watch",
        serde_json::json!({}),
        who.client.ip.as_deref(),
    )
    .await?;
    WatchPage {
        user: Some(who.user()),
        csrf: &who.session.csrf_token,
        sources,
        gone,
        changed,
        recent: shown,
    }
    .render()
    .map(|h| axum::response::Html(h).into_response())
    .map_err(|e| WebError::internal(e, false))
}

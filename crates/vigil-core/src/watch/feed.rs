//! The kinds of watched source, each behind [`Feed`]: how a source is polled, how one of its
//! posts is asked about again, and whether the media addresses it gave last. A new kind is one
//! implementation here, its name in [`feed_of`] and in `watch_sources.kind`'s CHECK, and its
//! recognition in `vigil_feeds::classify`.

use futures_util::future::BoxFuture;
use vigil_capture::http::{FetchError, Page, PageClient};
use vigil_feeds::{FeedPage, PostStatus};
use vigil_store::WatchSource;

use crate::capture::CaptureSettings;

/// Why a poll failed: a stable code (`http-429`, `timeout`, `unreadable`, `yt-dlp`…), a
/// message for a person, and how many seconds the source asked us to wait, if it did.
pub(super) type PollFailure = (String, String, Option<u64>);

/// What polling uses: one HTTP client for every page, and yt-dlp when a playlist is due.
pub(super) struct PollTools<'a> {
    pub client: &'a PageClient,
    pub lister: &'a PlaylistLister,
}

/// One kind of watched source.
pub(super) trait Feed: Send + Sync {
    /// Polls a source: the posts it shows now, newest included.
    fn poll<'a>(
        &'a self,
        tools: &'a PollTools<'a>,
        source: &'a WatchSource,
    ) -> BoxFuture<'a, Result<FeedPage, PollFailure>>;

    /// Reads the page of older posts a poll pointed to (`FeedPage::older`), to catch up
    /// with a source that posted more than one page between two polls; `None` when the kind
    /// has no such pages.
    fn poll_older<'a>(
        &'a self,
        _tools: &'a PollTools<'a>,
        _older: &'a url::Url,
    ) -> Option<BoxFuture<'a, Result<FeedPage, PollFailure>>> {
        None
    }

    /// The page that tells whether a captured post is still up (default: its own page, whose
    /// 404 or 410 says it is gone).
    fn check_url(&self, post_url: &str) -> String {
        post_url.to_owned()
    }

    /// What a 200 answer from [`Feed::check_url`] says of the post, when the kind can read
    /// it (default: nothing).
    fn read_check(&self, _body: &[u8], _url: &url::Url) -> Option<PostStatus> {
        None
    }

    /// True when the media addresses a post gives expire (Telegram signs them for hours):
    /// only the addresses it shows now are then compared with what we hold, never the ones
    /// we captured from.
    fn media_addresses_expire(&self) -> bool {
        false
    }
}

/// The implementation of a stored kind; `None` for a kind this version does not know.
pub(super) fn feed_of(kind: &str) -> Option<&'static dyn Feed> {
    match kind {
        "telegram" => Some(&TelegramPreview),
        "feed" => Some(&RssOrAtom),
        "playlist" => Some(&Playlist),
        _ => None,
    }
}

/// A public Telegram channel, read through its web preview `t.me/s/NAME` (or a mirror of it).
struct TelegramPreview;

impl Feed for TelegramPreview {
    fn poll<'a>(
        &'a self,
        tools: &'a PollTools<'a>,
        source: &'a WatchSource,
    ) -> BoxFuture<'a, Result<FeedPage, PollFailure>> {
        Box::pin(read_preview(tools.client, &source.poll_url))
    }

    fn poll_older<'a>(
        &'a self,
        tools: &'a PollTools<'a>,
        older: &'a url::Url,
    ) -> Option<BoxFuture<'a, Result<FeedPage, PollFailure>>> {
        Some(Box::pin(read_preview(tools.client, older.as_str())))
    }

    /// The post's embed page, which says "Post not found" when it is deleted and shows its
    /// present text and media otherwise.
    fn check_url(&self, post_url: &str) -> String {
        format!("{}?embed=1", post_url.split('?').next().unwrap_or(post_url))
    }

    fn read_check(&self, body: &[u8], url: &url::Url) -> Option<PostStatus> {
        vigil_feeds::parse_telegram_post(body, url).ok()
    }

    fn media_addresses_expire(&self) -> bool {
        true
    }
}

/// An RSS 2.0 or Atom feed.
struct RssOrAtom;

impl Feed for RssOrAtom {
    fn poll<'a>(
        &'a self,
        tools: &'a PollTools<'a>,
        source: &'a WatchSource,
    ) -> BoxFuture<'a, Result<FeedPage, PollFailure>> {
        Box::pin(read_feed(tools.client, &source.poll_url))
    }

    /// An Atom feed's `rel="next"` page (RFC 5005 paging).
    fn poll_older<'a>(
        &'a self,
        tools: &'a PollTools<'a>,
        older: &'a url::Url,
    ) -> Option<BoxFuture<'a, Result<FeedPage, PollFailure>>> {
        Some(Box::pin(read_feed(tools.client, older.as_str())))
    }
}

/// A channel or playlist that yt-dlp can list (`--flat-playlist`).
struct Playlist;

impl Feed for Playlist {
    fn poll<'a>(
        &'a self,
        tools: &'a PollTools<'a>,
        source: &'a WatchSource,
    ) -> BoxFuture<'a, Result<FeedPage, PollFailure>> {
        Box::pin(tools.lister.list(source))
    }
}

/// GETs a source's page; anything but 200 is a failure that backs the source off.
async fn fetch(client: &PageClient, url: &str) -> Result<Page, PollFailure> {
    let page = client
        .get(url)
        .await
        .map_err(|e: FetchError| (e.code().to_owned(), e.to_string(), None))?;
    if page.status != 200 {
        return Err((
            format!("http-{}", page.status),
            format!("{url} answered HTTP {}", page.status),
            page.retry_after,
        ));
    }
    Ok(page)
}

/// One page of a Telegram channel's preview (or a mirror's, whose post links are moved onto it).
async fn read_preview(client: &PageClient, url: &str) -> Result<FeedPage, PollFailure> {
    let page = fetch(client, url).await?;
    let mut posts =
        vigil_feeds::parse_telegram_preview(&page.body, &page.final_url).map_err(unreadable)?;
    rebase_posts(&mut posts, mirror_base(url).as_ref());
    Ok(posts)
}

/// One page of an RSS or Atom feed.
async fn read_feed(client: &PageClient, url: &str) -> Result<FeedPage, PollFailure> {
    let page = fetch(client, url).await?;
    vigil_feeds::parse_feed(&page.body, &page.final_url).map_err(unreadable)
}

fn unreadable(e: vigil_feeds::FeedError) -> PollFailure {
    ("unreadable".to_owned(), e.to_string(), None)
}

/// The host a Telegram-shaped page was polled from, when it is not t.me itself (a mirror of
/// the public preview): its posts are read from there too, never from elsewhere.
fn mirror_base(poll_url: &str) -> Option<url::Url> {
    url::Url::parse(poll_url)
        .ok()
        .filter(|u| !matches!(u.host_str(), Some("t.me" | "telegram.me")))
}

/// Moves post links onto `base`'s scheme, host and port (path kept).
fn rebase_posts(page: &mut FeedPage, base: Option<&url::Url>) {
    let Some(base) = base else {
        return;
    };
    for post in &mut page.posts {
        if let Ok(mut u) = url::Url::parse(&post.url) {
            let _ = u.set_scheme(base.scheme());
            let _ = u.set_host(base.host_str());
            let _ = u.set_port(base.port());
            post.url = u.to_string();
        }
    }
}

/// Lists channels and playlists with yt-dlp, through the same guard proxy as captures; only
/// started when a cycle has such a source.
pub(super) struct PlaylistLister {
    tool: Result<
        (
            vigil_capture::ytdlp::YtDlp,
            vigil_capture::ytdlp::MediaOptions,
        ),
        String,
    >,
    _proxy: Option<vigil_capture::proxy::GuardProxy>,
}

/// Entries listed per playlist poll (the newest; older ones were seen before).
const PLAYLIST_ENTRIES: usize = 50;

impl PlaylistLister {
    /// Locates yt-dlp and starts the guard proxy when `due` has a playlist.
    pub(super) async fn prepare(settings: &CaptureSettings, due: &[WatchSource]) -> PlaylistLister {
        let unused = |why: &str| PlaylistLister {
            tool: Err(why.to_owned()),
            _proxy: None,
        };
        if !due.iter().any(|s| s.kind == "playlist") {
            return unused("no playlist is due");
        }
        let ytdlp =
            match vigil_capture::ytdlp::YtDlp::locate(settings.media.yt_dlp.as_deref()).await {
                Ok(y) => y,
                Err(why) => return unused(&why),
            };
        let proxy = match vigil_capture::proxy::GuardProxy::start(
            settings.http.policy.clone(),
            settings.http.connect_timeout,
        )
        .await
        {
            Ok(p) => p,
            Err(e) => return unused(&format!("could not start the guard proxy: {e}")),
        };
        let options = vigil_capture::ytdlp::MediaOptions {
            max_bytes: 16 << 20,
            timeout: settings.media.timeout,
            socket_timeout: settings.http.read_timeout,
            proxy: proxy.url(),
        };
        PlaylistLister {
            tool: Ok((ytdlp, options)),
            _proxy: Some(proxy),
        }
    }

    async fn list(&self, source: &WatchSource) -> Result<FeedPage, PollFailure> {
        let (ytdlp, options) = self
            .tool
            .as_ref()
            .map_err(|why| ("yt-dlp".to_owned(), why.clone(), None))?;
        let json = ytdlp
            .list(&source.poll_url, PLAYLIST_ENTRIES, options)
            .await
            .map_err(|why| ("yt-dlp".to_owned(), why, None))?;
        vigil_feeds::parse_ytdlp_playlist(&json)
            .map_err(|e| ("unreadable".to_owned(), e.to_string(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_kind_has_a_feed_and_others_none() {
        for kind in ["telegram", "feed", "playlist"] {
            assert!(feed_of(kind).is_some(), "{kind}");
        }
        assert!(feed_of("mastodon").is_none());
        let telegram = feed_of("telegram").expect("telegram");
        assert!(telegram.media_addresses_expire());
        assert!(!feed_of("feed").expect("feed").media_addresses_expire());
    }

    #[test]
    fn telegram_posts_are_checked_on_their_embed_page_and_read_there() {
        let telegram = feed_of("telegram").expect("telegram");
        assert_eq!(
            telegram.check_url("https://t.me/chan/12?single"),
            "https://t.me/chan/12?embed=1"
        );
        let url = url::Url::parse("https://t.me/chan/12?embed=1").expect("url");
        let gone = b"<html><body class=\"widget_frame_base\">\
            <div class=\"tgme_widget_message_error\">Post not found</div></body></html>";
        assert!(matches!(
            telegram.read_check(gone, &url),
            Some(PostStatus::Deleted)
        ));
        let rss = feed_of("feed").expect("feed");
        assert_eq!(
            rss.check_url("https://example.org/a?b=1"),
            "https://example.org/a?b=1"
        );
        assert!(rss.read_check(gone, &url).is_none(), "a feed reads no page");
    }

    #[test]
    fn a_mirrors_posts_are_read_from_the_mirror() {
        assert!(mirror_base("https://t.me/s/chan").is_none());
        let base = mirror_base("http://127.0.0.2:8080/s/chan").expect("a mirror");
        let mut page = FeedPage {
            title: None,
            posts: vec![vigil_feeds::Post {
                id: "chan/1".into(),
                url: "https://t.me/chan/1".into(),
                author: None,
                published_at: None,
                text: None,
                media: vec![],
            }],
            older: None,
        };
        rebase_posts(&mut page, Some(&base));
        assert_eq!(page.posts[0].url, "http://127.0.0.2:8080/chan/1");
    }
}

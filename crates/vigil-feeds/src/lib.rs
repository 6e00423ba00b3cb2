//! Turning what a watched source serves into posts (issue 9: "Watch the channels: capture new
//! posts before they are deleted").
//!
//! A watched source is a URL. [`classify`] says what kind it is and [`poll_url`] which page to
//! fetch for it; the caller fetches that page (HTTP, polling, storage and capture live
//! elsewhere) and hands the bytes to one of the parsers here:
//!
//! - [`parse_telegram_preview`]: the public web preview of a Telegram channel,
//!   `https://t.me/s/NAME` (about twenty posts, oldest first, with a link to older ones);
//! - [`parse_telegram_post`]: the embed page of one post, `https://t.me/NAME/123?embed=1`,
//!   to tell whether a post we saw has since been deleted;
//! - [`parse_feed`]: RSS 2.0 (and 0.9x/1.0) and Atom 1.0 feeds;
//! - [`parse_ytdlp_playlist`]: what `yt-dlp --flat-playlist` prints for anything else.
//!
//! Each returns a [`FeedPage`] of [`Post`]s: a stable id within the source, the post's own page,
//! author, time (RFC 3339, UTC), plain text that an investigator can read (line breaks kept,
//! link targets shown), and the media to capture.
//!
//! This crate is pure parsing: no I/O, no other Vigil crate. Its input comes from the sites we
//! watch, which may be hostile, so every parser takes any bytes and answers with a result or an
//! error, never a panic (no unwrap or indexing on input here; the tests run every parser over
//! random mutations of real-shaped pages); it refuses inputs over [`MAX_INPUT_BYTES`] and
//! bounds the work and memory it spends (see the `MAX_` constants: what is over a limit is
//! refused with an error or cut, as each one documents).
//! XML document type declarations are refused outright, so no entity is ever expanded or
//! fetched (no XXE, no "billion laughs").
#![deny(missing_docs)]
// Tests may unwrap; the library itself may not (the workspace lint, checked on the lib target).
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod dom;
mod feed;
mod telegram;
mod util;
mod ytdlp;

use serde::Serialize;
use url::Url;

pub use feed::parse_feed;
pub use telegram::{parse_telegram_post, parse_telegram_preview};
pub use ytdlp::parse_ytdlp_playlist;

/// The largest input any parser accepts, in bytes; larger inputs are refused with
/// [`FeedError::TooLarge`]. A Telegram preview page is a few hundred KiB and a busy feed a few
/// MiB; the flat playlist of a large channel is the biggest thing we expect.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

/// The most posts one [`FeedPage`] holds. Further posts are dropped: the first ones in the
/// source's order are kept (the oldest of a Telegram page, usually the newest of a feed or
/// playlist), so a hostile source cannot make us hold an unbounded list.
pub const MAX_POSTS_PER_PAGE: usize = 1000;

/// The longest [`Post::text`], in bytes of UTF-8. Longer text is cut at a character boundary
/// and ends with [`TEXT_TRUNCATED_MARK`], so a reader knows there was more.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Appended to a [`Post::text`] that was cut at [`MAX_TEXT_BYTES`].
pub const TEXT_TRUNCATED_MARK: &str = "\n[… text truncated]";

/// The most [`MediaRef`]s one post holds (a Telegram album has at most ten). Further media are
/// dropped, the first ones in document order kept.
pub const MAX_MEDIA_PER_POST: usize = 64;

/// The longest id, URL, author or title, in bytes. A longer author or title is cut at a
/// character boundary; a media URL that is longer is dropped, and a post whose id or own URL
/// is longer is skipped, since a cut id or URL would point at something else.
pub const MAX_FIELD_BYTES: usize = 8 * 1024;

/// The most nodes built for one HTML document or fragment (a Telegram page, one feed item's
/// description); a real preview page has a few thousand. Beyond it the call fails with
/// [`FeedError::TooComplex`]: HTML tree construction can be made to build a quadratic number
/// of nodes, and this bounds the memory. A budget of tree-building work, shared by all the
/// HTML of one call, bounds the time the same way.
pub const MAX_HTML_NODES: usize = 500_000;

/// The deepest element nesting accepted in HTML or XML; deeper input fails with
/// [`FeedError::TooComplex`]. Browsers stop nesting at a similar depth (Blink at 512).
pub const MAX_NESTING_DEPTH: usize = 512;

/// What kind of source a watched URL is, which decides how it is polled and parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    /// A public Telegram channel, polled through its web preview `https://t.me/s/NAME` and
    /// parsed with [`parse_telegram_preview`].
    TelegramChannel {
        /// The channel's public username, as written in the URL (Telegram treats it
        /// case-insensitively).
        name: String,
    },
    /// An RSS or Atom feed, parsed with [`parse_feed`].
    Feed,
    /// Anything else: a channel, playlist or profile page that `yt-dlp --flat-playlist`
    /// lists, parsed with [`parse_ytdlp_playlist`].
    Playlist,
}

/// Says what kind of source `url` is, from the URL alone (no fetching).
///
/// - `t.me/NAME`, `t.me/s/NAME`, `t.me/NAME/123` (and the same on `telegram.me`, `telegram.dog`
///   or a `www.` host) are a [`SourceKind::TelegramChannel`]. A channel name is 4 to 32 ASCII
///   letters, digits and underscores, starting with a letter (5 for ordinary usernames; 4 are
///   sold as collectible ones); Telegram's own paths (`joinchat`, `addstickers`, `share`, …)
///   are not channels.
/// - A URL that looks like a feed is a [`SourceKind::Feed`]: a path ending in `.rss`, `.xml`,
///   `.atom` or `.rdf`, a last path segment `feed`, `rss` or `atom`, or a `feed=` or
///   `format=rss`/`format=atom` query.
/// - Everything else is a [`SourceKind::Playlist`], left to yt-dlp.
pub fn classify(url: &Url) -> SourceKind {
    if let Some(name) = telegram::channel_name(url) {
        return SourceKind::TelegramChannel { name };
    }
    if looks_like_feed(url) {
        return SourceKind::Feed;
    }
    SourceKind::Playlist
}

fn looks_like_feed(url: &Url) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let path = url.path().trim_end_matches('/').to_ascii_lowercase();
    let last = path.rsplit('/').next().unwrap_or("");
    if [".rss", ".xml", ".atom", ".rdf"]
        .iter()
        .any(|ext| last.ends_with(ext))
        || matches!(last, "feed" | "rss" | "atom")
    {
        return true;
    }
    url.query_pairs().any(|(key, value)| {
        key.eq_ignore_ascii_case("feed")
            || (key.eq_ignore_ascii_case("format")
                && (value.eq_ignore_ascii_case("rss") || value.eq_ignore_ascii_case("atom")))
    })
}

/// The URL to fetch to poll a source: `https://t.me/s/NAME` for a Telegram channel (the
/// preview page, which lists posts without signing in), the source itself otherwise.
pub fn poll_url(kind: &SourceKind, source: &Url) -> Url {
    match kind {
        SourceKind::TelegramChannel { name } => {
            telegram::preview_url(name).unwrap_or_else(|| source.clone())
        }
        SourceKind::Feed | SourceKind::Playlist => source.clone(),
    }
}

/// One post of a watched source, as far as the page that lists it tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    /// Stable within its source, so that a post seen twice is recognised: `NAME/123` for
    /// Telegram, the feed's guid (or link), the yt-dlp id.
    pub id: String,
    /// The post's own page (`https://t.me/NAME/123`, the feed item's link, the video page):
    /// what to capture, and what to cite.
    pub url: String,
    /// Who posted it, as the source names them, when it does.
    pub author: Option<String>,
    /// When it was published, as RFC 3339 in UTC (`2024-03-01T12:34:56Z`), when the source
    /// says. A yt-dlp `upload_date` has only a day; it is given as midnight UTC of that day.
    pub published_at: Option<String>,
    /// The post's text as plain text for reading: HTML turned into text, line breaks kept,
    /// each link's target shown after its text ("text (URL)"), a forwarded post's origin on the
    /// first line. At most [`MAX_TEXT_BYTES`].
    pub text: Option<String>,
    /// Media attached to the post, to capture before the post goes: at most
    /// [`MAX_MEDIA_PER_POST`], each URL once.
    pub media: Vec<MediaRef>,
}

/// A piece of media attached to a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaRef {
    /// Where to fetch it: an absolute `http(s)` URL. Telegram preview URLs for media are
    /// signed and expire within hours, so capture them soon after parsing.
    pub url: String,
    /// What it is, as far as the source says.
    pub kind: MediaRefKind,
}

/// What a [`MediaRef`] points at, which decides how it is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaRefKind {
    /// A still image (photo, thumbnail, sticker).
    Image,
    /// A video, or a page holding one (a Telegram video too large for the preview is given
    /// as its post link, for a downloader such as yt-dlp).
    Video,
    /// Anything else: audio, a document, a file of unknown type.
    Other,
}

/// What one fetch of a source yielded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedPage {
    /// The source's own title (channel, feed or playlist name), when it gives one.
    pub title: Option<String>,
    /// The posts, in the source's order: oldest first for a Telegram preview page; feeds and
    /// playlists usually list the newest first. At most [`MAX_POSTS_PER_PAGE`].
    pub posts: Vec<Post>,
    /// The next page of older posts, when the source paginates (`https://t.me/s/NAME?before=123`,
    /// an Atom `rel="next"` link). Only ever an `http(s)` URL on the host of the page parsed,
    /// so a hostile page cannot point the poller elsewhere.
    pub older: Option<Url>,
}

/// Whether a post that was seen is still there, from its Telegram embed page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "post", rename_all = "snake_case")]
pub enum PostStatus {
    /// The post is still public; here is what it shows now (it may have been edited).
    Present(Post),
    /// Telegram says "Post not found": the post was deleted (or its channel was).
    Deleted,
}

/// Why a page could not be parsed. Each variant says what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The input is larger than [`MAX_INPUT_BYTES`]; it is not read at all.
    #[error("input is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// The input exceeds a structural limit ([`MAX_HTML_NODES`], [`MAX_NESTING_DEPTH`]): it
    /// is not a page the source would serve, or it was built to exhaust the parser.
    #[error("input too complex to parse: {0}")]
    TooComplex(&'static str),
    /// The page is not what this parser reads (a different page, a changed layout, an error
    /// page); the poller should alert rather than treat it as "no posts".
    #[error("not a recognised page: {0}")]
    Unrecognized(String),
    /// Telegram showed an error other than "Post not found" for a post (the channel became
    /// private, for instance): the post's status is unknown.
    #[error("Telegram says: {0}")]
    Telegram(String),
    /// The XML has a document type declaration. Feeds do not need one; it is refused so that
    /// no entity is ever expanded or fetched.
    #[error("XML document type declarations are refused (no entity is expanded or fetched)")]
    Doctype,
    /// The XML is malformed (truncated, mismatched tags) or is not an RSS or Atom feed.
    #[error("not a readable feed: {0}")]
    Xml(String),
    /// The JSON is malformed or is not yt-dlp output.
    #[error("not readable yt-dlp JSON: {0}")]
    Json(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn channel(name: &str) -> SourceKind {
        SourceKind::TelegramChannel { name: name.into() }
    }

    #[test]
    fn classify_telegram_channels() {
        assert_eq!(classify(&url("https://t.me/durov")), channel("durov"));
        assert_eq!(classify(&url("https://t.me/s/durov")), channel("durov"));
        assert_eq!(
            classify(&url("http://telegram.me/s/some_chan/")),
            channel("some_chan")
        );
        assert_eq!(
            classify(&url("https://www.t.me/durov/123")),
            channel("durov")
        );
        assert_eq!(
            classify(&url("https://t.me/s/Durov_News?before=12")),
            channel("Durov_News")
        );
        assert_eq!(classify(&url("https://t.me/news")), channel("news"));
    }

    #[test]
    fn classify_rejects_what_is_not_a_channel() {
        // Too short, too long, bad characters, Telegram's own paths, other hosts.
        for u in [
            "https://t.me/abc",
            "https://t.me/a23456789012345678901234567890123",
            "https://t.me/bad-name",
            "https://t.me/1channel",
            "https://t.me/joinchat/AAAAAE",
            "https://t.me/+AbCdEf",
            "https://t.me/addstickers/Pack",
            "https://t.me/c/1234567/89",
            "https://t.me/",
            "https://t.me/s/",
            "https://nott.me/durov",
            "ftp://t.me/durov",
        ] {
            assert!(
                !matches!(classify(&url(u)), SourceKind::TelegramChannel { .. }),
                "{u} is not a channel"
            );
        }
    }

    #[test]
    fn classify_feeds_and_playlists() {
        for u in [
            "https://example.org/feed",
            "https://example.org/feed/",
            "https://example.org/news/rss",
            "https://example.org/index.xml",
            "https://example.org/a/b.atom",
            "https://example.org/a/b.RSS",
            "https://www.youtube.com/feeds/videos.xml?channel_id=UC123",
            "https://example.org/?feed=rss2",
            "https://example.org/list?format=atom",
        ] {
            assert_eq!(classify(&url(u)), SourceKind::Feed, "{u}");
        }
        for u in [
            "https://www.youtube.com/@somechannel/videos",
            "https://www.tiktok.com/@someone",
            "https://example.org/feedback",
            "https://example.org/rss-readers/list",
        ] {
            assert_eq!(classify(&url(u)), SourceKind::Playlist, "{u}");
        }
    }

    #[test]
    fn poll_url_uses_the_telegram_preview() {
        let source = url("https://t.me/durov/123");
        assert_eq!(
            poll_url(&classify(&source), &source).as_str(),
            "https://t.me/s/durov"
        );
        let feed = url("https://example.org/feed");
        assert_eq!(poll_url(&SourceKind::Feed, &feed), feed);
        // A name that did not come from classify cannot break out of the path.
        let odd = poll_url(&channel("a/../b?c"), &feed);
        assert_eq!(odd.host_str(), Some("t.me"));
        assert!(odd.path().starts_with("/s/"), "{odd}");
        assert_eq!(odd.query(), None);
    }
}

//! Any bytes read by the watched-source parsers: a Telegram preview page, a Telegram embed
//! page, an RSS/Atom feed and yt-dlp's flat-playlist JSON. The first byte picks the parser, the
//! rest is the page. Never panics, and what comes out holds the limits the poller relies on:
//! at most `MAX_POSTS_PER_PAGE` posts, each with a non-empty id and URL of at most
//! `MAX_FIELD_BYTES`, text of at most `MAX_TEXT_BYTES` (plus the truncation mark), at most
//! `MAX_MEDIA_PER_POST` distinct absolute http(s) media URLs, an RFC 3339 UTC time when one
//! is given, and an older-posts link only on the page's own host.
#![no_main]

use libfuzzer_sys::fuzz_target;
use url::Url;
use vigil_feeds::{
    FeedPage, MAX_FIELD_BYTES, MAX_MEDIA_PER_POST, MAX_POSTS_PER_PAGE, MAX_TEXT_BYTES, Post,
    PostStatus, TEXT_TRUNCATED_MARK, parse_feed, parse_telegram_post, parse_telegram_preview,
    parse_ytdlp_playlist,
};

fn http_url(s: &str) -> bool {
    Url::parse(s)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, optionally with a fraction of a second before the `Z`.
fn rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[b.len() - 1] == b'Z'
        && (b.len() == 20 || (b[19] == b'.' && digits(20..b.len() - 1) && b.len() > 21))
}

fn check_post(post: &Post) {
    assert!(
        !post.id.is_empty() && post.id.len() <= MAX_FIELD_BYTES,
        "id of {} bytes",
        post.id.len()
    );
    assert!(post.url.len() <= MAX_FIELD_BYTES, "url of {} bytes", post.url.len());
    for field in [&post.author] {
        assert!(field.as_ref().is_none_or(|f| f.len() <= MAX_FIELD_BYTES));
    }
    if let Some(text) = &post.text {
        assert!(
            text.len() <= MAX_TEXT_BYTES + TEXT_TRUNCATED_MARK.len(),
            "text of {} bytes",
            text.len()
        );
    }
    if let Some(at) = &post.published_at {
        assert!(rfc3339_utc(at), "published_at {at:?}");
    }
    assert!(post.media.len() <= MAX_MEDIA_PER_POST, "{} media", post.media.len());
    let mut seen = std::collections::HashSet::new();
    for m in &post.media {
        assert!(http_url(&m.url), "media URL {:?}", m.url);
        assert!(m.url.len() <= MAX_FIELD_BYTES);
        assert!(seen.insert(&m.url), "media URL twice: {:?}", m.url);
    }
}

fn check_page(page: &FeedPage, base: &Url) {
    assert!(page.posts.len() <= MAX_POSTS_PER_PAGE, "{} posts", page.posts.len());
    for post in &page.posts {
        check_post(post);
    }
    if let Some(older) = &page.older {
        assert!(matches!(older.scheme(), "http" | "https"), "{older}");
        assert_eq!(older.host_str(), base.host_str(), "older link off the page's host");
    }
    serde_json::to_string(page).expect("a page serialises (it goes into capture details)");
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, page)) = data.split_first() else {
        return;
    };
    let base = Url::parse("https://t.me/s/example_chan").expect("base");
    match which % 4 {
        0 => {
            if let Ok(p) = parse_telegram_preview(page, &base) {
                check_page(&p, &base);
            }
        }
        1 => {
            let post_base = Url::parse("https://t.me/example_chan/12?embed=1").expect("base");
            if let Ok(PostStatus::Present(post)) = parse_telegram_post(page, &post_base) {
                check_post(&post);
            }
        }
        2 => {
            let feed_base = Url::parse("https://example.org/feed.xml").expect("base");
            if let Ok(p) = parse_feed(page, &feed_base) {
                check_page(&p, &feed_base);
            }
        }
        _ => {
            if let Ok(p) = parse_ytdlp_playlist(page) {
                assert!(p.older.is_none(), "a playlist has no older page");
                check_page(&p, &base);
            }
        }
    }
});

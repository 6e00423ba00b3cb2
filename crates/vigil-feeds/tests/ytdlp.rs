//! yt-dlp flat playlists, in both output forms.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use vigil_feeds::{FeedError, MediaRefKind, parse_ytdlp_playlist};

#[test]
fn single_json_playlist() {
    let page = parse_ytdlp_playlist(&fixture("ytdlp_single.json")).unwrap();
    assert_eq!(page.title.as_deref(), Some("Eyewitness Footage - Videos"));
    assert_eq!(page.older, None);
    // null (an unavailable video) and the entry without a page are skipped.
    let ids: Vec<_> = page.posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["dQw4w9WgXcQ", "a1B2c3D4e5F", "Zz9_-Yy8Xx7"]);

    let first = &page.posts[0];
    assert_eq!(first.url, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    // Flat entries carry no uploader: the playlist's.
    assert_eq!(first.author.as_deref(), Some("Eyewitness Footage"));
    assert_eq!(first.published_at, None);
    assert_eq!(
        first.text.as_deref(),
        Some("Aftermath of the strike on the market, 1 March")
    );
    // The best (last) thumbnail.
    assert_eq!(first.media.len(), 1);
    assert_eq!(first.media[0].kind, MediaRefKind::Image);
    assert!(
        first.media[0].url.contains("rs=AOn4CLB"),
        "{:?}",
        first.media
    );

    let second = &page.posts[1];
    assert_eq!(second.published_at.as_deref(), Some("2024-03-01T12:34:56Z"));
    assert_eq!(
        second.text.as_deref(),
        Some("Convoy on the highway – night footage\n\nFilmed from a balcony.\nLocation withheld.")
    );
    assert!(second.media.is_empty());

    // `url` was a bare id: the page is built from it; upload_date is a day.
    let third = &page.posts[2];
    assert_eq!(third.url, "https://www.youtube.com/watch?v=Zz9_-Yy8Xx7");
    assert_eq!(third.published_at.as_deref(), Some("2024-02-28T00:00:00Z"));
}

#[test]
fn one_object_per_line() {
    let page = parse_ytdlp_playlist(&fixture("ytdlp_lines.jsonl")).unwrap();
    assert_eq!(page.title.as_deref(), Some("witness.account"));
    assert_eq!(page.posts.len(), 2);
    let first = &page.posts[0];
    assert_eq!(first.id, "7341234567890123456");
    assert_eq!(
        first.url,
        "https://www.tiktok.com/@witness.account/video/7341234567890123456"
    );
    assert_eq!(first.author.as_deref(), Some("witness.account"));
    assert_eq!(first.published_at.as_deref(), Some("2024-03-01T08:00:00Z"));
    // The description repeats the title: once.
    assert_eq!(
        first.text.as_deref(),
        Some("Smoke over the port this morning #port")
    );
    assert_eq!(
        first.media[0].url,
        "https://p16-sign.tiktokcdn.com/obj/cover.jpeg"
    );
    // A fractional timestamp.
    assert_eq!(
        page.posts[1].published_at.as_deref(),
        Some("2024-02-29T09:46:40Z")
    );
}

#[test]
fn a_single_video_is_one_post() {
    let json = br#"{"_type":"video","id":"abc","webpage_url":"https://vimeo.com/123","title":"T","uploader":"U","timestamp":0}"#;
    let page = parse_ytdlp_playlist(json).unwrap();
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].url, "https://vimeo.com/123");
    assert_eq!(
        page.posts[0].published_at.as_deref(),
        Some("1970-01-01T00:00:00Z")
    );
}

#[test]
fn nested_playlists_are_flattened() {
    let json = br#"{"_type":"playlist","title":"Channel","uploader":"Chan","entries":[
        {"_type":"playlist","title":"Videos","entries":[{"id":"v1","url":"https://x.org/v1"}]},
        {"_type":"playlist","title":"Shorts","entries":[{"id":"s1","url":"https://x.org/s1","uploader":"Other"}]}]}"#;
    let page = parse_ytdlp_playlist(json).unwrap();
    let got: Vec<_> = page
        .posts
        .iter()
        .map(|p| (p.id.as_str(), p.author.as_deref()))
        .collect();
    assert_eq!(got, [("v1", Some("Chan")), ("s1", Some("Other"))]);
}

#[test]
fn malformed_json_is_an_error() {
    for bad in [
        &b""[..],
        b"{",
        b"[1,2]",
        b"{\"entries\": 5}",
        b"\xff\xfe{}",
        b"null",
        b"{}",
        b"{\"id\":1} [2]",
    ] {
        let result = parse_ytdlp_playlist(bad);
        assert!(
            matches!(result, Err(FeedError::Json(_))),
            "{bad:?}: {result:?}"
        );
    }
}

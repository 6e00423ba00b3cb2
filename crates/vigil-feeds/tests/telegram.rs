//! The Telegram preview page and the post embed page, on fixtures shaped like the real ones.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use url::Url;
use vigil_feeds::{
    FeedError, MediaRefKind, Post, PostStatus, parse_telegram_post, parse_telegram_preview,
};

fn preview() -> Vec<Post> {
    let page = parse_telegram_preview(
        &fixture("telegram_preview.html"),
        &url("https://t.me/s/example_news"),
    )
    .unwrap();
    assert_eq!(page.title.as_deref(), Some("Example News"));
    assert_eq!(
        page.older.as_ref().map(Url::as_str),
        Some("https://t.me/s/example_news?before=101")
    );
    page.posts
}

fn post<'a>(posts: &'a [Post], id: &str) -> &'a Post {
    posts.iter().find(|p| p.id == id).unwrap()
}

#[test]
fn preview_lists_posts_oldest_first_without_service_rows() {
    let ids: Vec<_> = preview().into_iter().map(|p| p.id).collect();
    // 103 is "pinned a photo", a service row; 106 and 107 are part of album 105.
    assert_eq!(
        ids,
        [
            "example_news/101",
            "example_news/102",
            "example_news/104",
            "example_news/105",
            "example_news/108",
            "example_news/109",
            "example_news/110"
        ]
    );
}

#[test]
fn text_post_keeps_line_breaks_entities_and_link_targets() {
    let posts = preview();
    let p = post(&posts, "example_news/101");
    assert_eq!(p.url, "https://t.me/example_news/101");
    assert_eq!(p.author.as_deref(), Some("Example News"));
    assert_eq!(p.published_at.as_deref(), Some("2024-03-01T06:52:10Z"));
    assert_eq!(
        p.text.as_deref(),
        Some(
            "Shelling reported near the station at 06:40 ⚠️\n\n\
             Residents say \"three impacts\" & a fire. Source: the local council \
             (https://example.org/report?id=7&lang=en)\n\
             #shelling @other_channel https://example.org/short"
        )
    );
    assert!(p.media.is_empty());
}

#[test]
fn photo_post_with_signature_and_offset_time() {
    let posts = preview();
    let p = post(&posts, "example_news/102");
    assert_eq!(p.author.as_deref(), Some("Example News (Olena K.)"));
    // 08:15 at +02:00 is 06:15 UTC.
    assert_eq!(p.published_at.as_deref(), Some("2024-03-01T06:15:00Z"));
    assert_eq!(
        p.text.as_deref(),
        Some("Damage to the school, photographed this morning.")
    );
    assert_eq!(
        p.media,
        [media(
            "https://cdn4.cdn-telegram.org/file/photo102.jpg",
            MediaRefKind::Image
        )]
    );
}

#[test]
fn video_post_gives_the_video_file() {
    let posts = preview();
    let p = post(&posts, "example_news/104");
    assert_eq!(
        p.media,
        [media(
            "https://cdn4.cdn-telegram.org/file/video104.mp4?token=abc",
            MediaRefKind::Video
        )]
    );
    assert_eq!(p.text.as_deref(), Some("Video from the scene."));
}

#[test]
fn album_gives_every_photo_and_video_in_order() {
    let posts = preview();
    let p = post(&posts, "example_news/105");
    assert_eq!(
        p.media,
        [
            media(
                "https://cdn4.cdn-telegram.org/file/album105a.jpg",
                MediaRefKind::Image
            ),
            media(
                "https://cdn4.cdn-telegram.org/file/album106b.jpg",
                MediaRefKind::Image
            ),
            media(
                "https://cdn4.cdn-telegram.org/file/video107.mp4",
                MediaRefKind::Video
            ),
        ]
    );
}

#[test]
fn forwarded_post_names_its_origin_first() {
    let posts = preview();
    let p = post(&posts, "example_news/108");
    assert_eq!(
        p.text.as_deref(),
        Some(
            "Forwarded from Regional Administration (https://t.me/regional_admin/5531)\n\n\
             Curfew extended until Monday."
        )
    );
}

#[test]
fn reply_and_link_preview_are_not_the_post_and_big_video_is_its_post_link() {
    let posts = preview();
    let p = post(&posts, "example_news/109");
    // Neither the quoted post nor the linked page's card is this post's text.
    assert_eq!(p.text.as_deref(), Some("Update: full drone footage."));
    assert_eq!(
        p.media,
        [
            media("https://t.me/example_news/109", MediaRefKind::Video),
            media(
                "https://cdn4.cdn-telegram.org/file/thumb109.jpg",
                MediaRefKind::Image
            ),
        ]
    );
}

#[test]
fn document_and_voice_post() {
    let posts = preview();
    let p = post(&posts, "example_news/110");
    assert_eq!(p.text.as_deref(), Some("[File: casualty_list.pdf, 1.2 MB]"));
    assert_eq!(
        p.media,
        [
            media("https://t.me/example_news/110", MediaRefKind::Other),
            media(
                "https://cdn4.cdn-telegram.org/file/voice110.ogg",
                MediaRefKind::Other
            ),
        ]
    );
}

#[test]
fn older_page_falls_back_to_link_rel_prev_and_stays_on_host() {
    let html = br#"<html><head><link rel="prev" href="/s/chan?before=50"></head><body>
        <div class="tgme_channel_info"></div></body></html>"#;
    let page = parse_telegram_preview(html, &url("https://t.me/s/chan?before=70")).unwrap();
    assert!(page.posts.is_empty());
    assert_eq!(
        page.older.map(String::from).as_deref(),
        Some("https://t.me/s/chan?before=50")
    );

    let elsewhere =
        br#"<html><head><link rel="prev" href="https://evil.example/s/chan?before=50"></head><body>
        <div class="tgme_channel_info"></div></body></html>"#;
    let page = parse_telegram_preview(elsewhere, &url("https://t.me/s/chan")).unwrap();
    assert_eq!(page.older, None);
}

#[test]
fn a_page_that_is_not_a_preview_is_an_error_not_an_empty_page() {
    // What t.me/NAME shows for a channel without a public preview.
    let html = br#"<html><body><div class="tgme_page"><div class="tgme_page_title">Chan</div>
        <a class="tgme_action_button_new" href="tg://resolve?domain=chan">View in Telegram</a></div></body></html>"#;
    let err = parse_telegram_preview(html, &url("https://t.me/s/chan")).unwrap_err();
    assert!(matches!(err, FeedError::Unrecognized(_)), "{err}");
}

#[test]
fn posts_with_unreadable_ids_are_skipped() {
    let html = br#"<div class="tgme_widget_message" data-post="../../etc/passwd">x</div>
        <div class="tgme_widget_message" data-post="chan/abc">x</div>
        <div class="tgme_widget_message" data-post="chan/7"><div class="tgme_widget_message_text">ok</div></div>"#;
    let page = parse_telegram_preview(html, &url("https://t.me/s/chan")).unwrap();
    assert_eq!(page.posts.len(), 1);
    assert_eq!(page.posts[0].url, "https://t.me/chan/7");
    assert_eq!(page.posts[0].text.as_deref(), Some("ok"));
    assert_eq!(page.posts[0].published_at, None);
}

#[test]
fn embed_page_of_a_deleted_post() {
    let status = parse_telegram_post(
        &fixture("telegram_post_deleted.html"),
        &url("https://t.me/example_news/104?embed=1"),
    )
    .unwrap();
    assert_eq!(status, PostStatus::Deleted);
}

#[test]
fn embed_page_of_a_present_post() {
    let status = parse_telegram_post(
        &fixture("telegram_post_present.html"),
        &url("https://t.me/example_news/102?embed=1"),
    )
    .unwrap();
    let PostStatus::Present(p) = status else {
        panic!("{status:?}")
    };
    assert_eq!(p.id, "example_news/102");
    assert_eq!(p.url, "https://t.me/example_news/102");
    assert_eq!(p.published_at.as_deref(), Some("2024-03-01T06:15:00Z"));
    assert_eq!(
        p.text.as_deref(),
        Some("Damage to the school, photographed this morning (edited).")
    );
    assert_eq!(
        p.media,
        [media(
            "https://cdn4.cdn-telegram.org/file/photo102.jpg",
            MediaRefKind::Image
        )]
    );
}

#[test]
fn embed_errors_other_than_not_found_are_not_deletions() {
    let html = br#"<div class="tgme_widget_message_error">Channel is private</div>"#;
    let err = parse_telegram_post(html, &url("https://t.me/chan/1?embed=1")).unwrap_err();
    assert!(
        matches!(&err, FeedError::Telegram(m) if m == "Channel is private"),
        "{err}"
    );
    // A page without any post (a captcha, a changed layout) proves nothing either.
    let err = parse_telegram_post(
        b"<html><body>Please wait</body></html>",
        &url("https://t.me/chan/1?embed=1"),
    )
    .unwrap_err();
    assert!(matches!(err, FeedError::Unrecognized(_)), "{err}");
}

#[test]
fn embed_without_data_post_takes_the_id_from_the_page_url() {
    let html = br#"<div class="tgme_widget_message"><div class="tgme_widget_message_text">hi<br>there</div></div>"#;
    let status = parse_telegram_post(html, &url("https://t.me/chan/42?embed=1")).unwrap();
    let PostStatus::Present(p) = status else {
        panic!("{status:?}")
    };
    assert_eq!(p.id, "chan/42");
    assert_eq!(p.text.as_deref(), Some("hi\nthere"));
}

//! Hostile input: what a watched source may serve to hurt us. Every parser must return an error
//! or a bounded result, quickly, and never panic.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::time::{Duration, Instant};

use url::Url;
use vigil_feeds::{
    FeedError, FeedPage, MAX_FIELD_BYTES, MAX_INPUT_BYTES, MAX_MEDIA_PER_POST, MAX_POSTS_PER_PAGE,
    MAX_TEXT_BYTES, Post, PostStatus, TEXT_TRUNCATED_MARK, parse_feed, parse_telegram_post,
    parse_telegram_preview, parse_ytdlp_playlist,
};

fn tg_base() -> Url {
    Url::parse("https://t.me/s/example_news").unwrap()
}

fn feed_base() -> Url {
    Url::parse("https://news.example.org/feed/").unwrap()
}

/// What every post from every parser promises, whatever the input.
fn check_post(post: &Post) {
    assert!(!post.id.is_empty() && post.id.len() <= MAX_FIELD_BYTES);
    let url = Url::parse(&post.url).unwrap();
    assert!(matches!(url.scheme(), "http" | "https"), "{}", post.url);
    if let Some(text) = &post.text {
        assert!(text.len() <= MAX_TEXT_BYTES, "text of {} bytes", text.len());
        assert!(!text.trim().is_empty());
    }
    if let Some(author) = &post.author {
        assert!(author.len() <= MAX_FIELD_BYTES && !author.is_empty());
    }
    if let Some(time) = &post.published_at {
        let parsed =
            time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert!(time.ends_with('Z') && parsed.offset().is_utc(), "{time}");
    }
    assert!(post.media.len() <= MAX_MEDIA_PER_POST);
    for media in &post.media {
        let url = Url::parse(&media.url).unwrap();
        assert!(matches!(url.scheme(), "http" | "https"), "{}", media.url);
        assert!(media.url.len() <= MAX_FIELD_BYTES);
    }
}

fn check_page(page: &FeedPage, base: Option<&Url>) {
    assert!(page.posts.len() <= MAX_POSTS_PER_PAGE);
    page.posts.iter().for_each(check_post);
    if let Some(older) = &page.older {
        assert_eq!(older.host_str(), base.and_then(Url::host_str), "{older}");
    }
    if let Some(title) = &page.title {
        assert!(title.len() <= MAX_FIELD_BYTES);
    }
}

/// Runs every parser on `input` and checks whatever comes out.
fn run_all(input: &[u8]) {
    let tg = tg_base();
    let feed = feed_base();
    if let Ok(page) = parse_telegram_preview(input, &tg) {
        check_page(&page, Some(&tg));
    }
    if let Ok(PostStatus::Present(post)) = parse_telegram_post(
        input,
        &Url::parse("https://t.me/example_news/1?embed=1").unwrap(),
    ) {
        check_post(&post);
    }
    if let Ok(page) = parse_feed(input, &feed) {
        check_page(&page, Some(&feed));
    }
    if let Ok(page) = parse_ytdlp_playlist(input) {
        check_page(&page, None);
    }
}

fn timed<T>(limit_secs: u64, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(limit_secs),
        "took {elapsed:?}"
    );
    out
}

#[test]
fn oversized_input_is_refused_unread() {
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    let too_large = |r: &FeedError| matches!(r, FeedError::TooLarge { size, limit } if *size == MAX_INPUT_BYTES + 1 && *limit == MAX_INPUT_BYTES);
    assert!(too_large(
        &parse_telegram_preview(&big, &tg_base()).unwrap_err()
    ));
    assert!(too_large(
        &parse_telegram_post(&big, &tg_base()).unwrap_err()
    ));
    assert!(too_large(&parse_feed(&big, &feed_base()).unwrap_err()));
    assert!(too_large(&parse_ytdlp_playlist(&big).unwrap_err()));
}

#[test]
fn truncated_pages_never_panic_and_keep_complete_posts() {
    let html = fixture("telegram_preview.html");
    let xml = fixture("rss.xml");
    let json = fixture("ytdlp_single.json");
    for input in [&html, &xml, &json] {
        for cut in (0..input.len()).step_by(61) {
            run_all(&input[..cut]);
        }
    }
    // Cut just after the second post: the first two are there, whole.
    let end_of_102 = String::from_utf8_lossy(&html)
        .find("data-post=\"example_news/103\"")
        .unwrap();
    let page = parse_telegram_preview(&html[..end_of_102], &tg_base()).unwrap();
    let ids: Vec<_> = page.posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["example_news/101", "example_news/102"]);
    assert_eq!(page.posts[1].media.len(), 1);
    // A feed cut anywhere inside is an error, not a silently shorter feed.
    let cut = xml.len() / 2;
    assert!(matches!(
        parse_feed(&xml[..cut], &feed_base()),
        Err(FeedError::Xml(_))
    ));
}

#[test]
fn ten_megabytes_of_nested_tags() {
    let depth = 10 * 1024 * 1024 / 5;
    let html = "<div>".repeat(depth);
    let err = timed(20, || parse_telegram_preview(html.as_bytes(), &tg_base())).unwrap_err();
    assert!(matches!(err, FeedError::TooComplex(_)), "{err}");

    // Inside a post, formatting elements: the nesting limit, not the stack, stops it.
    let mut html = String::from(
        r#"<div class="tgme_widget_message" data-post="c/1"><div class="tgme_widget_message_text">"#,
    );
    html.push_str(&"<b><i>".repeat(10 * 1024 * 1024 / 6 - 20));
    let err = timed(20, || parse_telegram_preview(html.as_bytes(), &tg_base())).unwrap_err();
    assert!(matches!(err, FeedError::TooComplex(_)), "{err}");

    let xml = format!("<rss>{}", "<a>".repeat(10 * 1024 * 1024 / 3 - 5));
    let err = timed(20, || parse_feed(xml.as_bytes(), &feed_base())).unwrap_err();
    assert!(matches!(err, FeedError::TooComplex(_)), "{err}");

    let json = format!("{{\"entries\":{}", "[".repeat(10 * 1024 * 1024 - 20));
    let err = timed(20, || parse_ytdlp_playlist(json.as_bytes())).unwrap_err();
    assert!(matches!(err, FeedError::Json(_)), "{err}");
}

#[test]
fn quadratic_tree_building_is_cut_short() {
    // Every <p>x</p> re-opens all the formatting elements still active: with a few hundred of
    // them (shallow enough for the nesting limit) the node count grows quadratically.
    let mut html = String::from(r#"<div class="tgme_channel_info"></div>"#);
    for i in 0..400 {
        html.push_str(&format!("<p><b class=c{i}></p>"));
    }
    while html.len() < MAX_INPUT_BYTES - 16 {
        html.push_str("<p>x</p>");
    }
    let err = timed(30, || parse_telegram_preview(html.as_bytes(), &tg_base())).unwrap_err();
    assert!(
        matches!(err, FeedError::TooComplex("too many HTML nodes")),
        "{err}"
    );

    // With thousands, the reopened elements nest past the depth limit first.
    let mut html = String::new();
    for i in 0..60_000 {
        html.push_str(&format!("<p><b class=c{i}></p>"));
    }
    let err = timed(30, || parse_telegram_preview(html.as_bytes(), &tg_base())).unwrap_err();
    assert!(
        matches!(err, FeedError::TooComplex("HTML nested too deeply")),
        "{err}"
    );
}

#[test]
fn end_tags_that_walk_a_deep_stack_are_cut_short() {
    // Each of these end tags makes the tree builder walk the whole stack of open elements
    // (500 deep, under the nesting limit) and build nothing: linear in input, but with a factor
    // of 500. The work budget stops them.
    for (open, end) in [("<div>", "</li>"), ("<span>", "</a>")] {
        let mut html = open.repeat(500);
        while html.len() < MAX_INPUT_BYTES - 16 {
            html.push_str(end);
        }
        let err = timed(15, || parse_telegram_preview(html.as_bytes(), &tg_base())).unwrap_err();
        assert!(
            matches!(
                err,
                FeedError::TooComplex("too much HTML tree-building work")
            ),
            "{end}: {err}"
        );
    }
}

#[test]
fn a_big_ordinary_feed_is_within_the_limits() {
    // 1000 items with 6 KiB of HTML each: the work budget is shared by the whole feed and must
    // leave room for this.
    let paragraph = "<p>Witnesses describe <b>the strike</b> and <a href=\"/x\">its aftermath</a>.<br>More.</p>";
    let body = paragraph.repeat(6 * 1024 / paragraph.len());
    let mut xml = String::from("<rss><channel>");
    for i in 0..MAX_POSTS_PER_PAGE {
        xml.push_str(&format!(
            "<item><guid>g{i}</guid><link>https://x.org/{i}</link><description><![CDATA[<div><div>{body}</div></div>]]></description></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    assert!(xml.len() > 6_000_000, "{}", xml.len());
    let page = timed(60, || parse_feed(xml.as_bytes(), &feed_base())).unwrap();
    assert_eq!(page.posts.len(), MAX_POSTS_PER_PAGE);
    let text = page.posts[999].text.as_deref().unwrap();
    assert!(text.starts_with(
        "Witnesses describe the strike and its aftermath (https://news.example.org/x).\nMore."
    ));
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let mut html = fixture("telegram_preview.html");
    let at = String::from_utf8_lossy(&html).find("Curfew").unwrap();
    html.splice(at..at, [0xff, 0xfe, 0xc3]);
    let page = parse_telegram_preview(&html, &tg_base()).unwrap();
    let forwarded = page
        .posts
        .iter()
        .find(|p| p.id == "example_news/108")
        .unwrap();
    assert!(
        forwarded
            .text
            .as_deref()
            .unwrap()
            .contains("\u{fffd}\u{fffd}\u{fffd}Curfew extended"),
        "{:?}",
        forwarded.text
    );

    let mut xml = fixture("rss.xml");
    let at = String::from_utf8_lossy(&xml).find("Evacuation").unwrap();
    xml.splice(at..at, [0xc0, 0x80]);
    let page = parse_feed(&xml, &feed_base()).unwrap();
    assert!(page.posts[1].text.as_deref().unwrap().contains('\u{fffd}'));

    let mut json = fixture("ytdlp_single.json");
    let at = String::from_utf8_lossy(&json).find("Convoy").unwrap();
    json.splice(at..at, [0xff]);
    assert!(matches!(
        parse_ytdlp_playlist(&json),
        Err(FeedError::Json(_))
    ));
}

#[test]
fn many_posts_are_cut_at_the_page_limit() {
    let mut html = String::from("<html><body>");
    for i in 1..=MAX_POSTS_PER_PAGE * 3 {
        html.push_str(&format!(
            r#"<div class="tgme_widget_message" data-post="chan/{i}"><div class="tgme_widget_message_text">post {i}</div></div>"#
        ));
    }
    let page = timed(20, || parse_telegram_preview(html.as_bytes(), &tg_base())).unwrap();
    assert_eq!(page.posts.len(), MAX_POSTS_PER_PAGE);
    assert_eq!(page.posts[0].id, "chan/1");
    assert_eq!(
        page.posts.last().unwrap().text.as_deref(),
        Some("post 1000")
    );

    let mut xml = String::from("<rss><channel>");
    for i in 0..MAX_POSTS_PER_PAGE * 3 {
        xml.push_str(&format!(
            "<item><guid>g{i}</guid><link>https://x.org/{i}</link><description>&lt;p&gt;{i}&lt;/p&gt;</description></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    let page = timed(20, || parse_feed(xml.as_bytes(), &feed_base())).unwrap();
    assert_eq!(page.posts.len(), MAX_POSTS_PER_PAGE);
    assert_eq!(page.posts[999].id, "g999");

    let entries: Vec<String> = (0..MAX_POSTS_PER_PAGE * 3)
        .map(|i| format!(r#"{{"id":"v{i}","url":"https://x.org/{i}"}}"#))
        .collect();
    let single = format!(
        r#"{{"_type":"playlist","entries":[{}]}}"#,
        entries.join(",")
    );
    let page = parse_ytdlp_playlist(single.as_bytes()).unwrap();
    assert_eq!(page.posts.len(), MAX_POSTS_PER_PAGE);
    let lines = entries.join("\n");
    let page = parse_ytdlp_playlist(lines.as_bytes()).unwrap();
    assert_eq!(page.posts.len(), MAX_POSTS_PER_PAGE);
}

#[test]
fn long_text_and_many_media_are_bounded() {
    let words = "word ".repeat(MAX_TEXT_BYTES);
    let photos: String = (0..MAX_MEDIA_PER_POST * 3)
        .map(|i| {
            format!(
                r#"<a class="tgme_widget_message_photo_wrap" style="background-image:url('https://cdn.example/{i}.jpg')"></a>"#
            )
        })
        .collect();
    let html = format!(
        r#"<div class="tgme_widget_message" data-post="chan/1">{photos}<div class="tgme_widget_message_text">{words}</div></div>"#
    );
    let page = parse_telegram_preview(html.as_bytes(), &tg_base()).unwrap();
    let post = &page.posts[0];
    let text = post.text.as_deref().unwrap();
    assert!(text.len() <= MAX_TEXT_BYTES);
    assert!(text.ends_with(TEXT_TRUNCATED_MARK));
    assert!(text.starts_with("word word"));
    assert_eq!(post.media.len(), MAX_MEDIA_PER_POST);
    assert_eq!(post.media[0].url, "https://cdn.example/0.jpg");

    // The same photo ten times is one media.
    let same = r#"<a class="tgme_widget_message_photo_wrap" style="background-image:url('https://cdn.example/a.jpg')"></a>"#.repeat(10);
    let html = format!(r#"<div class="tgme_widget_message" data-post="chan/1">{same}</div>"#);
    let page = parse_telegram_preview(html.as_bytes(), &tg_base()).unwrap();
    assert_eq!(page.posts[0].media.len(), 1);
    assert_eq!(page.posts[0].text, None);

    // A huge feed description: cut and marked.
    let xml = format!(
        "<rss><channel><item><link>https://x.org/1</link><description><![CDATA[<p>{}</p>]]></description></item></channel></rss>",
        "long ".repeat(MAX_TEXT_BYTES)
    );
    let page = parse_feed(xml.as_bytes(), &feed_base()).unwrap();
    let text = page.posts[0].text.as_deref().unwrap();
    assert!(text.len() <= MAX_TEXT_BYTES && text.ends_with(TEXT_TRUNCATED_MARK));

    // An over-long id is not cut (it would be another id): the item is skipped.
    let xml = format!(
        "<rss><channel><item><guid>{}</guid><link>https://x.org/1</link></item><item><guid>ok</guid><link>https://x.org/2</link></item></channel></rss>",
        "g".repeat(MAX_FIELD_BYTES + 1)
    );
    let page = parse_feed(xml.as_bytes(), &feed_base()).unwrap();
    let ids: Vec<_> = page.posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["ok"]);
}

#[test]
fn entity_tricks_in_html_stay_small() {
    // Entities in HTML are single characters: no expansion to speak of.
    let html = format!(
        r#"<div class="tgme_widget_message" data-post="chan/1"><div class="tgme_widget_message_text">{}</div></div>"#,
        "&NotNestedGreaterGreater;&amp;&#x1F600;&#0;&#xD800;&#99999999;".repeat(5000)
    );
    let page = parse_telegram_preview(html.as_bytes(), &tg_base()).unwrap();
    let text = page.posts[0].text.as_deref().unwrap();
    assert!(
        text.starts_with("⪢̸&😀\u{fffd}\u{fffd}\u{fffd}"),
        "{:?}",
        &text[..40]
    );
    assert!(text.len() < html.len());
}

// ---- Random mutations of the fixtures ----

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Pieces that make parsers take unusual paths.
const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b"&amp;",
    b"&#x0;",
    b"&nbsp",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"<!DOCTYPE x [<!ENTITY e \"ee\">]>",
    b"<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    b"<table>",
    b"<template>",
    b"<svg>",
    b"<math><annotation-xml encoding=\"text/html\">",
    b"<script>",
    b"</script>",
    b"<b>",
    b"</b>",
    b"<a href=\"//x\">",
    b"</a>",
    b"<p>",
    b"<br>",
    b"<div class=\"tgme_widget_message\" data-post=\"c/9\">",
    b"<div class=\"tgme_widget_message_text\">",
    b"<div class=\"tgme_widget_message_error\">Post not found</div>",
    b"<a class=\"tgme_widget_message_photo_wrap\" style=\"background-image:url('",
    b"<time datetime=\"2024-13-45T99:99:99+99:99\">",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"<media:content url=\"",
    b"xmlns:media=\"http://search.yahoo.com/mrss/\"",
    b"\"",
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"\"entries\":",
    b"1e999",
    b"\\u0000",
    b"\\ud800",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\0",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(7) {
            0 => {
                if at < len {
                    input[at] ^= 1 << rng.below(8);
                }
            }
            1 => input.insert(at, rng.next() as u8),
            2 => {
                let end = (at + rng.below(64)).min(len);
                input.drain(at..end);
            }
            3 => {
                let start = rng.below(len + 1);
                let end = (start + rng.below(512)).min(len);
                let piece: Vec<u8> = input[start..end].to_vec();
                for _ in 0..=rng.below(3) {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            4 | 5 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
            _ => input.truncate(at),
        }
    }
}

/// Mutates the fixtures for a few seconds, running every parser on each mutant. Longer runs
/// and other seeds: `VIGIL_FEEDS_FUZZ_SECS=600 VIGIL_FEEDS_FUZZ_SEED=7 cargo test -p vigil-feeds
/// --release --test hostile random_mutations` (the seed of a failing run is printed).
fn fuzz(fixtures: &[&str], seed: u64) -> usize {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let budget = Duration::from_secs(env("VIGIL_FEEDS_FUZZ_SECS").unwrap_or(3));
    let seed = seed ^ env("VIGIL_FEEDS_FUZZ_SEED").unwrap_or(0);
    eprintln!("fuzzing {fixtures:?} with seed {seed:#x}");
    let originals: Vec<Vec<u8>> = fixtures.iter().map(|f| fixture(f)).collect();
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < budget {
        let mut input = originals[rng.below(originals.len())].clone();
        // Mutations accumulate a little, so structure degrades gradually.
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut input);
        }
        run_all(&input);
        runs += 1;
    }
    runs
}

#[test]
fn random_mutations_of_telegram_pages() {
    let runs = fuzz(
        &[
            "telegram_preview.html",
            "telegram_post_present.html",
            "telegram_post_deleted.html",
        ],
        0x7e1e_9a4d,
    );
    assert!(runs > 20, "only {runs} runs");
}

#[test]
fn random_mutations_of_feeds() {
    let runs = fuzz(&["rss.xml", "atom.xml"], 0xfeed_5eed);
    assert!(runs > 20, "only {runs} runs");
}

#[test]
fn random_mutations_of_ytdlp_json() {
    let runs = fuzz(
        &["ytdlp_single.json", "ytdlp_lines.jsonl"],
        0x0079_7464_6c70,
    );
    assert!(runs > 20, "only {runs} runs");
}

//! `vigil watch`: a local site plays a Telegram channel's public preview and an RSS feed,
//! with media; posts are added between polls, some are deleted, some changed (a photo
//! replaced, a file re-encoded at the same address, a text edited), the channel answers 429
//! and the feed 500 for a while, and `vigil watch run` is killed mid-run. Every post must be
//! captured exactly once, deletions and changes recorded (with the new versions captured),
//! the backoff respected and nothing lost.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

/// What the site serves, changed by the test between polls.
#[derive(Default)]
struct Site {
    /// Telegram posts: number → (text, deleted).
    posts: BTreeMap<u32, (String, bool)>,
    /// Feed articles: number → deleted.
    articles: BTreeMap<u32, bool>,
    /// Answer the channel preview with 429 this many more times.
    throttle: u32,
    /// Requests per path.
    hits: BTreeMap<String, u32>,
    /// Delay for post pages (to kill a run in the middle of a capture).
    slow_posts: Duration,
    /// Telegram post number → the photo it shows (a name under `/media/`).
    photos: BTreeMap<u32, String>,
    /// Feed article number → its enclosure (a name under `/media/`).
    enclosures: BTreeMap<u32, String>,
    /// Media files: name → bytes.
    media: BTreeMap<String, Vec<u8>>,
    /// Answer the feed with 500 this many more times.
    feed_errors: u32,
    /// Delay for the channel preview (to kill a run in the middle of a poll).
    slow_preview: Duration,
    /// Posts on one preview page (0: 20, as Telegram).
    page_size: usize,
    /// Requests being answered now, and the most there ever were at once (politeness).
    in_flight: u32,
    max_in_flight: u32,
}

struct SiteServer {
    addr: std::net::SocketAddr,
    site: Arc<Mutex<Site>>,
}

impl SiteServer {
    fn start() -> Self {
        let listener = TcpListener::bind(("127.0.0.2", 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let site = Arc::new(Mutex::new(Site::default()));
        let shared = site.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let site = shared.clone();
                std::thread::spawn(move || {
                    let _ = answer(stream, &site, addr);
                });
            }
        });
        SiteServer { addr, site }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> u32 {
        self.site
            .lock()
            .expect("site")
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// A Telegram photo block, as the preview and embed pages show one.
fn photo(site: &Site, n: u32, me: std::net::SocketAddr) -> String {
    site.photos
        .get(&n)
        .map(|name| {
            format!(
                "<a class=\"tgme_widget_message_photo_wrap\" href=\"https://t.me/example_chan/{n}\" \
                 style=\"width:800px;background-image:url('http://{me}/media/{name}')\"></a>"
            )
        })
        .unwrap_or_default()
}

/// The channel's preview: the newest `page_size` posts (before `before`, when asked), oldest
/// first, with Telegram's "load older" link when there are older ones.
fn preview(site: &Site, me: std::net::SocketAddr, before: Option<u32>) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><title>Example channel</title></head><body>\
         <section class=\"tgme_channel_history js-message_history\">",
    );
    let shown: Vec<_> = site
        .posts
        .iter()
        .filter(|(n, (_, deleted))| !deleted && before.is_none_or(|b| **n < b))
        .collect();
    let page_size = if site.page_size == 0 {
        20
    } else {
        site.page_size
    };
    let shown = &shown[shown.len().saturating_sub(page_size)..];
    if let Some((first, _)) = shown.first()
        && site.posts.keys().any(|n| n < first)
    {
        html.push_str(&format!(
            "<div class=\"tgme_widget_message_centered js-messages_more_wrap\">\
             <a href=\"/s/example_chan?before={first}\" class=\"tme_messages_more js-messages_more\" \
             data-before=\"{first}\"></a></div>"
        ));
    }
    for (n, (text, _)) in shown {
        html.push_str(&format!(
            "<div class=\"tgme_widget_message_wrap js-widget_message_wrap\">\
             <div class=\"tgme_widget_message text_not_supported_wrap js-widget_message\" \
             data-post=\"example_chan/{n}\">\
             <div class=\"tgme_widget_message_bubble\">\
             <div class=\"tgme_widget_message_author accent_color\">\
             <a class=\"tgme_widget_message_owner_name\" href=\"https://t.me/example_chan\">\
             <span dir=\"auto\">Example channel</span></a></div>{photo}\
             <div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">{text}</div>\
             <div class=\"tgme_widget_message_footer compact js-message_footer\">\
             <div class=\"tgme_widget_message_info short js-message_info\">\
             <span class=\"tgme_widget_message_meta\">\
             <a class=\"tgme_widget_message_date\" href=\"https://t.me/example_chan/{n}\">\
             <time datetime=\"2026-11-27T10:{n:02}:00+00:00\" class=\"time\">10:{n:02}</time></a>\
             </span></div></div></div></div></div>",
            photo = photo(site, **n, me),
        ));
    }
    html.push_str("</section></body></html>");
    html
}

fn embed(site: &Site, n: u32, me: std::net::SocketAddr) -> String {
    match site.posts.get(&n) {
        Some((text, false)) => format!(
            "<!DOCTYPE html><html><body class=\"widget_frame_base\">\
             <div class=\"tgme_widget_message text_not_supported_wrap js-widget_message\" \
             data-post=\"example_chan/{n}\"><div class=\"tgme_widget_message_bubble\">{photo}\
             <div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">{text}</div>\
             <a class=\"tgme_widget_message_date\" href=\"https://t.me/example_chan/{n}\">\
             <time datetime=\"2026-11-27T10:00:00+00:00\" class=\"time\">10:00</time></a>\
             </div></div></body></html>",
            photo = photo(site, n, me),
        ),
        _ => "<!DOCTYPE html><html><body class=\"widget_frame_base\">\
              <div class=\"tgme_widget_message_error\">Post not found</div></body></html>"
            .to_owned(),
    }
}

fn feed(site: &Site, me: std::net::SocketAddr) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>Example news</title><link>http://example.org/</link>",
    );
    for n in site.articles.keys() {
        let enclosure = site
            .enclosures
            .get(n)
            .map(|name| {
                format!(
                    "<enclosure url=\"http://{me}/media/{name}\" type=\"image/jpeg\" length=\"9\"/>"
                )
            })
            .unwrap_or_default();
        // Article 9's guid is longer than the catalog keeps as a post key.
        let guid = if *n == 9 {
            format!("article-9-{}", "x".repeat(600))
        } else {
            format!("article-{n}")
        };
        xml.push_str(&format!(
            "<item><title>Article {n}</title><link>http://{me}/article/{n}</link>\
             <guid>{guid}</guid><description>Report number {n}</description>{enclosure}\
             <pubDate>Fri, 27 Nov 2026 10:0{n}:00 GMT</pubDate></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

fn answer(
    mut stream: TcpStream,
    site: &Mutex<Site>,
    me: std::net::SocketAddr,
) -> std::io::Result<()> {
    let target = read_request_target(&stream)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (status, headers, body, delay): (&str, Vec<(&str, String)>, Vec<u8>, Duration) = {
        let mut s = site.lock().expect("site");
        *s.hits.entry(path.to_owned()).or_default() += 1;
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        let number = |prefix: &str| {
            path.strip_prefix(prefix)
                .and_then(|n| n.parse::<u32>().ok())
        };
        if path == "/s/example_chan" {
            if s.throttle > 0 {
                s.throttle -= 1;
                (
                    "429 Too Many Requests",
                    vec![("Retry-After", "3600".into())],
                    b"slow down".to_vec(),
                    Duration::ZERO,
                )
            } else {
                (
                    "200 OK",
                    vec![("Content-Type", "text/html; charset=utf-8".into())],
                    preview(
                        &s,
                        me,
                        query.strip_prefix("before=").and_then(|b| b.parse().ok()),
                    )
                    .into_bytes(),
                    s.slow_preview,
                )
            }
        } else if let Some(n) = number("/example_chan/") {
            if query.contains("embed=1") {
                (
                    "200 OK",
                    vec![("Content-Type", "text/html".into())],
                    embed(&s, n, me).into_bytes(),
                    Duration::ZERO,
                )
            } else {
                let body = format!("<!doctype html><title>post {n}</title><p>post {n}</p>");
                (
                    "200 OK",
                    vec![("Content-Type", "text/html".into())],
                    body.into_bytes(),
                    s.slow_posts,
                )
            }
        } else if path == "/feed.xml" && s.feed_errors > 0 {
            s.feed_errors -= 1;
            (
                "500 Internal Server Error",
                vec![],
                b"oops".to_vec(),
                Duration::ZERO,
            )
        } else if let Some(bytes) = path.strip_prefix("/media/").and_then(|n| s.media.get(n)) {
            (
                "200 OK",
                vec![("Content-Type", "image/jpeg".into())],
                bytes.clone(),
                Duration::ZERO,
            )
        } else if path == "/feed.xml" {
            (
                "200 OK",
                vec![("Content-Type", "application/rss+xml".into())],
                feed(&s, me).into_bytes(),
                Duration::ZERO,
            )
        } else if let Some(n) = number("/article/") {
            match s.articles.get(&n) {
                Some(false) => (
                    "200 OK",
                    vec![("Content-Type", "text/html".into())],
                    format!("<p>article {n}</p>").into_bytes(),
                    Duration::ZERO,
                ),
                _ => ("404 Not Found", vec![], b"gone".to_vec(), Duration::ZERO),
            }
        } else {
            (
                "404 Not Found",
                vec![],
                b"no such route".to_vec(),
                Duration::ZERO,
            )
        }
    };
    std::thread::sleep(delay);
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // Done before the answer is sent: once the client has it, its next request may come at
    // once, and must not be counted as overlapping this one.
    site.lock().expect("site").in_flight -= 1;
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}

/// A webhook receiver on loopback: every JSON body POSTed to it, in order.
struct Hook {
    url: String,
    received: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Hook {
    fn start() -> Self {
        use std::io::{BufRead as _, BufReader, Read as _};
        let listener = TcpListener::bind(("127.0.0.2", 0)).expect("bind hook");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = received.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(clone) = stream.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(clone);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_ok()
                    && let Ok(json) = serde_json::from_slice(&body)
                {
                    shared.lock().expect("hook").push(json);
                }
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        Hook { url, received }
    }

    /// The events received so far, by their `event` name.
    fn events(&self, name: &str) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .expect("hook")
            .iter()
            .filter(|e| e["event"] == name)
            .cloned()
            .collect()
    }
}

impl TestStore {
    /// Sets `[watch] webhook` in the store's configuration (what `vigil serve` uses too).
    fn set_webhook(&self, url: &str) {
        let path = self.store().join("config.toml");
        let config = std::fs::read_to_string(&path).expect("config");
        let set = config.replace(
            "# webhook = \"https://intranet.example/hooks/vigil\"",
            &format!("webhook = \"{url}\""),
        );
        assert_ne!(set, config, "the template has the webhook line");
        std::fs::write(&path, set).expect("write config");
    }

    /// `vigil watch ...` with the site's address treated as public and no yt-dlp.
    fn watch(&self, args: &[&str]) -> std::process::Output {
        let mut c = self.cmd();
        c.env("VIGIL_TEST_TREAT_AS_PUBLIC", "127.0.0.2")
            .args(["--json", "watch"])
            .args(args);
        c.output().expect("run vigil watch")
    }

    fn run_cycle(&self, now: bool) -> serde_json::Value {
        let mut args = vec!["run", "--once", "--no-media"];
        if now {
            args.extend(["--now", "--recheck-now"]);
        }
        let out = self.watch(&args);
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let line = text(&out.stdout);
        serde_json::from_str::<serde_json::Value>(line.lines().last().unwrap_or("{}"))
            .expect("cycle json")["summary"]
            .clone()
    }

    fn status(&self) -> Vec<serde_json::Value> {
        let out = self.watch(&["list"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["status"].clone())
            .collect()
    }

    /// How many captures were made of each source URL.
    fn captures_by_source(&self) -> BTreeMap<String, usize> {
        let (_, lines) = self.vigil_json(&["list"]);
        let mut out = BTreeMap::new();
        for l in &lines {
            for c in l.as_array().into_iter().flatten().chain(std::iter::once(l)) {
                if let Some(source) = c["source"].as_str() {
                    *out.entry(source.to_owned()).or_insert(0) += 1;
                }
            }
        }
        out
    }
}

#[test]
fn new_posts_are_captured_once_deletions_noticed_and_backoff_kept() {
    let site = SiteServer::start();
    {
        let mut s = site.site.lock().expect("site");
        s.posts.insert(1, ("Պատանդների տեսանյութ #1".into(), false));
        s.posts.insert(2, ("Second post".into(), false));
        s.photos.insert(2, "p2-v1.jpg".into());
        s.media.insert(
            "p2-v1.jpg".into(),
            b"photo of post 2, first version".to_vec(),
        );
        s.articles.insert(1, false);
        s.articles.insert(2, false);
        s.articles.insert(9, false);
        s.enclosures.insert(1, "a1.jpg".into());
        s.media
            .insert("a1.jpg".into(), b"photo of article 1".to_vec());
        // Slow enough that captures fetched in parallel would overlap at the site.
        s.slow_posts = Duration::from_millis(100);
    }
    let store = TestStore::new();
    let hook = Hook::start();
    store.set_webhook(&hook.url);
    let channel = site.url("/s/example_chan");
    let out = store.watch(&[
        "add",
        &channel,
        "--kind",
        "telegram",
        "--every",
        "60s",
        "--recheck",
        "60s",
        "--tag",
        "pow",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let feed_url = site.url("/feed.xml");
    let out = store.watch(&[
        "add",
        &feed_url,
        "--every",
        "60s",
        "--recheck",
        "60s",
        "--tags",
        "news,feed",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = store.status();
    let feed_source = listed
        .iter()
        .find(|s| s["source"]["kind"] == "feed")
        .expect("the feed is listed");
    assert_eq!(
        feed_source["source"]["tags"],
        serde_json::json!(["news", "feed"])
    );
    let again = store.watch(&["add", &feed_url]);
    assert!(!again.status.success(), "a source is watched once");

    // First cycle: every post of both sources.
    let summary = store.run_cycle(false);
    assert_eq!(summary["polled"], 2, "{summary}");
    assert_eq!(summary["new_posts"], 5, "{summary}");
    assert_eq!(summary["captured"], 5, "{summary}");
    site.site.lock().expect("site").slow_posts = Duration::ZERO;
    let notified = hook.events("watch-captured");
    assert_eq!(notified.len(), 5, "a notice per new capture: {notified:?}");
    assert!(
        notified
            .iter()
            .any(|e| e["url"] == site.url("/example_chan/1").as_str() && e["capture"].is_i64()),
        "{notified:?}"
    );

    // What a cycle captured is enriched before the next (every job has run on it).
    let (_, lines) = store.vigil_json(&["list"]);
    let post_item = lines[0]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["source"] == site.url("/example_chan/1").as_str())
        .map(|c| c["items"][0]["sha256"].as_str().expect("sha").to_owned())
        .expect("the first post's capture");
    let (_, inspected) = store.vigil_json(&["inspect", &post_item]);
    let jobs = inspected[0]["item"]["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        jobs.len(),
        3,
        "analysis, metadata and preview ran: {jobs:?}"
    );

    // A new post; the next cycle captures it alone.
    site.site
        .lock()
        .expect("site")
        .posts
        .insert(3, ("Third post".into(), false));
    let summary = store.run_cycle(true);
    assert_eq!(summary["new_posts"], 1, "{summary}");
    assert_eq!(summary["captured"], 1, "{summary}");
    assert_eq!(summary["changed"], 0, "nothing changed yet: {summary}");
    let counts = store.captures_by_source();
    for media in ["/media/p2-v1.jpg", "/media/a1.jpg"] {
        assert_eq!(
            counts.get(&site.url(media)),
            Some(&1),
            "{media} captured with its post: {counts:?}"
        );
    }
    for n in 1..=3 {
        let url = site.url(&format!("/example_chan/{n}"));
        assert_eq!(
            counts.get(&url),
            Some(&1),
            "post {n} captured exactly once: {counts:?}"
        );
    }
    // A burst of more posts than one preview page shows: the poll reads older pages until it
    // reaches posts it knows.
    {
        let mut s = site.site.lock().expect("site");
        s.page_size = 3;
        for n in 10..=17 {
            s.posts.insert(n, (format!("Burst post {n}"), false));
        }
    }
    let before = site.hits("/s/example_chan");
    let summary = store.run_cycle(true);
    assert_eq!(summary["new_posts"], 8, "{summary}");
    assert_eq!(summary["captured"], 8, "{summary}");
    assert_eq!(
        site.hits("/s/example_chan") - before,
        3,
        "two older pages were read, and no more: the second holds a known post"
    );
    site.site.lock().expect("site").page_size = 0;
    let counts = store.captures_by_source();
    for n in 10..=17 {
        let url = site.url(&format!("/example_chan/{n}"));
        assert_eq!(counts.get(&url), Some(&1), "burst post {n}: {counts:?}");
    }
    for n in [1, 2, 9] {
        let url = site.url(&format!("/article/{n}"));
        assert_eq!(
            counts.get(&url),
            Some(&1),
            "article {n} captured once: {counts:?}"
        );
    }

    // A post and an article disappear; a post's photo is replaced, another post's text
    // edited, and an article's picture re-encoded at the same address. The re-check records
    // each, and captures the new versions.
    {
        let mut s = site.site.lock().expect("site");
        s.posts.entry(1).and_modify(|p| p.1 = true);
        s.articles.insert(2, true);
        s.photos.insert(2, "p2-v2.jpg".into());
        s.media
            .insert("p2-v2.jpg".into(), b"photo of post 2, replaced".to_vec());
        s.posts
            .entry(3)
            .and_modify(|p| p.0 = "Third post (edited)".into());
        s.media
            .insert("a1.jpg".into(), b"photo of article 1, cropped".to_vec());
    }
    let summary = store.run_cycle(true);
    assert_eq!(summary["gone"], 2, "{summary}");
    assert_eq!(summary["changed"], 3, "{summary}");
    let status = store.status();
    let sum = |key: &str| -> u64 { status.iter().map(|s| s[key].as_u64().unwrap_or(0)).sum() };
    assert_eq!(sum("gone"), 2, "{status:?}");
    assert_eq!(sum("changed"), 3, "{status:?}");
    let audit = text(&store.vigil(&["audit"]).stdout);
    assert!(
        audit.contains("watch-gone"),
        "deletions are in the audit trail"
    );
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("watch-changed"))
            .count(),
        3,
        "each change is in the audit trail: {audit}"
    );
    let counts = store.captures_by_source();
    for (what, times) in [
        ("/media/p2-v2.jpg", 1),
        ("/media/a1.jpg", 2),
        ("/example_chan/3", 2),
        ("/example_chan/2", 1),
    ] {
        assert_eq!(
            counts.get(&site.url(what)),
            Some(&times),
            "{what}: the new version is captured beside the old: {counts:?}"
        );
    }
    let summary = store.run_cycle(true);
    assert_eq!(
        summary["changed"], 0,
        "a change is found once, not at every re-check: {summary}"
    );

    // The article's picture is taken down while the article stays: told once.
    site.site.lock().expect("site").media.remove("a1.jpg");
    let summary = store.run_cycle(true);
    assert_eq!(summary["changed"], 1, "{summary}");
    let summary = store.run_cycle(true);
    assert_eq!(summary["changed"], 0, "a removal is told once: {summary}");
    let audit = text(&store.vigil(&["audit"]).stdout);
    assert!(audit.contains("media-removed"), "{audit}");
    // `vigil watch posts`: which posts went, and which changed, and how.
    let ids: BTreeMap<String, u64> = store
        .status()
        .iter()
        .map(|s| {
            (
                s["source"]["kind"].as_str().unwrap_or_default().to_owned(),
                s["source"]["id"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let posts = |id: u64, only: &str| -> Vec<serde_json::Value> {
        let out = store.watch(&["posts", &id.to_string(), only]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["post"].clone())
            .collect()
    };
    let gone = posts(ids["telegram"], "--gone");
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(gone[0]["url"], site.url("/example_chan/1").as_str());
    assert_eq!(gone[0]["gone_reason"], "not-found-page");
    let changed = posts(ids["feed"], "--changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["url"], site.url("/article/1").as_str());
    assert_eq!(changed[0]["changed_reason"], "media-removed,media-replaced");
    let readable = store
        .cmd()
        .args(["watch", "posts", &ids["telegram"].to_string()])
        .output()
        .expect("posts");
    assert!(
        text(&readable.stdout).contains("deleted at its source by"),
        "{}",
        text(&readable.stdout)
    );
    assert!(
        !store.watch(&["posts", "99"]).status.success(),
        "an unknown source is refused"
    );
    assert_eq!(hook.events("watch-gone").len(), 2, "a notice per deletion");
    let changes = hook.events("watch-changed");
    assert_eq!(changes.len(), 4, "a notice per change: {changes:?}");
    let replaced = changes
        .iter()
        .find(|e| e["url"] == site.url("/example_chan/2").as_str())
        .expect("the replaced photo's notice");
    assert_eq!(replaced["reason"], "media-replaced", "{replaced}");
    assert_eq!(
        replaced["new_hashes"][0].as_str().map(str::len),
        Some(64),
        "the new version's SHA-256: {replaced}"
    );

    // 429 with Retry-After: the channel is left alone for as long as asked.
    site.site.lock().expect("site").throttle = 5;
    let summary = store.run_cycle(true);
    assert_eq!(summary["poll_failures"], 1, "{summary}");
    let hits = site.hits("/s/example_chan");
    let summary = store.run_cycle(false);
    assert_eq!(
        site.hits("/s/example_chan"),
        hits,
        "not polled again during the backoff: {summary}"
    );
    let channel_status = store
        .status()
        .into_iter()
        .find(|s| s["source"]["kind"] == "telegram")
        .expect("channel");
    assert_eq!(channel_status["source"]["last_outcome"], "http-429");
    site.site.lock().expect("site").throttle = 0;

    // 500s: the feed backs off (twice as long after each failure) and recovers.
    site.site.lock().expect("site").feed_errors = 2;
    let feed_status = |store: &TestStore| {
        store
            .status()
            .into_iter()
            .find(|s| s["source"]["kind"] == "feed")
            .expect("feed")["source"]
            .clone()
    };
    for failures in 1..=2 {
        store.run_cycle(true);
        let feed = feed_status(&store);
        assert_eq!(feed["last_outcome"], "http-500", "{feed}");
        assert_eq!(feed["consecutive_failures"], failures, "{feed}");
    }
    let hits = site.hits("/feed.xml");
    store.run_cycle(false);
    assert_eq!(
        site.hits("/feed.xml"),
        hits,
        "not polled again during the backoff"
    );
    store.run_cycle(true);
    let feed = feed_status(&store);
    assert_eq!(feed["last_outcome"], "ok", "{feed}");
    assert_eq!(feed["consecutive_failures"], 0, "{feed}");

    assert_eq!(
        site.site.lock().expect("site").max_in_flight,
        1,
        "one request at a time to the site, polls and captures alike"
    );

    // Killed while polling: the poll left no trace, and the next run finds the post.
    {
        let mut s = site.site.lock().expect("site");
        s.posts.insert(5, ("Fifth post".into(), false));
        s.slow_preview = Duration::from_millis(1500);
    }
    kill_watch_run_during(&store, &site, "/s/example_chan");
    site.site.lock().expect("site").slow_preview = Duration::ZERO;
    let summary = store.run_cycle(true);
    assert_eq!(summary["captured"], 1, "{summary}");
    assert_eq!(
        store.captures_by_source().get(&site.url("/example_chan/5")),
        Some(&1),
        "post 5 captured once after the kill"
    );

    // Killed while capturing: nothing lost, nothing captured twice.
    {
        let mut s = site.site.lock().expect("site");
        s.posts.insert(4, ("Fourth post".into(), false));
        s.slow_posts = Duration::from_millis(1500);
    }
    kill_watch_run_during(&store, &site, "/example_chan/4");
    site.site.lock().expect("site").slow_posts = Duration::ZERO;
    store.run_cycle(true);
    let counts = store.captures_by_source();
    let url = site.url("/example_chan/4");
    assert_eq!(
        counts.get(&url),
        Some(&1),
        "post 4 captured exactly once after the kill: {counts:?}"
    );
    let verified = store.vigil(&["verify"]);
    assert!(
        verified.status.success(),
        "the store is consistent: {}",
        text(&verified.stdout)
    );
}

/// Starts `vigil watch run` (looping) and kills it, as a crash would, while the site is
/// answering (slowly) its first request for `path`.
fn kill_watch_run_during(store: &TestStore, site: &SiteServer, path: &str) {
    let before = site.hits(path);
    let mut running = store.cmd();
    running
        .env("VIGIL_TEST_TREAT_AS_PUBLIC", "127.0.0.2")
        .args(["watch", "run", "--now", "--no-media"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = running.spawn().expect("spawn watch run");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while site.hits(path) == before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(site.hits(path) > before, "the run asked for {path}");
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn playlists_are_listed_with_yt_dlp_and_their_videos_captured_once() {
    let site = SiteServer::start();
    {
        let mut s = site.site.lock().expect("site");
        s.posts.insert(1, ("a video".into(), false));
        s.posts.insert(2, ("another video".into(), false));
    }
    let store = TestStore::new();
    // A stand-in for yt-dlp that lists two entries of a channel (the real one is not run
    // in tests: it would reach the internet).
    let bin = store.dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let fake = bin.join("yt-dlp");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             case \"$*\" in *--version*) echo 2026.01.01; exit 0;; esac\n\
             echo '{{\"_type\": \"playlist\", \"id\": \"chan\", \"title\": \"Channel\", \"entries\": [\
             {{\"id\": \"v1\", \"url\": \"{a}\", \"title\": \"First\", \"timestamp\": 1795000000}},\
             {{\"id\": \"v2\", \"url\": \"{b}\", \"title\": \"Second\", \"timestamp\": 1795000100}}]}}'\n",
            a = site.url("/example_chan/1"),
            b = site.url("/example_chan/2"),
        ),
    )
    .expect("fake yt-dlp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        let mut c = store.cmd();
        c.env("PATH", &path)
            .env("VIGIL_TEST_TREAT_AS_PUBLIC", "127.0.0.2")
            .args(["--json", "watch"])
            .args(args);
        c.output().expect("vigil watch")
    };
    let out = run(&["add", "https://www.youtube.com/@example/videos"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"kind\":\"playlist\""),
        "{}",
        text(&out.stdout)
    );
    for _ in 0..2 {
        // Captures go through the page path only (--no-media): the stand-in cannot download.
        let out = run(&["run", "--once", "--now", "--no-media"]);
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let counts = store.captures_by_source();
    for n in 1..=2 {
        let url = site.url(&format!("/example_chan/{n}"));
        assert_eq!(
            counts.get(&url),
            Some(&1),
            "video {n} captured once: {counts:?}"
        );
    }
}

//! The workspace in a real browser (headless Chromium, driven over CDP with chromiumoxide):
//! sign in, upload a photo, see it blurred, reveal it, open an incident, qualify it with a
//! taxonomy entry, link the photo, create a person and link them, and find the incident
//! again by an Armenian word; play a video muted and blurred and step it frame by frame;
//! every page fits a tablet's width. Screenshots of each step
//! are kept in `$CARGO_TARGET_TMPDIR/browser/` as test artefacts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use vigil_core::Store;
use vigil_store::Role;
use vigil_web::AppState;

fn chromium() -> PathBuf {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = std::process::Command::new("which")
                .arg(name)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
        .expect("Chromium is needed for this test: run ./run setup (apt-get install chromium)")
}

async fn shot(page: &Page, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("artefact dir");
    let png = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .full_page(true)
                .build(),
        )
        .await
        .expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn eval(page: &Page, js: &str) -> serde_json::Value {
    page.evaluate(js)
        .await
        .expect("evaluate")
        .into_value()
        .unwrap_or(serde_json::Value::Null)
}

/// Clicks `selector` and waits until a new document has loaded (a marker set on the old one
/// is gone and the new one is complete).
async fn submit(page: &Page, selector: &str) {
    eval(page, "window.__vigilOld = true").await;
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .expect("click");
    for _ in 0..200 {
        // Between documents there is no context to evaluate in: keep waiting.
        let state = page
            .evaluate("window.__vigilOld === true ? 'old' : document.readyState")
            .await
            .ok()
            .and_then(|r| r.into_value::<String>().ok());
        if state.as_deref() == Some("complete") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{selector}: no new page after 10 s");
}

/// Focuses a field and enters text as a keyboard's input method would (any script: Armenian
/// letters have no key codes to type).
async fn fill(page: &Page, selector: &str, text: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .expect("focus");
    page.execute(InsertTextParams::new(text))
        .await
        .expect("enter text");
}

/// Clicks the element `selector` finds (no page load awaited).
async fn click(page: &Page, selector: &str) {
    page.find_element(selector)
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// Whether ivan's `action` on `item` is in the audit trail.
async fn recorded(state: &AppState, item: &vigil_store::Sha256Digest, action: &str) -> bool {
    state
        .catalog
        .audit_events(0, 1000, Some(&format!("item:{}", item.to_hex())))
        .await
        .expect("events")
        .iter()
        .any(|e| e.event.action == action && e.event.actor == "ivan")
}

/// Uploads `file` through the form with `note`, and waits until it is enriched.
async fn upload(
    page: &Page,
    base: &str,
    state: &AppState,
    file: &std::path::Path,
    note: &str,
) -> vigil_store::Sha256Digest {
    page.goto(format!("{base}/captures/new"))
        .await
        .expect("upload page");
    let input = page
        .find_element("input[type=file]")
        .await
        .expect("file input");
    let mut params = SetFileInputFilesParams::new(vec![file.display().to_string()]);
    params.backend_node_id = Some(input.backend_node_id);
    page.execute(params).await.expect("choose file");
    fill(page, "textarea[name=note]", note).await;
    submit(page, "form[action='/captures/upload'] button").await;
    let digest = vigil_store::Sha256Digest::of(&std::fs::read(file).expect("read"));
    for _ in 0..300 {
        if state.catalog.jobs_of(&digest).await.expect("jobs").len() == 3 {
            return digest;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the upload of {} was not captured and enriched",
        file.display()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_investigator_works_through_the_workspace_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = Store::init(&dir.path().join("store"), Some("test.example/log"))
        .await
        .expect("init");
    vigil_core::accounts::add_user(
        &store.catalog,
        "ivan",
        "Իվան",
        Role::Investigator,
        "a long passphrase",
        "test",
    )
    .await
    .expect("user");
    let state = Arc::new(AppState {
        catalog: store.catalog.clone(),
        blobs: store.blobs().expect("blobs"),
        log: store.log().expect("log"),
        pdq_index: store.layout.pdq_index(),
        enrich_lock: Default::default(),
        search: Some(std::sync::RwLock::new(
            vigil_search::SearchIndex::in_memory().expect("search index"),
        )),
        capture_settings: None,
        limiter: Default::default(),
        secure_cookies: true,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vigil_web::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));

    let profile = tempfile::tempdir().expect("profile");
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .no_sandbox()
        .new_headless_mode()
        .user_data_dir(profile.path())
        .window_size(1280, 900)
        .args([
            "disable-gpu",
            "no-first-run",
            "disable-background-networking",
            "disable-sync",
        ])
        .build()
        .expect("config");
    let (mut browser, mut handler) = Browser::launch(config).await.expect("launch Chromium");
    let pump = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let page = browser.new_page("about:blank").await.expect("page");

    // Sign in.
    page.goto(format!("{base}/login"))
        .await
        .expect("login page");
    fill(&page, "input[name=username]", "ivan").await;
    fill(&page, "input[name=password]", "a long passphrase").await;
    shot(&page, "1-sign-in").await;
    submit(&page, "form[action='/login'] button").await;
    let url = page.url().await.expect("url").unwrap_or_default();
    let body = eval(&page, "document.body.innerText").await;
    assert!(url.ends_with("/captures"), "signed in: {url}: {body}");

    // Upload a photo through the form.
    let photo = vigil_testdata::vectors()
        .join("threatexchange/pdq/data/bridge-mods/aaa-orig.jpg")
        .canonicalize()
        .expect("photo");
    let digest = upload(&page, &base, &state, &photo, "sent by a relative").await;

    // Blurred until revealed; revealing (script, CSP-compliant) records it.
    page.goto(format!("{base}/items/{}", digest.to_hex()))
        .await
        .expect("item page");
    let filter = "getComputedStyle(document.querySelector('img.media')).filter";
    let before = eval(&page, filter).await;
    assert!(before.to_string().contains("blur"), "blurred: {before}");
    shot(&page, "2-item-blurred").await;
    click(&page, "[data-reveal]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = eval(&page, filter).await;
    assert_eq!(after, "none", "revealed in place");
    shot(&page, "3-item-revealed").await;
    assert!(
        recorded(&state, &digest, "reveal").await,
        "revealing is recorded"
    );

    // An incident, qualified and linked to the photo.
    page.goto(format!("{base}/incidents"))
        .await
        .expect("incidents");
    fill(&page, "input[name=title]", "Գերիների ծեծ Ջրականում").await;
    fill(&page, "input[name=occurred]", "2023-09").await;
    eval(
        &page,
        "document.querySelector('select[name=date_precision]').value = 'month'",
    )
    .await;
    submit(&page, "form[action='/incidents'] button").await;
    let incident_url = page.url().await.expect("url").unwrap_or_default();
    assert!(incident_url.contains("/incidents/"), "{incident_url}");
    eval(
        &page,
        "document.querySelector('select[name=value]').value = 'pow.violence'",
    )
    .await;
    submit(&page, "input[name=kind][value=tag] ~ button").await;
    fill(&page, "input[name=value][pattern]", &digest.to_hex()).await;
    submit(&page, "input[name=kind][value=item] ~ button").await;
    let text = eval(&page, "document.body.innerText").await.to_string();
    assert!(text.contains("Beating or physical violence"), "{text}");
    assert!(text.contains("GCIII 13(1)"), "provisions shown");
    assert!(text.contains(&digest.to_hex()), "footage linked");

    // A person, linked to the incident.
    let incident_id = incident_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    page.goto(format!("{base}/persons")).await.expect("persons");
    fill(&page, "input[name=name]", "Արամ Պետրոսյան").await;
    fill(&page, "textarea[name=other_names]", "Aram Petrosyan").await;
    eval(
        &page,
        "document.querySelector('select[name=status]').value = 'pow'",
    )
    .await;
    submit(&page, "form[action='/persons'] button").await;
    fill(&page, "input[name=incident_id]", &incident_id).await;
    submit(&page, "form[action$='/incidents'] button").await;
    let text = eval(&page, "document.body.innerText").await.to_string();
    assert!(text.contains(&format!("Incident #{incident_id}")), "{text}");
    page.goto(incident_url.clone())
        .await
        .expect("incident again");
    let text = eval(&page, "document.body.innerText").await.to_string();
    assert!(
        text.contains("(victim)"),
        "the incident lists the person: {text}"
    );
    shot(&page, "4-incident").await;

    // Found again by an Armenian word (its singular: the plural is in the title).
    page.goto(format!("{base}/search"))
        .await
        .expect("search page");
    fill(&page, "input[name=q]", "գերի").await;
    submit(&page, "form[role=search] button").await;
    let text = eval(&page, "document.body.innerText").await.to_string();
    assert!(
        text.contains("Գերիների ծեծ Ջրականում"),
        "found by an Armenian word: {text}"
    );
    shot(&page, "5-search").await;

    // A video: muted and blurred, played in place, stepped one frame at a time with the
    // buttons and the keyboard (10 frames a second: a step is 0.1 s).
    let video = dir.path().join("clip.webm");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-t",
            "3",
        ])
        .args(["-c:v", "libvpx-vp9", "-b:v", "200k"])
        .arg(&video)
        .status()
        .expect("ffmpeg is needed for this test: run ./run setup");
    assert!(made.success(), "ffmpeg made the clip");
    let clip = upload(&page, &base, &state, &video, "a clip").await;
    page.goto(format!("{base}/items/{}", clip.to_hex()))
        .await
        .expect("video page");
    let state_js = "(() => { const v = document.querySelector('video.media'); \
        return { muted: v.muted, ready: v.readyState, time: v.currentTime, \
        filter: getComputedStyle(v).filter }; })()";
    let mut player = eval(&page, state_js).await;
    for _ in 0..100 {
        if player["ready"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        player = eval(&page, state_js).await;
    }
    assert_eq!(player["muted"], true, "muted by default: {player}");
    assert!(
        player["filter"].to_string().contains("blur"),
        "blurred: {player}"
    );
    assert!(
        player["ready"].as_u64().unwrap_or(0) >= 1,
        "the player loaded the clip: {player}"
    );
    click(&page, "[data-reveal]").await;
    let time = async |page: &Page| -> f64 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        eval(page, "document.querySelector('video.media').currentTime")
            .await
            .as_f64()
            .unwrap_or(-1.0)
    };
    let next = page
        .find_element("button[data-step='1']")
        .await
        .expect("next frame button");
    next.click().await.expect("next frame");
    let after_one = time(&page).await;
    assert!((after_one - 0.15).abs() < 0.01, "one frame on: {after_one}");
    next.press_key(".").await.expect("key .");
    let after_two = time(&page).await;
    assert!(
        (after_two - 0.25).abs() < 0.01,
        "two frames on: {after_two}"
    );
    next.press_key(",").await.expect("key ,");
    let back = time(&page).await;
    assert!((back - 0.15).abs() < 0.01, "one frame back: {back}");
    let position = eval(&page, "document.querySelector('.position').textContent").await;
    assert!(position.to_string().contains("frame 1"), "{position}");
    shot(&page, "6-video").await;
    assert!(recorded(&state, &clip, "play").await, "playing is recorded");

    // Tablet width: nothing wider than the screen.
    page.execute(SetDeviceMetricsOverrideParams::new(768, 1024, 1.0, false))
        .await
        .expect("tablet width");
    // A watched source and a post with long addresses, for the watch page.
    let long_channel = format!("https://t.me/s/{}", "a_very_long_channel_name".repeat(4));
    let source = state
        .catalog
        .add_watch_source(&vigil_store::NewWatchSource {
            url: &long_channel,
            kind: "telegram",
            poll_url: &long_channel,
            every_secs: 600,
            recheck_secs: 3600,
            note: None,
            tags: &[],
            collection_id: 1,
            added_by: "tester",
            at: "2026-11-27T10:00:00.000000Z",
        })
        .await
        .expect("add source")
        .expect("new source");
    let long_post = format!("{long_channel}/12345?single={}", "x".repeat(120));
    state
        .catalog
        .record_watch_poll(
            source.id,
            &vigil_store::PollOutcome {
                at: "2026-11-27T10:01:00.000000Z",
                outcome: "ok",
                error: None,
                next_poll_at: "2026-11-27T10:11:00.000000Z",
                consecutive_failures: 0,
            },
            &[vigil_store::SeenPost {
                post_key: "chan/12345",
                url: &long_post,
                author: Some("Example channel"),
                published_at: Some("2026-11-27T09:59:00Z"),
            }],
        )
        .await
        .expect("poll");
    for path in [
        "/captures".to_owned(),
        format!("/items/{}", clip.to_hex()),
        incident_url.clone(),
        "/search?q=գերի".to_owned(),
        "/watch".to_owned(),
    ] {
        let url = if path.starts_with("http") {
            path.clone()
        } else {
            format!("{base}{path}")
        };
        page.goto(url).await.expect("page at tablet width");
        let overflow = eval(
            &page,
            "document.documentElement.scrollWidth - window.innerWidth",
        )
        .await;
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{path} fits 768 px: {overflow}"
        );
    }
    // The last page looked at is /watch: its newest post is shown with its state.
    let watch_text = eval(&page, "document.body.innerText").await;
    let watch_text = watch_text.as_str().unwrap_or_default();
    assert!(
        watch_text.contains("Newest posts")
            && watch_text.contains("12345")
            && watch_text.contains("pending"),
        "{watch_text}"
    );
    shot(&page, "7-tablet-watch").await;

    let _ = browser.close().await;
    let _ = browser.wait().await;
    pump.abort();
    let _ = stop.send(());
    let _ = server.await;
}

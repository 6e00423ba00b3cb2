//! Page context from Chromium: a full-page screenshot and an MHTML snapshot, taken through
//! the guard proxy.

use crate::support::*;

fn require_chromium() {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        });
    assert!(
        found,
        "Chromium is needed for this test: run ./run setup (apt-get install chromium)"
    );
}

fn items_with_role<'a>(capture: &'a serde_json::Value, role: &str) -> Vec<&'a serde_json::Value> {
    capture["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["role"] == role)
        .collect()
}

#[test]
fn a_page_is_kept_as_screenshot_and_mhtml() {
    require_chromium();
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let url = server.url("/page.html");
    let out = s
        .cmd()
        .env_remove("VIGIL_NO_BROWSER")
        .args(["--json", "capture", "--allow-private", "--no-media", &url])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, shown) = s.vigil_json(&["show", "1"]);
    let c = &shown[0];
    assert_eq!(c["method"], "http+chromium", "{c}");
    assert!(
        c["tools"]["chromium"]
            .as_str()
            .is_some_and(|v| v.contains("Chrome")),
        "{c}"
    );
    let browser = &c["details"]["browser"];
    assert_eq!(browser["outcome"], "captured", "{browser}");
    assert_eq!(browser["title"], "post");
    assert_eq!(browser["final_url"], url);

    let shot = items_with_role(c, "screenshot");
    assert_eq!(shot.len(), 1, "{c}");
    let png = std::fs::read(s.blob_path(shot[0]["sha256"].as_str().expect("sha"))).expect("png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let mhtml = items_with_role(c, "mhtml");
    assert_eq!(mhtml.len(), 1, "{c}");
    let mhtml = text(
        &std::fs::read(s.blob_path(mhtml[0]["sha256"].as_str().expect("sha"))).expect("mhtml"),
    );
    assert!(mhtml.contains("MIME-Version"), "an MHTML document");
    assert!(mhtml.contains(&url), "MHTML names the page it holds");
    assert!(s.vigil(&["verify"]).status.success());
}

#[test]
fn browser_connections_pass_the_ssrf_guard() {
    require_chromium();
    // A "public" page (127.0.0.2 through the test hook) that embeds a video on 127.0.0.1:
    // the browser must reach the page and be refused the video by the guard proxy.
    let public = TestServer::start("127.0.0.2");
    let s = TestStore::new();
    let (mut cmd, url) = s.capture_from_public_host(&public, "/page-with-loopback-video.html");
    let out = cmd
        .env_remove("VIGIL_NO_BROWSER")
        .args(["--no-media", &url])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, shown) = s.vigil_json(&["show", "1"]);
    let browser = &shown[0]["details"]["browser"];
    assert_eq!(browser["outcome"], "captured", "{browser}");
    let refused = browser["refused"].as_array().expect("refusals");
    assert!(
        refused
            .iter()
            .any(|r| r.as_str().unwrap_or("").contains("127.0.0.1")),
        "the loopback video was not refused: {browser}"
    );
}

#[test]
fn without_chromium_the_page_is_still_captured_with_a_notice() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let config = s.store().join("config.toml");
    let text_before = std::fs::read_to_string(&config).expect("config");
    let edited = text_before.replace(
        "# chromium = \"/usr/bin/chromium\"",
        "chromium = \"/nonexistent/chromium\"",
    );
    assert_ne!(edited, text_before, "the template names tools.chromium");
    std::fs::write(&config, edited).expect("write config");
    let out = s
        .cmd()
        .env_remove("VIGIL_NO_BROWSER")
        .args(["--json", "capture", "--allow-private", "--no-media"])
        .arg(server.url("/page.html"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("notice: page screenshots and MHTML snapshots skipped")
            && stderr.contains("/nonexistent/chromium not found"),
        "a notice names the missing browser: {stderr}"
    );
    let (_, shown) = s.vigil_json(&["show", "1"]);
    let c = &shown[0];
    assert_eq!(c["status"], "ok");
    assert_eq!(c["details"]["browser"]["outcome"], "not-run");
    assert_eq!(items_with_role(c, "body").len(), 1);
}

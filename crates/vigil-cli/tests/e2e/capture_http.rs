use crate::support::*;

#[test]
fn redirects_are_followed_and_every_hop_recorded() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let url = server.url("/redirect-twice");
    let (out, lines) = s.vigil_json(&["capture", "--allow-private", "--no-media", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = events(&lines, "committed")[0]["id"].as_i64().expect("id");
    let (_, shown) = s.vigil_json(&["show", &id.to_string()]);
    let c = &shown[0];
    assert_eq!(c["source"], url);
    assert_eq!(c["method"], "http");
    let d = &c["details"];
    assert_eq!(d["final_url"], server.url("/page.html"));
    assert_eq!(d["http_status"], 200);
    assert_eq!(d["remote_addr"], server.addr.to_string());
    let hops: Vec<_> = d["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["status"].as_u64())
        .collect();
    assert_eq!(hops, [Some(301), Some(302), Some(200)]);
    assert!(
        d["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .any(|h| h[0] == "x-test" && h[1] == "yes")
    );
    assert_eq!(c["items"][0]["role"], "body");
    assert_eq!(c["items"][0]["name"], "page.html");
    let sha = c["items"][0]["sha256"].as_str().expect("sha");
    assert_eq!(
        std::fs::read(s.blob_path(sha)).expect("blob"),
        PAGE.as_bytes()
    );
}

#[test]
fn failures_are_recorded_with_reasons_and_deleted_pages_kept() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let (out, lines) = s.vigil_json(&[
        "capture",
        "--allow-private",
        "--timeout",
        "2",
        "--max-bytes",
        "1000000",
        &server.url("/missing"),
        &server.url("/slow"),
        &server.url("/big"),
        &server.url("/big-chunked"),
        &server.url("/loop"),
        &server.url("/page.html"),
        "ftp://example.org/file",
    ]);
    assert_eq!(out.status.code(), Some(1), "some sources failed");
    let summary = events(&lines, "summary")[0];
    assert_eq!(summary["captured"], 1);
    let mut codes: Vec<(String, String)> = summary["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| {
            let src = f["source"].as_str().unwrap_or("");
            let path = src.rsplit('/').next().unwrap_or("").to_owned();
            (path, f["code"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    codes.sort();
    let want = [
        ("big", "too-large"),
        ("big-chunked", "too-large"),
        ("file", "invalid-url"),
        ("loop", "too-many-redirects"),
        ("missing", "http-status"),
        ("slow", "timeout"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(codes, want);
    // The 404 body is evidence that the post was gone: it is kept with the failed capture.
    let missing = events(&lines, "committed")
        .into_iter()
        .find(|c| c["source"].as_str().unwrap_or("").ends_with("/missing"))
        .expect("missing");
    let sha = missing["items"][0]["sha256"].as_str().expect("body kept");
    assert_eq!(
        std::fs::read(s.blob_path(sha)).expect("blob"),
        b"this post was deleted"
    );
    assert!(s.vigil(&["verify"]).status.success());
}

fn require_ytdlp() {
    let found = std::process::Command::new("yt-dlp")
        .arg("--version")
        .output();
    assert!(
        found.map(|o| o.status.success()).unwrap_or(false),
        "yt-dlp is needed for this test: run ./run setup (pip install yt-dlp)"
    );
}

#[test]
fn ytdlp_takes_the_video_embedded_in_a_page() {
    require_ytdlp();
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let url = server.url("/page.html");
    let (out, lines) = s.vigil_json(&["capture", "--allow-private", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = events(&lines, "committed")[0]["id"].as_i64().expect("id");
    let (_, shown) = s.vigil_json(&["show", &id.to_string()]);
    let c = &shown[0];
    assert_eq!(
        c["method"], "http+yt-dlp",
        "the browser is off in this test"
    );
    assert!(
        c["tools"]["yt-dlp"].as_str().is_some_and(|v| !v.is_empty()),
        "{c}"
    );
    let roles: Vec<&str> = c["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["role"].as_str())
        .collect();
    assert!(roles.contains(&"body"), "{roles:?}");
    assert!(roles.contains(&"info-json"), "{roles:?}");
    let media = c["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["role"] == "media")
        .unwrap_or_else(|| panic!("no media item: {c}"));
    let sha = media["sha256"].as_str().expect("sha");
    assert_eq!(std::fs::read(s.blob_path(sha)).expect("blob"), VIDEO);
    assert_eq!(c["details"]["media"]["outcome"], "downloaded");
    assert!(s.vigil(&["verify"]).status.success());
}

#[test]
fn ytdlp_connections_pass_the_ssrf_guard() {
    require_ytdlp();
    // The page is on a "public" host (127.0.0.2 via the test hook) but its video is on
    // 127.0.0.1: yt-dlp must be refused by the guard proxy when it fetches the video.
    let public = TestServer::start("127.0.0.2");
    let s = TestStore::new();
    let (mut cmd, url) = s.capture_from_public_host(&public, "/page-with-loopback-video.html");
    let out = cmd.arg(&url).output().expect("run");
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let id = events(&lines, "committed")[0]["id"].as_i64().expect("id");
    let (_, shown) = s.vigil_json(&["show", &id.to_string()]);
    let media = &shown[0]["details"]["media"];
    let refused = media["refused"]
        .as_array()
        .unwrap_or_else(|| panic!("no refusals recorded: {}", shown[0]));
    assert!(
        refused
            .iter()
            .any(|r| r.as_str().unwrap_or("").contains("127.0.0.1")),
        "{media}"
    );
    assert!(
        !shown[0]["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["role"] == "media"),
        "no media may come from loopback"
    );
}

#[test]
fn no_media_flag_captures_the_page_only() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let (out, lines) = s.vigil_json(&[
        "capture",
        "--allow-private",
        "--no-media",
        &server.url("/page.html"),
    ]);
    assert!(out.status.success());
    let c = events(&lines, "committed")[0];
    assert_eq!(c["items"].as_array().map(|i| i.len()), Some(1));
}

use crate::support::*;

#[test]
fn redirects_are_followed_and_every_hop_recorded() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let url = server.url("/redirect-twice");
    let (out, lines) = s.vigil_json(&["capture", "--allow-private", &url]);
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

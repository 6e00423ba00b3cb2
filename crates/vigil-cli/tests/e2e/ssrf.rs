//! The SSRF guard end to end. Only loopback is ever contacted; addresses in other ranges are
//! refused before any connection is attempted (their classification is unit-tested in
//! vigil-capture's netguard module).

use crate::support::*;

fn refusal(s: &TestStore, args: &[&str]) -> serde_json::Value {
    let (out, lines) = s.vigil_json(args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let summary = events(&lines, "summary")[0].clone();
    assert_eq!(summary["failed"][0]["code"], "ssrf-refused", "{summary}");
    summary["failed"][0].clone()
}

#[test]
fn private_targets_are_refused_without_allow_private() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let port = server.addr.port();
    for url in [
        format!("http://127.0.0.1:{port}/page.html"),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[::1]:{port}/page.html"),
        "http://0x7f000001/".to_owned(),
    ] {
        let f = refusal(&s, &["capture", &url]);
        assert!(
            f["message"]
                .as_str()
                .unwrap_or("")
                .contains("--allow-private"),
            "{f}"
        );
    }
    // A host name that resolves to loopback.
    let f = refusal(
        &s,
        &[
            "capture",
            "--resolve",
            "news.example=127.0.0.1",
            &format!("http://news.example:{port}/page.html"),
        ],
    );
    assert!(
        f["message"].as_str().unwrap_or("").contains("loopback"),
        "{f}"
    );
    // "localhost" through the system resolver.
    refusal(
        &s,
        &["capture", &format!("http://localhost:{port}/page.html")],
    );
    // A DNS answer that mixes a public and a private address.
    refusal(
        &s,
        &[
            "capture",
            "--resolve",
            "mixed.example=93.184.215.14",
            "--resolve",
            "mixed.example=127.0.0.1",
            &format!("http://mixed.example:{port}/page.html"),
        ],
    );
    // The same loopback page is fine when the operator allows it.
    let ok = s.vigil(&["capture", "--allow-private", &server.url("/page.html")]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
}

#[test]
fn allow_private_is_recorded_in_the_logged_capture() {
    let server = TestServer::start("127.0.0.1");
    let s = TestStore::new();
    let (out, lines) = s.vigil_json(&["capture", "--allow-private", &server.url("/page.html")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = events(&lines, "committed")[0]["id"].as_i64().expect("id");
    let (_, shown) = s.vigil_json(&["show", &id.to_string()]);
    assert_eq!(
        shown[0]["details"]["network_guard"],
        serde_json::json!({ "allow_private": true }),
        "{}",
        shown[0]
    );
    // In the logged record itself: the receipt carries the leaf.
    let receipt = s.dir.path().join("r.tlog-proof");
    let r = s.vigil(&[
        "receipt",
        &id.to_string(),
        "-o",
        receipt.to_str().expect("utf-8"),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let receipt = text(&std::fs::read(&receipt).expect("receipt"));
    let extra = receipt
        .lines()
        .find_map(|l| l.strip_prefix("extra "))
        .expect("the leaf in the receipt");
    use base64::Engine as _;
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(extra)
        .map(|b| text(&b))
        .expect("base64");
    assert!(
        leaf.contains(r#""network_guard":{"allow_private":true}"#),
        "{leaf}"
    );
    let plain = text(&s.vigil(&["show", &id.to_string()]).stdout);
    assert!(plain.contains("relaxed (--allow-private)"), "{plain}");

    // Without it (127.0.0.2 playing a public host), nothing is claimed relaxed but the test
    // hook, which debug builds record too.
    let public = TestServer::start("127.0.0.2");
    let (mut cmd, url) = s.capture_from_public_host(&public, "/page.html");
    let out = cmd.arg(&url).output().expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, shown) = s.vigil_json(&["show", &(id + 1).to_string()]);
    let guard = &shown[0]["details"]["network_guard"];
    assert!(guard.get("allow_private").is_none(), "{guard}");
    assert_eq!(guard["test_treat_as_public"][0], "127.0.0.2", "{guard}");
}

#[test]
fn a_public_host_that_redirects_to_loopback_is_refused_at_the_redirect() {
    // 127.0.0.2 plays a public host (test hook); its redirect points at 127.0.0.1.
    let public = TestServer::start("127.0.0.2");
    let s = TestStore::new();
    let (mut cmd, url) = s.capture_from_public_host(&public, "/to-loopback");
    let (out, lines) = cmd
        .arg(&url)
        .output()
        .map(|o| {
            let lines: Vec<serde_json::Value> = text(&o.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).expect("json"))
                .collect();
            (o, lines)
        })
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let failed = &events(&lines, "summary")[0]["failed"][0];
    assert_eq!(failed["code"], "ssrf-refused");
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or("")
            .contains("127.0.0.1")
    );
    // The first hop, which did answer, is kept as evidence.
    let id = events(&lines, "committed")[0]["id"].as_i64().expect("id");
    let (_, shown) = s.vigil_json(&["show", &id.to_string()]);
    assert_eq!(shown[0]["details"]["hops"][0]["status"], 302);
}

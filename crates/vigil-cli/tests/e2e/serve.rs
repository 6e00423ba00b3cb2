//! The workspace from the real binary: `vigil user add`, `vigil serve` on a free loopback
//! port, signing in over HTTP, an item page, `vigil audit`, and `vigil verify` naming an
//! edited audit event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use crate::support::*;

/// `vigil serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(s: &TestStore) -> Server {
    let mut child = s
        .cmd()
        .args(["--json", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    let url = v["url"].as_str().expect("url");
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 request; returns (status, headers as lines, body).
fn http(addr: &str, request: &str) -> (u16, Vec<String>, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, lines.map(str::to_owned).collect(), body.to_owned())
}

fn cookie_from(headers: &[String], name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let value = h.strip_prefix("set-cookie: ")?;
        let (k, v) = value.split(';').next()?.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

#[test]
fn users_sign_in_see_items_and_every_view_is_audited() {
    let s = TestStore::new();
    let src = s.dir.path().join("in");
    let photo = vigil_testdata::vectors().join("threatexchange/pdq/data/bridge-mods/aaa-orig.jpg");
    write(&src.join("photo.jpg"), &std::fs::read(photo).expect("read"));
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sha = events(&lines, "committed")[0]["items"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();

    // The first admin, with a generated password printed once.
    let (out, added) = s.vigil_json(&["user", "add", "root", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let password = added[0]["password"].as_str().expect("generated").to_owned();
    assert!(password.len() >= 20);
    let mut viewer = s
        .cmd()
        .args([
            "user",
            "add",
            "vera",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("user add");
    viewer
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long passphrase\n")
        .expect("password");
    assert!(viewer.wait().expect("wait").success());
    let weak = s.vigil(&[
        "user",
        "add",
        "weak",
        "--role",
        "viewer",
        "--password-stdin",
    ]);
    assert!(!weak.status.success(), "an empty password is refused");

    let server = serve(&s);
    let (status, headers, body) = http(
        &server.addr,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        headers
            .iter()
            .any(|h| h.starts_with("content-security-policy:"))
    );
    let login_csrf = cookie_from(&headers, "vigil_login_csrf").expect("login csrf");
    let form = format!("username=vera&password=a+long+passphrase&csrf={login_csrf}");
    let (status, headers, _) = http(
        &server.addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vigil_login_csrf={login_csrf}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!(status, 303);
    let session = cookie_from(&headers, "vigil_session").expect("session");
    let (status, _, body) = http(
        &server.addr,
        &format!(
            "GET /items/{sha} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vigil_session={session}\r\n\r\n"
        ),
    );
    assert_eq!(status, 200);
    assert!(body.contains("media blurred"), "{body}");
    drop(server);

    // The audit trail, from the command line.
    let (_, audit) = s.vigil_json(&["audit"]);
    let actions: Vec<(String, String)> = audit
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_owned(),
                e["action"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        actions
            .iter()
            .any(|(who, what)| who.starts_with("cli:") && what == "user-add")
    );
    assert!(actions.contains(&("vera".into(), "login".into())));
    assert!(
        actions.contains(&("vera".into(), "view".into())),
        "{actions:?}"
    );
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));

    // Someone edits an event in the catalog: verification names it.
    s.sql("UPDATE audit_events SET actor = 'nobody' WHERE action = 'view'");
    let (out, report) = s.vigil_json(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let problems = report[0]["problems"].to_string();
    assert!(problems.contains("\"problem\":\"audit\""), "{problems}");
    assert!(problems.contains("edited"), "{problems}");
}

#[test]
fn collections_from_the_command_line_are_audited() {
    let s = TestStore::new();
    let (out, _) = s.vigil_json(&["user", "add", "ivan", "--role", "investigator"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let (out, added) = s.vigil_json(&["collection", "add", " case-17 "]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(added[0]["event"], "collection-added");
    assert_eq!(added[0]["collection"]["name"], "case-17", "trimmed");
    let again = s.vigil(&["collection", "add", "case-17"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already"),
        "{}",
        text(&again.stderr)
    );
    let empty = s.vigil(&["collection", "add", "  "]);
    assert!(!empty.status.success());

    let (out, joined) = s.vigil_json(&["collection", "join", "case-17", "IVAN"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        (
            &joined[0]["event"],
            &joined[0]["user"],
            &joined[0]["changed"]
        ),
        (&"member-added".into(), &"ivan".into(), &true.into())
    );
    let out = s.vigil(&["collection", "join", "case-17", "ivan"]);
    assert!(
        text(&out.stdout).contains("already a member"),
        "{}",
        text(&out.stdout)
    );
    let nope = s.vigil(&["collection", "join", "case-99", "ivan"]);
    assert!(
        text(&nope.stderr).contains("no collection"),
        "{}",
        text(&nope.stderr)
    );
    let nobody = s.vigil(&["collection", "join", "case-17", "nobody"]);
    assert!(
        text(&nobody.stderr).contains("no user"),
        "{}",
        text(&nobody.stderr)
    );

    let (out, listed) = s.vigil_json(&["collection", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let members: Vec<(String, serde_json::Value)> = listed
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_owned(),
                c["members"].clone(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            ("case-17".to_owned(), serde_json::json!(["ivan"])),
            ("default".to_owned(), serde_json::json!(["ivan"])),
        ]
    );
    let out = s.vigil(&["collection", "list"]);
    assert!(
        text(&out.stdout).contains("case-17"),
        "{}",
        text(&out.stdout)
    );

    let (out, left) = s.vigil_json(&["collection", "leave", "case-17", "ivan"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(left[0]["event"], "member-removed");
    assert_eq!(left[0]["changed"], true);
    let out = s.vigil(&["collection", "list"]);
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.starts_with("case-17") && l.contains("(no members)")),
        "{}",
        text(&out.stdout)
    );

    // Each change is in the audit trail under the command line's name, and the chain holds.
    let (_, audit) = s.vigil_json(&["audit"]);
    for (action, subject) in [
        ("collection-add", "collection:case-17"),
        ("member-add", "collection:case-17"),
        ("member-remove", "collection:case-17"),
    ] {
        assert!(
            audit.iter().any(|e| e["action"] == action
                && e["subject"] == subject
                && e["actor"].as_str().is_some_and(|a| a.starts_with("cli:"))),
            "{action}: {audit:?}"
        );
    }
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
}

/// Issue 16, finding 6: what happens in the workspace (sign-ins, views) goes into the
/// transparency log without waiting for a capture: `vigil serve` anchors the audit trail's
/// head every `[log] audit_anchor_secs` when it moved.
#[test]
fn the_workspace_anchors_its_audit_trail_in_the_log() {
    let s = TestStore::new();
    let config = s.store().join("config.toml");
    let text_before = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text_before.replace("[log]\n", "[log]\naudit_anchor_secs = 1\n"),
    )
    .expect("config");
    let size = |s: &TestStore| -> u64 {
        let (out, lines) = s.vigil_json(&["log", "checkpoint"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        lines[0]["tree_size"].as_u64().expect("size")
    };
    assert_eq!(size(&s), 0);
    let server = serve(&s);
    // Anonymous pages are not events; a failed sign-in is.
    let (status, headers, _) = http(
        &server.addr,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let csrf = cookie_from(&headers, "vigil_login_csrf").expect("login csrf");
    let form = format!("username=nobody&password=wrong&csrf={csrf}");
    let (status, _, _) = http(
        &server.addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vigil_login_csrf={csrf}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    );
    assert!(status == 200 || status == 303 || status == 401, "{status}");
    // Within a few anchoring periods, the log holds one leaf: the anchor of that event.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let anchored = loop {
        let checkpoint =
            std::fs::read_to_string(s.store().join("log/checkpoint")).unwrap_or_default();
        if checkpoint.lines().nth(1) == Some("1") {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    drop(server);
    assert!(
        anchored,
        "the sign-in was anchored in the log by vigil serve"
    );
    assert!(s.vigil(&["verify"]).status.success());
}

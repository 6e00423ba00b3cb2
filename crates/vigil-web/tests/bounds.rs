//! The workspace under attack (issue 16): sign-in under concurrency, against a real server on
//! loopback, and uploads whose fields are too long or whose token is missing, with a body
//! that counts how much of it the server read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;
use vigil_core::Store;
use vigil_core::accounts::{LoginLimiter, MAX_FAILURES_PER_NAME, PasswordChecker};
use vigil_store::Role;
use vigil_web::{AppState, router};

const PASSWORD: &str = "a long passphrase";

struct World {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
}

async fn world(limiter: LoginLimiter) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = Store::init(&dir.path().join("store"), Some("test.example/log"))
        .await
        .expect("init");
    for (name, role) in [("ivan", Role::Investigator), ("vera", Role::Viewer)] {
        vigil_core::accounts::add_user(&store.catalog, name, "", role, PASSWORD, "test")
            .await
            .expect("user");
    }
    let state = Arc::new(AppState {
        catalog: store.catalog.clone(),
        blobs: store.blobs().expect("blobs"),
        log: store.log().expect("log"),
        pdq_index: store.layout.pdq_index(),
        enrich_lock: Default::default(),
        search: None,
        capture_settings: None,
        limiter,
        secure_cookies: false,
    });
    World { _dir: dir, state }
}

/// A real server on 127.0.0.1; its address. It stops when the test's runtime does.
async fn serve(state: &Arc<AppState>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(vigil_web::serve(
        state.clone(),
        listener,
        std::future::pending(),
    ));
    addr
}

/// One request on a fresh connection; the status and the whole answer.
async fn http(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A sign-in attempt as a browser sends it (the double-submit token in cookie and form).
fn sign_in_request(name: &str, password: &str) -> Vec<u8> {
    let form = format!(
        "username={name}&password={}&csrf=tok",
        password.replace(' ', "+")
    );
    format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vigil_login_csrf=tok\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .into_bytes()
}

async fn audit_count(state: &AppState, action: &str) -> usize {
    state
        .catalog
        .audit_events(0, 1000, None)
        .await
        .expect("events")
        .iter()
        .filter(|e| e.event.action == action)
        .count()
}

/// Forty attempts on one name at once over loopback: only the limit's worth of passwords are
/// evaluated, and the right password, sent while they are being checked, is refused. Before,
/// the limit was checked before hashing and charged after it: all forty were evaluated and
/// the right one let in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sign_in_limit_holds_under_a_concurrent_burst() {
    let w = world(LoginLimiter::default()).await;
    let addr = serve(&w.state).await;
    let (done, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..39 {
        let (addr, done) = (addr.clone(), done.clone());
        tokio::spawn(async move {
            let _ = done.send(http(&addr, &sign_in_request("ivan", "wrong password")).await);
        });
    }
    drop(done);
    // The right password goes in as soon as a refusal says the limit is reached (or once all
    // 39 are answered, if none is refused).
    let mut statuses = Vec::new();
    while let Some((status, _)) = answers.recv().await {
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    let right = {
        let addr = addr.clone();
        tokio::spawn(async move { http(&addr, &sign_in_request("ivan", PASSWORD)).await })
    };
    while let Some((status, _)) = answers.recv().await {
        statuses.push(status);
    }
    let (status, answer) = right.await.expect("task");
    assert_eq!(status, 429, "the right password past the limit: {answer}");
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(evaluated, MAX_FAILURES_PER_NAME as usize, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        39 - evaluated
    );
    assert_eq!(
        w.state.limiter.checker().counts().checked,
        u64::from(MAX_FAILURES_PER_NAME)
    );
    assert_eq!(
        audit_count(&w.state, "login-failed").await,
        MAX_FAILURES_PER_NAME as usize
    );
    assert_eq!(audit_count(&w.state, "login-refused").await, 40 - evaluated);
    assert_eq!(audit_count(&w.state, "login").await, 0);
}

/// Passwords are checked a bounded number at a time: a burst of sign-ins (each a different
/// name, so no limit stops them) gets 503 with `Retry-After` past the checker's queue, at
/// once; other pages answer meanwhile; the attempts refused for that are not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_sign_ins_is_hashed_a_bounded_number_at_a_time() {
    let w = world(LoginLimiter::with_checker(PasswordChecker::new(1, 2))).await;
    let addr = serve(&w.state).await;
    let tasks: Vec<_> = (0..18)
        .map(|n| {
            let addr = addr.clone();
            tokio::spawn(
                async move { http(&addr, &sign_in_request(&format!("nobody{n}"), "x")).await },
            )
        })
        .collect();
    let (page, _) = http(
        &addr,
        b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(page, 200);
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, answer) = task.await.expect("task");
        if status == 503 {
            assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");
            assert!(answer.contains("busy"), "{answer}");
        }
        statuses.push(status);
    }
    let counts = w.state.limiter.checker().counts();
    assert_eq!(counts.peak_running, 1, "{counts:?}");
    let busy = statuses.iter().filter(|s| **s == 503).count();
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(busy + evaluated, 18, "{statuses:?}");
    assert_eq!(
        (counts.refused_busy, counts.checked),
        (busy as u64, evaluated as u64)
    );
    assert!(busy >= 8, "{statuses:?}");
    // Refusals for being busy were not charged to the address: the right password gets in.
    let (status, answer) = http(&addr, &sign_in_request("ivan", PASSWORD)).await;
    assert_eq!(status, 303, "{answer}");
}

/// A session (cookie header) and its CSRF token.
async fn session(state: &AppState, name: &str) -> (String, String) {
    let login = vigil_core::accounts::login(
        &state.catalog,
        &state.limiter,
        name,
        PASSWORD,
        Some("127.0.0.1"),
        None,
    )
    .await
    .expect("login");
    (format!("vigil_session={}", login.token), login.csrf_token)
}

const BOUNDARY: &str = "vigil-bounds-7d3f";

/// Multipart parts: (name, file name, bytes).
fn parts(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body
}

fn end() -> Vec<u8> {
    format!("--{BOUNDARY}--\r\n").into_bytes()
}

/// What [`counted_body`] still has to send.
struct Source {
    start: Vec<u8>,
    filler: u64,
    finish: Vec<u8>,
    pulled: Arc<AtomicU64>,
}

/// A body of `start`, then `filler` bytes of `a`, then `finish`, sent 64 KiB at a time,
/// counting in `pulled` how much of it the server asked for.
fn counted_body(start: Vec<u8>, filler: u64, finish: Vec<u8>, pulled: Arc<AtomicU64>) -> Body {
    const CHUNK: usize = 64 << 10;
    let source = Source {
        start,
        filler,
        finish,
        pulled,
    };
    Body::from_stream(futures_util::stream::unfold(source, |mut s| async move {
        let mut chunk = Vec::with_capacity(CHUNK);
        let n = s.start.len().min(CHUNK);
        chunk.extend(s.start.drain(..n));
        if s.start.is_empty() {
            let n = ((CHUNK - chunk.len()) as u64).min(s.filler);
            chunk.resize(chunk.len() + n as usize, b'a');
            s.filler -= n;
            if s.filler == 0 {
                let n = s.finish.len().min(CHUNK - chunk.len());
                chunk.extend(s.finish.drain(..n));
            }
        }
        if chunk.is_empty() {
            return None;
        }
        s.pulled.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), s))
    }))
}

/// Sends an upload through the router; the answer's status, its body, and how many bytes of
/// the request body the server read.
async fn upload(
    state: &Arc<AppState>,
    cookie: Option<&str>,
    token_header: Option<&str>,
    (start, filler, finish): (Vec<u8>, u64, Vec<u8>),
) -> (StatusCode, String, u64) {
    let pulled = Arc::new(AtomicU64::new(0));
    let mut request = Request::post("/captures/upload").header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    if let Some(t) = token_header {
        request = request.header("x-csrf-token", t);
    }
    let request = request
        .body(counted_body(start, filler, finish, pulled.clone()))
        .expect("request");
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        String::from_utf8_lossy(&bytes).into_owned(),
        pulled.load(Ordering::SeqCst),
    )
}

/// A part's opening: boundary and headers, its value to follow.
fn opening(name: &str) -> Vec<u8> {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes()
}

/// How much may be read past a bound: the chunk that crosses it (64 KiB here) and the
/// parser's look-ahead.
const SLACK: u64 = 256 << 10;

/// Every text field of the upload form is bounded, with a 413 that names it; without the
/// session, the role or the token, the body is not read (or no more than the token's room).
/// Before, `note`, `csrf` and `collection` were read whole under a 64 GiB limit.
#[tokio::test(flavor = "multi_thread")]
async fn upload_fields_are_bounded_and_the_token_comes_before_the_body() {
    use vigil_web::{BEFORE_TOKEN, MAX_COLLECTION_FIELD, MAX_CSRF_FIELD, MAX_NOTE};
    let w = world(LoginLimiter::default()).await;
    let s = &w.state;
    let (ivan, csrf) = session(s, "ivan").await;
    let (vera, vera_csrf) = session(s, "vera").await;
    const HUGE: u64 = 64 << 20;
    let huge_note = || (opening("note"), HUGE, end());

    // No session, or a viewer's: answered before a byte of the body is read.
    let (status, _, pulled) = upload(s, None, None, huge_note()).await;
    assert_eq!((status, pulled), (StatusCode::SEE_OTHER, 0));
    let (status, _, pulled) = upload(s, Some(&vera), Some(&vera_csrf), huge_note()).await;
    assert_eq!((status, pulled), (StatusCode::FORBIDDEN, 0));
    // A wrong token in the header: refused before the body too.
    let (status, _, pulled) = upload(s, Some(&ivan), Some("forged"), huge_note()).await;
    assert_eq!((status, pulled), (StatusCode::FORBIDDEN, 0));

    // No token: a huge first field is refused once the token's room is read, not read whole.
    let (status, body, pulled) = upload(s, Some(&ivan), None, huge_note()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(pulled <= BEFORE_TOKEN + SLACK, "read {pulled} bytes");
    // Nor can the first part's headers run on.
    let endless_headers =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"").into_bytes();
    let (status, _, pulled) = upload(s, Some(&ivan), None, (endless_headers, HUGE, end())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(pulled <= BEFORE_TOKEN + SLACK, "read {pulled} bytes");

    // Each text field past its bound: 413 naming it, having read about the bound.
    let token_first = parts(&[("csrf", None, csrf.as_bytes())]);
    for (name, max, start) in [
        ("csrf", MAX_CSRF_FIELD, opening("csrf")),
        (
            "note",
            MAX_NOTE,
            [token_first.clone(), opening("note")].concat(),
        ),
        (
            "collection",
            MAX_COLLECTION_FIELD,
            [token_first.clone(), opening("collection")].concat(),
        ),
    ] {
        let (status, body, pulled) = upload(s, Some(&ivan), None, (start, HUGE, end())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{name}: {body}");
        assert!(
            body.contains(&format!("the {name} field is longer than {max} bytes")),
            "{body}"
        );
        assert!(
            pulled <= max as u64 + 2 * SLACK,
            "{name}: read {pulled} bytes"
        );
    }
    // Headers of a later part, likewise.
    let start = [
        token_first.clone(),
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            .into_bytes(),
    ]
    .concat();
    let (status, body, pulled) = upload(s, Some(&ivan), None, (start, HUGE, end())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("headers are longer"), "{body}");
    assert!(pulled <= 2 * SLACK, "read {pulled} bytes");
    // A field the form does not have.
    let start = [token_first.clone(), opening("extra")].concat();
    let (status, body, _) = upload(s, Some(&ivan), None, (start, 10, end())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        s.catalog.capture_count().await.expect("count"),
        0,
        "nothing captured"
    );

    // Within the bounds: the browser's order (token, collection, files, note), with a file of
    // 3 MiB sent in 64 KiB pieces, the first holding the token and the file's beginning.
    let start = [
        token_first.clone(),
        parts(&[("collection", None, b"1")]),
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n").into_bytes(),
    ]
    .concat();
    let finish = [
        b"\r\n".to_vec(),
        parts(&[("note", None, "from a relative".as_bytes())]),
        end(),
    ]
    .concat();
    let (status, body, pulled) = upload(s, Some(&ivan), None, (start, 3 << 20, finish)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(pulled > 3 << 20);
    // The token in the header instead of the form: no `csrf` part needed.
    let start = [format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.bin\"\r\n\r\n"
    )
    .into_bytes()]
    .concat();
    let finish = [b"\r\n".to_vec(), end()].concat();
    let (status, body, _) = upload(s, Some(&ivan), Some(&csrf), (start, 1000, finish)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(s.catalog.capture_count().await.expect("count"), 2);
}

/// Over a real connection: a request that may not upload is answered before its body is sent
/// (the server never waits for, or reads, the 64 GiB it announces).
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_upload_is_answered_before_its_body_arrives() {
    let w = world(LoginLimiter::default()).await;
    let addr = serve(&w.state).await;
    let (ivan, _) = session(&w.state, "ivan").await;
    for (cookie, expected) in [("", 303), (ivan.as_str(), 403)] {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        let head = format!(
            "POST /captures/upload HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
            64u64 << 30
        );
        s.write_all(head.as_bytes()).await.expect("head");
        s.write_all(&opening("note")).await.expect("part");
        // Nothing more is sent: the answer must come without any of the note or the file.
        // (Sending some of the note raced with the server closing: a broken pipe.)
        let mut answer = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut answer))
            .await
            .expect("answered without the rest of the body")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {expected} ")),
            "{answer}"
        );
    }
}

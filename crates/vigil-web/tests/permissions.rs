//! The workspace's rules, request by request, against a real store: every endpoint for every
//! role (and for no one), items of another collection, CSRF, session fixation, cookie flags,
//! escaping of hostile text, security headers, and the audit trail.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vigil_core::Store;
use vigil_store::{CaptureItem, CaptureRecord, CaptureStatus, Role};
use vigil_web::{AppState, router};

const XSS: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";

struct World {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    /// An image in the `default` collection, with a derived thumbnail.
    public_item: String,
    thumbnail: String,
    /// An item in collection `case-17`, which the viewer is not a member of.
    case_item: String,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn call(state: &Arc<AppState>, request: Request<Body>) -> Reply {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).expect("request")
}

fn post_form(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut r =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(form.to_owned())).expect("request")
}

fn set_cookies(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

fn cookie_value(reply: &Reply, name: &str) -> Option<String> {
    set_cookies(reply).iter().find_map(|c| {
        c.split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    })
}

fn form_field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    body.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// Signs in through the form; returns the session cookie header and the CSRF token.
async fn sign_in(state: &Arc<AppState>, name: &str, password: &str) -> (String, String) {
    let form_page = call(state, get("/login", None)).await;
    let login_csrf = cookie_value(&form_page, "vigil_login_csrf").expect("login csrf cookie");
    assert_eq!(form_field(&form_page.body, "csrf"), login_csrf);
    let reply = call(
        state,
        post_form(
            "/login",
            Some(&format!("vigil_login_csrf={login_csrf}")),
            &format!(
                "username={name}&password={}&csrf={login_csrf}",
                password.replace(' ', "+")
            ),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let token = cookie_value(&reply, "vigil_session").expect("session cookie");
    let cookie = format!("vigil_session={token}");
    let me = call(state, get("/api/v1/me", Some(&cookie))).await;
    let v: serde_json::Value = serde_json::from_str(&me.body).expect("json");
    (cookie, v["csrf_token"].as_str().expect("csrf").to_owned())
}

/// A successful capture of one item (digest, size) from `source` at `at`.
fn capture_of(
    source: &str,
    at: &str,
    (sha256, size): (vigil_store::Sha256Digest, u64),
    name: Option<&str>,
) -> CaptureRecord {
    CaptureRecord {
        run_id: "run".into(),
        source: source.into(),
        kind: "url".into(),
        method: "http".into(),
        status: CaptureStatus::Ok,
        failure: None,
        collector: "tester".into(),
        captured_at: at.into(),
        vigil_version: "0.1.0".into(),
        tools: Default::default(),
        note: None,
        tags: vec![],
        details: serde_json::json!({}),
        items: vec![CaptureItem {
            sha256,
            size,
            role: "body".into(),
            name: name.map(str::to_owned),
        }],
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = Store::init(&dir.path().join("store"), Some("test.example/log"))
        .await
        .expect("init");
    let blobs = store.blobs().expect("blobs");
    let photo = std::fs::read(
        vigil_testdata::vectors().join("threatexchange/pdq/data/bridge-mods/aaa-orig.jpg"),
    )
    .expect("photo");
    let mut items = Vec::new();
    for bytes in [photo.clone(), b"a note about the case".to_vec()] {
        let mut staged = blobs.stage().expect("stage");
        std::io::Write::write_all(&mut staged, &bytes).expect("write");
        let published = blobs
            .publish(vec![staged.finish().expect("finish")])
            .expect("publish");
        items.push((published[0].digest, published[0].size));
    }
    let record = |n: usize, name: &str| {
        capture_of(
            &format!("https://t.me/channel/{n}?q={XSS}"),
            "2026-11-27T10:00:00.000000Z",
            items[n],
            Some(name),
        )
    };
    let ids = store
        .catalog
        .commit_captures(&[record(0, &format!("photo{XSS}.jpg")), record(1, "note.txt")])
        .await
        .expect("captures");
    let case = store
        .catalog
        .create_collection("case-17", "2026-11-27T10:00:00.000000Z")
        .await
        .expect("collection");
    store
        .catalog
        .assign_capture(ids[1], case)
        .await
        .expect("assign");
    vigil_core::enrich::enrich(
        &store.catalog,
        &blobs,
        &vigil_core::enrich::EnrichOptions::default(),
        &store.layout.pdq_index(),
    )
    .await
    .expect("enrich");
    for (name, role) in [
        ("admin", Role::Admin),
        ("ivan", Role::Investigator),
        ("vera", Role::Viewer),
    ] {
        vigil_core::accounts::add_user(&store.catalog, name, "", role, "a long passphrase", "test")
            .await
            .expect("user");
    }
    let derivations = store
        .catalog
        .derivations_of(&items[0].0)
        .await
        .expect("derivations");
    let thumbnail = derivations[0].record.items[0].sha256.to_hex();
    let state = Arc::new(AppState {
        catalog: store.catalog.clone(),
        blobs,
        log: store.log().expect("log"),
        pdq_index: store.layout.pdq_index(),
        enrich_lock: Default::default(),
        search: Some(std::sync::RwLock::new(
            vigil_search::SearchIndex::in_memory().expect("search index"),
        )),
        capture_settings: Some(
            vigil_core::capture::CaptureSettings::from_config(
                &store.config,
                String::new(),
                vigil_capture::netguard::NetPolicy::default(),
            )
            .expect("settings"),
        ),
        limiter: Default::default(),
        secure_cookies: true,
    });
    if let Some(index) = &state.search {
        vigil_core::search::rebuild(&state.catalog, index)
            .await
            .expect("index");
    }
    World {
        _dir: dir,
        state,
        public_item: items[0].0.to_hex(),
        thumbnail,
        case_item: items[1].0.to_hex(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_for_every_role() {
    let w = world().await;
    let s = &w.state;
    let mut sessions = vec![("anonymous", None, String::new())];
    for name in ["vera", "ivan", "admin"] {
        let (cookie, csrf) = sign_in(s, name, "a long passphrase").await;
        sessions.push((name, Some(cookie), csrf));
    }
    let (a, t, c) = (&w.public_item, &w.thumbnail, &w.case_item);
    use StatusCode as S;
    // (path, expected for anonymous, viewer vera, investigator ivan, admin). Vera is not a
    // member of case-17; ivan neither (investigators see their collections, not all).
    let table: Vec<(String, [StatusCode; 4])> = vec![
        ("/".into(), [S::SEE_OTHER; 4]),
        ("/captures".into(), [S::SEE_OTHER, S::OK, S::OK, S::OK]),
        (format!("/items/{a}"), [S::SEE_OTHER, S::OK, S::OK, S::OK]),
        (
            format!("/items/{c}"),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::OK],
        ),
        (
            format!("/items/{}", "0".repeat(64)),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "/items/not-a-digest".into(),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            format!("/items/{a}/raw"),
            [S::SEE_OTHER, S::OK, S::OK, S::OK],
        ),
        (
            format!("/items/{c}/raw"),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::OK],
        ),
        (
            format!("/items/{a}/media"),
            [S::SEE_OTHER, S::OK, S::OK, S::OK],
        ),
        // A text file is never shown in the browser, whoever asks: it is download-only.
        (
            format!("/items/{c}/media"),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            format!("/items/{a}/derived/{t}"),
            [S::SEE_OTHER, S::OK, S::OK, S::OK],
        ),
        // A derived picture asked for under another item is not served.
        (
            format!("/items/{c}/derived/{t}"),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        ("/watch".into(), [S::SEE_OTHER, S::OK, S::OK, S::OK]),
        ("/api/v1/me".into(), [S::UNAUTHORIZED, S::OK, S::OK, S::OK]),
        (
            "/api/v1/captures".into(),
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        (
            format!("/api/v1/items/{a}"),
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        (
            format!("/api/v1/items/{c}"),
            [S::UNAUTHORIZED, S::NOT_FOUND, S::NOT_FOUND, S::OK],
        ),
        (
            "/api/v1/taxonomy".into(),
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        ("/api/v1/openapi.json".into(), [S::OK; 4]),
        ("/static/app.css".into(), [S::OK; 4]),
        ("/incidents".into(), [S::SEE_OTHER, S::OK, S::OK, S::OK]),
        (
            "/incidents/999".into(),
            [S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "/persons".into(),
            [S::SEE_OTHER, S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            "/persons/999".into(),
            [S::SEE_OTHER, S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "/api/v1/incidents".into(),
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        (
            "/api/v1/persons".into(),
            [S::UNAUTHORIZED, S::FORBIDDEN, S::OK, S::OK],
        ),
        // Administration and the audit trail: admins only.
        (
            "/admin".into(),
            [S::SEE_OTHER, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            "/audit".into(),
            [S::SEE_OTHER, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            "/audit/export".into(),
            [S::SEE_OTHER, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            "/api/v1/admin/users".into(),
            [S::UNAUTHORIZED, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            "/api/v1/admin/collections".into(),
            [S::UNAUTHORIZED, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
    ];
    for (path, expected) in &table {
        for (n, (who, cookie, _)) in sessions.iter().enumerate() {
            let reply = call(s, get(path, cookie.as_deref())).await;
            assert_eq!(
                reply.status, expected[n],
                "GET {path} as {who}: {}",
                reply.body
            );
            if path.starts_with("/api/v1/") && reply.status != S::OK {
                let v: serde_json::Value = serde_json::from_str(&reply.body).expect("json error");
                assert!(v["error"].is_string(), "{v}");
            }
            assert!(
                reply.headers.get(header::CONTENT_SECURITY_POLICY).is_some(),
                "CSP on {path}"
            );
        }
    }
    // Only admins see the case's capture in the lists.
    for (who, cookie, _) in &sessions[1..] {
        let reply = call(s, get("/api/v1/captures", cookie.as_deref())).await;
        let v: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        let n = v["captures"].as_array().map(Vec::len);
        assert_eq!(n, Some(if *who == "admin" { 2 } else { 1 }), "{who}");
    }

    // State-changing requests need the session's CSRF token.
    let (_, cookie, csrf) = &sessions[1];
    let reveal = |token: Option<&str>| {
        let mut r = Request::post(format!("/items/{a}/reveal"))
            .header(header::COOKIE, cookie.as_deref().unwrap_or_default());
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        r.body(Body::empty()).expect("request")
    };
    assert_eq!(call(s, reveal(None)).await.status, S::FORBIDDEN);
    assert_eq!(call(s, reveal(Some("forged"))).await.status, S::FORBIDDEN);
    assert_eq!(call(s, reveal(Some(csrf))).await.status, S::NO_CONTENT);
    let no_token = call(s, post_form("/logout", cookie.as_deref(), "csrf=")).await;
    assert_eq!(no_token.status, S::FORBIDDEN);
    let out = call(
        s,
        post_form("/logout", cookie.as_deref(), &format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(out.status, S::SEE_OTHER);
    assert_eq!(
        call(s, get("/captures", cookie.as_deref())).await.status,
        S::SEE_OTHER,
        "signed out"
    );

    // The audit trail holds the views, downloads and reveals, by whom, and its chain holds.
    let events = s.catalog.audit_events(0, 1000, None).await.expect("events");
    let did = |who: &str, action: &str, subject: &str| {
        events
            .iter()
            .any(|e| e.event.actor == who && e.event.action == action && e.event.subject == subject)
    };
    assert!(did("vera", "view", &format!("item:{a}")));
    assert!(did("vera", "download", &format!("item:{a}")));
    assert!(did("vera", "reveal", &format!("item:{a}")));
    assert!(did("admin", "view", &format!("item:{c}")));
    assert!(
        !did("vera", "view", &format!("item:{c}")),
        "refused reads are not views"
    );
    assert!(did("vera", "logout", "user:vera"));
    assert!(
        s.catalog
            .verify_audit_chain()
            .await
            .expect("chain")
            .1
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_is_protected() {
    let w = world().await;
    let s = &w.state;
    // The form needs its double-submit token.
    let reply = call(
        s,
        post_form(
            "/login",
            None,
            "username=vera&password=a+long+passphrase&csrf=x",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // A session token planted before sign-in is never the one given after (no fixation),
    // and the planted one opens nothing.
    let form_page = call(s, get("/login", Some("vigil_session=planted-by-attacker"))).await;
    let login_csrf = cookie_value(&form_page, "vigil_login_csrf").expect("cookie");
    let reply = call(
        s,
        post_form(
            "/login",
            Some(&format!(
                "vigil_session=planted-by-attacker; vigil_login_csrf={login_csrf}"
            )),
            &format!("username=vera&password=a+long+passphrase&csrf={login_csrf}"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let token = cookie_value(&reply, "vigil_session").expect("session");
    assert_ne!(token, "planted-by-attacker");
    assert_eq!(token.len(), 43);
    let flags = set_cookies(&reply)
        .into_iter()
        .find(|c| c.starts_with("vigil_session="))
        .expect("cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(flags.contains(flag), "{flags}");
    }
    let planted = call(
        s,
        get("/api/v1/me", Some("vigil_session=planted-by-attacker")),
    )
    .await;
    assert_eq!(planted.status, StatusCode::UNAUTHORIZED);

    // Wrong passwords: the same answer as an unknown name, then refused for a while.
    let try_password = |name: &'static str, password: &'static str| {
        let s = s.clone();
        async move {
            let form_page = call(&s, get("/login", None)).await;
            let t = cookie_value(&form_page, "vigil_login_csrf").expect("cookie");
            call(
                &s,
                post_form(
                    "/login",
                    Some(&format!("vigil_login_csrf={t}")),
                    &format!("username={name}&password={password}&csrf={t}"),
                ),
            )
            .await
        }
    };
    let unknown = try_password("nobody", "whatever").await;
    let wrong = try_password("ivan", "wrong").await;
    assert_eq!(
        (unknown.status, wrong.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert!(
        unknown.body.contains("Wrong user name or password")
            && wrong.body.contains("Wrong user name or password")
    );
    for _ in 0..4 {
        try_password("ivan", "wrong").await;
    }
    let refused = try_password("ivan", "a+long+passphrase").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_comes_back_escaped_and_media_blurred() {
    let w = world().await;
    let s = &w.state;
    let (cookie, _) = sign_in(s, "vera", "a long passphrase").await;
    for path in ["/captures".to_string(), format!("/items/{}", w.public_item)] {
        let page = call(s, get(&path, Some(&cookie))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("<script>alert"),
            "{path}: raw script tag"
        );
        assert!(!page.body.contains("<img src=x"), "{path}: raw img tag");
        // Escaped as character references (askama writes them numerically).
        let escaped = page
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;");
        assert!(escaped, "{path}: {}", page.body);
    }
    let item = call(s, get(&format!("/items/{}", w.public_item), Some(&cookie))).await;
    assert!(
        item.body.contains("class=\"media blurred\""),
        "blurred by default"
    );
    assert!(item.body.contains("?reveal=1"));
    let revealed = call(
        s,
        get(&format!("/items/{}?reveal=1", w.public_item), Some(&cookie)),
    )
    .await;
    assert!(
        !revealed.body.contains("media blurred"),
        "revealed on request"
    );
    // The raw bytes are a download of a type no browser renders.
    let raw = call(
        s,
        get(&format!("/items/{}/raw", w.public_item), Some(&cookie)),
    )
    .await;
    assert_eq!(
        raw.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert!(
        raw.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .starts_with("attachment")
    );
    assert_eq!(raw.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // The viewer's copy: the type its bytes have, byte ranges for seeking, sandboxed when
    // opened alone; playing is recorded once, not for every range a player asks for.
    let media = |range: &'static str| {
        let mut r = get(&format!("/items/{}/media", w.public_item), Some(&cookie));
        r.headers_mut()
            .insert(header::RANGE, header::HeaderValue::from_static(range));
        call(s, r)
    };
    let plays = || async {
        s.catalog
            .audit_events(0, 10_000, Some(&format!("item:{}", w.public_item)))
            .await
            .expect("events")
            .iter()
            .filter(|e| e.event.action == "play")
            .count()
    };
    let before = plays().await;
    let head = media("bytes=0-9").await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.headers[header::CONTENT_LENGTH], "10");
    assert!(
        head.headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("image/")
    );
    assert!(
        head.headers[header::CONTENT_RANGE]
            .to_str()
            .expect("ascii")
            .starts_with("bytes 0-9/")
    );
    assert!(
        head.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .contains("sandbox")
    );
    let tail = media("bytes=10-").await;
    assert_eq!(tail.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(plays().await, before + 1, "one viewing, one event");
    assert_eq!(
        media("bytes=999999999-").await.status,
        StatusCode::RANGE_NOT_SATISFIABLE
    );
}

/// A JSON API request with the session cookie and, when given, the CSRF header.
fn api(
    method: &str,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: serde_json::Value,
) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = csrf {
        r = r.header("x-csrf-token", t);
    }
    r.body(Body::from(body.to_string())).expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn incidents_roles_rules_and_history() {
    let w = world().await;
    let s = &w.state;
    let (vera, vera_csrf) = sign_in(s, "vera", "a long passphrase").await;
    let (ivan, ivan_csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let (admin, admin_csrf) = sign_in(s, "admin", "a long passphrase").await;
    let json = |r: &Reply| -> serde_json::Value { serde_json::from_str(&r.body).expect("json") };
    let new = serde_json::json!({
        "title": format!("Beating of a captured soldier {XSS}"),
        "occurred": "2023-09", "date_precision": "month",
        "place": "Ջրական", "place_precision": "settlement",
    });

    // Viewers read; they do not create. Nobody writes without the session's CSRF token.
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/incidents",
            &vera,
            Some(&vera_csrf),
            new.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(
        s,
        api("POST", "/api/v1/incidents", &ivan, None, new.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/incidents",
            &ivan,
            Some(&ivan_csrf),
            new.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = json(&r)["id"].as_i64().expect("id");
    // Not in a collection one is not a member of; not with a malformed date or body.
    let mut elsewhere = new.clone();
    elsewhere["collection_id"] = 2.into();
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/incidents",
            &ivan,
            Some(&ivan_csrf),
            elsewhere.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/incidents",
            &admin,
            Some(&admin_csrf),
            elsewhere,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "admins create anywhere");
    let case_incident = json(&r)["id"].as_i64().expect("id");
    let mut bad = new.clone();
    bad["occurred"] = "2023-09-19".into();
    let r = call(
        s,
        api("POST", "/api/v1/incidents", &ivan, Some(&ivan_csrf), bad),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&r)["error"], "bad-request");
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/incidents",
            &ivan,
            Some(&ivan_csrf),
            serde_json::json!("x"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Visibility follows collections.
    let listed = |cookie: &str| {
        let s = s.clone();
        let cookie = cookie.to_owned();
        async move {
            let r = call(&s, get("/api/v1/incidents", Some(&cookie))).await;
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            v["incidents"].as_array().map(Vec::len).unwrap_or(0)
        }
    };
    assert_eq!(
        (
            listed(&vera).await,
            listed(&ivan).await,
            listed(&admin).await
        ),
        (1, 1, 2)
    );
    let path = format!("/api/v1/incidents/{case_incident}");
    assert_eq!(
        call(s, get(&path, Some(&vera))).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(s, get(&path, None)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Status: one step at a time.
    let put = |status: &str| {
        let mut body = new.clone();
        body["status"] = status.into();
        api(
            "PUT",
            &format!("/api/v1/incidents/{id}"),
            &ivan,
            Some(&ivan_csrf),
            body,
        )
    };
    assert_eq!(
        call(s, put("verified")).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = call(s, put("in-review")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(json(&r)["changes"][0]["field"], "status");

    // Tags come from the taxonomy; "public curiosity" needs footage someone else published.
    let link = |kind: &str, value: &str| {
        api(
            "POST",
            &format!("/api/v1/incidents/{id}/links"),
            &ivan,
            Some(&ivan_csrf),
            serde_json::json!({ "kind": kind, "value": value }),
        )
    };
    assert_eq!(
        call(s, link("tag", "pow.violence")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(s, link("tag", "pow.bogus")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(s, link("label", "graphic-violence")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(s, link("label", "gory")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(s, link("item", &w.case_item)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(s, link("item", &w.public_item)).await.status,
        StatusCode::OK
    );
    let curiosity = "media.identifiable_pow_images";
    assert_eq!(
        call(s, link("tag", curiosity)).await.status,
        StatusCode::BAD_REQUEST
    );
    let publisher = |who: &str| {
        api(
            "PUT",
            &format!("/api/v1/items/{}/publisher", w.public_item),
            &ivan,
            Some(&ivan_csrf),
            serde_json::json!({ "publisher": who }),
        )
    };
    assert_eq!(
        call(s, publisher("own-office")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = call(s, link("tag", curiosity)).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "the office's own copy never qualifies"
    );
    assert!(
        json(&r)["message"]
            .as_str()
            .unwrap_or("")
            .contains("public curiosity")
    );
    assert_eq!(
        call(s, publisher("perpetrator-side")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(call(s, link("tag", curiosity)).await.status, StatusCode::OK);
    assert_eq!(
        call(s, publisher("the enemy")).await.status,
        StatusCode::BAD_REQUEST
    );

    // Comments: investigators write, their authors (or admins) edit, old texts are kept.
    let r = call(
        s,
        api(
            "POST",
            &format!("/api/v1/incidents/{id}/comments"),
            &ivan,
            Some(&ivan_csrf),
            serde_json::json!({ "body": "Uniform matches unit 1234." }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let comment = json(&r)["id"].as_i64().expect("id");
    let edit = |cookie: &str, csrf: &str| {
        api(
            "PUT",
            &format!("/api/v1/incidents/{id}/comments/{comment}"),
            cookie,
            Some(csrf),
            serde_json::json!({ "body": "Uniform matches unit 1235." }),
        )
    };
    assert_eq!(
        call(s, edit(&vera, &vera_csrf)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(s, edit(&admin, &admin_csrf)).await.status,
        StatusCode::NO_CONTENT
    );

    // The viewer reads it all: tags with their provisions and points of law, history, comments.
    let r = call(s, get(&format!("/api/v1/incidents/{id}"), Some(&vera))).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = json(&r);
    assert_eq!(v["status"], "in-review");
    assert_eq!(v["labels"], serde_json::json!(["graphic-violence"]));
    let details = v["tag_details"].as_array().expect("tags");
    let curious = details.iter().find(|t| t["id"] == curiosity).expect("tag");
    assert!(
        curious["provisions"].to_string().contains("GCIII 13(2)"),
        "{curious}"
    );
    assert!(
        curious["notes"].to_string().contains("public-curiosity"),
        "{curious}"
    );
    let fields: Vec<&str> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["created", "status", "tag+", "label+", "item+", "tag+"]
    );
    assert_eq!(v["comments"][0]["body"], "Uniform matches unit 1235.");
    assert_eq!(
        v["comments"][0]["revisions"][0][0],
        "Uniform matches unit 1234."
    );
    assert_eq!(
        v["title"],
        format!("Beating of a captured soldier {XSS}"),
        "stored as written"
    );

    // Every change is in the audit chain, which holds.
    let events = s
        .catalog
        .audit_events(0, 1000, Some(&format!("incident:{id}")))
        .await
        .expect("events");
    let actions: Vec<&str> = events.iter().map(|e| e.event.action.as_str()).collect();
    for a in [
        "incident-create",
        "incident-edit",
        "incident-tag+",
        "incident-label+",
        "incident-item+",
        "comment-add",
        "comment-edit",
        "view",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        s.catalog
            .verify_audit_chain()
            .await
            .expect("chain")
            .1
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn person_records_are_for_investigators_only() {
    let w = world().await;
    let s = &w.state;
    let (vera, vera_csrf) = sign_in(s, "vera", "a long passphrase").await;
    let (ivan, ivan_csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let json = |r: &Reply| -> serde_json::Value { serde_json::from_str(&r.body).expect("json") };
    let new = serde_json::json!({
        "names": [
            { "name": "Արամ Պետրոսյան" },
            { "name": "Арам Петросян", "transliteration": true },
            { "name": "Aram Petrosyan", "script": "latn", "transliteration": true }
        ],
        "status": "pow", "unit": "3rd battalion", "service_number": "AM-1234567",
        "status_since": "2023-09-19"
    });
    // Viewers neither see nor create person records.
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/persons",
            &vera,
            Some(&vera_csrf),
            new.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(s, get("/api/v1/persons", Some(&vera))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = call(
        s,
        api(
            "POST",
            "/api/v1/persons",
            &ivan,
            Some(&ivan_csrf),
            new.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let person = json(&r);
    let id = person["id"].as_i64().expect("id");
    let scripts: Vec<&str> = person["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n["script"].as_str())
        .collect();
    assert_eq!(scripts, ["armn", "cyrl", "latn"], "scripts recognised");
    assert_eq!(
        call(s, get(&format!("/api/v1/persons/{id}"), Some(&vera)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut bad = new.clone();
    bad["status"] = "captured".into();
    let r = call(
        s,
        api("POST", "/api/v1/persons", &ivan, Some(&ivan_csrf), bad),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Linked to an incident and an item; the incident shows its persons to investigators
    // only.
    let r = call(
        s,
        api(
            "POST",
            "/api/v1/incidents",
            &ivan,
            Some(&ivan_csrf),
            serde_json::json!({ "title": "Captured near Ջրական" }),
        ),
    )
    .await;
    let incident = json(&r)["id"].as_i64().expect("incident");
    let link = |body: serde_json::Value, what: &str| {
        api(
            "POST",
            &format!("/api/v1/persons/{id}/{what}"),
            &ivan,
            Some(&ivan_csrf),
            body,
        )
    };
    let r = call(
        s,
        link(
            serde_json::json!({ "incident_id": incident, "role": "victim" }),
            "incidents",
        ),
    )
    .await;
    assert_eq!(
        (r.status, json(&r)["changed"].clone()),
        (StatusCode::OK, true.into())
    );
    let r = call(
        s,
        link(
            serde_json::json!({ "incident_id": incident, "role": "hostage" }),
            "incidents",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = call(
        s,
        link(serde_json::json!({ "sha256": w.public_item }), "items"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(
        s,
        link(serde_json::json!({ "sha256": w.case_item }), "items"),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an item of another collection"
    );
    let as_ivan = json(
        &call(
            s,
            get(&format!("/api/v1/incidents/{incident}"), Some(&ivan)),
        )
        .await,
    );
    assert_eq!(as_ivan["persons"], serde_json::json!([[id, "victim"]]));
    let as_vera = json(
        &call(
            s,
            get(&format!("/api/v1/incidents/{incident}"), Some(&vera)),
        )
        .await,
    );
    assert!(as_vera.get("persons").is_none(), "{as_vera}");

    // Edits keep their history.
    let mut changed = new.clone();
    changed["status"] = "released".into();
    changed["status_since"] = "2024-01".into();
    let r = call(
        s,
        api(
            "PUT",
            &format!("/api/v1/persons/{id}"),
            &ivan,
            Some(&ivan_csrf),
            changed,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        json(&r)["changed"],
        serde_json::json!(["status", "status_since"])
    );
    let v = json(&call(s, get(&format!("/api/v1/persons/{id}"), Some(&ivan))).await);
    let fields: Vec<&str> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["created", "incident+", "item+", "status", "status_since"]
    );
    assert_eq!(v["incidents"], serde_json::json!([[incident, "victim"]]));
    let views = s
        .catalog
        .audit_events(0, 1000, Some(&format!("person:{id}")))
        .await
        .expect("events");
    assert!(
        views
            .iter()
            .any(|e| e.event.action == "view" && e.event.actor == "ivan")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn working_through_the_pages() {
    let w = world().await;
    let s = &w.state;
    let (ivan, csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let (vera, vera_csrf) = sign_in(s, "vera", "a long passphrase").await;
    let form = |path: &str, cookie: &str, body: String| post_form(path, Some(cookie), &body);
    let enc = |t: &str| {
        t.replace('%', "%25")
            .replace('&', "%26")
            .replace('+', "%2B")
            .replace(' ', "+")
            .replace('<', "%3C")
            .replace('>', "%3E")
            .replace('"', "%22")
    };

    // A viewer's form post is refused; an investigator's creates and redirects.
    let title = format!("Գերիների ծեծ {XSS}");
    let body = format!(
        "csrf={vera_csrf}&title={}&date_precision=unknown&place_precision=unknown",
        enc(&title)
    );
    assert_eq!(
        call(s, form("/incidents", &vera, body)).await.status,
        StatusCode::FORBIDDEN
    );
    let body = format!(
        "csrf={csrf}&title={}&occurred=2023-09&date_precision=month&place={}&place_precision=settlement",
        enc(&title),
        enc("Ջրական")
    );
    let r = call(s, form("/incidents", &ivan, body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.headers[header::LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned();
    // Without the token, nothing.
    let r = call(
        s,
        form(
            &format!("{location}/links"),
            &ivan,
            "kind=tag&value=pow.violence".into(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for (kind, value) in [
        ("tag", "pow.humiliation"),
        ("label", "identifiable-prisoner"),
        ("item", w.public_item.as_str()),
    ] {
        let r = call(
            s,
            form(
                &format!("{location}/links"),
                &ivan,
                format!("csrf={csrf}&kind={kind}&value={value}"),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{kind}: {}", r.body);
    }
    let r = call(
        s,
        form(
            &format!("{location}/status"),
            &ivan,
            format!("csrf={csrf}&status=in-review"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = call(
        s,
        form(
            &format!("{location}/status"),
            &ivan,
            format!("csrf={csrf}&status=new"),
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "back to new is not a move"
    );
    let r = call(
        s,
        form(
            &format!("{location}/comments"),
            &ivan,
            format!("csrf={csrf}&body={}", enc("<b>seen</b> twice")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The page shows the qualification with its provisions, escaped text, the footage link.
    let page = call(s, get(&location, Some(&vera))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Գերիների ծեծ"), "Armenian text kept");
    assert!(
        !page.body.contains("<script>alert") && !page.body.contains("<b>seen</b>"),
        "escaped"
    );
    assert!(page.body.contains("GCIII 13(2)"), "provisions shown");
    assert!(page.body.contains(&w.public_item));
    assert!(
        !page.body.contains("Persons</h2>"),
        "viewers see no persons"
    );
    assert!(
        !page.body.contains("name=\"body\""),
        "viewers get no comment form"
    );

    // Persons through the form: scripts recognised, linked to the incident.
    let body = format!(
        "csrf={csrf}&name={}&other_names={}&status=pow&unit=&service_number=",
        enc("Արամ Պետրոսյան"),
        enc("Арам Петросян\nAram Petrosyan")
    );
    let r = call(s, form("/persons", &ivan, body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let person = r.headers[header::LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned();
    let incident_id = location.rsplit('/').next().expect("id");
    let r = call(
        s,
        form(
            &format!("{person}/incidents"),
            &ivan,
            format!("csrf={csrf}&incident_id={incident_id}&role=victim"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = call(s, get(&person, Some(&ivan))).await;
    assert!(
        page.body.contains("lang=\"armn\">Արամ Պետրոսյան"),
        "{}",
        page.body
    );
    assert!(page.body.contains("(cyrl, transliteration)"));
    assert!(page.body.contains(&format!("/incidents/{incident_id}")));
    assert_eq!(
        call(s, get(&person, Some(&vera))).await.status,
        StatusCode::FORBIDDEN
    );
    let incident_page = call(s, get(&location, Some(&ivan))).await;
    assert!(
        incident_page.body.contains(&format!("{person}\">Person #")),
        "investigators see the person"
    );
}

/// A multipart body with the given (name, file name, bytes) parts, in order.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "vigil-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_captured_logged_and_enriched() {
    let w = world().await;
    let s = &w.state;
    let (ivan, csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let (vera, vera_csrf) = sign_in(s, "vera", "a long passphrase").await;
    let photo = std::fs::read(
        vigil_testdata::vectors()
            .join("threatexchange/pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg"),
    )
    .expect("photo");
    let send = |cookie: &str, parts: &[(&str, Option<&str>, &[u8])]| {
        let (content_type, body) = multipart(parts);
        Request::post("/captures/upload")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request")
    };
    // Viewers do not capture; the token must come before any file.
    let r = call(
        s,
        send(
            &vera,
            &[
                ("csrf", None, vera_csrf.as_bytes()),
                ("file", Some("a.jpg"), &photo),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        s,
        send(
            &ivan,
            &[
                ("file", Some("a.jpg"), &photo),
                ("csrf", None, csrf.as_bytes()),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let before = s.catalog.capture_count().await.expect("count");
    assert_eq!(before, 2, "nothing captured by refused uploads");

    let r = call(
        s,
        send(
            &ivan,
            &[
                ("csrf", None, csrf.as_bytes()),
                ("note", None, "sent by a relative".as_bytes()),
                ("file", Some("photo <1>.jpg"), &photo),
                ("file", Some("notes.txt"), b"seen on 19 September"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ids = s
        .catalog
        .captures_visible_to(
            &s.catalog
                .user_for_login("ivan")
                .await
                .expect("q")
                .expect("ivan")
                .0,
            10,
        )
        .await
        .expect("ids");
    let capture = s
        .catalog
        .capture(ids[0])
        .await
        .expect("q")
        .expect("capture");
    assert_eq!(capture.record.kind, "upload");
    assert_eq!(capture.record.collector, "ivan");
    assert_eq!(capture.record.note.as_deref(), Some("sent by a relative"));
    assert_eq!(capture.record.items.len(), 2);
    let digest = capture.record.items[0].sha256;
    assert_eq!(
        digest,
        vigil_store::Sha256Digest::of(&photo),
        "stored byte for byte"
    );
    assert_eq!(
        std::fs::read(s.blobs.path_of(&digest)).expect("blob"),
        photo
    );
    // Logged: the capture's leaf is in a signed tree.
    let leaf = s
        .catalog
        .log_leaf_of_capture(capture.id)
        .await
        .expect("q")
        .expect("leaf");
    let signed = s
        .catalog
        .latest_checkpoint()
        .await
        .expect("q")
        .expect("checkpoint");
    assert!(signed.tree_size > leaf.index);

    // Enrichment runs in the background: the photo gets its jobs and a thumbnail.
    let mut done = false;
    for _ in 0..300 {
        let jobs = s.catalog.jobs_of(&digest).await.expect("jobs");
        if jobs.len() == 3 {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done, "enrichment did not finish");
    assert_eq!(s.catalog.derivations_of(&digest).await.expect("q").len(), 1);
    let page = call(s, get(&format!("/items/{}", digest.to_hex()), Some(&vera))).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "uploads go to the default collection"
    );
    assert!(page.body.contains("media blurred"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pasted_links_are_captured_through_the_guard_and_paths_refused() {
    let w = world().await;
    let s = &w.state;
    let (ivan, csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let (vera, vera_csrf) = sign_in(s, "vera", "a long passphrase").await;
    let post = |cookie: &str, token: &str, urls: &str| {
        post_form(
            "/captures/links",
            Some(cookie),
            &format!(
                "csrf={token}&urls={}",
                urls.replace('\n', "%0A")
                    .replace(':', "%3A")
                    .replace('/', "%2F")
            ),
        )
    };
    assert_eq!(
        call(s, post(&vera, &vera_csrf, "https://t.me/c/1"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Paths would read the server's own disk: refused, nothing captured.
    for bad in [
        "/etc/passwd",
        "file:///etc/passwd",
        "https://t.me/c/1\n../../store/log.key",
        "ftp://example.org/x",
    ] {
        let r = call(s, post(&ivan, &csrf, bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(s.catalog.capture_count().await.expect("count"), 2);
    // A link to this machine is refused by the guard (before any connection) and recorded
    // as a failed capture, as the command line would.
    let r = call(s, post(&ivan, &csrf, "http://127.0.0.1:9/post")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut failure = None;
    for _ in 0..300 {
        let ids = s
            .catalog
            .captures_visible_to(
                &s.catalog
                    .user_for_login("admin")
                    .await
                    .expect("q")
                    .expect("admin")
                    .0,
                10,
            )
            .await
            .expect("ids");
        if ids.len() == 3 {
            let c = s
                .catalog
                .capture(ids[0])
                .await
                .expect("q")
                .expect("capture");
            failure = c.record.failure.map(|f| f.code);
            assert_eq!(c.record.collector, "ivan");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(failure.as_deref(), Some("ssrf-refused"));
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_preferences_and_the_audit_page() {
    let w = world().await;
    let s = &w.state;
    let (vera, vera_csrf) = sign_in(s, "vera", "a long passphrase").await;
    let (admin, _) = sign_in(s, "admin", "a long passphrase").await;
    // A receipt that verifies offline with the log's verifier key.
    let r = call(s, get("/captures/1/receipt", Some(&vera))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .contains("capture-1.tlog-proof")
    );
    let vkey = s.log.vkey();
    let digest: vigil_store::Sha256Digest = w.public_item.parse().expect("digest");
    let checked =
        vigil_core::log::check_receipt(r.body.as_bytes(), &vkey, &[("photo".into(), digest)])
            .expect("verifies");
    assert_eq!(checked.capture_id, 1);

    // The preference unblurs by default, and back.
    let item = format!("/items/{}", w.public_item);
    assert!(
        call(s, get(&item, Some(&vera)))
            .await
            .body
            .contains("media blurred")
    );
    let r = call(
        s,
        post_form(
            "/settings/graphic",
            Some(&vera),
            &format!("csrf={vera_csrf}&show=on"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !call(s, get(&item, Some(&vera)))
            .await
            .body
            .contains("media blurred")
    );
    let r = call(s, post_form("/settings/graphic", Some(&vera), "show=on")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token, no change");
    call(
        s,
        post_form(
            "/settings/graphic",
            Some(&vera),
            &format!("csrf={vera_csrf}&show=off"),
        ),
    )
    .await;
    assert!(
        call(s, get(&item, Some(&vera)))
            .await
            .body
            .contains("media blurred")
    );

    // The admin's audit page lists what vera did and says the chain holds.
    let page = call(s, get("/audit", Some(&admin))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("The chain holds"));
    assert!(page.body.contains("download-receipt") && page.body.contains("preference"));
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_what_each_may_see_in_any_script() {
    let w = world().await;
    let s = &w.state;
    let (vera, _) = sign_in(s, "vera", "a long passphrase").await;
    let (ivan, ivan_csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let (admin, admin_csrf) = sign_in(s, "admin", "a long passphrase").await;
    let json = |r: &Reply| -> serde_json::Value { serde_json::from_str(&r.body).expect("json") };
    let post = |cookie: &str, csrf: &str, path: &str, body: serde_json::Value| {
        api("POST", path, cookie, Some(csrf), body)
    };
    let r = call(
        s,
        post(
            &ivan,
            &ivan_csrf,
            "/api/v1/incidents",
            serde_json::json!({
                "title": "Գերիների ծեծ Ջրականում", "description": "Пленных избивают у дороги",
            }),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mut elsewhere = serde_json::json!({ "title": "Գերիների ծեծ, case 17", "collection_id": 2 });
    let r = call(
        s,
        post(&admin, &admin_csrf, "/api/v1/incidents", elsewhere.take()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = call(s, post(&ivan, &ivan_csrf, "/api/v1/persons", serde_json::json!({
        "names": [{ "name": "Արամ Պետրոսյան" }, { "name": "Aram Petrosyan", "transliteration": true }], "status": "pow",
    }))).await;
    assert_eq!(r.status, StatusCode::CREATED);

    let search = |cookie: &str, q: &str| {
        let q = q.replace(' ', "+");
        let s = s.clone();
        let cookie = cookie.to_owned();
        async move {
            let bytes: Vec<String> = q
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b == b'+' {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let r = call(
                &s,
                get(
                    &format!("/api/v1/search?q={}", bytes.concat()),
                    Some(&cookie),
                ),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            v["hits"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|h| {
                    format!(
                        "{}:{}",
                        h["kind"].as_str().unwrap_or(""),
                        h["title"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<String>>()
        }
    };
    // An Armenian word finds its plural; Russian finds its inflected form; only what the
    // viewer's collections hold.
    let hits = search(&vera, "գերի").await;
    assert_eq!(hits, ["incident:Գերիների ծեծ Ջրականում"], "{hits:?}");
    assert_eq!(search(&vera, "пленные").await.len(), 1);
    assert_eq!(
        search(&admin, "գերի").await.len(),
        2,
        "admins see every collection"
    );
    // Person records: investigators find them in either script; viewers never.
    assert_eq!(search(&ivan, "Պետրոսյան").await, ["person:Արամ Պետրոսյան"]);
    assert_eq!(search(&ivan, "petrosyan").await.len(), 1);
    assert!(search(&vera, "Պետրոսյան").await.is_empty());
    // Items by the names they were captured under.
    assert!(!search(&vera, "photo").await.is_empty());
    // The page escapes what it shows; the search is audited.
    let page = call(s, get("/search?q=%D5%A3%D5%A5%D6%80%D5%AB", Some(&vera))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Գերիների ծեծ Ջրականում"),
        "{}",
        page.body
    );
    let events = s
        .catalog
        .audit_events(0, 1000, Some("search"))
        .await
        .expect("events");
    assert!(events.iter().any(|e| e.event.actor == "vera"));
    // Filters without words list what they let through; facets link to a narrower search;
    // a filter that cannot be read is refused, never ignored (it would widen the search).
    let r = call(
        s,
        get("/api/v1/search?q=&kind=person&status=pow", Some(&ivan)),
    )
    .await;
    assert_eq!(json(&r)["total"], 1, "{}", r.body);
    let r = call(s, get("/api/v1/search?q=&status=pow", Some(&vera))).await;
    assert_eq!(
        json(&r)["total"],
        0,
        "viewers get no person by a filter either"
    );
    let r = call(
        s,
        get(
            "/api/v1/search?q=&from=2023&to=2023-12&platform=",
            Some(&vera),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for bad in [
        "/api/v1/search?q=x&from=September",
        "/api/v1/search?q=x&kind=bogus",
    ] {
        let r = call(s, get(bad, Some(&vera))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    let page = call(
        s,
        get("/search?q=%D5%A3%D5%A5%D6%80%D5%AB&status=", Some(&ivan)),
    )
    .await;
    assert!(
        page.body
            .contains("href=\"/search?q=%D5%A3%D5%A5%D6%80%D5%AB&#38;kind=incident\""),
        "facet links narrow the search: {}",
        page.body
    );
    assert!(
        page.body.contains("<select name=\"tag\">"),
        "filters on the page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_item_page_shows_its_spread_and_hashes_to_those_who_may_see_them() {
    let w = world().await;
    let s = &w.state;
    let digest: vigil_store::Sha256Digest = w.public_item.parse().expect("digest");
    let size = s
        .catalog
        .item(&digest)
        .await
        .expect("item")
        .expect("stored")
        .size;
    // The same photo captured twice more: once from X (visible to all), once into case-17.
    let again = |source: &str, at: &str| capture_of(source, at, (digest, size), None);
    let ids = s
        .catalog
        .commit_captures(&[
            again("https://x.com/repost/1", "2026-11-27T11:00:00.000000Z"),
            again("https://t.me/secret-case/9", "2026-11-27T12:00:00.000000Z"),
        ])
        .await
        .expect("captures");
    // case-17 is the second collection the world made.
    s.catalog.assign_capture(ids[1], 2).await.expect("assign");

    let (vera, _) = sign_in(s, "vera", "a long passphrase").await;
    let (admin, _) = sign_in(s, "admin", "a long passphrase").await;
    let page = call(s, get(&format!("/items/{}", w.public_item), Some(&vera))).await;
    assert!(page.body.contains("How it spread"), "{}", page.body);
    assert!(page.body.contains("https://x.com/repost/1"));
    assert!(
        !page.body.contains("secret-case"),
        "a capture of another collection stays hidden"
    );
    assert_eq!(page.body.matches("earliest we hold</strong>").count(), 1);
    assert!(page.body.contains("Perceptual hashes (PDQ)"));
    assert!(page.body.contains("(quality "));
    let page = call(s, get(&format!("/items/{}", w.public_item), Some(&admin))).await;
    assert!(
        page.body.contains("secret-case"),
        "admins see every capture"
    );
}

/// A sign-in attempt through the form, whatever its outcome.
async fn attempt_sign_in(state: &Arc<AppState>, name: &str, password: &str) -> Reply {
    let form_page = call(state, get("/login", None)).await;
    let t = cookie_value(&form_page, "vigil_login_csrf").expect("login csrf cookie");
    call(
        state,
        post_form(
            "/login",
            Some(&format!("vigil_login_csrf={t}")),
            &format!(
                "username={name}&password={}&csrf={t}",
                password.replace(' ', "+")
            ),
        ),
    )
    .await
}

/// The password a result page shows once.
fn shown_password(body: &str) -> String {
    body.split("<code class=\"password\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_default()
        .to_owned()
}

fn location(reply: &Reply) -> &str {
    reply
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn user_id(state: &Arc<AppState>, name: &str) -> i64 {
    state
        .catalog
        .user_named(name)
        .await
        .expect("q")
        .expect("user")
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_forms_need_an_admin_and_the_session_token() {
    let w = world().await;
    let s = &w.state;
    let (admin, admin_csrf) = sign_in(s, "admin", "a long passphrase").await;
    let (ivan, ivan_csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let vera = user_id(s, "vera").await;
    let case = s
        .catalog
        .collection_id("case-17")
        .await
        .expect("q")
        .expect("case-17");
    let forms = [
        (
            "/admin/users".to_owned(),
            "username=mallory&role=admin".to_owned(),
        ),
        (format!("/admin/users/{vera}/role"), "role=admin".into()),
        (
            format!("/admin/users/{vera}/disabled"),
            "disabled=true".into(),
        ),
        (format!("/admin/users/{vera}/password"), String::new()),
        ("/admin/collections".into(), "name=forged".into()),
        (
            format!("/admin/collections/{case}/join"),
            format!("user_id={vera}"),
        ),
        (
            format!("/admin/collections/{case}/leave"),
            format!("user_id={vera}"),
        ),
    ];
    let events_before = s
        .catalog
        .audit_events(0, 10_000, None)
        .await
        .expect("q")
        .len();
    for (path, fields) in &forms {
        let with = |token: &str| format!("{fields}&csrf={token}");
        // No one signed in: to the sign-in form.
        let r = call(s, post_form(path, None, &with(&admin_csrf))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path} anonymous");
        // An admin without the token, or with a forged one, or another session's.
        for token in ["", "forged", ivan_csrf.as_str()] {
            let r = call(s, post_form(path, Some(&admin), &with(token))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} token {token:?}");
            assert!(r.body.contains("token"), "{path}: {}", r.body);
        }
        // An investigator with their own token: not an admin.
        let r = call(s, post_form(path, Some(&ivan), &with(&ivan_csrf))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} as ivan");
    }
    // Nothing changed, and nothing was recorded as done.
    let vera_now = s.catalog.user(vera).await.expect("q").expect("vera");
    assert_eq!((vera_now.role, vera_now.disabled), (Role::Viewer, false));
    assert!(s.catalog.user_named("mallory").await.expect("q").is_none());
    assert!(
        s.catalog
            .collection_id("forged")
            .await
            .expect("q")
            .is_none()
    );
    assert_eq!(s.catalog.collections_of(vera).await.expect("q"), [1]);
    let after = s.catalog.audit_events(0, 10_000, None).await.expect("q");
    assert!(
        after[events_before..].iter().all(|e| ![
            "user-add",
            "user-role",
            "user-disable",
            "password-reset",
            "collection-add",
            "member-add",
            "member-remove"
        ]
        .contains(&e.event.action.as_str())),
        "refused requests change nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_collections_accounts_and_export_the_trail() {
    let w = world().await;
    let s = &w.state;
    let (admin, csrf) = sign_in(s, "admin", "a long passphrase").await;
    let (ivan, _) = sign_in(s, "ivan", "a long passphrase").await;
    let (vera, _) = sign_in(s, "vera", "a long passphrase").await;
    let (ivan_id, vera_id, admin_id) = (
        user_id(s, "ivan").await,
        user_id(s, "vera").await,
        user_id(s, "admin").await,
    );
    let admin_post = |path: String, fields: String| {
        let (admin, csrf) = (admin.clone(), csrf.clone());
        async move {
            call(
                s,
                post_form(&path, Some(&admin), &format!("{fields}&csrf={csrf}")),
            )
            .await
        }
    };

    // A collection; the case's capture moves into it; ivan sees it once he is a member.
    let r = admin_post("/admin/collections".into(), "name=+case-42+".into()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(location(&r), "/admin?done=collection");
    let page = call(s, get(location(&r), Some(&admin))).await;
    assert!(page.body.contains("Collection created."), "{}", page.body);
    let r = admin_post("/admin/collections".into(), "name=case-42".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("already"), "{}", r.body);
    let r = admin_post("/admin/collections".into(), "name=+++".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let case42 = s
        .catalog
        .collection_id("case-42")
        .await
        .expect("q")
        .expect("trimmed name");
    s.catalog.assign_capture(2, case42).await.expect("assign");
    let item = format!("/items/{}", w.case_item);
    assert_eq!(
        call(s, get(&item, Some(&ivan))).await.status,
        StatusCode::NOT_FOUND
    );
    let r = admin_post(
        format!("/admin/collections/{case42}/join"),
        format!("user_id={ivan_id}"),
    )
    .await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, "/admin?done=joined")
    );
    assert_eq!(
        call(s, get(&item, Some(&ivan))).await.status,
        StatusCode::OK
    );
    let listed = call(s, get("/api/v1/captures", Some(&ivan))).await;
    let v: serde_json::Value = serde_json::from_str(&listed.body).expect("json");
    assert_eq!(v["captures"].as_array().map(Vec::len), Some(2));
    let r = call(s, get("/api/v1/admin/collections", Some(&admin))).await;
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let members = v["collections"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "case-42"))
        .map(|c| c["members"].clone());
    assert_eq!(members, Some(serde_json::json!([ivan_id])));
    let r = admin_post(
        format!("/admin/collections/{case42}/leave"),
        format!("user_id={ivan_id}"),
    )
    .await;
    assert_eq!(location(&r), "/admin?done=left");
    assert_eq!(
        call(s, get(&item, Some(&ivan))).await.status,
        StatusCode::NOT_FOUND
    );
    let r = admin_post(
        "/admin/collections/999/join".into(),
        format!("user_id={ivan_id}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Vera disabled: her open session stops working at once and she cannot sign in.
    assert_eq!(
        call(s, get("/captures", Some(&vera))).await.status,
        StatusCode::OK
    );
    let r = admin_post(
        format!("/admin/users/{vera_id}/disabled"),
        "disabled=true".into(),
    )
    .await;
    assert_eq!(location(&r), "/admin?done=disabled");
    assert_eq!(
        call(s, get("/captures", Some(&vera))).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        call(s, get("/api/v1/me", Some(&vera))).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refused = attempt_sign_in(s, "vera", "a long passphrase").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("Wrong user name or password"));
    let page = call(s, get("/admin", Some(&admin))).await;
    assert!(page.body.contains("disabled</span>"), "{}", page.body);
    let r = admin_post(
        format!("/admin/users/{vera_id}/disabled"),
        "disabled=false".into(),
    )
    .await;
    assert_eq!(location(&r), "/admin?done=enabled");
    sign_in(s, "vera", "a long passphrase").await;

    // The last admin can neither demote nor disable themselves.
    for (path, fields) in [
        (format!("/admin/users/{admin_id}/role"), "role=investigator"),
        (format!("/admin/users/{admin_id}/disabled"), "disabled=true"),
    ] {
        let r = admin_post(path.clone(), fields.into()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(r.body.contains("no enabled admin"), "{}", r.body);
    }
    let me = s.catalog.user(admin_id).await.expect("q").expect("admin");
    assert_eq!((me.role, me.disabled), (Role::Admin, false));
    assert_eq!(
        call(s, get("/admin", Some(&admin))).await.status,
        StatusCode::OK
    );
    let r = admin_post(
        format!("/admin/users/{vera_id}/role"),
        "role=overlord".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Roles change at once, sessions included.
    let r = admin_post(format!("/admin/users/{ivan_id}/role"), "role=viewer".into()).await;
    assert_eq!(location(&r), "/admin?done=role");
    assert_eq!(
        call(s, get("/persons", Some(&ivan))).await.status,
        StatusCode::FORBIDDEN
    );

    // A new account, its generated password shown once; a reset replaces it.
    let display = format!("Омар {XSS}");
    let r = admin_post(
        "/admin/users".into(),
        format!(
            "username=omar&role=investigator&display_name={}",
            url::form_urlencoded::byte_serialize(display.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = shown_password(&r.body);
    assert!(first.len() >= 20, "{}", r.body);
    let (omar, _) = sign_in(s, "omar", &first).await;
    let r = admin_post("/admin/users".into(), "username=OMAR&role=viewer".into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let omar_id = user_id(s, "omar").await;
    let r = admin_post(format!("/admin/users/{omar_id}/password"), String::new()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = shown_password(&r.body);
    assert!(second.len() >= 20 && second != first);
    assert_eq!(
        call(s, get("/captures", Some(&omar))).await.status,
        StatusCode::SEE_OTHER,
        "a reset ends the sessions"
    );
    assert_eq!(
        attempt_sign_in(s, "omar", &first).await.status,
        StatusCode::UNAUTHORIZED
    );
    sign_in(s, "omar", &second).await;

    // Hostile names come back escaped.
    let r = admin_post(
        "/admin/collections".into(),
        format!(
            "name={}",
            url::form_urlencoded::byte_serialize(format!("c {XSS}").as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = call(s, get("/admin", Some(&admin))).await;
    assert!(!page.body.contains("<script>alert"), "raw script tag");
    assert!(!page.body.contains("<img src=x"), "raw img tag");
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(page.body.contains("Омар"));
    // The message comes from a fixed list: a link cannot make the page say anything else.
    let page = call(
        s,
        get(
            "/admin?done=Reset+your+password+at+evil.example",
            Some(&admin),
        ),
    )
    .await;
    assert!(!page.body.contains("evil.example"));

    // Enough events for the export to read more than one page.
    for n in 0..1100 {
        s.catalog
            .append_audit(&vigil_store::NewAuditEvent {
                at: vigil_store::now_rfc3339(),
                user_id: None,
                actor: "test".into(),
                action: "view".into(),
                subject: format!("page:{n}"),
                detail: serde_json::json!({ "n": n, "note": "ünïcode" }),
                ip: None,
            })
            .await
            .expect("event");
    }

    // The export: JSON Lines, one line an event, each linked to the one before, and each
    // hash recomputable from the line itself.
    let r = call(s, get("/audit/export", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/x-ndjson");
    let disposition = r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"audit-")
            && disposition.ends_with(".jsonl\""),
        "{disposition}"
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let events = s.catalog.audit_events(0, 100_000, None).await.expect("q");
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(r.body.ends_with('\n'));
    assert_eq!(lines.len(), events.len());
    assert!(lines.len() > 1100);
    let mut prev = "0".repeat(64);
    for (line, stored) in lines.iter().zip(&events) {
        assert_eq!(line["id"], stored.id);
        assert_eq!(line["prev_hash"].as_str(), Some(prev.as_str()), "{line}");
        let event = vigil_store::NewAuditEvent {
            at: line["at"].as_str().expect("at").into(),
            user_id: line["user_id"].as_i64(),
            actor: line["actor"].as_str().expect("actor").into(),
            action: line["action"].as_str().expect("action").into(),
            subject: line["subject"].as_str().expect("subject").into(),
            detail: line["detail"].clone(),
            ip: line["ip"].as_str().map(str::to_owned),
        };
        let mut last = [0u8; 32];
        hex::decode_to_slice(&prev, &mut last).expect("hex");
        let hash = hex::encode(vigil_store::audit_hash(&last, stored.id, &event));
        assert_eq!(line["hash"].as_str(), Some(hash.as_str()), "{line}");
        prev = hash;
    }
    let last = lines.last().expect("lines");
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("export"), Some("admin"))
    );

    // What the admin did is in the trail, by them.
    let did = |action: &str, subject: &str| {
        events.iter().any(|e| {
            e.event.actor == "admin" && e.event.action == action && e.event.subject == subject
        })
    };
    assert!(did("collection-add", "collection:case-42"));
    assert!(did("member-add", "collection:case-42"));
    assert!(did("member-remove", "collection:case-42"));
    assert!(did("user-disable", "user:vera") && did("user-enable", "user:vera"));
    assert!(did("user-role", "user:ivan"));
    assert!(did("user-add", "user:omar") && did("password-reset", "user:omar"));
    assert!(
        s.catalog
            .verify_audit_chain()
            .await
            .expect("chain")
            .1
            .is_empty()
    );

    // The audit page links to the export; the navigation to administration, for admins only.
    let page = call(s, get("/audit", Some(&admin))).await;
    assert!(page.body.contains("href=\"/audit/export\""));
    assert!(page.body.contains("href=\"/admin\""));
    let page = call(s, get("/captures", Some(&ivan))).await;
    assert!(!page.body.contains("href=\"/admin\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_go_into_a_collection_the_uploader_belongs_to() {
    let w = world().await;
    let s = &w.state;
    let (ivan, ivan_csrf) = sign_in(s, "ivan", "a long passphrase").await;
    let (admin, admin_csrf) = sign_in(s, "admin", "a long passphrase").await;
    let (vera, _) = sign_in(s, "vera", "a long passphrase").await;
    let send = |cookie: &str, csrf: &str, collection: &str, bytes: &[u8]| {
        let (content_type, body) = multipart(&[
            ("csrf", None, csrf.as_bytes()),
            ("collection", None, collection.as_bytes()),
            ("file", Some("statement.txt"), bytes),
        ]);
        Request::post("/captures/upload")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request")
    };
    // The form offers only one's own collections.
    let form = call(s, get("/captures/new", Some(&admin))).await;
    assert!(
        form.body.contains("case-17"),
        "admins may choose any collection"
    );
    let form = call(s, get("/captures/new", Some(&ivan))).await;
    assert!(!form.body.contains("case-17"));
    // Not a member: refused, nothing stored.
    let before = s.catalog.capture_count().await.expect("count");
    let r = call(s, send(&ivan, &ivan_csrf, "2", b"a witness statement")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(s.catalog.capture_count().await.expect("count"), before);
    // Into case-17: its members (and admins) see it; the viewer of `default` does not.
    let secret = b"a statement only case-17 may read";
    let r = call(s, send(&admin, &admin_csrf, "2", secret)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let digest = vigil_store::Sha256Digest::of(secret).to_hex();
    let page = call(s, get(&format!("/items/{digest}"), Some(&admin))).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = call(s, get(&format!("/items/{digest}"), Some(&vera))).await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "kept from other collections"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watch_page_shows_the_sources_of_ones_collections_their_deletions_and_changes() {
    let w = world().await;
    let s = &w.state;
    let add = |url: &'static str, collection_id: i64| vigil_store::NewWatchSource {
        url,
        kind: "telegram",
        poll_url: url,
        every_secs: 600,
        recheck_secs: 3600,
        note: None,
        tags: &[],
        collection_id,
        added_by: "tester",
        at: "2026-11-27T10:00:00.000000Z",
    };
    let open = s
        .catalog
        .add_watch_source(&add("https://t.me/open_channel", 1))
        .await
        .expect("add")
        .expect("new");
    s.catalog
        .add_watch_source(&add("https://t.me/case_channel", 2))
        .await
        .expect("add")
        .expect("new");
    let outcome = vigil_store::PollOutcome {
        at: "2026-11-27T10:01:00.000000Z",
        outcome: "ok",
        error: None,
        next_poll_at: "2026-11-27T10:11:00.000000Z",
        consecutive_failures: 0,
    };
    let post = vigil_store::SeenPost {
        post_key: "open_channel/7",
        url: "https://t.me/open_channel/7",
        author: None,
        published_at: None,
    };
    s.catalog
        .record_watch_poll(open.id, &outcome, &[post])
        .await
        .expect("poll");
    let digest: vigil_store::Sha256Digest = w.public_item.parse().expect("digest");
    let size = s
        .catalog
        .item(&digest)
        .await
        .expect("item")
        .expect("stored")
        .size;
    let capture = s
        .catalog
        .commit_captures(&[capture_of(
            "https://t.me/open_channel/7",
            "2026-11-27T10:02:00.000000Z",
            (digest, size),
            None,
        )])
        .await
        .expect("capture")[0];
    s.catalog
        .link_watch_capture(
            open.id,
            "open_channel/7",
            capture,
            "2026-11-27T11:00:00.000000Z",
        )
        .await
        .expect("link");
    for (at, gone, changed) in [
        ("2026-11-27T10:30:00.000000Z", None, Some("media-replaced")),
        ("2026-11-27T11:00:00.000000Z", Some("not-found-page"), None),
    ] {
        s.catalog
            .record_watch_check(
                open.id,
                "open_channel/7",
                at,
                gone,
                changed,
                "2026-11-27T12:00:00.000000Z",
            )
            .await
            .expect("check");
    }

    let (vera, _) = sign_in(s, "vera", "a long passphrase").await;
    let (admin, _) = sign_in(s, "admin", "a long passphrase").await;
    let page = call(s, get("/watch", Some(&vera))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("https://t.me/open_channel"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("case_channel"),
        "another collection's source stays hidden"
    );
    assert!(page.body.contains("Deleted at their source"));
    assert!(page.body.contains("not-found-page"));
    assert!(page.body.contains("Changed at their source"));
    assert!(page.body.contains("media-replaced"));
    assert!(page.body.contains("Newest posts"));
    assert!(
        page.body.contains(&format!("/items/{}", w.public_item)),
        "a captured post links to its item"
    );
    let page = call(s, get("/watch", Some(&admin))).await;
    assert!(
        page.body.contains("case_channel"),
        "admins see every source"
    );
}

/// Issue 16, finding 1: an item held in two collections was one search document filed under
/// its first capture's collection, with the notes of both: a viewer outside collection B found
/// B's note, and B's members did not. Now each collection has its own document of the item.
#[tokio::test(flavor = "multi_thread")]
async fn search_never_carries_a_note_across_collections() {
    let w = world().await;
    let s = &w.state;
    let digest: vigil_store::Sha256Digest = w.public_item.parse().expect("digest");
    let size = s
        .catalog
        .item(&digest)
        .await
        .expect("item")
        .expect("stored")
        .size;
    // The photo of the default collection captured again into case-17 (collection 2), with a
    // note and a file name that must stay there.
    let mut secret = capture_of(
        "https://t.me/secret-case/9",
        "2026-11-27T12:00:00.000000Z",
        (digest, size),
        Some("ivanov-statement.jpg"),
    );
    secret.note = Some("confidential informant Ivanov gave this".into());
    let ids = s.catalog.commit_captures(&[secret]).await.expect("capture");
    s.catalog.assign_capture(ids[0], 2).await.expect("assign");
    vigil_core::accounts::add_user(
        &s.catalog,
        "bella",
        "",
        Role::Viewer,
        "a long passphrase",
        "test",
    )
    .await
    .expect("user");
    let bella = user_id(s, "bella").await;
    s.catalog.add_member(2, bella).await.expect("member");
    // New accounts join the default collection; bella works on case-17 only.
    assert!(s.catalog.remove_member(1, bella).await.expect("leave"));
    if let Some(index) = &s.search {
        vigil_core::search::rebuild(&s.catalog, index)
            .await
            .expect("index");
    }

    let (vera, _) = sign_in(s, "vera", "a long passphrase").await;
    let (bella, _) = sign_in(s, "bella", "a long passphrase").await;
    let (admin, _) = sign_in(s, "admin", "a long passphrase").await;
    let search = |cookie: String, q: &'static str| {
        let s = s.clone();
        async move {
            let r = call(&s, get(&format!("/api/v1/search?q={q}"), Some(&cookie))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            serde_json::from_str::<serde_json::Value>(&r.body).expect("json")
        }
    };
    for q in ["informant", "Ivanov", "ivanov-statement", "secret-case"] {
        let v = search(vera.clone(), q).await;
        assert_eq!(v["total"], 0, "{q}: nothing of case-17 reaches vera: {v}");
        assert!(v["hits"].as_array().is_some_and(Vec::is_empty), "{v}");
        assert!(!v.to_string().contains("informant"), "{v}");
        let v = search(bella.clone(), q).await;
        assert_eq!(
            v["total"], 1,
            "{q}: case-17's member finds its own note: {v}"
        );
        assert_eq!(v["hits"][0]["id"], w.public_item.as_str());
    }
    // Each sees the item under what their own collection recorded of it.
    let v = search(vera.clone(), "channel").await;
    assert_eq!(v["total"], 1, "{v}");
    assert!(!v.to_string().contains("secret"), "{v}");
    let v = search(bella.clone(), "channel").await;
    assert!(
        !v.to_string().contains(w.public_item.as_str()),
        "the default collection's capture of the photo does not reach bella: {v}"
    );
    let v = search(admin.clone(), "informant").await;
    assert_eq!(v["total"], 1, "admins find every collection's notes: {v}");

    // The item's API lists only the captures the account may see.
    let captures = |cookie: String| {
        let s = s.clone();
        let path = format!("/api/v1/items/{}", w.public_item);
        async move {
            let r = call(&s, get(&path, Some(&cookie))).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            v["captures"].clone()
        }
    };
    let vera_sees = captures(vera).await;
    assert!(
        !vera_sees
            .as_array()
            .expect("ids")
            .contains(&serde_json::json!(ids[0])),
        "vera cannot see capture {}: {vera_sees}",
        ids[0]
    );
    assert_eq!(captures(bella).await, serde_json::json!([ids[0]]));
    assert!(
        captures(admin)
            .await
            .as_array()
            .expect("ids")
            .contains(&serde_json::json!(ids[0]))
    );
}

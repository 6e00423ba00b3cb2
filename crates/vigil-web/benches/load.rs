//! Load on the workspace (issue 7): concurrent browsing users and concurrent large uploads
//! against a real `vigil serve` on loopback. Reports requests per second, latency, errors,
//! that every upload arrived whole (its SHA-256 computed while sending), and the server's
//! peak memory (VmHWM from /proc), which must stay bounded however large the uploads are.
//!
//!   VIGIL_BIN=target/release/vigil cargo bench -p vigil-web --bench load
//!   (USERS [50], UPLOADS [10], UPLOAD_MB [200], SECS [20]; see bench/serve.sh)

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One request on a fresh connection; returns (status, head, body).
async fn request(addr: &str, head: &str, body: &[u8]) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((
        status,
        head,
        raw.get(split + 4..).unwrap_or_default().to_vec(),
    ))
}

fn cookie(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let v = l.strip_prefix("set-cookie: ")?;
        let (k, v) = v.split(';').next()?.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

fn field(body: &str, name: &str) -> String {
    body.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

async fn sign_in(addr: &str) -> (String, String) {
    let (_, head, _) = request(
        addr,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await
    .expect("login page");
    let t = cookie(&head, "vigil_login_csrf").expect("csrf cookie");
    let form = format!("username=bench&password=a+long+passphrase&csrf={t}");
    let (status, head, _) = request(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vigil_login_csrf={t}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            form.len()
        ),
        form.as_bytes(),
    )
    .await
    .expect("login");
    assert_eq!(status, 303, "sign-in");
    let session = format!(
        "vigil_session={}",
        cookie(&head, "vigil_session").expect("session")
    );
    let (_, _, body) = request(
        addr,
        &format!("GET /captures/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {session}\r\n\r\n"),
        b"",
    )
    .await
    .expect("form");
    let csrf = field(&String::from_utf8_lossy(&body), "csrf");
    (session, csrf)
}

/// Streams `mb` MiB of pseudo-random bytes as one upload; returns (status, SHA-256 hex).
async fn upload(addr: &str, session: &str, csrf: &str, n: u64, mb: u64) -> (u16, String) {
    let boundary = "vigil-load-boundary";
    let pre = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"load-{n}.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let post = format!("\r\n--{boundary}--\r\n");
    let size = mb << 20;
    let length = pre.len() as u64 + size + post.len() as u64;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /captures/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {session}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(pre.as_bytes()).await.expect("pre");
    let mut hasher = vigil_store::StreamHasher::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ n;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mb {
        for b in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b.copy_from_slice(&state.to_le_bytes()[..b.len()]);
        }
        hasher.update(&chunk);
        s.write_all(&chunk).await.expect("body");
    }
    s.write_all(post.as_bytes()).await.expect("post");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let status = String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, hasher.finish().0.to_hex())
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let users = env("USERS", 50);
    let uploads = env("UPLOADS", 10);
    let upload_mb = env("UPLOAD_MB", 200);
    let secs = env("SECS", 20);
    let bin = std::env::var("VIGIL_BIN").unwrap_or_else(|_| "target/release/vigil".into());
    let dir = tempfile::Builder::new()
        .prefix("vigil-load")
        .tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))
        .expect("tempdir");
    let store = dir.path().join("store");
    let vigil = |args: &[&str]| {
        Command::new(&bin)
            .arg("--store")
            .arg(&store)
            .args(args)
            .env("VIGIL_NO_BROWSER", "1")
            .output()
            .expect("vigil")
    };
    assert!(vigil(&["init"]).status.success());
    let photos = vigil_testdata::vectors().join("threatexchange/pdq/data/bridge-mods");
    let photos = photos.to_str().unwrap_or_default();
    assert!(
        vigil(&["capture", photos]).status.success(),
        "seed captures"
    );
    let mut add = Command::new(&bin)
        .arg("--store")
        .arg(&store)
        .args([
            "user",
            "add",
            "bench",
            "--role",
            "investigator",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"a long passphrase\n")
        .expect("password");
    assert!(add.wait().expect("wait").success());
    let mut server = Command::new(&bin)
        .arg("--store")
        .arg(&store)
        .args(["--json", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening");
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    let addr = v["url"]
        .as_str()
        .expect("url")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let pid = server.id();
    let idle_rss = peak_rss_kib(pid);

    let (session, csrf) = sign_in(&addr).await;
    let (_, _, body) = request(&addr, &format!("GET /api/v1/captures HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {session}\r\n\r\n"), b"").await.expect("captures");
    let captures: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let items: Vec<String> = captures["captures"]
        .as_array()
        .expect("captures")
        .iter()
        .filter_map(|c| c["items"][0]["sha256"].as_str().map(str::to_owned))
        .collect();
    assert!(!items.is_empty());

    let done = Instant::now() + Duration::from_secs(secs);
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let mut tasks = Vec::new();
    for u in 0..users {
        let (addr, session, items, ok, errors, latencies) = (
            addr.clone(),
            session.clone(),
            items.clone(),
            ok.clone(),
            errors.clone(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = u as usize;
            while Instant::now() < done {
                let path = match n % 3 {
                    0 => "/captures".to_owned(),
                    1 => format!("/items/{}", items[n % items.len()]),
                    _ => "/api/v1/captures".to_owned(),
                };
                n += 1;
                let started = Instant::now();
                match request(&addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {session}\r\n\r\n"), b"").await {
                    Ok((200, _, _)) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut l) = latencies.lock() { l.push(started.elapsed().as_secs_f64() * 1000.0); }
                    }
                    _ => { errors.fetch_add(1, Ordering::Relaxed); }
                }
            }
        }));
    }
    let upload_started = Instant::now();
    let mut up_tasks = Vec::new();
    for n in 0..uploads {
        let (addr, session, csrf) = (addr.clone(), session.clone(), csrf.clone());
        up_tasks.push(tokio::spawn(async move {
            upload(&addr, &session, &csrf, n, upload_mb).await
        }));
    }
    let mut sent = Vec::new();
    for t in up_tasks {
        sent.push(t.await.expect("upload task"));
    }
    let upload_secs = upload_started.elapsed().as_secs_f64();
    for t in tasks {
        t.await.expect("browse task");
    }

    // Every upload arrived whole: a capture holds each digest, and its blob hashes to it.
    let (_, _, body) = request(&addr, &format!("GET /api/v1/captures HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {session}\r\n\r\n"), b"").await.expect("captures");
    let after: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let stored: Vec<String> = after["captures"]
        .as_array()
        .expect("captures")
        .iter()
        .flat_map(|c| c["items"].as_array().cloned().unwrap_or_default())
        .filter_map(|i| i["sha256"].as_str().map(str::to_owned))
        .collect();
    let arrived = sent
        .iter()
        .filter(|(status, sha)| *status == 303 && stored.contains(sha))
        .count();
    let peak = peak_rss_kib(pid);
    let _ = server.kill();
    let _ = server.wait();

    let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let requests = ok.load(Ordering::Relaxed);
    println!(
        "| users | uploads | upload size | page requests/s | p50 ms | p95 ms | p99 ms | errors | uploads arrived whole | upload throughput | server peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {users} | {uploads} | {upload_mb} MiB | {:.0} | {:.1} | {:.1} | {:.1} | {} | {arrived}/{uploads} | {:.0} MiB/s | {:.0} MiB (idle {:.0} MiB) |",
        requests as f64 / secs as f64,
        pct(0.5),
        pct(0.95),
        pct(0.99),
        errors.load(Ordering::Relaxed),
        (uploads * upload_mb) as f64 / upload_secs,
        peak as f64 / 1024.0,
        idle_rss as f64 / 1024.0
    );
    assert_eq!(arrived as u64, uploads, "every upload must arrive whole");
}

//! Sign-in flood (issue 16): ATTEMPTS concurrent sign-in attempts against a real `vigil serve`
//! on loopback while USERS signed-in users keep browsing. Two floods: every attempt a different
//! name from one of 50 loopback addresses (no limit stops them: what holds is how many
//! passwords are checked at once), then every attempt on one name (the limit stops all but 5).
//! Reports the answers, the server's resident memory (idle, peak while flooded, and SETTLE
//! seconds after), and the latency of other pages before and during each flood.
//!
//!   VIGIL_BIN=target/release/vigil cargo bench -p vigil-web --bench signin
//!   (ATTEMPTS [1000], USERS [10], SETTLE [10]; see bench/signin.sh)

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One request on a fresh connection from `from` (a loopback address), within 60 s; returns
/// (status, head, body), status 0 when it failed.
async fn request(addr: SocketAddr, from: [u8; 4], raw: &[u8]) -> (u16, String, Vec<u8>) {
    let attempt = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((from, 0)))?;
        let mut s = socket.connect(addr).await?;
        s.write_all(raw).await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        std::io::Result::Ok(out)
    };
    let raw = match tokio::time::timeout(Duration::from_secs(60), attempt).await {
        Ok(Ok(raw)) => raw,
        _ => return (0, String::new(), Vec::new()),
    };
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
    (
        status,
        head,
        raw.get(split + 4..).unwrap_or_default().to_vec(),
    )
}

const HOME: [u8; 4] = [127, 0, 0, 1];

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

fn cookie(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let v = l.strip_prefix("set-cookie: ")?;
        let (k, v) = v.split(';').next()?.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// The server's resident memory now (VmRSS) and at most so far (VmHWM), in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// USERS browsing until `stop`; their latencies in ms (failed requests count as 60 s).
async fn browse(addr: SocketAddr, session: &str, users: u64, stop: Arc<AtomicBool>) -> Vec<f64> {
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for u in 0..users {
        let (session, stop, latencies) = (session.to_owned(), stop.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = u;
            while !stop.load(Ordering::Relaxed) {
                let path = ["/captures", "/api/v1/captures", "/login"][(n % 3) as usize];
                n += 1;
                let started = Instant::now();
                let raw = format!(
                    "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {session}\r\n\r\n"
                );
                let (status, _, _) = request(addr, HOME, raw.as_bytes()).await;
                let ms = if status == 200 {
                    started.elapsed().as_secs_f64() * 1000.0
                } else {
                    60_000.0
                };
                if let Ok(mut l) = latencies.lock() {
                    l.push(ms);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    l.sort_by(f64::total_cmp);
    l
}

struct Flood {
    name: &'static str,
    counts: [u64; 4],
    secs: f64,
    during: Vec<f64>,
    peak_kib: u64,
    settled_kib: u64,
}

/// `attempts` sign-ins at once (`names`: each its own name and one of 50 addresses, else all
/// on `victim` from one address) while `users` browse; memory sampled every 20 ms.
async fn flood(
    addr: SocketAddr,
    pid: u32,
    session: &str,
    (attempts, users, settle): (u64, u64, u64),
    names: bool,
) -> Flood {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid).0, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let browsing = {
        let (session, stop) = (session.to_owned(), stop.clone());
        tokio::spawn(async move { browse(addr, &session, users, stop).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..attempts)
        .map(|i| {
            let (from, raw) = if names {
                (
                    [127, 0, 0, 10 + (i % 50) as u8],
                    sign_in_request(&format!("flood{i}"), "not the password"),
                )
            } else {
                (
                    [127, 0, 0, 9],
                    sign_in_request("victim", "not the password"),
                )
            };
            tokio::spawn(async move { request(addr, from, &raw).await.0 })
        })
        .collect();
    let mut counts = [0u64; 4];
    for t in tasks {
        match t.await.unwrap_or(0) {
            401 => counts[0] += 1,
            429 => counts[1] += 1,
            503 => counts[2] += 1,
            _ => counts[3] += 1,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let during = browsing.await.unwrap_or_default();
    let _ = sampler.await;
    tokio::time::sleep(Duration::from_secs(settle)).await;
    Flood {
        name: if names {
            "1,000 names, 50 addresses"
        } else {
            "one name, one address"
        },
        counts,
        secs,
        during,
        peak_kib: peak.load(Ordering::Relaxed),
        settled_kib: rss_kib(pid).0,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let attempts = env("ATTEMPTS", 1000);
    let users = env("USERS", 10);
    let settle = env("SETTLE", 10);
    let bin = std::env::var("VIGIL_BIN").unwrap_or_else(|_| "target/release/vigil".into());
    let dir = tempfile::Builder::new()
        .prefix("vigil-signin")
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
    for name in ["bench", "victim"] {
        let mut add = Command::new(&bin)
            .arg("--store")
            .arg(&store)
            .args([
                "user",
                "add",
                name,
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
    }
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
    let addr: SocketAddr = v["url"]
        .as_str()
        .expect("url")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("address");
    let pid = server.id();

    let (status, head, _) =
        request(addr, HOME, &sign_in_request("bench", "a long passphrase")).await;
    assert_eq!(status, 303, "sign-in");
    let session = format!(
        "vigil_session={}",
        cookie(&head, "vigil_session").expect("session")
    );
    // Warm: the first pages, and one password checked (the decoy hash is made once).
    let _ = request(addr, HOME, &sign_in_request("nobody", "x")).await;
    let stop = Arc::new(AtomicBool::new(false));
    let warm = tokio::spawn({
        let (session, stop) = (session.clone(), stop.clone());
        async move { browse(addr, &session, users, stop).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let quiet = warm.await.unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_kib(pid).0;

    let mut floods = Vec::new();
    for names in [true, false] {
        floods.push(flood(addr, pid, &session, (attempts, users, settle), names).await);
    }
    let hwm = rss_kib(pid).1;
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "Server resident memory idle {} (after warm-up), highest ever {}; other pages with no flood: p50 {:.1} ms, p95 {:.1} ms ({} requests, {users} users)\n",
        mib(idle),
        mib(hwm),
        percentile(&quiet, 0.5),
        percentile(&quiet, 0.95),
        quiet.len()
    );
    println!(
        "| Flood | Attempts | 401 wrong | 429 limited | 503 busy | other/failed | Flood answered in | Other pages during: requests, p50, p95 | Server RSS peak | RSS {settle} s after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in &floods {
        println!(
            "| {} | {attempts} | {} | {} | {} | {} | {:.2} s | {}, {:.1} ms, {:.1} ms | {} | {} |",
            f.name,
            f.counts[0],
            f.counts[1],
            f.counts[2],
            f.counts[3],
            f.secs,
            f.during.len(),
            percentile(&f.during, 0.5),
            percentile(&f.during, 0.95),
            mib(f.peak_kib),
            mib(f.settled_kib)
        );
    }
}

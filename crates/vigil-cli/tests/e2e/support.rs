//! Helpers: a store in a temp dir, running the binary, and a tiny HTTP server on loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

pub struct TestStore {
    pub dir: tempfile::TempDir,
}

impl TestStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = TestStore { dir };
        let out = s.vigil(&["init"]);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        s
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.arg("--store").arg(self.store());
        c.env_remove("VIGIL_TEST_TREAT_AS_PUBLIC");
        // A browser per captured page would make every HTTP test slow; the browser tests
        // in `browser.rs` turn it back on.
        c.env("VIGIL_NO_BROWSER", "1");
        c
    }

    /// `vigil --json capture --resolve public.example=127.0.0.2`, with 127.0.0.2 treated as a
    /// public address (the test hook), and the URL of `path` on `server` (bound to 127.0.0.2)
    /// under that name. Add flags, then the URL.
    pub fn capture_from_public_host(&self, server: &TestServer, path: &str) -> (Command, String) {
        let mut c = self.cmd();
        c.env("VIGIL_TEST_TREAT_AS_PUBLIC", "127.0.0.2").args([
            "--json",
            "capture",
            "--resolve",
            "public.example=127.0.0.2",
        ]);
        (
            c,
            format!("http://public.example:{}{path}", server.addr.port()),
        )
    }

    pub fn vigil(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run vigil")
    }

    /// Runs with `--json` and parses each stdout line.
    pub fn vigil_json(&self, args: &[&str]) -> (Output, Vec<serde_json::Value>) {
        let out = self
            .cmd()
            .arg("--json")
            .args(args)
            .output()
            .expect("run vigil");
        let lines = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect();
        (out, lines)
    }

    pub fn blob_path(&self, sha: &str) -> PathBuf {
        self.store()
            .join("blobs/sha256")
            .join(&sha[..2])
            .join(&sha[2..4])
            .join(sha)
    }

    /// `vigil verify`, which must fail: each log problem as "subject detail".
    pub fn log_problems(&self) -> Vec<String> {
        let (out, lines) = self.vigil_json(&["verify"]);
        assert_eq!(out.status.code(), Some(1), "verify must fail");
        lines[0]["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["subject"].as_str().unwrap_or(""),
                    p["detail"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// Runs SQL against the catalog, as someone tampering with it would.
    pub fn sql(&self, statement: &str) {
        let path = self.store().join("catalog.sqlite");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            use sqlx::Connection;
            let url = format!("sqlite://{}", path.display());
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&mut conn)
                .await
                .expect("sql");
            conn.close().await.expect("close");
        });
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn events<'a>(lines: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["event"] == kind).collect()
}

pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

/// A minimal HTTP/1.1 server on a loopback address, one thread per connection.
/// Routes: /page.html, /video.mp4, /redirect (→ /page.html), /redirect-twice,
/// /missing (404 with a body), /slow (answers after 5 s), /big (announces 8 MiB),
/// /big-chunked (streams 8 MiB without a length), /to-loopback (→ 127.0.0.1),
/// /loop (redirects to itself).
pub struct TestServer {
    pub addr: SocketAddr,
}

impl TestServer {
    pub fn start(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || {
                    let _ = serve(stream, addr);
                });
            }
        });
        TestServer { addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

pub const PAGE: &str = "<!doctype html><title>post</title><video src=\"/video.mp4\"></video>";
pub const VIDEO: &[u8] = &[
    0, 0, 0, 24, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0, b'i', b's', b'o',
    b'm', b'm', b'p', b'4', b'1',
];

/// Reads a request's head (a test server ignores bodies); returns its target (path?query).
pub fn read_request_target(stream: &TcpStream) -> std::io::Result<String> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    Ok(request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned())
}

fn serve(mut stream: TcpStream, me: SocketAddr) -> std::io::Result<()> {
    let path = read_request_target(&stream)?;
    let respond = |s: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]| {
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        s.write_all(body)
    };
    match path.as_str() {
        "/page.html" => respond(
            &mut stream,
            "200 OK",
            &[
                ("Content-Type", "text/html".into()),
                ("X-Test", "yes".into()),
            ],
            PAGE.as_bytes(),
        ),
        "/video.mp4" => respond(
            &mut stream,
            "200 OK",
            &[("Content-Type", "video/mp4".into())],
            VIDEO,
        ),
        "/page-with-loopback-video.html" => {
            let page = format!(
                "<!doctype html><title>post</title><video src=\"http://127.0.0.1:{}/video.mp4\"></video>",
                me.port()
            );
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "text/html".into())],
                page.as_bytes(),
            )
        }
        "/redirect" => respond(
            &mut stream,
            "302 Found",
            &[("Location", "/page.html".into())],
            b"",
        ),
        "/redirect-twice" => respond(
            &mut stream,
            "301 Moved Permanently",
            &[("Location", format!("http://{me}/redirect"))],
            b"",
        ),
        "/loop" => respond(
            &mut stream,
            "302 Found",
            &[("Location", "/loop".into())],
            b"",
        ),
        "/to-loopback" => respond(
            &mut stream,
            "302 Found",
            &[(
                "Location",
                format!("http://127.0.0.1:{}/page.html", me.port()),
            )],
            b"",
        ),
        "/missing" => respond(
            &mut stream,
            "404 Not Found",
            &[("Content-Type", "text/plain".into())],
            b"this post was deleted",
        ),
        "/slow" => {
            thread::sleep(Duration::from_secs(5));
            respond(&mut stream, "200 OK", &[], b"late")
        }
        "/big" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                8 << 20
            );
            stream.write_all(head.as_bytes())?;
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..128 {
                stream.write_all(&chunk)?;
            }
            Ok(())
        }
        "/big-chunked" => {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )?;
            let chunk = vec![b'y'; 64 << 10];
            for _ in 0..128 {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")
        }
        _ => respond(&mut stream, "404 Not Found", &[], b"no such route"),
    }
}

/// The reference RFC 3161 material shared by the team (test CA and TSA keys, OpenSSL config).
pub fn rfc3161_vectors() -> PathBuf {
    vigil_testdata::vectors().join("rfc3161")
}

/// A local RFC 3161 time-stamping authority: an HTTP server on 127.0.0.1 that answers each
/// POSTed TimeStampReq with `openssl ts -reply`, using the shared test TSA key.
pub struct TsaServer {
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl TsaServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["tsa.cnf", "tsa.crt", "tsa.key", "ca.crt"] {
            std::fs::copy(rfc3161_vectors().join(f), dir.path().join(f)).expect("copy TSA file");
        }
        std::fs::write(dir.path().join("tsaserial"), "01\n").expect("serial");
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let work = dir.path().to_path_buf();
        thread::spawn(move || {
            for (n, stream) in listener.incoming().flatten().enumerate() {
                let _ = answer_timestamp(stream, &work, n);
            }
        });
        TsaServer { addr, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("http://{}/tsr", self.addr)
    }
}

fn answer_timestamp(mut stream: TcpStream, work: &Path, n: usize) -> std::io::Result<()> {
    use std::io::Read;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut query = vec![0u8; length.min(1 << 16)];
    reader.read_exact(&mut query)?;
    let q = work.join(format!("q{n}.tsq"));
    let r = work.join(format!("r{n}.tsr"));
    std::fs::write(&q, &query)?;
    let ok = Command::new("openssl")
        .current_dir(work)
        .args(["ts", "-reply", "-config", "tsa.cnf", "-queryfile"])
        .arg(&q)
        .arg("-out")
        .arg(&r)
        .output()?
        .status
        .success();
    let body = if ok { std::fs::read(&r)? } else { Vec::new() };
    let status = if ok {
        "200 OK"
    } else {
        "500 Internal Server Error"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}

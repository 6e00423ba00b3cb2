//! The witness's HTTP interface (C2SP tlog-witness):
//!
//! - `POST <prefix>/add-checkpoint`: cosign a checkpoint (see [`Witness::add_checkpoint`]);
//!   a 409 answers `<size>\n` as `text/x.tlog.size`, other refusals a one-line reason;
//! - `GET <prefix>/<sha256 hex of origin>/checkpoint`: the latest cosigned checkpoint of a log,
//!   with its log signature and this witness's cosignature (404 if none).
//!
//! Served with hyper directly rather than `axum::serve`, for what a service open to the
//! Internet needs and `axum::serve` does not set: a time limit on reading request headers
//! (idle keep-alive connections close too), a cap on open connections, and a time limit on
//! each request, body included. Bodies are bounded by [`MAX_BODY`] before they are read whole.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::protocol::{MAX_BODY, SIZE_CONTENT_TYPE};
use crate::witness::{AddError, Witness};

const TEXT: &str = "text/plain; charset=utf-8";

/// How the witness is served.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Path prefix of both endpoints (`""` for the root, else `/…` without a trailing slash).
    pub prefix: String,
    /// Time allowed for one request, from its headers to the answer (body and fsync included).
    pub request_timeout: Duration,
    /// Time allowed to send request headers, and to stay idle between keep-alive requests.
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            prefix: String::new(),
            request_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(20),
            max_connections: 256,
        }
    }
}

/// The two endpoints under `prefix`, with the body limit and the request timeout.
pub fn router(witness: Arc<Witness>, options: &ServeOptions) -> Router {
    let prefix = options.prefix.trim_end_matches('/');
    let timeout = options.request_timeout;
    Router::new()
        .route(&format!("{prefix}/add-checkpoint"), post(add_checkpoint))
        .route(
            &format!("{prefix}/{{origin_hash}}/checkpoint"),
            get(checkpoint),
        )
        .fallback(|| async { text(StatusCode::NOT_FOUND, "not found\n".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            time_limit(timeout, req, next)
        }))
        .with_state(witness)
}

/// Serves the witness on `listener` until `shutdown` resolves, then lets requests in flight
/// finish (for at most one request timeout).
pub async fn serve(
    witness: Arc<Witness>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = TowerToHyperService::new(router(witness, &options));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(MAX_BODY);
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service.clone()));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(options.request_timeout) => {}
    }
    Ok(())
}

async fn time_limit(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long\n".into(),
        ),
    }
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    // Checks and fsync block: off the async threads.
    let outcome = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body)).await;
    match outcome {
        Ok(Ok(lines)) => text(StatusCode::OK, lines.concat()),
        Ok(Err(e)) => refusal(&e),
        Err(e) => {
            tracing::error!("add-checkpoint task: {e}");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

async fn checkpoint(
    State(witness): State<Arc<Witness>>,
    Path(origin_hash): Path<String>,
) -> Response {
    let outcome =
        tokio::task::spawn_blocking(move || witness.latest_checkpoint_by_hash(&origin_hash)).await;
    match outcome {
        Ok(Ok(Some(note))) => text(StatusCode::OK, note),
        Ok(Ok(None)) => text(
            StatusCode::NOT_FOUND,
            "this witness has cosigned no checkpoint of that log\n".into(),
        ),
        Ok(Err(e)) => refusal(&e),
        Err(e) => {
            tracing::error!("checkpoint task: {e}");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// The answer to a refused request: the spec's status; for a 409 exactly `<size>\n` as
/// `text/x.tlog.size`; else the reason, except for the witness's own faults (logged here).
fn refusal(e: &AddError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(latest) = e.latest_size() {
        return (
            status,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{latest}\n"),
        )
            .into_response();
    }
    if status.is_server_error() {
        tracing::error!(code = e.code(), "add-checkpoint: {e}");
        return text(status, "internal error\n".into());
    }
    tracing::info!(code = e.code(), "add-checkpoint refused: {e}");
    text(status, format!("{}: {e}\n", e.code()))
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], body).into_response()
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::SocketAddr;

    use futures_util::future::join_all;
    use vigil_tlog::{Verifiers, verify_cosignatures};

    use super::*;
    use crate::protocol::origin_hash;
    use crate::testlog::{ORIGIN, TestLog, witness};

    /// Serves `w` on a free loopback port until the test ends.
    async fn start(w: Witness, options: ServeOptions) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(
            Arc::new(w),
            listener,
            options,
            std::future::pending(),
        ));
        addr
    }

    async fn post(
        http: &reqwest::Client,
        url: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, String, String) {
        let r = http.post(url).body(body).send().await.expect("send");
        let status = r.status().as_u16();
        let ctype = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ctype, r.text().await.expect("text"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_answers_follow_the_spec() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(8, 0);
        let w = witness(tmp.path(), &log);
        let vkey = w.vkey();
        let options = ServeOptions {
            prefix: "/w/".into(),
            ..ServeOptions::default()
        };
        let addr = start(w, options).await;
        let http = crate::client::http_client().expect("client");
        let add = format!("http://{addr}/w/add-checkpoint");
        let monitor = format!("http://{addr}/w/{}/checkpoint", origin_hash(ORIGIN));

        let r = http.get(&monitor).send().await.expect("get");
        assert_eq!(r.status(), 404);

        let (status, ctype, body) = post(&http, &add, log.body(0, 4)).await;
        assert_eq!((status, ctype.as_str()), (200, TEXT), "{body}");
        let note = format!("{}{body}", log.checkpoint(4));
        let keys = Verifiers::from_vkeys(&[vkey]).expect("vkey");
        assert_eq!(
            verify_cosignatures(note.as_bytes(), &keys)
                .expect("verify")
                .verified
                .len(),
            1
        );

        // 409: exactly the size and a newline, as text/x.tlog.size.
        let (status, ctype, body) = post(&http, &add, log.body(0, 8)).await;
        assert_eq!(
            (status, ctype.as_str(), body.as_str()),
            (409, SIZE_CONTENT_TYPE, "4\n")
        );
        let fork = TestLog::new(8, 1);
        let (status, _, body) = post(&http, &add, fork.body(4, 4)).await;
        assert_eq!(status, 422);
        assert!(body.starts_with("root-mismatch: "), "{body}");
        let (status, _, _) = post(&http, &add, "x".repeat(MAX_BODY + 1)).await;
        assert_eq!(status, 413);
        let (status, _, body) = post(&http, &add, "old 1\n").await;
        assert_eq!(status, 400, "{body}");

        let r = http.get(&monitor).send().await.expect("get");
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.expect("text"), note);
        for path in ["/w/abc/checkpoint", "/add-checkpoint", "/w/nothing"] {
            let r = http
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 404, "{path}");
        }
        let r = http.get(&add).send().await.expect("get");
        assert_eq!(r.status(), 405);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_clients_are_cut_off() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(1, 0);
        let options = ServeOptions {
            request_timeout: Duration::from_millis(300),
            header_timeout: Duration::from_millis(300),
            ..ServeOptions::default()
        };
        let addr = start(witness(tmp.path(), &log), options).await;
        let answers = tokio::task::spawn_blocking(move || {
            let read_all = |s: &mut std::net::TcpStream| {
                s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .expect("timeout");
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
                String::from_utf8_lossy(&out).into_owned()
            };
            // Headers never finished: the connection is closed without an answer.
            let mut idle = std::net::TcpStream::connect(addr).expect("connect");
            idle.write_all(b"POST /add-checkpoint HTTP/1.1\r\n")
                .expect("write");
            let idle = read_all(&mut idle);
            // A body announced but never sent: a 503 when the request time is up.
            let mut slow = std::net::TcpStream::connect(addr).expect("connect");
            slow.write_all(
                b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nold",
            )
            .expect("write");
            (idle, read_all(&mut slow))
        })
        .await
        .expect("join");
        assert!(!answers.0.contains("200"), "{:?}", answers.0);
        assert!(answers.1.starts_with("HTTP/1.1 503"), "{:?}", answers.1);
    }

    /// Many submissions at once, of different sizes and from different old sizes, through two
    /// servers sharing one state directory (as two processes would): whatever the order, the
    /// accepted ones form one chain from 0, each starting where the previous ended; every
    /// refusal names a size the witness really held; the final state is the chain's end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_submissions_never_roll_back() {
        let log = TestLog::new(16, 0);
        let sizes: Vec<u64> = (0..=16).step_by(2).collect();
        let pairs: Vec<(u64, u64)> = sizes
            .iter()
            .flat_map(|&a| sizes.iter().filter(move |&&b| b > a).map(move |&b| (a, b)))
            .collect();
        assert_eq!(pairs.len(), 36);
        for round in 0..3 {
            let tmp = tempfile::tempdir().expect("tempdir");
            let servers = [
                start(witness(tmp.path(), &log), ServeOptions::default()).await,
                start(witness(tmp.path(), &log), ServeOptions::default()).await,
            ];
            let http = crate::client::http_client().expect("client");
            let requests = pairs.iter().enumerate().map(|(i, &(a, b))| {
                // Vary the order between rounds.
                let i = (i * (round * 2 + 1)) % pairs.len();
                let url = format!("http://{}/add-checkpoint", servers[i % 2]);
                let (http, body) = (http.clone(), log.body(a, b));
                async move {
                    let (status, _, text) = post(&http, &url, body).await;
                    (a, b, status, text)
                }
            });
            let answers = join_all(requests).await;
            let mut accepted: Vec<(u64, u64)> = answers
                .iter()
                .filter(|x| x.2 == 200)
                .map(|x| (x.0, x.1))
                .collect();
            accepted.sort_by_key(|x| x.1);
            assert!(!accepted.is_empty(), "round {round}");
            let mut at = 0;
            for (a, b) in &accepted {
                assert_eq!(*a, at, "round {round}: accepted {accepted:?}");
                at = *b;
            }
            for (a, b, status, text) in &answers {
                match status {
                    200 => {}
                    409 => {
                        let held: u64 = text.trim_end().parse().expect("size");
                        assert!(
                            held == 0 || accepted.iter().any(|x| x.1 == held),
                            "round {round}: {a}->{b} told {held}, accepted {accepted:?}"
                        );
                        assert_ne!(held, *a);
                    }
                    other => panic!("round {round}: {a}->{b}: {other} {text}"),
                }
            }
            let state = http
                .get(format!(
                    "http://{}/{}/checkpoint",
                    servers[0],
                    origin_hash(ORIGIN)
                ))
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("text");
            assert_eq!(state.lines().nth(1), Some(at.to_string().as_str()));
            // The submission the witness is now at is accepted again from there.
            let (status, _, _) = post(
                &http,
                &format!("http://{}/add-checkpoint", servers[1]),
                log.body(at, at),
            )
            .await;
            assert_eq!(status, 200);
        }
    }
}

//! The log's side of C2SP tlog-witness: after signing a checkpoint, ask each configured
//! witness to cosign it, and keep only cosignatures that verify with that witness's key.
//!
//! A witness answers 409 with the size it cosigned last when the log guessed wrong (first
//! contact, a missed checkpoint, a crash after the witness saved its state). The
//! `*_retrying` calls then ask the caller for a consistency proof from that size and try
//! again, a bounded number of times. A witness that has cosigned a *larger* tree than the
//! checkpoint is reported as [`WitnessError::Ahead`]: the log has lost leaves or forked.

use std::fmt::Display;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use vigil_tlog::{
    Checkpoint, Hash, Note, SignatureKind, Verifier, Verifiers, merge_cosignatures,
    verify_cosignatures,
};

use crate::protocol::{MAX_BODY, MAX_PROOF_LINES, format_add_checkpoint, parse_decimal};

/// Largest answer read from a witness (a few signature lines are expected).
pub const MAX_RESPONSE: usize = 64 << 10;
/// Requests one `*_retrying` call makes at most: the first, and one per 409 after it.
pub const MAX_ATTEMPTS: usize = 3;

/// A witness as a log is configured with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessConfig {
    /// The witness's name: its key name, as in `vkey`.
    pub name: String,
    /// The witness's cosignature verifier key (type 0x04), `name+id+base64`.
    pub vkey: String,
    /// The submission prefix: `add-checkpoint` is posted to `<url>/add-checkpoint`.
    pub url: String,
}

impl WitnessConfig {
    /// The verifier for this witness's cosignatures; checks the key type and the name.
    pub fn verifier(&self) -> Result<Verifier, WitnessError> {
        let bad = |message: String| WitnessError::Config {
            witness: self.name.clone(),
            message,
        };
        let v = Verifier::from_vkey(self.vkey.trim()).map_err(|e| bad(format!("vkey: {e}")))?;
        if v.kind() != SignatureKind::CosignatureV1 {
            return Err(bad(
                "vkey is not a cosignature/v1 (type 0x04) witness key".into()
            ));
        }
        if v.name() != self.name {
            return Err(bad(format!("vkey is named {:?}", v.name())));
        }
        Ok(v)
    }

    fn endpoint(&self) -> Result<String, WitnessError> {
        let url = self.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WitnessError::Config {
                witness: self.name.clone(),
                message: format!("url {:?} is not http(s)", self.url),
            });
        }
        Ok(format!("{url}/add-checkpoint"))
    }
}

/// Why a witness's cosignature was not obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The witness's configuration is not usable.
    #[error("witness {witness}: {message}")]
    Config {
        /// The witness.
        witness: String,
        /// What is wrong.
        message: String,
    },
    /// The caller's checkpoint, old size or proof cannot be sent.
    #[error("witness {witness}: cannot submit: {message}")]
    Submission {
        /// The witness.
        witness: String,
        /// What is wrong.
        message: String,
    },
    /// The witness could not be reached, or did not answer in time.
    #[error("witness {witness}: {message}")]
    Unreachable {
        /// The witness.
        witness: String,
        /// What happened.
        message: String,
    },
    /// The witness cosigned another size last (409): retry with a proof from `latest_size`.
    #[error("witness {witness} last cosigned a checkpoint of {latest_size} leaves")]
    Conflict {
        /// The witness.
        witness: String,
        /// The size of the checkpoint it cosigned last.
        latest_size: u64,
    },
    /// The witness has cosigned a larger tree than this checkpoint: the log lost leaves or
    /// forked, or another log claims the same origin.
    #[error(
        "witness {witness} has cosigned a checkpoint of {latest_size} leaves, larger than this \
         one ({size}): the log has gone back"
    )]
    Ahead {
        /// The witness.
        witness: String,
        /// The size of the checkpoint it cosigned last.
        latest_size: u64,
        /// The size of the checkpoint submitted.
        size: u64,
    },
    /// The witness refused the checkpoint (403, 404, 422, …).
    #[error("witness {witness} refused the checkpoint (HTTP {status}): {message}")]
    Refused {
        /// The witness.
        witness: String,
        /// The HTTP status.
        status: u16,
        /// The witness's reason, sanitised and shortened.
        message: String,
    },
    /// The answer is not a cosignature by the witness's key over this checkpoint.
    #[error("witness {witness}: unusable answer: {message}")]
    BadResponse {
        /// The witness.
        witness: String,
        /// What is wrong with it.
        message: String,
    },
    /// The caller could not make the consistency proof the witness needs.
    #[error("witness {witness}: no consistency proof from {from} leaves: {message}")]
    Proof {
        /// The witness.
        witness: String,
        /// The size the proof had to start from.
        from: u64,
        /// The caller's error.
        message: String,
    },
}

impl WitnessError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WitnessError::Config { .. } => "witness-config",
            WitnessError::Submission { .. } => "witness-submission",
            WitnessError::Unreachable { .. } => "witness-unreachable",
            WitnessError::Conflict { .. } => "witness-conflict",
            WitnessError::Ahead { .. } => "witness-ahead",
            WitnessError::Refused { .. } => "witness-refused",
            WitnessError::BadResponse { .. } => "witness-bad-response",
            WitnessError::Proof { .. } => "witness-proof",
        }
    }

    /// The size the witness cosigned last, when it said so (409).
    pub fn latest_size(&self) -> Option<u64> {
        match self {
            WitnessError::Conflict { latest_size, .. }
            | WitnessError::Ahead { latest_size, .. } => Some(*latest_size),
            _ => None,
        }
    }
}

/// An HTTP client for witnesses. Cheap to clone; keeps connections alive between requests,
/// as the spec recommends, so reuse one for every checkpoint.
#[derive(Clone, Debug)]
pub struct WitnessClient {
    http: reqwest::Client,
}

impl WitnessClient {
    /// A client trusting the Mozilla root certificates, with no proxy and no redirects
    /// (a witness's URL is configured by the operator; an answer elsewhere is an error).
    pub fn new() -> Result<Self, WitnessError> {
        let http = http_client().map_err(|message| WitnessError::Config {
            witness: "(client)".into(),
            message,
        })?;
        Ok(WitnessClient { http })
    }

    /// Submits `signed_checkpoint` with a consistency proof from `old_size` (the size the
    /// caller believes the witness cosigned last; empty proof for 0 or the same size) and
    /// returns the witness's cosignature line(s), each verified with its key and ending in a
    /// newline, ready for [`merge_cosignatures`].
    pub async fn request_cosignature(
        &self,
        witness: &WitnessConfig,
        old_size: u64,
        proof: &[Hash],
        signed_checkpoint: &str,
        timeout: Duration,
    ) -> Result<String, WitnessError> {
        let verifier = witness.verifier()?;
        let endpoint = witness.endpoint()?;
        let submission = |message: String| WitnessError::Submission {
            witness: witness.name.clone(),
            message,
        };
        let (_, cp) = open_unverified(signed_checkpoint).map_err(submission)?;
        if old_size > cp.size() {
            return Err(submission(format!(
                "old size {old_size} is larger than the checkpoint's {}",
                cp.size()
            )));
        }
        if proof.len() > MAX_PROOF_LINES {
            return Err(submission(format!(
                "a proof of {} hashes (at most {MAX_PROOF_LINES})",
                proof.len()
            )));
        }
        let body = format_add_checkpoint(old_size, proof, signed_checkpoint);
        if body.len() > MAX_BODY {
            return Err(submission(format!(
                "the request would be larger than {MAX_BODY} bytes"
            )));
        }
        let unreachable = |message: String| WitnessError::Unreachable {
            witness: witness.name.clone(),
            message,
        };
        let mut response = self
            .http
            .post(&endpoint)
            .header("Content-Type", "text/plain; charset=utf-8")
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(error_chain(&e)))?;
        let status = response.status().as_u16();
        let is_size = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(crate::protocol::SIZE_CONTENT_TYPE));
        let limit = if status == 200 { MAX_RESPONSE } else { 4096 };
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable(error_chain(&e)))?
        {
            if answer.len() + chunk.len() > limit {
                if status == 200 {
                    return Err(WitnessError::BadResponse {
                        witness: witness.name.clone(),
                        message: format!("answer larger than {limit} bytes"),
                    });
                }
                answer.extend_from_slice(&chunk[..limit - answer.len()]);
                break;
            }
            answer.extend_from_slice(&chunk);
        }
        match status {
            200 => cosignatures_in(witness, &verifier, signed_checkpoint, &answer),
            409 => {
                let latest = std::str::from_utf8(&answer)
                    .ok()
                    .and_then(|t| t.strip_suffix('\n'))
                    .and_then(parse_decimal)
                    .filter(|_| is_size)
                    .ok_or_else(|| WitnessError::BadResponse {
                        witness: witness.name.clone(),
                        message: "a 409 without a text/x.tlog.size body".into(),
                    })?;
                if latest > cp.size() {
                    return Err(WitnessError::Ahead {
                        witness: witness.name.clone(),
                        latest_size: latest,
                        size: cp.size(),
                    });
                }
                Err(WitnessError::Conflict {
                    witness: witness.name.clone(),
                    latest_size: latest,
                })
            }
            _ => Err(WitnessError::Refused {
                witness: witness.name.clone(),
                status,
                message: sanitise(&answer),
            }),
        }
    }

    /// [`WitnessClient::request_cosignature`] starting from `old_size`, and on a 409 again
    /// from the witness's size, with the proof `proof_from(size)` makes (called only for sizes
    /// strictly between 0 and the checkpoint's). At most [`MAX_ATTEMPTS`] requests.
    pub async fn request_cosignature_retrying<F, E>(
        &self,
        witness: &WitnessConfig,
        old_size: u64,
        signed_checkpoint: &str,
        timeout: Duration,
        proof_from: F,
    ) -> Result<String, WitnessError>
    where
        F: Fn(u64) -> Result<Vec<Hash>, E>,
        E: Display,
    {
        let size = open_unverified(signed_checkpoint)
            .map_err(|message| WitnessError::Submission {
                witness: witness.name.clone(),
                message,
            })?
            .1
            .size();
        let mut from = old_size;
        let mut attempt = 1;
        loop {
            let proof = if from == 0 || from >= size {
                Vec::new()
            } else {
                proof_from(from).map_err(|e| WitnessError::Proof {
                    witness: witness.name.clone(),
                    from,
                    message: e.to_string(),
                })?
            };
            match self
                .request_cosignature(witness, from, &proof, signed_checkpoint, timeout)
                .await
            {
                Err(WitnessError::Conflict { latest_size, .. })
                    if attempt < MAX_ATTEMPTS && latest_size != from =>
                {
                    tracing::debug!(
                        witness = witness.name,
                        from,
                        latest_size,
                        "witness is at another size; retrying from its size"
                    );
                    from = latest_size;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Asks every witness at once ([`WitnessClient::request_cosignature_retrying`] each, from
    /// `old_size`), and merges the cosignatures obtained into the checkpoint. A witness that
    /// fails does not stop the others: its error is in [`Cosigned::outcomes`].
    pub async fn cosign<F, E>(
        &self,
        witnesses: &[WitnessConfig],
        signed_checkpoint: &str,
        old_size: u64,
        timeout: Duration,
        proof_from: F,
    ) -> Cosigned
    where
        F: Fn(u64) -> Result<Vec<Hash>, E>,
        E: Display,
    {
        let requests = witnesses.iter().map(|w| {
            self.request_cosignature_retrying(w, old_size, signed_checkpoint, timeout, &proof_from)
        });
        let results = join_all(requests).await;
        let mut note = signed_checkpoint.to_owned();
        let mut outcomes = Vec::with_capacity(witnesses.len());
        for (w, result) in witnesses.iter().zip(results) {
            let result = result.and_then(|lines| {
                note =
                    merge_cosignatures(&note, &lines).map_err(|e| WitnessError::BadResponse {
                        witness: w.name.clone(),
                        message: format!("cannot add the cosignature to the checkpoint: {e}"),
                    })?;
                Ok(lines)
            });
            outcomes.push((w.name.clone(), result));
        }
        Cosigned { note, outcomes }
    }
}

/// The HTTP client behind [`WitnessClient`]: rustls with the ring provider (the workspace's
/// reqwest has no default one) and the Mozilla roots.
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        // Below the witness's idle limit (20 s in ours), so a pooled connection is not
        // reused just as the witness closes it.
        .pool_idle_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(http)
}

/// What [`WitnessClient::cosign`] obtained.
#[derive(Debug)]
pub struct Cosigned {
    /// The checkpoint with every cosignature obtained (the input unchanged if none).
    pub note: String,
    /// Per witness, in the order given: its name and its cosignature line(s) or error.
    pub outcomes: Vec<(String, Result<String, WitnessError>)>,
}

impl Cosigned {
    /// How many witnesses cosigned.
    pub fn cosignatures(&self) -> usize {
        self.outcomes.iter().filter(|(_, r)| r.is_ok()).count()
    }
}

/// [`WitnessClient::request_cosignature`] with a client shared by the whole process.
pub async fn request_cosignature(
    witness: &WitnessConfig,
    old_size: u64,
    proof: &[Hash],
    signed_checkpoint: &str,
    timeout: Duration,
) -> Result<String, WitnessError> {
    shared_client()?
        .request_cosignature(witness, old_size, proof, signed_checkpoint, timeout)
        .await
}

/// [`WitnessClient::request_cosignature_retrying`] with a client shared by the whole process.
pub async fn request_cosignature_retrying<F, E>(
    witness: &WitnessConfig,
    old_size: u64,
    signed_checkpoint: &str,
    timeout: Duration,
    proof_from: F,
) -> Result<String, WitnessError>
where
    F: Fn(u64) -> Result<Vec<Hash>, E>,
    E: Display,
{
    shared_client()?
        .request_cosignature_retrying(witness, old_size, signed_checkpoint, timeout, proof_from)
        .await
}

fn shared_client() -> Result<&'static WitnessClient, WitnessError> {
    static CLIENT: OnceLock<WitnessClient> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = WitnessClient::new()?;
    Ok(CLIENT.get_or_init(|| c))
}

/// The note and checkpoint of a signed checkpoint, parsed but not verified (the caller signed
/// it; the witness verifies it).
fn open_unverified(signed: &str) -> Result<(Note, Checkpoint), String> {
    let note = Note::parse(signed.as_bytes()).map_err(|e| format!("checkpoint: {e}"))?;
    let cp = Checkpoint::parse(note.text()).map_err(|e| format!("checkpoint: {e}"))?;
    Ok((note, cp))
}

/// The witness's cosignature lines in a 200 answer, each verified over the checkpoint's text;
/// lines by other keys are ignored, as the spec requires.
fn cosignatures_in(
    witness: &WitnessConfig,
    verifier: &Verifier,
    signed_checkpoint: &str,
    answer: &[u8],
) -> Result<String, WitnessError> {
    let bad = |message: String| WitnessError::BadResponse {
        witness: witness.name.clone(),
        message,
    };
    let answer = std::str::from_utf8(answer).map_err(|_| bad("not UTF-8".into()))?;
    let (note, _) = open_unverified(signed_checkpoint).map_err(bad)?;
    // The answer's lines under the checkpoint's text: one note to parse and verify.
    let joined = format!("{}\n{answer}", note.text());
    let keys: Verifiers = verifier.clone().into();
    let check = verify_cosignatures(joined.as_bytes(), &keys).map_err(|e| bad(e.to_string()))?;
    let Some(first) = check.verified.first() else {
        return Err(bad("no cosignature by the witness's key".into()));
    };
    if first.timestamp == 0 {
        return Err(bad("the cosignature has no timestamp".into()));
    }
    let lines = Note::parse(joined.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let line = lines
        .signatures()
        .iter()
        .find(|s| s.name == first.name && s.key_id == first.key_id)
        .map(|s| s.to_line())
        .ok_or_else(|| bad("the verified line went missing".into()))?;
    Ok(line)
}

/// A witness's refusal text, printable and short.
fn sanitise(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if out.is_empty() {
        out.push_str("(no reason given)");
    }
    out
}

/// An error and its causes on one line (reqwest hides the cause, a refused connection, say).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::body::Bytes;
    use axum::routing::post;
    use vigil_tlog::Cosigner;

    use super::*;
    use crate::protocol::parse_add_checkpoint;
    use crate::server::{ServeOptions, serve};
    use crate::testlog::{TestLog, cosigner, witness};
    use crate::witness::Witness;

    const T: Duration = Duration::from_secs(5);

    async fn start_witness(dir: &std::path::Path, log: &TestLog) -> (WitnessConfig, SocketAddr) {
        let w = witness(dir, log);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = WitnessConfig {
            name: w.name().to_owned(),
            vkey: w.vkey(),
            url: format!("http://{addr}/"),
        };
        tokio::spawn(serve(
            Arc::new(w),
            listener,
            ServeOptions::default(),
            std::future::pending(),
        ));
        (config, addr)
    }

    /// A fake witness answering every add-checkpoint with `answer(checkpoint text)`.
    async fn fake_witness(
        answer: impl Fn(&str) -> (u16, &'static str, String) + Clone + Send + Sync + 'static,
    ) -> WitnessConfig {
        let app = Router::new().route(
            "/add-checkpoint",
            post(move |body: Bytes| {
                let answer = answer.clone();
                async move {
                    let req = parse_add_checkpoint(&body).expect("request");
                    let text = Note::parse(req.checkpoint.as_bytes())
                        .expect("note")
                        .text()
                        .to_owned();
                    let (status, ctype, body) = answer(&text);
                    if body == "SLOW" {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    (
                        axum::http::StatusCode::from_u16(status).expect("status"),
                        [("content-type", ctype)],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        WitnessConfig {
            name: cosigner().name().to_owned(),
            vkey: cosigner().verifier().to_vkey(),
            url: format!("http://{addr}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cosignatures_conflicts_and_retries() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(12, 0);
        let (w, _) = start_witness(tmp.path(), &log).await;
        let client = WitnessClient::new().expect("client");

        let line = client
            .request_cosignature(&w, 0, &[], &log.checkpoint(4), T)
            .await
            .expect("cosign");
        let note = merge_cosignatures(&log.checkpoint(4), &line).expect("merge");
        let keys = Verifiers::from_vkeys(&[&w.vkey]).expect("vkey");
        let check = verify_cosignatures(note.as_bytes(), &keys).expect("verify");
        assert_eq!(check.verified.len(), 1);
        assert!(check.verified[0].timestamp > 1_700_000_000);

        // A wrong guess: a typed 409 with the witness's size.
        let e = client
            .request_cosignature(&w, 0, &[], &log.checkpoint(8), T)
            .await
            .expect_err("409");
        assert!(
            matches!(e, WitnessError::Conflict { latest_size: 4, .. }),
            "{e}"
        );
        assert_eq!((e.code(), e.latest_size()), ("witness-conflict", Some(4)));

        // The retrying call asks for a proof from the witness's size, once.
        let calls = AtomicUsize::new(0);
        let proof_from = |from: u64| {
            calls.fetch_add(1, Ordering::SeqCst);
            assert_eq!(from, 4);
            Ok::<_, String>(log.proof(from, 8))
        };
        let line = client
            .request_cosignature_retrying(&w, 0, &log.checkpoint(8), T, proof_from)
            .await
            .expect("retried");
        assert!(line.starts_with("\u{2014} witness.example/w1 "));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The same checkpoint again: from 8, no proof needed.
        request_cosignature_retrying(&w, 8, &log.checkpoint(8), T, |_| {
            Err::<Vec<Hash>, _>("not needed")
        })
        .await
        .expect("again");

        // The witness is ahead of this checkpoint: the log went back.
        let e = client
            .request_cosignature_retrying(&w, 2, &log.checkpoint(6), T, |from| {
                Ok::<_, String>(log.proof(from, 6))
            })
            .await
            .expect_err("ahead");
        assert!(
            matches!(
                e,
                WitnessError::Ahead {
                    latest_size: 8,
                    size: 6,
                    ..
                }
            ),
            "{e}"
        );
        // A fork at the same size: refused with the witness's reason.
        let fork = TestLog::new(12, 1);
        let e = request_cosignature(&w, 8, &[], &fork.checkpoint(8), T)
            .await
            .expect_err("fork");
        assert!(
            matches!(&e, WitnessError::Refused { status: 422, message, .. } if message.starts_with("root-mismatch")),
            "{e}"
        );
        // A proof the caller cannot make.
        let e = client
            .request_cosignature_retrying(&w, 4, &log.checkpoint(12), T, |_| {
                Err::<Vec<Hash>, _>("tiles missing")
            })
            .await
            .expect_err("no proof");
        assert!(matches!(e, WitnessError::Proof { from: 4, .. }), "{e}");
        // Submissions refused before sending.
        for (old, proof) in [(13, vec![]), (4, vec![log.root(1); 64])] {
            let e = client
                .request_cosignature(&w, old, &proof, &log.checkpoint(12), T)
                .await
                .expect_err("refused");
            assert_eq!(e.code(), "witness-submission", "{e}");
        }
        let e = client
            .request_cosignature(&w, 0, &[], "not a checkpoint", T)
            .await
            .expect_err("refused");
        assert_eq!(e.code(), "witness-submission");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn configuration_and_reachability() {
        let log = TestLog::new(1, 0);
        let client = WitnessClient::new().expect("client");
        let c = cosigner();
        let good = WitnessConfig {
            name: c.name().to_owned(),
            vkey: c.verifier().to_vkey(),
            url: "http://127.0.0.1:9".into(),
        };
        let log_key = WitnessConfig {
            vkey: log.signer.verifier().to_vkey(),
            name: log.signer.name().to_owned(),
            ..good.clone()
        };
        let misnamed = WitnessConfig {
            name: "someone.else".into(),
            ..good.clone()
        };
        let ftp = WitnessConfig {
            url: "ftp://127.0.0.1/".into(),
            ..good.clone()
        };
        for w in [&log_key, &misnamed, &ftp] {
            let e = client
                .request_cosignature(w, 0, &[], &log.checkpoint(1), T)
                .await
                .expect_err("config");
            assert_eq!(e.code(), "witness-config", "{e}");
        }
        // Nothing listens there (a port bound then released).
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let nobody = WitnessConfig {
            url: format!("http://{addr}"),
            ..good
        };
        let e = client
            .request_cosignature(&nobody, 0, &[], &log.checkpoint(1), T)
            .await
            .expect_err("unreachable");
        assert_eq!(e.code(), "witness-unreachable", "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_are_verified_and_bounded() {
        let log = TestLog::new(1, 0);
        let client = WitnessClient::new().expect("client");
        let cp = log.checkpoint(1);
        let ask = |w: WitnessConfig, timeout: Duration| {
            let (client, cp) = (client.clone(), cp.clone());
            async move { client.request_cosignature(&w, 0, &[], &cp, timeout).await }
        };
        let stranger = || Cosigner::from_seed("stranger.example", &[4; 32]).expect("cosigner");

        // Lines by unknown keys are ignored; ours is kept.
        let w = fake_witness(move |text| {
            let theirs = stranger().cosign(text, 7).expect("cosign");
            let ours = cosigner().cosign(text, 8).expect("cosign");
            (200, "text/plain", format!("{theirs}{ours}"))
        })
        .await;
        let line = ask(w, T).await.expect("ours");
        let text = Note::parse(cp.as_bytes()).expect("note").text().to_owned();
        assert_eq!(line, cosigner().cosign(&text, 8).expect("cosign"));

        // Only unknown keys; a line with our key's name and ID that does not verify; a
        // cosignature over another checkpoint; a huge answer; a 409 that is not a size.
        let unknown = fake_witness(move |text| {
            (
                200,
                "text/plain",
                stranger().cosign(text, 7).expect("cosign"),
            )
        })
        .await;
        let forged = fake_witness(|text| {
            let other = text.replace("\n1\n", "\n2\n");
            (
                200,
                "text/plain",
                cosigner().cosign(&other, 8).expect("cosign"),
            )
        })
        .await;
        let huge = fake_witness(|_| (200, "text/plain", "x".repeat(MAX_RESPONSE + 1))).await;
        let garbage = fake_witness(|_| (200, "text/plain", "hello\n".into())).await;
        let bad_409 = fake_witness(|_| (409, "text/plain", "3\n".into())).await;
        for w in [unknown, forged, huge, garbage, bad_409] {
            let e = ask(w, T).await.expect_err("bad answer");
            assert_eq!(e.code(), "witness-bad-response", "{e}");
        }
        // Refusals carry a printable, shortened reason.
        let loud =
            fake_witness(|_| (403, "text/plain", format!("no\u{7}{}", "!".repeat(5000)))).await;
        match ask(loud, T).await {
            Err(WitnessError::Refused {
                status: 403,
                message,
                ..
            }) => {
                assert!(
                    message.len() <= 300 && !message.contains('\u{7}'),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // A witness that does not answer in time.
        let slow = fake_witness(|_| (200, "text/plain", "SLOW".into())).await;
        let e = ask(slow, Duration::from_millis(300))
            .await
            .expect_err("timeout");
        assert_eq!(e.code(), "witness-unreachable", "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cosign_asks_every_witness_and_merges() {
        let log = TestLog::new(6, 0);
        let (d1, d2) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let (w1, _) = start_witness(d1.path(), &log).await;
        // A second witness with its own key.
        let w2 = {
            let w = Witness::new(
                Cosigner::from_seed("witness.example/w2", &[5; 32]).expect("cosigner"),
                vec![log.trusted()],
                d2.path(),
            )
            .expect("witness");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let config = WitnessConfig {
                name: w.name().to_owned(),
                vkey: w.vkey(),
                url: format!("http://{}", listener.local_addr().expect("addr")),
            };
            tokio::spawn(serve(
                Arc::new(w),
                listener,
                ServeOptions::default(),
                std::future::pending(),
            ));
            config
        };
        let down = WitnessConfig {
            name: "witness.example/down".into(),
            vkey: Cosigner::from_seed("witness.example/down", &[6; 32])
                .expect("cosigner")
                .verifier()
                .to_vkey(),
            url: "http://127.0.0.1:9".into(),
        };
        let client = WitnessClient::new().expect("client");
        let all = [w1.clone(), down, w2.clone()];
        for (old, size) in [(0, 3), (3, 6)] {
            let cosigned = client
                .cosign(&all, &log.checkpoint(size), old, T, |from| {
                    Ok::<_, String>(log.proof(from, size))
                })
                .await;
            assert_eq!(cosigned.cosignatures(), 2);
            assert_eq!(cosigned.outcomes[1].0, "witness.example/down");
            assert!(cosigned.outcomes[1].1.is_err());
            let keys = Verifiers::from_vkeys(&[&w1.vkey, &w2.vkey]).expect("vkeys");
            let check = verify_cosignatures(cosigned.note.as_bytes(), &keys).expect("verify");
            assert_eq!(check.verified.len(), 2);
            assert!(cosigned.note.starts_with(&log.checkpoint(size)));
        }
    }
}

//! Plain HTTP(S) capture: follow redirects one hop at a time, check every hop against the
//! [`NetPolicy`], record what each hop said, and stream the final body into the blob store.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use vigil_store::{BlobStore, FinishedBlob};

use crate::netguard::{DnsFailure, GuardedResolver, NetPolicy, Refusal};
use crate::tls::{SeenChains, client_config, pem_bundle};

/// Limits and identity for HTTP capture.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one hop, from request to the last body byte.
    pub timeout: Duration,
    /// Longest silence allowed while reading.
    pub read_timeout: Duration,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// The User-Agent header sent.
    pub user_agent: String,
    /// Extra trusted root certificates (DER), e.g. an organisation's CA.
    pub extra_roots: Vec<Vec<u8>>,
    /// Where connections may go.
    pub policy: Arc<NetPolicy>,
}

/// What one request/response exchange said.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    /// The URL requested.
    pub url: String,
    /// The status code answered.
    pub status: u16,
    /// The peer's address and port.
    pub remote_addr: Option<String>,
    /// Response headers in the order received; values that are not UTF-8 are shown lossily.
    pub headers: Vec<(String, String)>,
    /// SHA-256 of the PEM chain the server presented (HTTPS only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_chain_sha256: Option<String>,
}

/// A finished fetch: every hop, and the final body staged in the blob store.
#[derive(Debug)]
pub struct HttpFetch {
    /// Every hop, the last one being the final response.
    pub hops: Vec<Hop>,
    /// URL of the final response.
    pub final_url: String,
    /// Its status.
    pub status: u16,
    /// The final body, hashed and staged (not yet published).
    pub body: FinishedBlob,
    /// PEM chains presented by HTTPS servers along the way, first seen first, deduplicated.
    pub tls_chains: Vec<Vec<u8>>,
}

/// Why a fetch failed. [`FetchError::code`] gives a stable machine code.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL, or unparseable.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The SSRF guard refused an address.
    #[error("{0}")]
    Refused(Refusal),
    /// The name did not resolve.
    #[error("{0}")]
    Dns(String),
    /// No connection could be made.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The TLS handshake or certificate verification failed.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// A time limit passed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The body is larger than allowed.
    #[error("response larger than the limit of {limit} bytes{}", seen.map(|s| format!(" (announced or read: {s})")).unwrap_or_default())]
    TooLarge {
        /// The limit.
        limit: u64,
        /// Bytes announced or read when it was stopped.
        seen: Option<u64>,
    },
    /// Too many redirects.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// Any other protocol error.
    #[error("HTTP error: {0}")]
    Http(String),
    /// The blob store failed.
    #[error("storing the body: {0}")]
    Store(String),
}

impl FetchError {
    /// Stable code recorded in the catalog.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl(_) => "invalid-url",
            FetchError::Refused(_) => "ssrf-refused",
            FetchError::Dns(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Tls(_) => "tls",
            FetchError::Timeout(_) => "timeout",
            FetchError::TooLarge { .. } => "too-large",
            FetchError::TooManyRedirects(_) => "too-many-redirects",
            FetchError::Http(_) => "http",
            FetchError::Store(_) => "store",
        }
    }
}

/// A failed fetch with the hops that did answer (kept as evidence of what was seen).
#[derive(Debug)]
pub struct FetchFailure {
    /// What went wrong.
    pub error: FetchError,
    /// Hops completed before the failure.
    pub hops: Vec<Hop>,
    /// PEM chains seen before the failure.
    pub tls_chains: Vec<Vec<u8>>,
}

/// Fetches `url` with a fresh client (so the recorded TLS chains belong to this capture only).
pub async fn fetch(
    url: &str,
    opts: &HttpOptions,
    blobs: &BlobStore,
) -> Result<HttpFetch, Box<FetchFailure>> {
    let mut hops = Vec::new();
    let mut chains: Vec<Vec<u8>> = Vec::new();
    let fail = |error, hops: Vec<Hop>, chains: Vec<Vec<u8>>| {
        Box::new(FetchFailure {
            error,
            hops,
            tls_chains: chains,
        })
    };
    let seen = SeenChains::default();
    let client = match build_client(opts, seen.clone()) {
        Ok(c) => c,
        Err(e) => return Err(fail(e, hops, chains)),
    };
    let (current, response) =
        match send_following(&client, url, opts, &seen, &mut hops, &mut chains).await {
            Ok(r) => r,
            Err(e) => return Err(fail(e, hops, chains)),
        };
    let status = response.status().as_u16();
    let body = match read_body(response, opts, blobs).await {
        Ok(b) => b,
        Err(e) => return Err(fail(e, hops, chains)),
    };
    Ok(HttpFetch {
        final_url: current.to_string(),
        status,
        hops,
        body,
        tls_chains: chains,
    })
}

/// Sends GET `url`, following redirects under the guard, recording each hop; returns the
/// final URL and response (its body unread).
async fn send_following(
    client: &reqwest::Client,
    url: &str,
    opts: &HttpOptions,
    seen: &SeenChains,
    hops: &mut Vec<Hop>,
    chains: &mut Vec<Vec<u8>>,
) -> Result<(url::Url, reqwest::Response), FetchError> {
    let mut current = parse_http_url(url)?;
    loop {
        opts.policy
            .check_url_host(&current)
            .map_err(FetchError::Refused)?;
        let response = match client.get(current.clone()).send().await {
            Ok(r) => r,
            Err(e) => {
                note_chain(seen, &current, chains);
                return Err(classify_reqwest(&e));
            }
        };
        let remote = response.remote_addr();
        if let Some(addr) = remote {
            // Belt and braces: the resolver already checked, but never trust one layer.
            opts.policy
                .check(current.host_str().unwrap_or_default(), addr.ip())
                .map_err(FetchError::Refused)?;
        }
        let tls_chain_sha256 = note_chain(seen, &current, chains);
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        hops.push(Hop {
            url: current.to_string(),
            status,
            remote_addr: remote.map(|a| a.to_string()),
            headers,
            tls_chain_sha256,
        });
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if matches!(status, 301 | 302 | 303 | 307 | 308)
            && let Some(location) = location
        {
            if hops.len() > opts.max_redirects {
                return Err(FetchError::TooManyRedirects(opts.max_redirects));
            }
            current = current
                .join(&location)
                .map_err(|e| FetchError::InvalidUrl(format!("redirect to {location:?}: {e}")))
                .and_then(|u| parse_http_url(u.as_str()))?;
            continue;
        }
        return Ok((current, response));
    }
}

/// A page fetched to be read (a watched channel's preview, a feed), not kept as evidence:
/// held in memory, bounded by [`HttpOptions::max_bytes`].
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL of the final response.
    pub final_url: url::Url,
    /// Its status.
    pub status: u16,
    /// Seconds the server asked us to wait (`Retry-After` in seconds), if it did.
    pub retry_after: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
}

/// What a URL serves now, hashed as it streams and never held (a re-check comparing a
/// watched post's media with what we captured).
#[derive(Debug, Clone)]
pub struct Digested {
    /// The URL of the final response.
    pub final_url: url::Url,
    /// Its status.
    pub status: u16,
    /// SHA-256 and length of the body, for a 2xx answer only.
    pub body: Option<(vigil_store::Sha256Digest, u64)>,
}

/// One HTTP client reused for many small reads (polling): connections are kept alive between
/// requests to the same host, and every address still goes through the SSRF guard.
pub struct PageClient {
    client: reqwest::Client,
    opts: HttpOptions,
    seen: SeenChains,
}

impl PageClient {
    /// A client with these limits and this network policy.
    pub fn new(opts: HttpOptions) -> Result<PageClient, FetchError> {
        let seen = SeenChains::default();
        let client = build_client(&opts, seen.clone())?;
        Ok(PageClient { client, opts, seen })
    }

    /// POSTs `body` as JSON to `url` (no redirects followed); the answer's status.
    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> Result<u16, FetchError> {
        let target = parse_http_url(url)?;
        self.opts
            .policy
            .check_url_host(&target)
            .map_err(FetchError::Refused)?;
        let response = self
            .client
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| classify_reqwest(&e))?;
        Ok(response.status().as_u16())
    }

    /// GETs `url`, following redirects under the guard; the final URL and its response, body
    /// unread (the hops are not kept: nothing read this way is evidence).
    async fn send(&self, url: &str) -> Result<(url::Url, reqwest::Response), FetchError> {
        let (mut hops, mut chains) = (Vec::new(), Vec::new());
        send_following(
            &self.client,
            url,
            &self.opts,
            &self.seen,
            &mut hops,
            &mut chains,
        )
        .await
    }

    /// GETs `url` (following redirects under the guard) and hashes a 2xx body of at most
    /// `limit` bytes as it streams; other answers are not read.
    pub async fn digest(&self, url: &str, limit: u64) -> Result<Digested, FetchError> {
        let (final_url, mut response) = self.send(url).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Ok(Digested {
                final_url,
                status,
                body: None,
            });
        }
        let too_large = |seen| FetchError::TooLarge {
            limit,
            seen: Some(seen),
        };
        if let Some(len) = response.content_length()
            && len > limit
        {
            return Err(too_large(len));
        }
        let mut hasher = vigil_store::StreamHasher::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify_reqwest(&e))? {
            if hasher.len() + chunk.len() as u64 > limit {
                return Err(too_large(hasher.len() + chunk.len() as u64));
            }
            hasher.update(&chunk);
        }
        Ok(Digested {
            final_url,
            status,
            body: Some(hasher.finish()),
        })
    }

    /// GETs `url` (following redirects under the guard) and reads the body into memory.
    pub async fn get(&self, url: &str) -> Result<Page, FetchError> {
        let (final_url, mut response) = self.send(url).await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if let Some(len) = response.content_length()
            && len > self.opts.max_bytes
        {
            return Err(FetchError::TooLarge {
                limit: self.opts.max_bytes,
                seen: Some(len),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify_reqwest(&e))? {
            if body.len() as u64 + chunk.len() as u64 > self.opts.max_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.opts.max_bytes,
                    seen: Some(body.len() as u64 + chunk.len() as u64),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Page {
            final_url,
            status,
            retry_after,
            body,
        })
    }
}

fn note_chain(seen: &SeenChains, url: &url::Url, chains: &mut Vec<Vec<u8>>) -> Option<String> {
    if url.scheme() != "https" {
        return None;
    }
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let pem = pem_bundle(&seen.get(host)?);
    let digest = vigil_store::Sha256Digest::of(&pem).to_hex();
    if !chains.contains(&pem) {
        chains.push(pem);
    }
    Some(digest)
}

/// Parses a URL and accepts only http and https.
pub fn parse_http_url(text: &str) -> Result<url::Url, FetchError> {
    let url =
        url::Url::parse(text).map_err(|e| FetchError::InvalidUrl(format!("{text:?}: {e}")))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(FetchError::InvalidUrl(format!("{text:?} has no host"))),
        other => Err(FetchError::InvalidUrl(format!(
            "{text:?}: scheme {other:?} is not captured (http and https only)"
        ))),
    }
}

fn build_client(opts: &HttpOptions, seen: SeenChains) -> Result<reqwest::Client, FetchError> {
    let tls = client_config(&opts.extra_roots, seen).map_err(|e| FetchError::Tls(e.to_string()))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        .dns_resolver(GuardedResolver::new(opts.policy.clone()))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.timeout)
        .read_timeout(opts.read_timeout)
        .user_agent(opts.user_agent.clone())
        .http1_only()
        .build()
        .map_err(|e| FetchError::Http(e.to_string()))
}

async fn read_body(
    mut response: reqwest::Response,
    opts: &HttpOptions,
    blobs: &BlobStore,
) -> Result<FinishedBlob, FetchError> {
    if let Some(len) = response.content_length()
        && len > opts.max_bytes
    {
        return Err(FetchError::TooLarge {
            limit: opts.max_bytes,
            seen: Some(len),
        });
    }
    let store_err = |e: &dyn std::fmt::Display| FetchError::Store(e.to_string());
    let mut staged = blobs.stage().map_err(|e| store_err(&e))?;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(classify_reqwest(&e)),
        };
        if staged.len() + chunk.len() as u64 > opts.max_bytes {
            return Err(FetchError::TooLarge {
                limit: opts.max_bytes,
                seen: Some(staged.len() + chunk.len() as u64),
            });
        }
        staged.write_all(&chunk).map_err(|e| store_err(&e))?;
    }
    staged.finish().map_err(|e| store_err(&e))
}

/// Turns a reqwest error into the most specific [`FetchError`] its cause chain supports.
fn classify_reqwest(err: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut messages = Vec::new();
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<Refusal>() {
            return FetchError::Refused(r.clone());
        }
        if let Some(d) = e.downcast_ref::<DnsFailure>() {
            return FetchError::Dns(d.to_string());
        }
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return FetchError::Tls(t.to_string());
        }
        let text = e.to_string();
        if !messages.contains(&text) {
            messages.push(text);
        }
        source = e.source();
    }
    let detail = messages.join(": ");
    if err.is_timeout() {
        FetchError::Timeout(detail)
    } else if err.is_connect() {
        FetchError::Connect(detail)
    } else {
        FetchError::Http(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_hosts_are_accepted() {
        assert!(parse_http_url("https://example.org/x").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.org/",
            "http://",
            "not a url",
        ] {
            let err = parse_http_url(bad).expect_err(bad);
            assert_eq!(err.code(), "invalid-url");
        }
    }

    /// Answers each connection on loopback with the next canned response.
    fn serve(answers: Vec<&'static str>) -> std::net::SocketAddr {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for (answer, stream) in answers.into_iter().zip(listener.incoming()) {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        addr
    }

    fn loopback_client(max_bytes: u64) -> PageClient {
        PageClient::new(HttpOptions {
            max_bytes,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            max_redirects: 3,
            user_agent: "vigil-test".into(),
            extra_roots: vec![],
            policy: Arc::new(NetPolicy {
                allow_private: true,
                ..Default::default()
            }),
        })
        .expect("client")
    }

    #[tokio::test]
    async fn digest_hashes_a_body_without_keeping_it_and_bounds_it() {
        let addr = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\ngone",
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nmore than eight bytes",
        ]);
        let client = loopback_client(1 << 20);
        let url = format!("http://{addr}/a");
        let ok = client.digest(&url, 8).await.expect("digest");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body, Some((vigil_store::Sha256Digest::of(b"hello"), 5)));
        let gone = client.digest(&url, 8).await.expect("digest");
        assert_eq!((gone.status, gone.body), (404, None));
        let big = client.digest(&url, 8).await.expect_err("over the limit");
        assert_eq!(
            big.code(),
            FetchError::TooLarge {
                limit: 8,
                seen: None
            }
            .code()
        );
    }
}

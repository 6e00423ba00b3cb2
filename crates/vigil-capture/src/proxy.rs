//! The guard proxy: a small HTTP proxy on 127.0.0.1 through which external tools (yt-dlp,
//! Chromium) must connect, so that the SSRF guard applies to every connection they make,
//! redirects and embedded media included, exactly as it does to Vigil's own requests.
//!
//! It speaks `CONNECT host:port` (HTTPS tunnels) and absolute-form plain-HTTP requests
//! (`GET http://host/path`), which it forwards with `Connection: close`. Every target is
//! resolved and checked by [`NetPolicy::resolve`]; refusals answer `403` and are remembered,
//! so a capture can say what was blocked.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::netguard::NetPolicy;

const MAX_HEAD: usize = 32 << 10;

/// A running guard proxy; stops (with every tunnel) when dropped.
pub struct GuardProxy {
    addr: SocketAddr,
    refusals: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl GuardProxy {
    /// Starts a proxy on an ephemeral loopback port.
    pub async fn start(policy: Arc<NetPolicy>, connect_timeout: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let seen = refusals.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let policy = policy.clone();
                        let seen = seen.clone();
                        conns.spawn(async move {
                            if let Err(refusal) = handle(stream, &policy, connect_timeout).await
                                && let Ok(mut list) = seen.lock()
                                    && !list.contains(&refusal) && list.len() < 100 {
                                        list.push(refusal);
                                    }
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(GuardProxy {
            addr,
            refusals,
            task,
        })
    }

    /// The proxy URL to hand to tools (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Refusals so far (each a human-readable sentence).
    pub fn refusals(&self) -> Vec<String> {
        self.refusals.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one client connection. `Err` carries a refusal message for the log of refusals;
/// I/O failures are just the end of the connection.
async fn handle(
    mut client: TcpStream,
    policy: &NetPolicy,
    connect_timeout: Duration,
) -> Result<(), String> {
    let Some((head, rest)) = read_head(&mut client).await else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) => (m.to_owned(), t.to_owned(), v.to_owned()),
        _ => {
            let _ = respond(&mut client, "400 Bad Request", "malformed request line").await;
            return Ok(());
        }
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        let Some((host, port)) = split_host_port(&target) else {
            let _ = respond(&mut client, "400 Bad Request", "CONNECT needs host:port").await;
            return Ok(());
        };
        let mut upstream = match connect_checked(policy, &host, port, connect_timeout).await {
            Ok(s) => s,
            Err(Failure::Refused(msg)) => {
                let _ = respond(&mut client, "403 Forbidden", &msg).await;
                return Err(msg);
            }
            Err(Failure::Unreachable(msg)) => {
                let _ = respond(&mut client, "502 Bad Gateway", &msg).await;
                return Ok(());
            }
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return Ok(());
        }
        if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
            return Ok(());
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return Ok(());
    }
    // Plain HTTP in absolute form.
    let Ok(url) = url::Url::parse(&target) else {
        let _ = respond(
            &mut client,
            "400 Bad Request",
            "expected an absolute http:// URL",
        )
        .await;
        return Ok(());
    };
    if url.scheme() != "http" {
        let _ = respond(
            &mut client,
            "400 Bad Request",
            "only http:// is proxied without CONNECT",
        )
        .await;
        return Ok(());
    }
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let mut upstream = match connect_checked(policy, &host, port, connect_timeout).await {
        Ok(s) => s,
        Err(Failure::Refused(msg)) => {
            let _ = respond(&mut client, "403 Forbidden", &msg).await;
            return Err(msg);
        }
        Err(Failure::Unreachable(msg)) => {
            let _ = respond(&mut client, "502 Bad Gateway", &msg).await;
            return Ok(());
        }
    };
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut out = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "connection" | "proxy-connection" | "keep-alive" | "proxy-authorization"
        ) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(out.as_bytes()).await.is_err() {
        return Ok(());
    }
    if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
        return Ok(());
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}

enum Failure {
    Refused(String),
    Unreachable(String),
}

async fn connect_checked(
    policy: &NetPolicy,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => {
            policy
                .check(host, ip)
                .map_err(|r| Failure::Refused(r.to_string()))?;
            vec![ip]
        }
        Err(_) => policy.resolve(host).await.map_err(|e| {
            if e.downcast_ref::<crate::netguard::Refusal>().is_some() {
                Failure::Refused(e.to_string())
            } else {
                Failure::Unreachable(e.to_string())
            }
        })?,
    };
    let mut last = String::from("no address");
    for ip in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect((ip, port))).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = format!("{ip}:{port}: {e}"),
            Err(_) => last = format!("{ip}:{port}: connection timed out"),
        }
    }
    Err(Failure::Unreachable(last))
}

fn split_host_port(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

async fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let deadline = Duration::from_secs(30);
    loop {
        let n = tokio::time::timeout(deadline, stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            buf.truncate(end);
            return Some((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    }
}

async fn respond(client: &mut TcpStream, status: &str, message: &str) -> std::io::Result<()> {
    let body = format!("Vigil guard proxy: {message}\n");
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await?;
    client.write_all(body.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn origin() -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let first = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let body = format!("saw {first}");
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        addr
    }

    async fn ask(proxy: &GuardProxy, request: &str) -> String {
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        s.write_all(request.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn refuses_private_targets_and_remembers_why() {
        let target = origin().await;
        let proxy = GuardProxy::start(Arc::new(NetPolicy::default()), Duration::from_secs(2))
            .await
            .expect("proxy");
        let reply = ask(
            &proxy,
            &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
        let reply = ask(
            &proxy,
            "GET http://169.254.169.254/latest/ HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
        let reply = ask(
            &proxy,
            &format!("GET http://localhost:{}/ HTTP/1.1\r\n\r\n", target.port()),
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
        let refusals = proxy.refusals();
        assert_eq!(refusals.len(), 3, "{refusals:?}");
        assert!(refusals[1].contains("cloud metadata"));
    }

    #[tokio::test]
    async fn forwards_allowed_requests_in_origin_form() {
        let target = origin().await;
        let policy = NetPolicy {
            allow_private: true,
            ..Default::default()
        };
        let proxy = GuardProxy::start(Arc::new(policy), Duration::from_secs(2))
            .await
            .expect("proxy");
        let reply = ask(&proxy, &format!("GET http://{target}/a?b=1 HTTP/1.1\r\nHost: {target}\r\nProxy-Connection: keep-alive\r\n\r\n")).await;
        assert!(reply.ends_with("saw GET /a?b=1 HTTP/1.1"), "{reply}");
        let reply = ask(
            &proxy,
            &format!("CONNECT {target} HTTP/1.1\r\n\r\nGET /tunnel HTTP/1.1\r\n\r\n"),
        )
        .await;
        assert!(
            reply.starts_with("HTTP/1.1 200 Connection Established"),
            "{reply}"
        );
        assert!(reply.ends_with("saw GET /tunnel HTTP/1.1"), "{reply}");
        assert!(proxy.refusals().is_empty());
    }
}

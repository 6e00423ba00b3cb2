//! TLS for captures: the usual WebPKI verification, plus a record of the certificate chain
//! each server presented, so the chain can be kept as evidence of who served the bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Chains presented by servers, by server name, in the order the server sent them
/// (end entity first). Shared between the verifier and the fetcher.
#[derive(Debug, Clone, Default)]
pub struct SeenChains(Arc<Mutex<HashMap<String, Vec<Vec<u8>>>>>);

impl SeenChains {
    /// The chain last presented for `host`, DER certificates.
    pub fn get(&self, host: &str) -> Option<Vec<Vec<u8>>> {
        self.0.lock().ok()?.get(host).cloned()
    }

    fn put(&self, host: String, chain: Vec<Vec<u8>>) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(host, chain);
        }
    }
}

/// Encodes DER certificates as one PEM bundle (what `openssl x509` and browsers read).
pub fn pem_bundle(chain: &[Vec<u8>]) -> Vec<u8> {
    use base64::Engine as _;
    let mut out = String::new();
    for der in chain {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    seen: SeenChains,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.as_ref().to_vec()];
        chain.extend(intermediates.iter().map(|c| c.as_ref().to_vec()));
        self.seen.put(server_name.to_str().into_owned(), chain);
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A rustls client configuration trusting the Mozilla roots plus `extra_roots` (DER), whose
/// verifier records every presented chain into `seen`.
pub fn client_config(
    extra_roots: &[Vec<u8>],
    seen: SeenChains,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots {
        roots.add(CertificateDer::from(der.clone()))?;
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RecordingVerifier { inner, seen }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundle_wraps_at_64_columns() {
        let pem = String::from_utf8(pem_bundle(&[vec![0u8; 100]])).expect("utf8");
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(*lines.last().expect("last"), "-----END CERTIFICATE-----");
    }

    #[test]
    fn config_builds_with_mozilla_roots() {
        assert!(client_config(&[], SeenChains::default()).is_ok());
        assert!(client_config(&[vec![1, 2, 3]], SeenChains::default()).is_err());
    }
}

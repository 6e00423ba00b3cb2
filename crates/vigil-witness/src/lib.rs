//! Outside witnesses for transparency logs such as Vigil's, over C2SP tlog-witness
//! (<https://c2sp.org/tlog-witness>) with Ed25519 cosignatures (<https://c2sp.org/tlog-cosignature>).
//!
//! A log signs its own checkpoints, so whoever holds its store and key could delete history
//! and sign a different tree of the same size: the log's own checks would accept it. A witness,
//! run by another organisation, remembers the last checkpoint it cosigned for each log and
//! cosigns a new one only if a consistency proof shows it extends that one. A checkpoint
//! carrying cosignatures from witnesses a verifier trusts cannot have been rewritten without
//! them noticing.
//!
//! The witness side:
//! - [`Witness`]: the `add-checkpoint` rules, each refusal an [`AddError`] with the spec's
//!   HTTP status, and durable per-log state updated atomically with its check;
//! - [`WitnessDir`]: the directory `vigil witness` keeps (key, `logs.toml`, state);
//! - [`serve`] / [`router`]: the HTTP endpoints, with body, header and request time limits.
//!
//! The log side:
//! - [`WitnessClient`] (or the free [`request_cosignature`]): submit a signed checkpoint and a
//!   consistency proof, get back verified cosignature lines; [`WitnessClient::cosign`] asks
//!   several witnesses at once, retries from a witness's size after a 409, and merges;
//! - [`merge_cosignatures`], [`verify_cosignatures`] (from `vigil-tlog`, so the offline
//!   verifier needs no HTTP stack): add cosignatures to a checkpoint, and check them.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use vigil_tlog::{Checkpoint, EMPTY_ROOT, Signer, Verifiers};
//! use vigil_witness::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A witness that trusts one log, served on loopback.
//! let log = Signer::from_seed("example.com/log", &[1; 32])?;
//! let state = tempfile::tempdir()?;
//! let witness = Witness::new(
//!     Cosigner::from_seed("ngo.example/witness", &[2; 32])?,
//!     vec![TrustedLog::from_vkey(&log.verifier().to_vkey())?],
//!     state.path(),
//! )?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = WitnessConfig {
//!     name: witness.name().to_owned(),
//!     vkey: witness.vkey(),
//!     url: format!("http://{}", listener.local_addr()?),
//! };
//! let options = ServeOptions::default();
//! tokio::spawn(serve(Arc::new(witness), listener, options, std::future::pending()));
//!
//! // The log signs a checkpoint and asks for cosignatures (no proof from the empty tree).
//! let signed = Checkpoint::new("example.com/log", 0, EMPTY_ROOT)?.sign(&[&log])?;
//! let client = WitnessClient::new()?;
//! let no_proof_needed = |_from: u64| Ok::<_, String>(Vec::new());
//! let cosigned = client
//!     .cosign(&[config.clone()], &signed, 0, Duration::from_secs(5), no_proof_needed)
//!     .await;
//! assert_eq!(cosigned.cosignatures(), 1);
//!
//! // Anyone holding the witness's vkey checks the cosignature.
//! let witnesses = Verifiers::from_vkeys(&[config.vkey])?;
//! let check = verify_cosignatures(cosigned.note.as_bytes(), &witnesses)?;
//! assert_eq!(check.verified[0].name, "ngo.example/witness");
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod client;
mod dir;
mod files;
mod protocol;
mod server;
#[cfg(test)]
mod testlog;
mod witness;

pub use client::{
    Cosigned, MAX_ATTEMPTS, MAX_RESPONSE, WitnessClient, WitnessConfig, WitnessError,
    request_cosignature, request_cosignature_retrying,
};
pub use dir::{Trusted, WitnessDir};
pub use files::FileError;
pub use protocol::{
    AddCheckpointRequest, MAX_BODY, MAX_PROOF_LINES, SIZE_CONTENT_TYPE, format_add_checkpoint,
    origin_hash, parse_add_checkpoint,
};
pub use server::{ServeOptions, router, serve};
pub use vigil_tlog::{
    Cosignature, CosignatureCheck, Cosigner, merge_cosignatures, verify_cosignatures,
};
pub use witness::{AddError, MAX_REFUSED_PER_LOG, SetupError, TrustedLog, Witness};

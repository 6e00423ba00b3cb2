//! Test support: a small in-memory log that signs checkpoints and makes consistency proofs,
//! and a witness for it in a temporary directory.

use vigil_tlog::{
    Checkpoint, Cosigner, Hash, Signer, consistency_proof, leaf_hash, root_from_leaves,
};

use crate::protocol::format_add_checkpoint;
use crate::witness::{TrustedLog, Witness};

pub(crate) const ORIGIN: &str = "example.com/log";

/// A log of `n` leaves whose content depends on `fork`, so two forks share origin and key but
/// not roots.
pub(crate) struct TestLog {
    pub signer: Signer,
    pub leaves: Vec<Hash>,
}

impl TestLog {
    pub fn new(n: usize, fork: u8) -> Self {
        TestLog {
            signer: Signer::from_seed(ORIGIN, &[1; 32]).expect("signer"),
            leaves: (0..n)
                .map(|i| leaf_hash(format!("entry {i} of fork {fork}").as_bytes()))
                .collect(),
        }
    }

    pub fn root(&self, size: u64) -> Hash {
        root_from_leaves(&self.leaves[..size as usize])
    }

    pub fn checkpoint(&self, size: u64) -> String {
        Checkpoint::new(ORIGIN, size, self.root(size))
            .and_then(|c| c.sign(&[&self.signer]))
            .expect("checkpoint")
    }

    pub fn proof(&self, old: u64, size: u64) -> Vec<Hash> {
        if old == 0 || old == size {
            return Vec::new();
        }
        consistency_proof(old, size, &self.leaves[..]).expect("proof")
    }

    /// The add-checkpoint body for the checkpoint of `size` with a proof from `old`.
    pub fn body(&self, old: u64, size: u64) -> String {
        format_add_checkpoint(old, &self.proof(old, size), &self.checkpoint(size))
    }

    pub fn trusted(&self) -> TrustedLog {
        TrustedLog::from_vkey(&self.signer.verifier().to_vkey()).expect("trusted")
    }
}

pub(crate) fn cosigner() -> Cosigner {
    Cosigner::from_seed("witness.example/w1", &[2; 32]).expect("cosigner")
}

pub(crate) fn witness(dir: &std::path::Path, log: &TestLog) -> Witness {
    Witness::new(cosigner(), vec![log.trusted()], dir).expect("witness")
}

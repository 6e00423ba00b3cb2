//! Any bytes given to the offline checks a third party runs: receipt parsing and
//! verification, signed notes, checkpoints, and capture-record leaves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_tlog::{Checkpoint, Note, Receipt, Signer, Verifiers, verify_receipt_from_extra};

fuzz_target!(|data: &[u8]| {
    let _ = vigil_store::decode_capture_leaf(data);
    let _ = Receipt::parse(data);
    let _ = Note::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Checkpoint::parse(text);
    }
    let Ok(signer) = Signer::from_seed("fuzz.example/log", &[7; 32]) else { return };
    let keys: Verifiers = signer.verifier().into();
    let _ = verify_receipt_from_extra(data, "fuzz.example/log", &keys, |leaf| {
        vigil_store::decode_capture_leaf(leaf).is_ok()
    });
});

//! Witness cosigning: the time a log adds to each checkpoint by asking two local witnesses
//! (issue 16) — `request_cosignature` over loopback HTTP to two real witnesses (each its own
//! server and state directory, durable writes included), for a checkpoint that extends the
//! previous one by `BATCH` leaves with a consistency proof, asked one witness after the other
//! and both at once. Proofs are made before the clock starts; one client, connections kept
//! alive, as a log would.
//!
//! Run with `cargo bench -p vigil-witness --bench witness` (or `bash bench/witness.sh`).
//! Environment: `ROUNDS` [200] checkpoints per mode, `START` [100000] leaves before the first,
//! `BATCH` [100] leaves per checkpoint, `BENCH_DIR` [the system temp dir] for the witnesses'
//! state (its disk's fsync latency is most of the cost).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_tlog::{
    Checkpoint, Cosigner, Hash, Signer, Tile, TileNodes, build_tiles, consistency_proof, leaf_hash,
};
use vigil_witness::{ServeOptions, TrustedLog, Witness, WitnessClient, WitnessConfig, serve};

const ORIGIN: &str = "bench.example/log";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A log in memory: its tiles, size and key.
struct Log {
    signer: Signer,
    tiles: HashMap<Tile, Vec<u8>>,
    size: u64,
    root: Hash,
}

impl Log {
    fn append(&mut self, n: u64) {
        let leaves: Vec<Hash> = (self.size..self.size + n)
            .map(|i| leaf_hash(format!("capture {i}").as_bytes()))
            .collect();
        let update = build_tiles(self.size, &leaves, &self.tiles).expect("tiles");
        self.tiles.extend(update.tiles);
        self.size = update.tree_size;
        self.root = update.root;
    }

    fn signed(&self) -> String {
        Checkpoint::new(ORIGIN, self.size, self.root)
            .and_then(|c| c.sign(&[&self.signer]))
            .expect("checkpoint")
    }

    fn proof_from(&self, old: u64) -> Vec<Hash> {
        if old == 0 || old == self.size {
            return Vec::new();
        }
        consistency_proof(old, self.size, &TileNodes::new(&self.tiles, self.size)).expect("proof")
    }
}

async fn start_witness(dir: &std::path::Path, name: &str, seed: u8, log: &Log) -> WitnessConfig {
    let trusted = TrustedLog::from_vkey(&log.signer.verifier().to_vkey()).expect("log key");
    let cosigner = Cosigner::from_seed(name, &[seed; 32]).expect("cosigner");
    let witness = Witness::new(cosigner, vec![trusted], dir).expect("witness");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let config = WitnessConfig {
        name: witness.name().to_owned(),
        vkey: witness.vkey(),
        url: format!("http://{}", listener.local_addr().expect("addr")),
    };
    tokio::spawn(serve(
        Arc::new(witness),
        listener,
        ServeOptions::default(),
        std::future::pending(),
    ));
    config
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "{label:<44} median {:6.2} ms   p95 {:6.2} ms   mean {:6.2} ms   max {:6.2} ms   (n={})",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(mean),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    let rounds = env("ROUNDS", 200) as usize;
    let start = env("START", 100_000);
    let batch = env("BATCH", 100).max(1);
    let base = std::env::var_os("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dirs = [
        tempfile::tempdir_in(&base).expect("tempdir"),
        tempfile::tempdir_in(&base).expect("tempdir"),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut log = Log {
            signer: Signer::from_seed(ORIGIN, &[1; 32]).expect("signer"),
            tiles: HashMap::new(),
            size: 0,
            root: vigil_tlog::EMPTY_ROOT,
        };
        log.append(start);
        let w1 = start_witness(dirs[0].path(), "w1.bench.example", 2, &log).await;
        let w2 = start_witness(dirs[1].path(), "w2.bench.example", 3, &log).await;
        let client = WitnessClient::new().expect("client");
        let timeout = Duration::from_secs(10);
        // First contact (no proof from 0), untimed: opens the connections.
        let signed = log.signed();
        for w in [&w1, &w2] {
            client
                .request_cosignature(w, 0, &[], &signed, timeout)
                .await
                .expect("first checkpoint");
        }
        println!(
            "witness cosigning: {rounds} checkpoints per mode, {batch} new leaves each, from {start} \
             leaves; state in {}",
            base.display()
        );
        let (mut one, mut sequential, mut concurrent) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..rounds * 3 {
            let old = log.size;
            log.append(batch);
            let signed = log.signed();
            let proof = log.proof_from(old);
            let t = Instant::now();
            match i % 3 {
                0 => {
                    client
                        .request_cosignature(&w1, old, &proof, &signed, timeout)
                        .await
                        .expect("w1");
                    // Keep w2 in step, untimed.
                    let t1 = t.elapsed();
                    client
                        .request_cosignature(&w2, old, &proof, &signed, timeout)
                        .await
                        .expect("w2");
                    one.push(t1);
                    continue;
                }
                1 => {
                    for w in [&w1, &w2] {
                        client
                            .request_cosignature(w, old, &proof, &signed, timeout)
                            .await
                            .expect("sequential");
                    }
                    sequential.push(t.elapsed());
                }
                _ => {
                    let (a, b) = futures_util::future::join(
                        client.request_cosignature(&w1, old, &proof, &signed, timeout),
                        client.request_cosignature(&w2, old, &proof, &signed, timeout),
                    )
                    .await;
                    a.expect("w1");
                    b.expect("w2");
                    concurrent.push(t.elapsed());
                }
            }
        }
        println!("proof length at the end: {} hashes", log.proof_from(log.size - batch).len());
        report("one witness", one);
        report("two witnesses, one after the other", sequential);
        report("two witnesses, concurrently", concurrent);
    });
}

//! End-to-end tests: the real `vigil` binary, real files, a real HTTP server on loopback.

mod support;

mod browser;
mod capture_files;
mod capture_http;
mod crash;
mod enrich;
mod export;
mod full_disk;
mod log;
mod media;
mod serve;
mod similar;
mod ssrf;
mod tamper;
mod verify;
mod watch;

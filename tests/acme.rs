//! ACME issuance and renewal (feature `acme`) against a real ACME server: Debian's pebble on
//! loopback, one per test (tests/common/pebble.rs). Pebble's validator really connects to our
//! http-01 responder and to a tokio-rustls server whose certificates come from
//! `tls::StoreResolver` (tls-alpn-01); dns-01 goes through challtestsrv's management API. The
//! chains verify with `openssl verify` against pebble's root; the served certificates are read
//! with `openssl s_client`. The command line and the example server's `--acme` too
//! (`cli`). One test binary, one module per file of `tests/acme/`
//! (see CONTRIBUTING.md, "Tests").

mod common;

// The files of tests/acme/.
mod acme {
    mod account;
    mod ari;
    mod cli;
    mod errors;
    mod issue;
    mod limits;
    mod renew;
    mod resume;
}

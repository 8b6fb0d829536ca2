//! The `keymanager` command-line tool (feature `cli`) end to end, with the OpenSSL CLI as the
//! CA: every subcommand, concurrent processes, and (with feature `rustls` too) a running
//! server picking up what it commits. One test binary, one module per file of `tests/cli/`
//! (see CONTRIBUTING.md, "Tests").

mod common;

// The files of tests/cli/.
mod cli {
    mod concurrency;
    mod ecdsa;
    mod faults;
    mod flow;
    mod pkcs12;
    #[cfg(feature = "rustls")]
    mod tls;
}

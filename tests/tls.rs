//! The rustls resolver (feature `rustls`) on loopback with real clients (rustls, and the
//! OpenSSL CLI): SNI and address bindings, hot reload from another process, load, and the
//! `tls_server` example. One test binary, one module per file of `tests/tls/` (see
//! CONTRIBUTING.md, "Tests").

mod common;

// The files of tests/tls/.
mod tls {
    #[cfg(feature = "tokio")]
    mod acceptor;
    mod example;
    mod load;
    mod providers;
    mod reload;
    mod resolver;
}

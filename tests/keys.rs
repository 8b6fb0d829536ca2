//! Keys, distinguished names and certificate requests against the real OpenSSL CLI, and their
//! property tests: one test binary, one module per file of `tests/keys/` (see CONTRIBUTING.md,
//! "Tests").

mod common;

// The files of tests/keys/.
mod keys {
    mod ecdsa_interop;
    mod key_interop;
    mod name_interop;
    mod name_proptest;
    mod request_interop;
    mod request_proptest;
    mod signing_backends;
}

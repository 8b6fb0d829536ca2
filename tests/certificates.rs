//! Certificates: parsing (DER, PEM, PKCS#7), chains, and hostile or mutated input, against
//! CAs run by the real OpenSSL CLI. One test binary, one module per file of
//! `tests/certificates/` (see CONTRIBUTING.md, "Tests").

mod common;

// The files of tests/certificates/.
mod certificates {
    mod chain;
    mod fuzz;
    mod hostile;
    mod parse;
}

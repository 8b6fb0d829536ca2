//! Helpers shared by integration tests: a test CA driven by the OpenSSL CLI, and DER surgery.
#![allow(dead_code)] // each test file uses a different subset

pub mod ca;
pub mod cli;
pub mod der_edit;

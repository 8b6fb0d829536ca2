//! Nothing: the test is in `tests/ring.rs`.

//! ACME issuance and renewal against a real pebble on loopback.

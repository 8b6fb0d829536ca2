//! The key store end to end (file and memory stores, tampering, snapshots, concurrency, crash
//! consistency), the walkthrough's demo CA, and the public API's shapes. One test binary, one
//! module per file of `tests/store/` (see CONTRIBUTING.md, "Tests").

mod common;
// The walkthrough example's demo CA (what `walkthrough_demo_ca` tests), compiled from the
// example's own source: an example cannot be a dependency.
#[path = "../examples/key_manager/demo_ca.rs"]
mod demo_ca;

// The files of tests/store/.
mod store {
    mod api_shapes;
    mod basic;
    mod concurrency;
    mod crash;
    mod ecdsa;
    mod faults;
    mod pkcs12;
    mod power_cut;
    mod snapshot;
    mod state;
    mod tamper;
    mod walkthrough_demo_ca;
}

#!/usr/bin/env bash
# CI's fuzz run (.ci/run calls it): every target for FUZZ_SECONDS (default 8), two at a time,
# from its committed seeds (fuzz/seeds/<target>/, read only) in a throwaway corpus, with a fixed
# mutation seed (FUZZ_SEED, default 1) so that a run is repeatable. A crash (panic), an input
# slower than -timeout, or one past -rss_limit_mb fails it; the failing input is kept in
# fuzz/artifacts/<target>/ (fuzz/README.md: reproduce, minimize).
#
# The build is cargo-fuzz's `cargo fuzz build --sanitizer none`, done by hand with the same
# coverage flags (project.rs of cargo-fuzz 0.13), on the stable toolchain, without installing
# cargo-fuzz, and with the release profile's default codegen units: cargo-fuzz forces one,
# for the fastest fuzzing, which costs build time a run of seconds does not win back. Cold, on
# a 2-CPU machine: 2 min 16 s (with SQLite at -O1, below), where `cargo fuzz build` (ASan, one
# codegen unit) took 4 min 4 s, after `cargo install cargo-fuzz` (1-2 minutes on a fresh
# machine).
# No AddressSanitizer here (it needs nightly or RUSTC_BOOTSTRAP, and doubles the build again):
# the code under test is safe Rust apart from bundled SQLite, which ASan would not instrument
# anyway (it instruments Rust code only). The long runs of fuzz/README.md (`cargo +nightly fuzz
# run`) keep ASan and its leak checker.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-8}
triple=$(rustc -vV | sed -n 's/^host: //p')
flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    -Cllvm-args=-sanitizer-coverage-stack-depth
    --cfg fuzzing
    -Cdebug-assertions
)
bin_dir="${CARGO_TARGET_DIR:-target}/$triple/release"
# --target: the flags reach the fuzz targets and their dependencies, not build scripts.
# SQLite's C at -O1 (its build script passes the profile's opt-level to the C compiler): at
# -O3 it was the build's critical path, 71 s of a 2 min 46 s build on a 2-CPU machine; the long
# runs (fuzz/README.md) keep -O3.
RUSTFLAGS="${flags[*]}" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" \
    cargo build --release --bins --target "$triple" \
    --config 'profile.release.debug="line-tables-only"' \
    --config 'profile.release.package.libsqlite3-sys.opt-level=1'

targets=$(sed -n '/^\[\[bin\]\]/{n;s/^name = "\(.*\)"$/\1/p}' Cargo.toml)
[ -n "$targets" ] || { echo "no fuzz targets found in fuzz/Cargo.toml" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fuzz_one() {
    local target=$1 seeds=seeds/$1
    mkdir -p "$work/$target" "artifacts/$target"
    [ -d "$seeds" ] || seeds=
    # shellcheck disable=SC2086 # $seeds: no directory, no argument
    if "$bin_dir/$target" "$work/$target" $seeds -max_total_time="$seconds" \
        -seed="${FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" >"$work/$target.log" 2>&1; then
        echo "fuzz $target: $(grep -m1 '^Done' "$work/$target.log")"
    else
        echo "fuzz $target FAILED (input kept in fuzz/artifacts/$target/):" >&2
        tail -n 40 "$work/$target.log" >&2
        return 1
    fi
}

failed=0
set -- $targets
while [ $# -gt 0 ]; do
    fuzz_one "$1" &
    first=$!
    second=
    if [ $# -gt 1 ]; then
        fuzz_one "$2" &
        second=$!
    fi
    wait "$first" || failed=1
    if [ -n "$second" ]; then wait "$second" || failed=1; fi
    shift
    if [ $# -gt 0 ]; then shift; fi
done
[ "$failed" = 0 ] || { echo "a fuzz target failed" >&2; exit 1; }

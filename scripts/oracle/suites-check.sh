#!/usr/bin/env bash
# Re-runs the recorded test suites of others (scripts/suites/: Go standard-library tests and
# busybox's testsuite) under live QEMU and under this build of rvisor into a temporary directory
# and compares them with test/suites/ (scripts/suites/compare.mjs): fails when a QEMU outcome
# differs from the recorded one or a test that passes under QEMU fails under rvisor without being
# in test/suites/known-gaps.json. Slow (see docs/suites.md for the wall times); check-all.sh runs
# it only with CHECK_SUITES=1. Arguments are Go packages to limit the Go part to (default: all).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
SUITES_OUT="$out" nice -n 10 node scripts/suites/go-std.mjs "$@"
SUITES_OUT="$out" nice -n 10 scripts/suites/busybox.sh
node scripts/suites/compare.mjs "$out"

#!/bin/bash
# Builds the gotest program as a static linux/riscv64 binary and writes guest/go/gotest.gz.
# Uses the Go toolchain on PATH (Debian bookworm's golang-go, go1.19.8).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${TMPDIR:-/tmp}/rvisor-build/go"
mkdir -p "$OUT"
cd "$HERE"
go version
CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 GOFLAGS=-buildvcs=false \
  go build -trimpath -ldflags=-s -o "$OUT/gotest" .
gzip -9 -n -c "$OUT/gotest" > "$HERE/gotest.gz"
echo "gotest: $(stat -c %s "$OUT/gotest") bytes, sha256 $(sha256sum "$OUT/gotest" | cut -d' ' -f1)"
echo "gotest.gz: $(stat -c %s "$HERE/gotest.gz") bytes, sha256 $(sha256sum "$HERE/gotest.gz" | cut -d' ' -f1)"

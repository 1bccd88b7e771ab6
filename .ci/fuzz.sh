#!/usr/bin/env bash
# Runs every fuzz target for a short time (FUZZTIME each, default 5s):
# spec parser, data selectors and JSON paths, placeholders, naming,
# normalizer (JSON and Go values) and state encoding. Seed corpora live in
# each package's testdata/fuzz/; a failing input is written there too.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=1
FUZZTIME="${FUZZTIME:-5s}"
targets=(
  "./cmd/sluice/internal/spec FuzzSpec"
  "./rest FuzzDataSelector"
  "./rest FuzzPlaceholders"
  "./transform FuzzParsePath"
  "./transform FuzzCompare"
  "./arrowbuf FuzzNormalizeIdentifier"
  "./arrowbuf FuzzNamingIdempotent"
  "./arrowbuf FuzzNormalizeJSON"
  "./arrowbuf FuzzNormalizeItems"
  "./flow FuzzStateRoundTrip"
)
for t in "${targets[@]}"; do
  set -- $t
  echo "fuzz $2 ($1) for $FUZZTIME"
  go test -run XXX -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1"
done

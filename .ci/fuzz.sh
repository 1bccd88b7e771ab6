#!/usr/bin/env bash
# Runs every fuzz target briefly (FUZZTIME each, default 5000 executions: a
# count rather than a duration, since a duration can end while the fuzzer
# minimizes an input and fail with "context deadline exceeded" on a busy
# machine):
# spec parser, data selectors and JSON paths, placeholders, path values,
# big pages parsed in parts against whole pages, raw next-link
# lookup, naming, normalizer (JSON and Go values, hinted coercion), JSON
# text, sluice struct tags, state encoding, serve's search patterns and
# export's JSON strings. Seed corpora live in
# each package's testdata/fuzz/; a failing input is written there too.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=1
FUZZTIME="${FUZZTIME:-5000x}"
targets=(
  "./cmd/sluice/internal/spec FuzzSpec"
  "./rest FuzzDataSelector"
  "./rest FuzzPlaceholders"
  "./internal/jsonpath FuzzRawRootString"
  "./internal/jsonpath FuzzSetFirst"
  "./rest FuzzBigPage"
  "./rest FuzzPathValue"
  "./transform FuzzParsePath"
  "./transform FuzzCompare"
  "./arrowbuf FuzzNormalizeIdentifier"
  "./arrowbuf FuzzNamingIdempotent"
  "./arrowbuf FuzzNormalizeJSON"
  "./arrowbuf FuzzNormalizeItems"
  "./arrowbuf FuzzCoerceHinted"
  "./arrowbuf FuzzAppendJSONText"
  "./arrowbuf FuzzParseTag"
  "./flow FuzzStateRoundTrip"
  "./serve FuzzLikePattern"
  "./cmd/sluice FuzzAppendJSONString"
)
for t in "${targets[@]}"; do
  set -- $t
  echo "fuzz $2 ($1) for $FUZZTIME"
  go test -run XXX -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1"
done

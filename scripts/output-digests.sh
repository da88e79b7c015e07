#!/usr/bin/env bash
# Digests of what `analyze` writes (JSON and table) for every capture in captures/ and,
# when it is beside the checkout, every corpus capture: a refactoring must leave them
# all unchanged. Usage: bash scripts/output-digests.sh > before.txt; change; again > after.txt; diff.
# Damaged captures are included: their error lines and exit status are outputs too.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="bin/tcpsleuth.js"
list() {
  ls captures/*.pcap captures/*.pcapng 2>/dev/null
  if [ -f ../shared/corpus/MANIFEST.tsv ]; then
    grep -v '^#' ../shared/corpus/MANIFEST.tsv | tail -n +2 | cut -f1 | sed 's|^|../shared/corpus/|'
  fi
  [ -n "${BENCH_CAPTURE:-}" ] && echo "$BENCH_CAPTURE"
}
list | while read -r f; do
  for fmt in json table; do
    out=$(COLUMNS=120 node "$BIN" analyze --format "$fmt" --color never "$f" 2>&1; echo "exit $?")
    printf '%s  %s %s\n' "$(printf '%s' "$out" | md5sum | cut -d' ' -f1)" "$fmt" "$f"
  done
done

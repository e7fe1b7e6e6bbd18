#!/usr/bin/env bash
# make bench: runs the benchmarks the issues name, with their peers in the
# same run, and writes BENCHMARKS.md (median of COUNT runs, ratio to peer).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
count=${COUNT:-5}
pairs=scripts/bench-pairs.txt
out=$(mktemp)
stack=scripts/pcsc-stack.sh
if [ -x "$stack" ]; then "$stack" start; trap '"$stack" stop' EXIT; fi
# One go test per package (a sub-benchmark is named by its parent; the raw
# output is kept in bench-output.txt)., with the benchmarks named in the pairs file.
for pkg in $(grep -v '^#' "$pairs" | cut -d'|' -f1 | sort -u); do
  names=$(grep "^$pkg|" "$pairs" | awk -F'|' '{print $2; if ($3 != "") print $3}' | sed 's#/.*##' | sort -u | paste -sd'|')
  echo "== $pkg: $names" >&2
  go test -run '^$' -bench "^($names)\$" -benchmem -count "$count" "./${pkg#posagent/}" | tee -a "$out"
done
go run ./scripts/benchreport -pairs "$pairs" -out BENCHMARKS.md -cmd "make bench (COUNT=$count)" < "$out"
mv "$out" bench-output.txt
echo "wrote BENCHMARKS.md"

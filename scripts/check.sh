#!/usr/bin/env bash
# make check: gofmt, go vet, staticcheck when it can be installed, race tests,
# and go mod tidy leaving no diff.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"

bad=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$bad" ]; then echo "gofmt would change: $bad" >&2; exit 1; fi
go vet ./...
if command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2 2>/dev/null; then
  staticcheck ./...
else
  echo "check: staticcheck not installable here; skipped"
fi
cp go.mod /tmp/go.mod.check; cp go.sum /tmp/go.sum.check
go mod tidy
if ! git diff --quiet -- go.mod go.sum; then
  echo "go mod tidy changes go.mod/go.sum" >&2; git diff -- go.mod go.sum >&2
  cp /tmp/go.mod.check go.mod; cp /tmp/go.sum.check go.sum; exit 1
fi
./scripts/test.sh

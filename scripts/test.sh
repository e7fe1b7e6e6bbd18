#!/usr/bin/env bash
# make test: vet, then every package's tests with the race detector, with a
# real pcscd (vpcd virtual readers) running for the PC/SC integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

stack=scripts/pcsc-stack.sh
if [ -x "$stack" ]; then
  "$stack" start
  trap '"$stack" stop' EXIT
fi

echo "== go vet"
go vet ./...
echo "== CGO_ENABLED=0 build of everything that does not need reader/pcsc (the only cgo)"
CGO_ENABLED=0 go build $(go list -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}' ./... |
  awk '$1 != "posagent/reader/pcsc" && !/ posagent\/reader\/pcsc( |$)/ {print $1}')
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

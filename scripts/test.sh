#!/usr/bin/env bash
# `make test`: formatting, vet, then every test with the race detector, against
# a real PostgreSQL (scripts/postgres.sh starts one when none answers).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')
unformatted=$(gofmt -l "${files[@]}")
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...

scripts/tools.sh
export TASKFLOW_KO="$PWD/.cache/bin/ko"
export TASKFLOW_DAPR_BIN="${TASKFLOW_DAPR_BIN:-$(scripts/dapr.sh)}" # real daprd and scheduler, built once
export TASKFLOW_PG_BIN="${TASKFLOW_PG_BIN:-$(scripts/postgres.sh --binaries)}" # the drills' own cluster
export TASKFLOW_TEST_DATABASE_URL="${TASKFLOW_TEST_DATABASE_URL:-$(scripts/postgres.sh postgres)}"
echo "tests use PostgreSQL at ${TASKFLOW_TEST_DATABASE_URL%%\?*}"

go test -race -shuffle=on -count=1 -timeout 20m ./... "$@"

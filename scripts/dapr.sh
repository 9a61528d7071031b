#!/usr/bin/env bash
# Builds the real daprd and scheduler (Dapr v1.15.0) from the Go module proxy
# into .cache/dapr/bin, once; prints that directory. About 4 minutes on 2 cores.
#
# Checked to run together on loopback like this (the reminders work uses it):
#   scheduler --mode standalone --id scheduler0 --listen-address 127.0.0.1 --port 50006 \
#     --etcd-data-dir DIR --etcd-initial-cluster scheduler0=http://127.0.0.1:52380 --etcd-client-port 52379 \
#     --healthz-port 58081 --metrics-port 59091
#   daprd --app-id ID --app-port APP --app-protocol http --dapr-http-port 53500 --dapr-grpc-port 53501 \
#     --dapr-internal-grpc-port 53502 --metrics-port 59092 --scheduler-host-address 127.0.0.1:50006 \
#     --resources-path EMPTY_DIR --placement-host-address ""
# A job scheduled again under the same name replaces the first; dueTime takes RFC 3339; daprd calls the
# app back with POST /job/<name> and the job's data as the body.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v1.15.0
out=$root/.cache/dapr/bin
if [ -x "$out/daprd" ] && [ -x "$out/scheduler" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$version" ]; then
	echo "$out"
	exit 0
fi
echo "dapr.sh: building daprd and scheduler $version (once, a few minutes)" >&2
dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/dapr/dapr@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "dapr.sh: could not download github.com/dapr/dapr@$version" >&2; exit 1; }
src=$root/.cache/dapr/src
rm -rf "$src"
mkdir -p "$src" "$out"
cp -r "$dir"/. "$src"/
chmod -R u+w "$src"
(cd "$src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -tags stablecomponents -o "$out/" ./cmd/daprd ./cmd/scheduler) >&2
echo "$version" >"$out/.version"
echo "$out"

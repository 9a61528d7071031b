#!/usr/bin/env bash
# Installs the pinned build tools TaskFlow's tests use into .cache/bin, once:
# ko (image builds). Prints nothing on success.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.cache/bin
mkdir -p "$bin"
ko_version=v0.19.1
if [ ! -x "$bin/ko" ] || [ "$(cat "$bin/.ko-version" 2>/dev/null)" != "$ko_version" ]; then
	echo "tools.sh: building ko $ko_version into .cache/bin" >&2
	(cd /tmp && GOFLAGS= GOBIN="$bin" go install "github.com/google/ko@$ko_version")
	echo "$ko_version" >"$bin/.ko-version"
fi

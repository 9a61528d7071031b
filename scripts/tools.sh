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

# kcat, an independent (librdkafka) Kafka client the end-to-end test reads
# topics with; optional: the test says so when it is missing.
if ! command -v kcat >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tools.sh: installing Debian's kcat" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq kcat >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq kcat >/dev/null 2>&1; } ||
		echo "tools.sh: kcat not installable; skipping the interoperability check" >&2
fi
exit 0

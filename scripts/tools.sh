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
	(cd /tmp && GOFLAGS='' GOBIN="$bin" go install "github.com/google/ko@$ko_version")
	echo "$ko_version" >"$bin/.ko-version"
fi

# Optional Debian tools, installed when we can (root with apt); the tests say
# so when one is missing: kcat, an independent (librdkafka) Kafka client the
# end-to-end test reads topics with, and shellcheck for the scripts.
for tool in kcat shellcheck; do
	if ! command -v "$tool" >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "tools.sh: installing Debian's $tool" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq "$tool" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$tool" >/dev/null 2>&1; } ||
			echo "tools.sh: $tool not installable; its check is skipped" >&2
	fi
done
exit 0

#!/usr/bin/env bash
# Prints the local stack's HS256 dev secret, made once and kept in .cache/ so
# that dev tokens survive restarts. Never used when TASKFLOW_AUTH_SECRET is set.
set -euo pipefail
f="$(cd "$(dirname "$0")/.." && pwd)/.cache/dev-secret"
if [ ! -s "$f" ]; then
	mkdir -p "$(dirname "$f")"
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
fi
cat "$f"

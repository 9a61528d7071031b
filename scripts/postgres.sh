#!/usr/bin/env bash
# Prints the base URL of a PostgreSQL server that answers, starting one if needed:
#   1. $DATABASE_URL when set (used as is);
#   2. a server on 127.0.0.1:5432 (trust auth, user postgres);
#   3. else a throwaway cluster under .cache/pg on 127.0.0.1:$TASKFLOW_PG_PORT (55432),
#      made with the system's initdb/pg_ctl, installing Debian's postgresql when missing.
# The database named by $1 (default taskflow) is created on first use by the Go side.
# `postgres.sh --binaries` prints the server binaries' directory instead (installing
# them when missing): the fault drills run a PostgreSQL cluster of their own.
set -euo pipefail
db=${1:-taskflow}
root=$(cd "$(dirname "$0")/.." && pwd)

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
ensure_bin() {
	bin=$(pgbin)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		echo "postgres.sh: installing Debian's postgresql (no initdb found)" >&2
		if [ "$(id -u)" -ne 0 ]; then
			echo "postgres.sh: need root to install postgresql; or set DATABASE_URL" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
		bin=$(pgbin)
	fi
}

if [ "$db" = "--binaries" ]; then
	ensure_bin
	echo "$bin"
	exit 0
fi

if [ -n "${DATABASE_URL:-}" ]; then
	echo "$DATABASE_URL"
	exit 0
fi

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if answers 5432; then
	echo "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
	exit 0
fi

port=${TASKFLOW_PG_PORT:-55432}
dir=$root/.cache/pg
if answers "$port"; then
	echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"
	exit 0
fi

ensure_bin

# initdb refuses to run as root: run the cluster as the postgres user then.
as=()
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
	as=(runuser -u postgres --)
fi
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir" && chmod 700 "$dir"
if [ ! -f "$dir/PG_VERSION" ]; then
	echo "postgres.sh: creating a throwaway cluster in $dir" >&2
	"${as[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi
"${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
	-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"

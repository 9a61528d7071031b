#!/usr/bin/env bash
# Installs the pinned build tools TaskFlow's tests use into .cache/bin, once:
# ko (image builds), and Debian packages some tests use (kcat, shellcheck,
# chromium, python3-dateutil, python3-icalendar). Prints nothing on success.
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

# Headless Chromium for the web app's browser tests (pkg/web/browser_test.go,
# driven with chromedp); they are skipped, saying so, when it is missing.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tools.sh: installing Debian's chromium (the browser tests)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } ||
		echo "tools.sh: chromium not installable; the browser tests are skipped" >&2
fi

# The wall-clock oracle (pkg/recurrence/oracle_test.go, scripts/rrule-oracle.py)
# needs a python3 with python-dateutil and zoneinfo data: Debian's
# python3-dateutil and tzdata, when no python3 on the PATH has them.
has_oracle() {
	for py in python3 /usr/bin/python3; do
		"$py" -c 'import dateutil.rrule, zoneinfo; zoneinfo.ZoneInfo("America/Los_Angeles")' >/dev/null 2>&1 && return 0
	done
	return 1
}
if ! has_oracle && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tools.sh: installing Debian's python3-dateutil and tzdata (the recurrence oracle)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq python3 python3-dateutil tzdata >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq python3 python3-dateutil tzdata >/dev/null 2>&1; } ||
		echo "tools.sh: python3-dateutil not installable; the recurrence oracle test is skipped" >&2
fi
# The calendar feed's independent parser (pkg/handlers/calendar_ics_test.go):
# Debian's /usr/bin/python3 with python3-icalendar and python3-dateutil. The
# test fails under CI=true when they are missing, so install them here.
if ! /usr/bin/python3 -c 'import icalendar, dateutil.rrule' >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tools.sh: installing Debian's python3-icalendar and python3-dateutil (the calendar feed's parser)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends python3 python3-icalendar python3-dateutil tzdata >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends python3 python3-icalendar python3-dateutil tzdata >/dev/null 2>&1; } ||
		echo "tools.sh: python3-icalendar not installable; the calendar feed's parser test fails under CI" >&2
fi
exit 0

#!/usr/bin/env bash
# test/soak/run.sh: the soak test with faults (see README.md here and the
# header of soak.py).  Not part of test/run.sh; takes about 5 to 10 minutes.
#
# Usage: bash test/soak/run.sh [options of soak.py, e.g. --logins 20000]
#
# Uses the installed extension and login-anomaly-mailer (or the mailer
# built in src/mailer/), a throwaway cluster from test/lib/cluster.sh and
# an SMTP sink on 127.0.0.1.  The last line is "N passed, N failed".

set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"

passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-soak.XXXXXX")
chmod 755 "$work"

finish()
{
	la_stop_cluster
	if [ "$failed" -eq 0 ]; then
		rm -rf -- "$work"
	else
		echo "kept $work (mailer.log, saved e-mails)"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
trap finish EXIT

mailer=$("$LA_PG_CONFIG" --bindir)/login-anomaly-mailer
if [ ! -x "$mailer" ]; then
	mailer=$ROOT/src/mailer/login-anomaly-mailer
fi
if [ ! -x "$mailer" ]; then
	echo "FAIL: soak: no login-anomaly-mailer; run make (and make install) first"
	failed=1
	exit 1
fi

if ! la_start_cluster; then
	echo "FAIL: soak: start the cluster"
	failed=1
	exit 1
fi

"$LA_PYTHON" -u "$ROOT/test/soak/soak.py" --work "$work" --mailer "$mailer" "$@" 2>&1 |
	tee "$work/soak.log"
passed=$(grep -c '^PASS: ' "$work/soak.log")
failed=$(grep -c '^FAIL: ' "$work/soak.log")
if [ $((passed + failed)) -eq 0 ]; then
	failed=1
	echo "FAIL: soak: soak.py printed no result"
fi

if la_server_log_has_crash; then
	echo "FAIL: soak: the server log shows a crashed backend"
	grep -E -B2 -A2 'terminated by signal|PANIC|server process .* was terminated' "$LA_SERVER_LOG" | head -n 20
	failed=$((failed + 1))
else
	echo "PASS: soak: the server log shows no crashed backend"
	passed=$((passed + 1))
fi

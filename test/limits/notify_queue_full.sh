#!/usr/bin/env bash
# test/limits/notify_queue_full.sh: fill PostgreSQL's real NOTIFY queue and
# check what check_login does with the default settings.
#
# Usage: bash test/limits/notify_queue_full.sh
#
# Not part of the fast suite: it writes about 8 GB under the cluster's
# pg_notify directory (check the free space of TMPDIR first) and takes some
# minutes.  Steps, on a throwaway cluster from test/lib/cluster.sh:
#   1. a session LISTENs and stays inside a transaction, so the queue
#      cannot be emptied past it;
#   2. other sessions send distinct 7,900-byte notifications until
#      pg_notify fails with "too many notifications in the NOTIFY queue";
#   3. an unusual login is inserted into a table with check_login: it must
#      commit, with its alert in the outbox, the WARNING that NOTIFY was
#      skipped, and notify_skipped = 1 in trigger_stats();
#   4. a plain NOTIFY of the same session fails at commit, which shows the
#      queue really was full.
# The last line is "N passed, N failed".

set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"

passed=0
failed=0
pass()
{
	echo "PASS: notify_queue_full: $1"
	passed=$((passed + 1))
}
fail()
{
	echo "FAIL: notify_queue_full: $1${2:+: $2}"
	failed=$((failed + 1))
}
finish()
{
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
q() { psql -qXAt -v ON_ERROR_STOP=1 -d la_queue "$@"; }

la_start_cluster || { fail "start the cluster"; finish; }
psql -qX -d postgres -c "CREATE DATABASE la_queue" >/dev/null || { fail "create database"; finish; }
q >/dev/null <<'SQL' || { fail "set up the logins table"; finish; }
CREATE EXTENSION login_anomaly;
CREATE TABLE logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamptz, ip inet,
  country text, region text, city text, user_agent text);
INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent)
SELECT 'alice', '2026-10-01 14:00+00'::timestamptz + i * interval '1 day', '198.51.100.7',
       'US', 'New York', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM generate_series(1, 40) i;
SELECT login_anomaly.train('logins');
CREATE TRIGGER check_login AFTER INSERT ON logins FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
SQL

# 1. The holder: LISTEN, then a transaction that stays open until killed
holder_fifo=$(mktemp -u)
mkfifo "$holder_fifo"
psql -qX -d la_queue <"$holder_fifo" >/dev/null 2>&1 &
holder=$!
exec 7>"$holder_fifo"
echo "LISTEN login_anomaly; LISTEN la_fill; BEGIN; SELECT 1;" >&7

# 2. Fill: 20,000 notifications of 7,900 bytes per transaction (about 160 MB)
start=$(date +%s)
batch=0
while :; do
	if ! out=$(q -c "SELECT pg_notify('la_fill', $batch::text || '.' || i::text || repeat('x', 7900))
	                 FROM generate_series(1, 20000) i" 2>&1); then
		if [[ $out == *"too many notifications"* ]]; then
			break
		fi
		fail "fill the queue" "$out"
		finish
	fi
	batch=$((batch + 1))
	if [ $((batch % 10)) -eq 0 ]; then
		echo "# $((batch * 20000)) notifications, queue $(q -c "SELECT round(pg_notification_queue_usage()::numeric * 100, 1)")% full"
	fi
done
usage=$(q -c "SELECT pg_notification_queue_usage()")
echo "# queue full after $((batch * 20000)) notifications in $(($(date +%s) - start)) s; pg_notification_queue_usage() = $usage"
awk -v u="$usage" 'BEGIN { exit !(u > 0.9) }' && pass "the queue is more than 90% full ($usage)" ||
	fail "the queue is more than 90% full" "$usage"

# 3. An unusual login commits, with its alert, and no NOTIFY
out=$(q 2>&1 <<'SQL'
INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent)
VALUES ('alice', '2026-11-20 03:00+00', '176.36.1.5', 'UA', 'Kyiv City', 'Kyiv',
        'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0');
SELECT 'skipped=' || notify_skipped FROM login_anomaly.trigger_stats();
SQL
)
status=$?
[ "$status" -eq 0 ] && pass "the unusual login commits" || fail "the unusual login commits" "$out"
[[ $out == *"skipped NOTIFY for alert"* ]] && pass "a WARNING says NOTIFY was skipped" ||
	fail "a WARNING says NOTIFY was skipped" "$out"
[[ $out == *"skipped=1"* ]] && pass "trigger_stats() counts the skipped NOTIFY" ||
	fail "trigger_stats() counts the skipped NOTIFY" "$out"
stored=$(q -c "SELECT count(*) FROM logins WHERE ts = '2026-11-20 03:00+00'")
[ "$stored" = 1 ] && pass "the login is stored" || fail "the login is stored" "$stored"
alerts=$(q -c "SELECT count(*) FROM login_anomaly.alerts WHERE login_ts = '2026-11-20 03:00+00' AND status = 'pending'")
[ "$alerts" = 1 ] && pass "its alert is pending in the outbox" || fail "its alert is pending in the outbox" "$alerts"

# 4. Without the trigger's check, the same commit would have failed
if out=$(q -c "NOTIFY login_anomaly, 'one more'" 2>&1); then
	fail "a plain NOTIFY fails on the full queue" "it succeeded"
else
	[[ $out == *"too many notifications"* ]] && pass "a plain NOTIFY fails on the full queue" ||
		fail "a plain NOTIFY fails on the full queue" "$out"
fi

exec 7>&-
kill "$holder" 2>/dev/null
rm -f "$holder_fifo"
la_server_log_has_crash && fail "server log shows a crashed backend" || pass "server log shows no crashed backend"
la_stop_cluster
finish

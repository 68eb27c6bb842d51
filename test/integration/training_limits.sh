#!/usr/bin/env bash
# la-test: slow
# Training a user with a million logins: the aggregate keeps at most twice
# login_anomaly.max_training_logins logins and trains on the most recent
# max_training_logins, so the backend's peak memory grows by a bounded
# amount whatever the history, and the model contains the most recent logins.
# The time is printed, not asserted.
set -u
db=la_it_training_limits
export PGOPTIONS="-c client_min_messages=warning"
failed=0
# Private memory a training may add to the backend, in kB: the state
# at the largest setting is 20,000 logins of well under 1 kB each
bound_kb=$((96 * 1024))

pass() { echo "PASS: training_limits: $1"; }
fail()
{
	echo "FAIL: training_limits: $1${2:+: $2}"
	failed=1
}
q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$@"; }

q postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || { fail "create database"; exit 1; }
if ! q "$db" >/dev/null 2>&1 <<'SQL'; then
CREATE EXTENSION login_anomaly;
CREATE TABLE logins (user_id text, ts timestamptz, ip inet, country text, region text,
  city text, user_agent text, lat float8, lon float8);
INSERT INTO logins
SELECT 'million', '2020-01-01 00:00+00'::timestamptz + i * interval '3 minutes',
       ('10.' || (i % 7) || '.' || (i % 200) || '.' || (i % 250))::inet,
       'US', 'New York', 'New York',
       CASE i % 3
         WHEN 0 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
         WHEN 1 THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'
         ELSE 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0' END,
       40.7 + (i % 10) * 0.01, -74.0
FROM generate_series(1, 1000000) i;
INSERT INTO logins VALUES ('small', '2026-01-01 10:00+00', '192.0.2.1', 'DE', 'Berlin', 'Berlin', NULL, NULL, NULL);
ANALYZE logins;
SQL
	fail "load a million logins"
	exit 1
fi

for max in 500 10000; do
	# A session that reports its pid, waits for the peak to be read, then trains
	out=$(mktemp)
	{
		q "$db" -c "SET login_anomaly.max_training_logins = $max" \
			-c "SELECT pg_backend_pid()" -c "SELECT pg_sleep(1)" \
			-c "SELECT extract(epoch FROM clock_timestamp())" \
			-c "SELECT login_anomaly.train('logins')" \
			-c "SELECT extract(epoch FROM clock_timestamp())" \
			-c "SELECT pg_sleep(1)" \
			-c "SELECT logins FROM login_anomaly.models WHERE user_id = 'million'" \
			-c "SELECT min(ts) = (SELECT min(ts) FROM (SELECT ts FROM logins WHERE user_id = 'million' ORDER BY ts DESC LIMIT $max) r)
			    FROM (SELECT ts FROM logins WHERE user_id = 'million' ORDER BY ts DESC LIMIT $max) t"
	} >"$out" 2>&1 &
	session=$!
	pid=
	for _ in $(seq 50); do
		pid=$(head -n 1 "$out" 2>/dev/null)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	# RssAnon, the backend's private memory: VmRSS would also count the
	# shared buffers that the scan of the table touches
	before=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	peak=${before:-0}
	while kill -0 "$session" 2>/dev/null; do
		now=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		if [ -n "$now" ] && [ "$now" -gt "$peak" ]; then
			peak=$now
		fi
		sleep 0.05
	done
	wait "$session"
	status=$?
	mapfile -t lines <"$out"
	rm -f "$out"
	if [ "$status" -ne 0 ] || [ "${#lines[@]}" -lt 8 ]; then
		fail "max_training_logins=$max: train() of a million logins" "${lines[*]}"
		continue
	fi
	seconds=$(awk -v a="${lines[2]}" -v b="${lines[4]}" 'BEGIN { printf "%.1f", b - a }')
	growth=$((${peak:-0} - ${before:-0}))
	echo "# max_training_logins=$max: train() of 1,000,001 logins took ${seconds} s; backend private memory (RssAnon, sampled every 50 ms) ${before:-?} kB before, at most ${peak:-?} kB during (+${growth} kB)"
	if [ "${lines[3]}" = "2" ]; then
		pass "max_training_logins=$max: both users trained"
	else
		fail "max_training_logins=$max: both users trained" "train() returned '${lines[3]}'"
	fi
	if [ "${lines[6]}" = "$max" ]; then
		pass "max_training_logins=$max: the model holds $max logins"
	else
		fail "max_training_logins=$max: the model holds $max logins" "it holds '${lines[6]}'"
	fi
	if [ "${lines[7]}" = "t" ]; then
		pass "max_training_logins=$max: the kept logins are the most recent"
	else
		fail "max_training_logins=$max: the kept logins are the most recent" "${lines[7]}"
	fi
	if [ -n "$before" ] && [ -n "$peak" ] && [ "$growth" -le "$bound_kb" ]; then
		pass "max_training_logins=$max: peak memory grows by at most $((bound_kb / 1024)) MB"
	else
		fail "max_training_logins=$max: peak memory grows by at most $((bound_kb / 1024)) MB" \
			"before ${before:-?} kB, peak ${peak:-?} kB"
	fi
done

q postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
exit $failed

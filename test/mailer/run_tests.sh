#!/bin/bash
# Tests of login-anomaly-mailer against a real PostgreSQL 15 and a real SMTP
# server (aiosmtpd) on 127.0.0.1.
#
# With PGHOST (and optionally PGPORT, PGUSER) set, the tests use that
# running cluster: they create a fresh database, try CREATE EXTENSION
# login_anomaly there and fall back to creating the alert table from
# sql/login_anomaly--0.1.0.sql.  Without PGHOST they start their own
# throwaway cluster as the postgres system user.  The last line of output is
# "N passed, N failed".
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# LA_MAILER_BIN runs the tests against another build of the mailer, or a
# wrapper that runs it under valgrind; it is used as is, never rebuilt.
MAILER=${LA_MAILER_BIN:-$ROOT/src/mailer/login-anomaly-mailer}
PY=/usr/bin/python3
PGBIN=/usr/lib/postgresql/15/bin
PASSED=0
FAILED=0
SINK_PID=
OWN_CLUSTER=no

WORK=$(mktemp -d /tmp/mailer-test.XXXXXX)
chmod 755 "$WORK"
MAILDIR=$WORK/mail
mkdir -p "$MAILDIR"

log() { echo "# $*"; }

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }

fail() { FAILED=$((FAILED + 1)); echo "not ok - $1${2:+: $2}"; }

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cleanup() {
	# Only this shell's own background jobs: mailers and the SMTP sink
	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$OWN_CLUSTER" = yes ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m immediate stop >/dev/null 2>&1
	elif [ -n "${DBNAME:-}" ]; then
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- setup

if [ -z "${LA_MAILER_BIN:-}" ] &&
	{ [ ! -x "$MAILER" ] || [ -n "$(find "$ROOT/src/mailer" -name '*.[ch]' -newer "$MAILER")" ]; }; then
	make -s -C "$ROOT/src/mailer" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi

if [ -n "${PGHOST:-}" ]; then
	DBNAME=mailer_test_$$
	createdb "$DBNAME" || { echo "could not create database $DBNAME"; echo "0 passed, 1 failed"; exit 1; }
	CONNINFO="host=$PGHOST port=${PGPORT:-5432} user=${PGUSER:-$(id -un)} dbname=$DBNAME"
else
	OWN_CLUSTER=yes
	PGPORT_OWN=$(free_port)
	mkdir -p "$WORK/sock"
	mkdir -p "$WORK/pgdata"
	chown postgres "$WORK/sock" "$WORK/pgdata"
	runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pgdata" -U postgres --auth=trust \
		-E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; echo "0 passed, 1 failed"; exit 1; }
	start_cluster() {
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/sock/pg.log" -w \
			-o "-c listen_addresses=127.0.0.1 -p $PGPORT_OWN -k $WORK/sock" start >/dev/null
	}
	start_cluster || { cat "$WORK/sock/pg.log"; echo "0 passed, 1 failed"; exit 1; }
	DBNAME=mailer_test
	CONNINFO="host=127.0.0.1 port=$PGPORT_OWN user=postgres dbname=$DBNAME"
	psql -X -q "host=127.0.0.1 port=$PGPORT_OWN user=postgres dbname=postgres" -c "CREATE DATABASE $DBNAME"
fi
export MAILER_TEST_CONNINFO=$CONNINFO

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$CONNINFO" "$@"; }

# MAILER_TEST_NO_EXTENSION=1 tests the fallback even where the extension is installed
if [ -z "${MAILER_TEST_NO_EXTENSION:-}" ] && sql -c "CREATE EXTENSION login_anomaly" >/dev/null 2>&1; then
	log "using the installed login_anomaly extension"
else
	# The extension is not installed: create its outbox table from the install script
	log "extension not available, creating login_anomaly.alerts from the install script"
	awk '/^CREATE TABLE login_anomaly.alerts \(/ { on = 1 }
		on { print } on && /^\);/ { on = 0 }
		/^CREATE INDEX alerts_/ { idx = 1 } idx { print } idx && /;$/ { idx = 0 }' \
		"$ROOT/sql/login_anomaly--0.1.0.sql" >"$WORK/alerts.sql"
	grep -q 'CREATE TABLE login_anomaly.alerts' "$WORK/alerts.sql" ||
		{ echo "could not extract the alert table"; echo "0 passed, 1 failed"; exit 1; }
	sql -c "CREATE SCHEMA login_anomaly" -f "$WORK/alerts.sql" || { echo "0 passed, 1 failed"; exit 1; }
fi

# The service's own user table, read through --user-address-query
sql <<'EOF'
CREATE TABLE public.app_users (user_id text PRIMARY KEY, email text, time_zone text);
INSERT INTO public.app_users VALUES
	('alice', 'alice@example.test', 'Europe/Zurich'),
	('mallory', E'victim@example.test\r\nBcc: evil@example.test', NULL),
	('stormy', 'stormy@example.test', 'Asia/Tokyo');
-- A hostile now() that an unqualified call would find before pg_catalog's
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'infinity'::timestamptz $$;
EOF
sql -c "ALTER DATABASE $DBNAME SET search_path = hostile, pg_catalog, public" >/dev/null

SMTP_PORT=$(free_port)
start_sink() {
	$PY "$HERE/smtp_sink.py" --port "$SMTP_PORT" --dir "$MAILDIR" "$@" >>"$WORK/sink.log" 2>&1 &
	SINK_PID=$!
	for _ in $(seq 50); do
		$PY -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 0.2)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
stop_sink() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
	SINK_PID=
}

COMMON=(--dbname="$CONNINFO" --smtp-url="smtp://127.0.0.1:$SMTP_PORT"
	--from="Login Wächter <alerts@example.test>" --to=security@example.test
	--user-address-query="SELECT email, time_zone FROM public.app_users WHERE user_id = \$1"
	--message-id-domain=mailer.test)

# Start a mailer in the background; its log goes to $WORK/mailer-N.log
start_mailer() {
	local n=$1
	shift
	"$MAILER" "${COMMON[@]}" "$@" >>"$WORK/mailer-$n.log" 2>&1 &
	LAST_MAILER=$!
}

stop_mailer() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	STOP_RC=$?
}

mail_count() { find "$MAILDIR" -name '*.json' | wc -l; }

# Wait until at least $1 e-mails arrived, up to $2 seconds
wait_mail() {
	local deadline=$((SECONDS + $2))
	while [ "$(mail_count)" -lt "$1" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
	[ "$(mail_count)" -ge "$1" ]
}

# Wait until the file $1 contains the fixed string $2, up to $3 seconds
wait_log() {
	local deadline=$((SECONDS + $3))
	while ! grep -qF -- "$2" "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
	grep -qF -- "$2" "$1" 2>/dev/null
}

# Wait until the SQL condition $1 is true, up to $2 seconds
wait_sql() {
	local deadline=$((SECONDS + $2))
	while [ "$(sql -c "SELECT ($1)")" != t ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	[ "$(sql -c "SELECT ($1)")" = t ]
}

reset_state() {
	rm -f "$MAILDIR"/*
	sql -c "TRUNCATE login_anomaly.alerts"
}

# Insert an anomaly alert for user $1 and print its id
insert_alert() {
	sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, ip, country, region, city,
			browser, os, device, score, threshold, risk, reasons)
		VALUES ('$1', '2026-03-01 12:30:00+00', '198.51.100.20', 'DE', 'Berlin', 'Berlin',
			'Chrome', 'Windows', 'desktop', 0.7, 0.5, 'medium', '{new network}')
		RETURNING alert_id"
}

start_sink || { echo "SMTP sink did not start"; cat "$WORK/sink.log"; echo "0 passed, 1 failed"; exit 1; }

# ---------------------------------------------------------------- cases

log "usage errors exit 1 and never echo a password in the URL"
out=$("$MAILER" --bogus 2>&1); rc=$?
[ $rc -eq 1 ] && pass "unknown option exits 1" || fail "unknown option exits 1" "rc=$rc"
out=$("$MAILER" --to=a@example.test 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $out == *"missing --from"* ]] && pass "missing --from exits 1" || fail "missing --from exits 1" "rc=$rc $out"
out=$("$MAILER" --from=a@example.test --to=b@example.test --smtp-url=smtp://u:s3cretpw@127.0.0.1 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $out != *s3cretpw* ]] && pass "credentials in URL rejected unechoed" || fail "credentials in URL rejected unechoed" "rc=$rc $out"
out=$("$MAILER" --from=a@example.test --to='b@example.test>, c' --smtp-url=smtp://127.0.0.1 2>&1); rc=$?
[ $rc -eq 1 ] && pass "invalid --to exits 1" || fail "invalid --to exits 1" "rc=$rc"
out=$("$MAILER" --help); rc=$?
[ $rc -eq 0 ] && [[ $out == *--storm-window* ]] && pass "--help exits 0" || fail "--help exits 0" "rc=$rc"

log "one alert and one scoring failure are mailed with the right headers and body"
reset_state
start_mailer 1 --poll-interval=30
MAILER1=$LAST_MAILER
sleep 0.5
t0=$(date +%s.%N)
ALERT=$(sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, ip, country, region, city,
		user_agent, browser, os, device, score, threshold, risk, reasons)
	VALUES ('alice', '2026-03-01 12:30:00+00', '203.0.113.7', 'CH', 'Zürich', 'Zürich',
		'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
		'Firefox', 'Linux', 'desktop', 0.931, 0.5, 'high',
		'{\"new country CH\",\"device Firefox on Linux never seen\"}')
	RETURNING alert_id")
sql -c "NOTIFY login_anomaly, '{\"alert_id\": $ALERT}'"
wait_mail 1 10
t1=$(date +%s.%N)
FAILED_ALERT=$(sql -c "INSERT INTO login_anomaly.alerts (kind, user_id, login_ts, error)
	VALUES ('scoring_failed', 'carol', '2026-03-01 12:00:00+00', 'model for user carol is corrupt')
	RETURNING alert_id")
sql -c "NOTIFY login_anomaly"
wait_mail 2 10
LATENCY=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")
log "NOTIFY to delivered e-mail: ${LATENCY} s"
if out=$($PY "$HERE/check_mail.py" basic "$MAILDIR" "$ALERT" "$FAILED_ALERT" mailer.test); then
	pass "e-mail headers and body"
else
	fail "e-mail headers and body" "$out"
fi
grep -q "alert $ALERT sent to 2 recipients as <login-anomaly-alert-$ALERT@mailer.test>" "$WORK/mailer-1.log" &&
	pass "log line names the sent alert" || fail "log line names the sent alert"

log "alerts committed while the mailer is stopped are mailed when it starts"
stop_mailer "$MAILER1"
[ "$STOP_RC" -eq 0 ] && pass "SIGTERM exits 0" || fail "SIGTERM exits 0" "rc=$STOP_RC"
grep -q "received signal 15, stopping" "$WORK/mailer-1.log" && pass "SIGTERM is logged" || fail "SIGTERM is logged"
reset_state
IDS=$(for u in u1 u2 u3; do insert_alert "$u"; done | paste -sd,)
start_mailer 1
MAILER1=$LAST_MAILER
wait_mail 3 10
sleep 0.5
out=$($PY "$HERE/check_mail.py" ids "$MAILDIR" "$IDS") && pass "backlog of 3 mailed at start" || fail "backlog of 3 mailed at start" "$out"

log "SMTP server down: attempts are counted, everything arrives once it is back"
stop_mailer "$MAILER1"
reset_state
stop_sink
start_mailer 1 --retry-delay=1 --retry-max-delay=2
MAILER1=$LAST_MAILER
IDS=$(for u in d1 d2; do insert_alert "$u"; done | paste -sd,)
sql -c "NOTIFY login_anomaly"
if wait_sql "(SELECT pg_catalog.min(attempts) FROM login_anomaly.alerts) >= 2" 15; then
	pass "failed attempts recorded while SMTP is down"
else
	fail "failed attempts recorded while SMTP is down" "$(sql -c 'SELECT alert_id, attempts, last_error FROM login_anomaly.alerts')"
fi
LAST_ERROR=$(sql -c "SELECT last_error FROM login_anomaly.alerts LIMIT 1")
[[ $LAST_ERROR == SMTP* ]] && pass "last_error stored" || fail "last_error stored" "$LAST_ERROR"
start_sink
wait_mail 2 15
sleep 0.5
out=$($PY "$HERE/check_mail.py" ids "$MAILDIR" "$IDS") && pass "delivered after SMTP returns" || fail "delivered after SMTP returns" "$out"
[ "$(sql -c "SELECT pg_catalog.count(*) FROM login_anomaly.alerts WHERE status = 'sent' AND attempts >= 2")" = 2 ] &&
	pass "sent rows keep their attempt count" || fail "sent rows keep their attempt count"
[ "$(sql -c "SELECT pg_catalog.count(*) FROM login_anomaly.alerts WHERE status = 'sent' AND last_error IS NULL")" = 2 ] &&
	pass "sent rows clear last_error" || fail "sent rows clear last_error" "$(sql -c 'SELECT alert_id, status, last_error FROM login_anomaly.alerts')"
grep -q "not sent (attempt 1 of 10), retrying at" "$WORK/mailer-1.log" && pass "retry is logged" || fail "retry is logged"
stop_mailer "$MAILER1"

log "an alert is marked failed after --max-attempts"
reset_state
DEAD_PORT=$(free_port)
"$MAILER" "${COMMON[@]}" --smtp-url="smtp://127.0.0.1:$DEAD_PORT" --max-attempts=2 --retry-delay=1 \
	>>"$WORK/mailer-2.log" 2>&1 &
DEAD_MAILER=$!
ID=$(insert_alert f1)
sql -c "NOTIFY login_anomaly"
if wait_sql "(SELECT status = 'failed' AND attempts = 2 FROM login_anomaly.alerts WHERE alert_id = $ID)" 15; then
	pass "status failed after max attempts"
else
	fail "status failed after max attempts" "$(sql -c "SELECT status, attempts FROM login_anomaly.alerts")"
fi
grep -q "alert $ID failed after 2 attempts, giving up" "$WORK/mailer-2.log" && pass "giving up is logged" || fail "giving up is logged"
stop_mailer "$DEAD_MAILER"

log "two mailers at once on 200 alerts: each mailed exactly once"
reset_state
start_mailer 3 --storm-window=300
M3=$LAST_MAILER
start_mailer 4 --storm-window=300
M4=$LAST_MAILER
sleep 0.5
t0=$(date +%s.%N)
IDS=$(sql -c "INSERT INTO login_anomaly.alerts (user_id, city, country, reasons)
	SELECT 'user' || i, 'Lyon', 'FR', '{new city}' FROM generate_series(1, 200) i
	RETURNING alert_id; NOTIFY login_anomaly" | paste -sd,)
wait_mail 200 60
t1=$(date +%s.%N)
sleep 1
log "200 alerts with two mailers: $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s"
out=$($PY "$HERE/check_mail.py" ids "$MAILDIR" "$IDS") && pass "200 alerts, no duplicates" || fail "200 alerts, no duplicates" "$out"
[ "$(sql -c "SELECT pg_catalog.count(*) FROM login_anomaly.alerts WHERE status = 'sent'")" = 200 ] &&
	pass "all 200 marked sent" || fail "all 200 marked sent"
N3=$(grep -c " sent to " "$WORK/mailer-3.log")
N4=$(grep -c " sent to " "$WORK/mailer-4.log")
log "mailer A sent $N3, mailer B sent $N4"
[ "$N3" -gt 0 ] && [ "$N4" -gt 0 ] && pass "both mailers took part" || fail "both mailers took part" "$N3 and $N4"

log "header injection through alert fields and the user's address"
reset_state
ID=$(sql -c "INSERT INTO login_anomaly.alerts (user_id, city, country, browser, os, reasons)
	VALUES ('mallory', E'Paris\r\nBcc: evil@example.test', E'\x1b[31mFR', E'Firefox\r\n\r\nX-Evil: 1', 'Linux',
		ARRAY[E'reason one\r\nSubject: fake', E'\r\n.\r\nMAIL FROM:<evil@example.test>'])
	RETURNING alert_id")
sql -c "NOTIFY login_anomaly"
wait_mail 1 10
sleep 0.5
out=$($PY "$HERE/check_mail.py" injection "$MAILDIR" "$ID") && pass "no header injection" || fail "no header injection" "$out"
grep -q "alert $ID: invalid address" "$WORK/mailer-3.log" "$WORK/mailer-4.log" &&
	pass "invalid user address logged" || fail "invalid user address logged"
stop_mailer "$M3"
stop_mailer "$M4"

log "a storm of 500 alerts for one user gives a handful of e-mails"
reset_state
export STORM_WINDOW=3
start_mailer 5 --storm-window=3
M5=$LAST_MAILER
start_mailer 6 --storm-window=3
M6=$LAST_MAILER
sleep 0.5
for batch in 1 2 3 4 5; do
	sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, city, country, reasons)
		SELECT 'stormy', pg_catalog.now(), 'Osaka', 'JP', ARRAY['burst $batch login ' || i]
		FROM generate_series(1, 100) i; NOTIFY login_anomaly"
	sleep 1
done
if wait_sql "NOT EXISTS (SELECT FROM login_anomaly.alerts WHERE status = 'pending')" 20; then
	pass "storm fully handled"
else
	fail "storm fully handled" "$(sql -c "SELECT status, pg_catalog.count(*) FROM login_anomaly.alerts GROUP BY 1")"
fi
sleep 0.5
out=$($PY "$HERE/check_mail.py" storm "$MAILDIR" stormy 500) && pass "storm folded into digests" || fail "storm folded into digests" "$out"
echo "$out" | grep '^storm:' | sed 's/^/# /'
stop_mailer "$M5"
stop_mailer "$M6"

log "with the default window a second burst waits for the digest"
reset_state
start_mailer 7
M7=$LAST_MAILER
ID=$(insert_alert calm)
sql -c "NOTIFY login_anomaly"
wait_mail 1 10
ID2=$(insert_alert calm)
sql -c "NOTIFY login_anomaly"
sleep 1.5
[ "$(mail_count)" = 1 ] && pass "second alert held in the window" || fail "second alert held in the window" "$(mail_count) e-mails"
[ "$(sql -c "SELECT status = 'pending' AND next_attempt_at > pg_catalog.now() + interval '250 seconds' FROM login_anomaly.alerts WHERE alert_id = $ID2")" = t ] &&
	pass "held alert due at window end" || fail "held alert due at window end"
grep -q "INFO: alert $ID2 of user \"calm\" held by the storm window (the user was mailed less than 300 s ago) and will be sent at " "$WORK/mailer-7.log" &&
	pass "daemon logs the held alert" || fail "daemon logs the held alert" "$(grep -F "alert $ID2" "$WORK/mailer-7.log")"
stop_mailer "$M7"

log "--dry-run prints and marks nothing"
reset_state
ID=$(insert_alert dry)
out=$("$MAILER" "${COMMON[@]}" --dry-run 2>>"$WORK/dry.log"); rc=$?
[ $rc -eq 0 ] && [[ $out == *"Subject: Unusual sign-in of user dry from Berlin, Berlin, DE"* ]] &&
	pass "dry run prints the e-mail" || fail "dry run prints the e-mail" "rc=$rc"
[ "$(sql -c "SELECT status || attempts FROM login_anomaly.alerts WHERE alert_id = $ID")" = pending0 ] && [ "$(mail_count)" = 0 ] &&
	pass "dry run sends and marks nothing" || fail "dry run sends and marks nothing"

log "--dry-run prints the body as plain text, not quoted-printable"
reset_state
ID=$(sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, ip, country, region, city, browser, os, reasons)
	VALUES ('zoe', '2026-03-01 12:30:00+00', '203.0.113.9', 'CH', 'Zürich', 'Zürich', 'Firefox', 'Linux',
		'{\"new country CH\"}')
	RETURNING alert_id")
out=$("$MAILER" "${COMMON[@]}" --dry-run 2>>"$WORK/dry.log"); rc=$?
[ $rc -eq 0 ] && [[ $out == *$'\nWhere:    Zürich, Zürich, CH\n'* ]] &&
	pass "dry run body is decoded" || fail "dry run body is decoded" "rc=$rc $(grep -a 'Where:' <<<"$out")"
[[ $out != *"=C3=BC"* ]] && [[ $out != *"=20"* ]] && [[ $out == *$'\n-- \nSent by login-anomaly-mailer'* ]] &&
	pass "dry run body has no QP escapes" || fail "dry run body has no QP escapes" "$(grep -a -e '=C3' -e '=20' <<<"$out" | head -3)"
[[ $out == *$'\nContent-Transfer-Encoding: quoted-printable\n'* ]] && [[ $out == *"X-Login-Anomaly-Alert-Id: $ID"* ]] &&
	pass "dry run shows the header fields" || fail "dry run shows the header fields"
[[ $out == *"==== subject: Unusual sign-in of user zoe from Zürich, Zürich, CH"* ]] &&
	pass "dry run shows the decoded subject" || fail "dry run shows the decoded subject" "$(grep -a '^==== subject' <<<"$out")"

log "--once drains the outbox and exits"
reset_state
IDS=$(for u in o1 o2 o3 o4 o5; do insert_alert "$u"; done | paste -sd,)
"$MAILER" "${COMMON[@]}" --once 2>>"$WORK/once.log"; rc=$?
[ $rc -eq 0 ] && pass "--once exits 0" || fail "--once exits 0" "rc=$rc"
out=$($PY "$HERE/check_mail.py" ids "$MAILDIR" "$IDS") && pass "--once mailed all due alerts" || fail "--once mailed all due alerts" "$out"
"$MAILER" "${COMMON[@]}" --dbname="host=127.0.0.1 port=$(free_port) dbname=x connect_timeout=2" --once 2>>"$WORK/once.log"; rc=$?
[ $rc -eq 2 ] && pass "--once without database exits 2" || fail "--once without database exits 2" "rc=$rc"
reset_state
insert_alert o6 >/dev/null
"$MAILER" "${COMMON[@]}" --smtp-url="smtp://127.0.0.1:$DEAD_PORT" --once 2>>"$WORK/once.log"; rc=$?
[ $rc -eq 3 ] && pass "--once with SMTP down exits 3" || fail "--once with SMTP down exits 3" "rc=$rc"

log "--once gives up after one attempt with singular wording"
reset_state
ID=$(insert_alert o7)
"$MAILER" "${COMMON[@]}" --smtp-url="smtp://127.0.0.1:$DEAD_PORT" --once --max-attempts=1 2>"$WORK/giveup.log"; rc=$?
[ $rc -eq 3 ] && grep -q "alert $ID failed after 1 attempt, giving up" "$WORK/giveup.log" &&
	pass "give-up line says 1 attempt" || fail "give-up line says 1 attempt" "rc=$rc $(grep -F "alert $ID" "$WORK/giveup.log")"
grep -q "INFO: stopped: 0 e-mails sent, 0 alerts folded into digests, 0 alerts held for a later run by the storm window, 0 attempts to retry, 1 alert failed$" "$WORK/giveup.log" &&
	pass "summary says 1 alert failed" || fail "summary says 1 alert failed" "$(grep stopped: "$WORK/giveup.log")"

log "alerts of a user never mailed before go out together as one digest"
reset_state
IDS=$(for _ in 1 2 3; do insert_alert fresh; done | paste -sd,)
FIRST=${IDS%%,*}
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/digest.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] &&
	pass "3 new alerts give 1 e-mail" || fail "3 new alerts give 1 e-mail" "rc=$rc, $(mail_count) e-mails"
[ "$(sql -c "SELECT pg_catalog.string_agg(status || ':' || coalesce(folded_into::text, '-'), ',' ORDER BY alert_id) FROM login_anomaly.alerts")" = "sent:-,folded:$FIRST,folded:$FIRST" ] &&
	pass "first alert carries the digest" || fail "first alert carries the digest" "$(sql -c 'SELECT alert_id, status, folded_into FROM login_anomaly.alerts')"
grep -q "INFO: alert $FIRST sent to 1 recipient as <login-anomaly-alert-$FIRST@mailer.test>, a digest of 3 alerts (ids ${IDS//,/, })$" "$WORK/digest.log" &&
	pass "digest log line lists the ids" || fail "digest log line lists the ids" "$(grep -F "alert $FIRST" "$WORK/digest.log")"
grep -q "INFO: stopped: 1 e-mail sent, 2 alerts folded into digests," "$WORK/digest.log" &&
	pass "summary says 1 e-mail" || fail "summary says 1 e-mail" "$(grep stopped: "$WORK/digest.log")"

log "a digest lists its alerts by login time, oldest first, and alerts without one last"
reset_state
insert_alert_at() {
	sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, city, country, reasons)
		VALUES ('$1', $2, 'Lyon', 'FR', '{new city}') RETURNING alert_id"
}
L1=$(insert_alert_at ordered "'2026-03-01 12:00:00+00'")
L2=$(insert_alert_at ordered "'2026-03-01 10:00:00+00'")
L3=$(insert_alert_at ordered NULL)
L4=$(insert_alert_at ordered "'2026-03-01 11:00:00+00'")
L5=$(insert_alert_at ordered "'2026-03-01 10:00:00+00'")
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/order.log"; rc=$?
[ $rc -eq 0 ] && pass "ordered digest sent" || fail "ordered digest sent" "rc=$rc $(tail -2 "$WORK/order.log")"
# Equal login times fall back to the alert id, so L2 comes before L5
out=$($PY "$HERE/check_mail.py" digest "$MAILDIR" "$L1" "$L2,$L5,$L4,$L1,$L3") &&
	pass "digest ordered by login time" || fail "digest ordered by login time" "$out"

log "a reason that gives an hour in UTC gets a note under the reasons"
reset_state
ID=$(sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, city, region, country, reasons)
	VALUES ('alice', '2026-03-01 02:10:00+00', 'Zürich', 'Zürich', 'CH',
		'{\"hour 02:00 UTC unusual: no login within an hour of it in 40 logins (busiest hour 09:00 UTC)\",\"new network\"}')
	RETURNING alert_id")
out=$("$MAILER" "${COMMON[@]}" --dry-run 2>>"$WORK/dry.log"); rc=$?
[ $rc -eq 0 ] && [[ $out == *$'\nWhen:     2026-03-01 03:10:00 CET (UTC+0100, Europe/Zurich)\n'* ]] &&
	pass "login time in the user's time zone" || fail "login time in the user's time zone" "rc=$rc $(grep -a 'When:' <<<"$out")"
[[ $out == *$'  - hour 02:00 UTC unusual: no login within an hour of it in 40 logins (busiest hour 09:00 UTC)\n  - new network\n  (Hours in these reasons are in UTC.)\n'* ]] &&
	pass "UTC note under the reasons" || fail "UTC note under the reasons" "$(grep -a -A4 '^Why' <<<"$out")"
sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, city, country, reasons)
	VALUES ('alice', '2026-03-01 02:20:00+00', 'Zürich', 'CH', '{\"new network\"}')"
out=$("$MAILER" "${COMMON[@]}" --dry-run 2>>"$WORK/dry.log"); rc=$?
[ $rc -eq 0 ] && [[ $out == *$'\n(Hours in the reasons above are in UTC.)\n'* ]] &&
	pass "UTC note under a digest" || fail "UTC note under a digest" "rc=$rc $(grep -a -B2 -A2 'in UTC' <<<"$out")"
sql -c "DELETE FROM login_anomaly.alerts WHERE alert_id = $ID"
out=$("$MAILER" "${COMMON[@]}" --dry-run 2>>"$WORK/dry.log"); rc=$?
[ $rc -eq 0 ] && [[ $out == *"  - new network"* ]] && [[ $out != *"are in UTC."* ]] &&
	pass "no UTC note without an hour" || fail "no UTC note without an hour" "rc=$rc"

log "an alert that already has a verdict is marked sent without an e-mail"
reset_state
VERDICT_BY=$(sql -c "SELECT current_user")
C1=$(insert_alert judged)
V1=$(insert_alert judged)
C2=$(insert_alert judged)
V2=$(insert_alert judged2)
# The extension's trigger sets verdict_by to current_user itself; the bare table needs it set
sql -c "UPDATE login_anomaly.alerts SET verdict = 'it_was_me', verdict_by = current_user WHERE alert_id = $V1" \
	-c "UPDATE login_anomaly.alerts SET verdict = 'not_me', verdict_by = current_user WHERE alert_id = $V2"
out=$("$MAILER" "${COMMON[@]}" --dry-run 2>"$WORK/verdict-dry.log"); rc=$?
[ $rc -eq 0 ] && grep -q "INFO: alert $V1 would not be mailed: verdict it_was_me recorded by $VERDICT_BY$" "$WORK/verdict-dry.log" &&
	pass "dry run logs the verdict alert" || fail "dry run logs the verdict alert" "rc=$rc $(grep -F "alert $V1" "$WORK/verdict-dry.log")"
[[ $out == *"a digest of 2 alerts (ids $C1, $C2)"* ]] &&
	pass "dry run digest leaves out the verdict alert" || fail "dry run digest leaves out the verdict alert" "$(grep -a '^==== dry run' <<<"$out")"
[ "$(sql -c "SELECT pg_catalog.count(*) FROM login_anomaly.alerts WHERE status = 'pending'")" = 4 ] &&
	pass "dry run marks no verdict alert" || fail "dry run marks no verdict alert"
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/verdict.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] &&
	pass "verdict alerts are not mailed" || fail "verdict alerts are not mailed" "rc=$rc, $(mail_count) e-mails"
out=$($PY "$HERE/check_mail.py" digest "$MAILDIR" "$C1" "$C1,$C2") &&
	pass "digest leaves out the verdict alert" || fail "digest leaves out the verdict alert" "$out"
grep -q "INFO: alert $V1 not mailed: verdict it_was_me recorded by $VERDICT_BY$" "$WORK/verdict.log" &&
	pass "verdict it_was_me is logged" || fail "verdict it_was_me is logged" "$(grep -F "alert $V1" "$WORK/verdict.log")"
grep -q "INFO: alert $V2 not mailed: verdict not_me recorded by $VERDICT_BY$" "$WORK/verdict.log" &&
	pass "verdict not_me is logged" || fail "verdict not_me is logged" "$(grep -F "alert $V2" "$WORK/verdict.log")"
ROWS=$(sql -c "SELECT pg_catalog.string_agg(alert_id || ':' || status || ':' || coalesce(message_id, '-') || ':'
		|| (sent_at IS NOT NULL) || ':' || coalesce(last_error, '-') || ':' || coalesce(folded_into::text, '-')
		|| ':' || attempts, ',' ORDER BY alert_id)
	FROM login_anomaly.alerts WHERE alert_id IN ($V1, $V2)")
[ "$ROWS" = "$V1:sent:-:true:-:-:0,$V2:sent:-:true:-:-:0" ] &&
	pass "verdict rows sent without message_id" || fail "verdict rows sent without message_id" "$ROWS"
grep -q "INFO: stopped: 1 e-mail sent, 1 alert folded into digests, 2 alerts not mailed because of a verdict," "$WORK/verdict.log" &&
	pass "summary counts verdict alerts" || fail "summary counts verdict alerts" "$(grep stopped: "$WORK/verdict.log")"
# An alert closed by a verdict was not mailed, so it opens no storm window
ID=$(insert_alert judged2)
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/verdict-2.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 2 ] && [ "$(sql -c "SELECT status FROM login_anomaly.alerts WHERE alert_id = $ID")" = sent ] &&
	pass "verdict alert opens no storm window" || fail "verdict alert opens no storm window" "rc=$rc, $(mail_count) e-mails, $(grep -F "alert $ID" "$WORK/verdict-2.log")"

log "--once logs each alert the storm window holds back and counts them"
reset_state
ID=$(insert_alert held)
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/held-1.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] && pass "first --once run mails the user" || fail "first --once run mails the user" "rc=$rc"
ID2=$(insert_alert held)
ID3=$(insert_alert held)
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/held-2.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] && pass "held alerts are not mailed, exit 0" || fail "held alerts are not mailed, exit 0" "rc=$rc, $(mail_count) e-mails"
# The log rounds the window end up to the whole second
UNTIL=$(sql -c "SELECT pg_catalog.to_char(pg_catalog.to_timestamp(pg_catalog.ceil(pg_catalog.date_part('epoch', next_attempt_at))) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM login_anomaly.alerts WHERE alert_id = $ID2")
for id in $ID2 $ID3; do
	grep -q "INFO: alert $id of user \"held\" held by the storm window (the user was mailed less than 300 s ago) and will be sent by the first run after $UNTIL UTC$" "$WORK/held-2.log" &&
		pass "held alert $id is logged" || fail "held alert $id is logged" "$(grep -F "alert $id" "$WORK/held-2.log")"
done
grep -q "INFO: stopped: 0 e-mails sent, 0 alerts folded into digests, 2 alerts held for a later run by the storm window," "$WORK/held-2.log" &&
	pass "summary counts held alerts" || fail "summary counts held alerts" "$(grep stopped: "$WORK/held-2.log")"
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/held-3.log"; rc=$?
[ $rc -eq 0 ] && grep -q "INFO: 2 pending alerts are not due yet (storm window or retry delay), the first at $UNTIL UTC$" "$WORK/held-3.log" &&
	pass "later run reports alerts not due" || fail "later run reports alerts not due" "rc=$rc $(tail -2 "$WORK/held-3.log")"
ID4=$(insert_alert held)
ID5=$(insert_alert held)
"$MAILER" "${COMMON[@]}" --dry-run >/dev/null 2>"$WORK/held-dry.log"; rc=$?
for id in $ID4 $ID5; do
	[ "$(grep -c "INFO: alert $id of user \"held\" would be held by the storm window" "$WORK/held-dry.log")" = 1 ] &&
		pass "dry run logs held alert $id once" || fail "dry run logs held alert $id once" "$(grep -F "alert $id" "$WORK/held-dry.log")"
done
[ "$(sql -c "SELECT pg_catalog.bool_and(next_attempt_at <= pg_catalog.now()) FROM login_anomaly.alerts WHERE alert_id IN ($ID4, $ID5)")" = t ] &&
	pass "dry run holds nothing" || fail "dry run holds nothing"

log "config file and SMTP login; the password never reaches the log"
reset_state
stop_sink
start_sink --auth mailbot:pw-Xy7-secret
printf 'pw-Xy7-secret\n' >"$WORK/smtp-password"
chmod 600 "$WORK/smtp-password"
cat >"$WORK/mailer.conf" <<EOF
# test configuration
dbname = $CONNINFO
smtp_url = smtp://127.0.0.1:$SMTP_PORT
smtp_user = mailbot
smtp_password_file = $WORK/smtp-password
from = alerts@example.test
to = security@example.test
once = true
verbose = true
EOF
ID=$(insert_alert conf)
"$MAILER" --config="$WORK/mailer.conf" 2>"$WORK/conf.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] && pass "config file and SMTP login" || fail "config file and SMTP login" "rc=$rc $(tail -3 "$WORK/conf.log")"
printf 'wrong\n' >"$WORK/smtp-password"
insert_alert conf2 >/dev/null
"$MAILER" --config="$WORK/mailer.conf" 2>>"$WORK/conf.log"; rc=$?
[ $rc -eq 3 ] && pass "wrong SMTP password is a retry" || fail "wrong SMTP password is a retry" "rc=$rc"
! grep -q -e pw-Xy7-secret -e wrong "$WORK/conf.log" && ! sql -c "SELECT last_error FROM login_anomaly.alerts" | grep -q -e pw-Xy7 -e wrong &&
	pass "password absent from logs and last_error" || fail "password absent from logs and last_error"
echo "smtp_password = x" >>"$WORK/mailer.conf"
"$MAILER" --config="$WORK/mailer.conf" 2>/dev/null; rc=$?
[ $rc -eq 1 ] && pass "password in config file rejected" || fail "password in config file rejected" "rc=$rc"
stop_sink
start_sink

log "STARTTLS: certificates are verified unless --insecure-tls"
reset_state
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
stop_sink
start_sink --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
insert_alert tls >/dev/null
"$MAILER" "${COMMON[@]}" --once 2>"$WORK/tls.log"; rc=$?
[ $rc -eq 3 ] && [ "$(mail_count)" = 0 ] && pass "self-signed certificate rejected" || fail "self-signed certificate rejected" "rc=$rc"
LAST_ERROR=$(sql -c "SELECT last_error FROM login_anomaly.alerts")
[[ $LAST_ERROR == *certificate* ]] && pass "certificate error recorded" || fail "certificate error recorded" "$LAST_ERROR"
sql -c "UPDATE login_anomaly.alerts SET next_attempt_at = pg_catalog.now()"
"$MAILER" "${COMMON[@]}" --once --insecure-tls --require-starttls 2>"$WORK/tls.log"; rc=$?
[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] && pass "--insecure-tls sends over STARTTLS" || fail "--insecure-tls sends over STARTTLS" "rc=$rc"
grep -q "WARNING: --insecure-tls" "$WORK/tls.log" && pass "--insecure-tls warns" || fail "--insecure-tls warns"
stop_sink
start_sink
reset_state
insert_alert plain >/dev/null
"$MAILER" "${COMMON[@]}" --once --require-starttls 2>"$WORK/tls.log"; rc=$?
[ $rc -eq 3 ] && [ "$(mail_count)" = 0 ] && pass "--require-starttls refuses clear text" || fail "--require-starttls refuses clear text" "rc=$rc"

log "SIGTERM during an SMTP transaction lets the e-mail finish"
reset_state
stop_sink
start_sink --reply-delay 2
start_mailer 9
M9=$LAST_MAILER
ID=$(insert_alert term)
sql -c "NOTIFY login_anomaly"
wait_mail 1 10
stop_mailer "$M9"
[ "$STOP_RC" -eq 0 ] && pass "exit 0 after the current e-mail" || fail "exit 0 after the current e-mail" "rc=$STOP_RC"
[ "$(sql -c "SELECT status FROM login_anomaly.alerts WHERE alert_id = $ID")" = sent ] &&
	pass "e-mail in flight marked sent" || fail "e-mail in flight marked sent"

log "a crash between sending and marking gives one duplicate with the same Message-ID"
reset_state
start_mailer 10
M10=$LAST_MAILER
ID=$(insert_alert crash)
sql -c "NOTIFY login_anomaly"
wait_mail 1 10
{ kill -KILL "$M10"; wait "$M10"; } 2>/dev/null
stop_sink
start_sink
start_mailer 10
M10=$LAST_MAILER
wait_mail 2 15
sleep 0.5
MIDS=$($PY -c "
import email, glob, sys
ids = [email.message_from_binary_file(open(p, 'rb'))['Message-ID'] for p in sorted(glob.glob(sys.argv[1] + '/*.eml'))]
print(' '.join(ids))" "$MAILDIR")
[ "$MIDS" = "<login-anomaly-alert-$ID@mailer.test> <login-anomaly-alert-$ID@mailer.test>" ] &&
	pass "duplicate keeps the Message-ID" || fail "duplicate keeps the Message-ID" "$MIDS"
[ "$(sql -c "SELECT status || attempts FROM login_anomaly.alerts WHERE alert_id = $ID")" = sent1 ] &&
	pass "row sent once after the crash" || fail "row sent once after the crash"
stop_mailer "$M10"

if [ "$OWN_CLUSTER" = yes ]; then
	log "PostgreSQL restart: the mailer reconnects, listens again and catches up"
	reset_state
	start_mailer 8 --poll-interval=60
	M8=$LAST_MAILER
	# the restart must come after the first connection, even under valgrind
	wait_log "$WORK/mailer-8.log" "connected to database" 30
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m fast stop >/dev/null
	sleep 2
	start_cluster
	ID=$(insert_alert restart1)
	wait_mail 1 20
	ID2=$(insert_alert restart2)
	sql -c "NOTIFY login_anomaly"
	wait_mail 2 5
	sleep 0.3
	out=$($PY "$HERE/check_mail.py" ids "$MAILDIR" "$ID,$ID2") && pass "mailed after restart" || fail "mailed after restart" "$out"
	grep -q "reconnected to database" "$WORK/mailer-8.log" && pass "reconnect logged" || fail "reconnect logged"
	stop_mailer "$M8"
else
	log "skipping the restart case: the cluster is not ours to restart"
fi

if [ "$OWN_CLUSTER" = yes ]; then
	log "a missing privilege or table is a setup error: exit 1 with a hint, in --once and as a daemon"
	reset_state
	sql <<'EOF'
CREATE ROLE mailer_nousage LOGIN;
CREATE ROLE mailer_noselect LOGIN;
GRANT USAGE ON SCHEMA login_anomaly TO mailer_noselect;
CREATE ROLE mailer_nolookup LOGIN;
GRANT USAGE ON SCHEMA login_anomaly TO mailer_nolookup;
GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, sent_at,
                      message_id, folded_into)
    ON login_anomaly.alerts TO mailer_nolookup;
EOF
	ID=$(insert_alert perm)
	as_role() { echo "--dbname=host=127.0.0.1 port=$PGPORT_OWN user=$1 dbname=${2:-$DBNAME}"; }
	ALERTS_GRANT="GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, sent_at, message_id, folded_into) ON login_anomaly.alerts TO mailer_noselect"

	"$MAILER" "${COMMON[@]}" "$(as_role mailer_noselect)" --once 2>"$WORK/perm-select.log"; rc=$?
	[ $rc -eq 1 ] && pass "--once without SELECT exits 1" || fail "--once without SELECT exits 1" "rc=$rc"
	grep -q "ERROR: claiming an alert failed: permission denied for table alerts (SQLSTATE 42501)$" "$WORK/perm-select.log" &&
		pass "permission error is logged" || fail "permission error is logged" "$(grep ERROR "$WORK/perm-select.log")"
	grep -q "HINT: .*$ALERTS_GRANT.*\"Least privilege\" in README.md" "$WORK/perm-select.log" &&
		pass "hint names the missing grant" || fail "hint names the missing grant" "$(grep HINT "$WORK/perm-select.log")"
	! grep -q "lost the database connection" "$WORK/perm-select.log" &&
		pass "no lost-connection warning" || fail "no lost-connection warning"

	# Wait up to 10 s for a daemon to stop by itself; DAEMON_RC is "running" if it did not
	wait_daemon() {
		local pid=$1
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			wait "$pid"
			DAEMON_RC=running
		else
			wait "$pid"
			DAEMON_RC=$?
		fi
	}
	"$MAILER" "${COMMON[@]}" "$(as_role mailer_noselect)" 2>"$WORK/perm-daemon.log" &
	wait_daemon $!
	[ "$DAEMON_RC" = 1 ] && grep -q "HINT: .*$ALERTS_GRANT" "$WORK/perm-daemon.log" &&
		pass "daemon without SELECT exits 1" || fail "daemon without SELECT exits 1" "rc=$DAEMON_RC $(tail -2 "$WORK/perm-daemon.log")"

	"$MAILER" "${COMMON[@]}" "$(as_role mailer_nousage)" --once 2>"$WORK/perm-usage.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "permission denied for schema login_anomaly (SQLSTATE 42501)$" "$WORK/perm-usage.log" &&
		grep -q "HINT: .*GRANT USAGE ON SCHEMA login_anomaly TO mailer_nousage" "$WORK/perm-usage.log" &&
		pass "missing schema USAGE exits 1 with a hint" || fail "missing schema USAGE exits 1 with a hint" "rc=$rc $(grep -e ERROR -e HINT "$WORK/perm-usage.log")"

	"$MAILER" "${COMMON[@]}" "$(as_role mailer_nolookup)" --once 2>"$WORK/perm-lookup.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "permission denied for table app_users (SQLSTATE 42501)$" "$WORK/perm-lookup.log" &&
		grep -q "HINT: .*SELECT on the tables that --user-address-query reads" "$WORK/perm-lookup.log" &&
		pass "user query without SELECT exits 1" || fail "user query without SELECT exits 1" "rc=$rc $(grep -e ERROR -e HINT "$WORK/perm-lookup.log")"
	[ "$(sql -c "SELECT status || attempts FROM login_anomaly.alerts WHERE alert_id = $ID")" = pending0 ] &&
		pass "setup error counts no attempt" || fail "setup error counts no attempt" "$(sql -c "SELECT status, attempts FROM login_anomaly.alerts")"

	"$MAILER" "${COMMON[@]}" "$(as_role postgres postgres)" --once 2>"$WORK/perm-table.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "HINT: .*CREATE EXTENSION login_anomaly" "$WORK/perm-table.log" &&
		pass "missing outbox table exits 1" || fail "missing outbox table exits 1" "rc=$rc $(tail -3 "$WORK/perm-table.log")"
	"$MAILER" "${COMMON[@]}" "$(as_role postgres postgres)" 2>"$WORK/perm-table-daemon.log" &
	wait_daemon $!
	[ "$DAEMON_RC" = 1 ] && pass "daemon without outbox table exits 1" || fail "daemon without outbox table exits 1" "rc=$DAEMON_RC $(tail -2 "$WORK/perm-table-daemon.log")"
	sql -c "DROP OWNED BY mailer_nousage, mailer_noselect, mailer_nolookup" \
		-c "DROP ROLE mailer_nousage, mailer_noselect, mailer_nolookup"
fi

if [ "$OWN_CLUSTER" = yes ]; then
	log "a wrong role, password or database at connect time is a setup error: exit 1 with a hint"
	reset_state
	# Start a daemon with --dbname=$1, wait for it to stop by itself, and set
	# DAEMON_RC and DAEMON_SECONDS (whole seconds until it stopped)
	run_daemon() {
		local started=$SECONDS
		"$MAILER" "${COMMON[@]}" "$1" 2>"$2" &
		wait_daemon $!
		DAEMON_SECONDS=$((SECONDS - started))
	}

	NO_DB=$(as_role postgres mailer_no_such_db)
	"$MAILER" "${COMMON[@]}" "$NO_DB" --once 2>"$WORK/conn-db.log"; rc=$?
	[ $rc -eq 1 ] && pass "--once with missing database exits 1" || fail "--once with missing database exits 1" "rc=$rc $(tail -3 "$WORK/conn-db.log")"
	grep -q "ERROR: connection to the database failed: .*FATAL:  database \"mailer_no_such_db\" does not exist (SQLSTATE 3D000)$" "$WORK/conn-db.log" &&
		pass "missing database is logged" || fail "missing database is logged" "$(grep ERROR "$WORK/conn-db.log")"
	grep -q "HINT: check the database name in --dbname (\"mailer_no_such_db\")" "$WORK/conn-db.log" &&
		pass "hint names the database" || fail "hint names the database" "$(grep HINT "$WORK/conn-db.log")"
	! grep -q -e LOCATION -e "3D000: " "$WORK/conn-db.log" &&
		pass "verbose error fields are cut" || fail "verbose error fields are cut" "$(grep ERROR "$WORK/conn-db.log")"
	run_daemon "$NO_DB" "$WORK/conn-db-daemon.log"
	[ "$DAEMON_RC" = 1 ] && [ "$DAEMON_SECONDS" -le 3 ] && grep -q "HINT: check the database name" "$WORK/conn-db-daemon.log" &&
		pass "daemon with missing database exits 1" || fail "daemon with missing database exits 1" "rc=$DAEMON_RC after $DAEMON_SECONDS s $(tail -2 "$WORK/conn-db-daemon.log")"
	! grep -q "reconnecting in" "$WORK/conn-db-daemon.log" &&
		pass "no reconnect for missing database" || fail "no reconnect for missing database"

	NO_ROLE=$(as_role mailer_no_such_role)
	"$MAILER" "${COMMON[@]}" "$NO_ROLE" --once 2>"$WORK/conn-role.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "FATAL:  role \"mailer_no_such_role\" does not exist (SQLSTATE 28000)$" "$WORK/conn-role.log" &&
		pass "--once with missing role exits 1" || fail "--once with missing role exits 1" "rc=$rc $(tail -3 "$WORK/conn-role.log")"
	grep -q "HINT: check the user in --dbname: role \"mailer_no_such_role\" must exist, have LOGIN" "$WORK/conn-role.log" &&
		pass "hint names the role" || fail "hint names the role" "$(grep HINT "$WORK/conn-role.log")"
	run_daemon "$NO_ROLE" "$WORK/conn-role-daemon.log"
	[ "$DAEMON_RC" = 1 ] && [ "$DAEMON_SECONDS" -le 3 ] && grep -q "(SQLSTATE 28000)$" "$WORK/conn-role-daemon.log" &&
		pass "daemon with missing role exits 1" || fail "daemon with missing role exits 1" "rc=$DAEMON_RC after $DAEMON_SECONDS s $(tail -2 "$WORK/conn-role-daemon.log")"

	sql -c "CREATE ROLE mailer_nologin NOLOGIN"
	"$MAILER" "${COMMON[@]}" "$(as_role mailer_nologin)" --once 2>"$WORK/conn-nologin.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "role \"mailer_nologin\" is not permitted to log in (SQLSTATE 28000)$" "$WORK/conn-nologin.log" &&
		pass "role without LOGIN exits 1" || fail "role without LOGIN exits 1" "rc=$rc $(tail -3 "$WORK/conn-nologin.log")"

	# A role that logs in with a password, as pg_hba.conf demands for it
	sql <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE mailer_pw LOGIN PASSWORD 'pw-Right-42';
GRANT USAGE ON SCHEMA login_anomaly TO mailer_pw;
GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, sent_at,
                      message_id, folded_into)
    ON login_anomaly.alerts TO mailer_pw;
GRANT SELECT ON public.app_users TO mailer_pw;
SQL
	cp "$WORK/pgdata/pg_hba.conf" "$WORK/pg_hba.conf.orig"
	{ echo "host all mailer_pw 127.0.0.1/32 scram-sha-256"; cat "$WORK/pg_hba.conf.orig"; } >"$WORK/pgdata/pg_hba.conf"
	sql -c "SELECT pg_catalog.pg_reload_conf()" >/dev/null
	sleep 1
	printf '127.0.0.1:%s:%s:mailer_pw:pw-Wrong-17\n' "$PGPORT_OWN" "$DBNAME" >"$WORK/pgpass-wrong"
	printf '127.0.0.1:%s:%s:mailer_pw:pw-Right-42\n' "$PGPORT_OWN" "$DBNAME" >"$WORK/pgpass-right"
	: >"$WORK/pgpass-empty"
	chmod 600 "$WORK"/pgpass-*
	as_pw() { echo "--dbname=host=127.0.0.1 port=$PGPORT_OWN user=mailer_pw dbname=$DBNAME passfile=$1"; }

	"$MAILER" "${COMMON[@]}" "$(as_pw "$WORK/pgpass-wrong")" --once 2>"$WORK/conn-pw.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "password authentication failed for user \"mailer_pw\" password retrieved from file \"$WORK/pgpass-wrong\" (SQLSTATE 28P01)$" "$WORK/conn-pw.log" &&
		grep -q "HINT: check that the password file .* contains the current password of role \"mailer_pw\"" "$WORK/conn-pw.log" &&
		pass "wrong password exits 1" || fail "wrong password exits 1" "rc=$rc $(tail -3 "$WORK/conn-pw.log")"
	! grep -q -e pw-Wrong -e pw-Right "$WORK/conn-pw.log" &&
		pass "password absent from the log" || fail "password absent from the log"
	run_daemon "$(as_pw "$WORK/pgpass-wrong")" "$WORK/conn-pw-daemon.log"
	[ "$DAEMON_RC" = 1 ] && [ "$DAEMON_SECONDS" -le 3 ] &&
		pass "daemon with wrong password exits 1" || fail "daemon with wrong password exits 1" "rc=$DAEMON_RC after $DAEMON_SECONDS s $(tail -2 "$WORK/conn-pw-daemon.log")"
	"$MAILER" "${COMMON[@]}" "$(as_pw "$WORK/pgpass-empty")" --once 2>"$WORK/conn-nopw.log"; rc=$?
	[ $rc -eq 1 ] && grep -q "HINT: the server requested a password for role \"mailer_pw\" and none was found" "$WORK/conn-nopw.log" &&
		pass "missing password exits 1" || fail "missing password exits 1" "rc=$rc $(tail -3 "$WORK/conn-nopw.log")"
	"$MAILER" "${COMMON[@]}" "$(as_pw "$WORK/pgpass-right")" --once 2>"$WORK/conn-rightpw.log"; rc=$?
	[ $rc -eq 0 ] && pass "right password connects" || fail "right password connects" "rc=$rc $(tail -3 "$WORK/conn-rightpw.log")"
	cp "$WORK/pg_hba.conf.orig" "$WORK/pgdata/pg_hba.conf"
	sql -c "SELECT pg_catalog.pg_reload_conf()" >/dev/null

	log "a server that is shutting down (SQLSTATE 57P03) is an outage, not a setup error"
	psql -X -q "host=127.0.0.1 port=$PGPORT_OWN user=postgres dbname=postgres" -c "SELECT pg_catalog.pg_sleep(3)" >/dev/null 2>&1 &
	SLEEPER=$!
	sleep 0.5
	# A smart shutdown waits for the session above and turns new connections away meanwhile
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m smart -W stop >/dev/null
	sleep 0.3
	"$MAILER" "${COMMON[@]}" --once 2>"$WORK/conn-shutdown.log"; rc=$?
	[ $rc -eq 2 ] && grep -q "(SQLSTATE 57P03)$" "$WORK/conn-shutdown.log" && ! grep -q HINT "$WORK/conn-shutdown.log" &&
		pass "shutting down exits 2" || fail "shutting down exits 2" "rc=$rc $(tail -3 "$WORK/conn-shutdown.log")"
	wait "$SLEEPER"
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -w stop >/dev/null 2>&1
	start_cluster
	sql -c "DROP OWNED BY mailer_pw, mailer_nologin" -c "DROP ROLE mailer_pw, mailer_nologin"
fi

if [ "$OWN_CLUSTER" = yes ]; then
	log "the role mailer with the README's least-privilege grants can mail, hold and retry"
	reset_state
	sql <<'EOF'
CREATE ROLE mailer LOGIN;
GRANT USAGE ON SCHEMA login_anomaly TO mailer;
GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, sent_at,
                      message_id, folded_into)
    ON login_anomaly.alerts TO mailer;
GRANT SELECT ON public.app_users TO mailer;
EOF
	LP_DB=(--dbname="host=127.0.0.1 port=$PGPORT_OWN user=mailer dbname=$DBNAME")
	insert_alert lp >/dev/null
	insert_alert lp >/dev/null
	"$MAILER" "${COMMON[@]}" "${LP_DB[@]}" --once 2>"$WORK/least.log"; rc=$?
	[ $rc -eq 0 ] && [ "$(mail_count)" = 1 ] && pass "role mailer sends a digest" || fail "role mailer sends a digest" "rc=$rc $(tail -2 "$WORK/least.log")"
	ID=$(insert_alert lp)
	"$MAILER" "${COMMON[@]}" "${LP_DB[@]}" --once 2>>"$WORK/least.log"; rc=$?
	[ $rc -eq 0 ] && grep -q "alert $ID of user \"lp\" held by the storm window" "$WORK/least.log" &&
		pass "role mailer holds an alert" || fail "role mailer holds an alert" "rc=$rc $(tail -2 "$WORK/least.log")"
	ID=$(insert_alert lp2)
	"$MAILER" "${COMMON[@]}" "${LP_DB[@]}" --smtp-url="smtp://127.0.0.1:$DEAD_PORT" --once 2>>"$WORK/least.log"; rc=$?
	[ $rc -eq 3 ] && [ "$(sql -c "SELECT attempts FROM login_anomaly.alerts WHERE alert_id = $ID")" = 1 ] &&
		pass "role mailer records a retry" || fail "role mailer records a retry" "rc=$rc $(tail -2 "$WORK/least.log")"
fi

log "one run under valgrind"
reset_state
sql -c "INSERT INTO login_anomaly.alerts (user_id, login_ts, city, country, reasons)
	SELECT 'alice', pg_catalog.now(), 'Zürich', 'CH', '{new country}' FROM generate_series(1, 3);
	INSERT INTO login_anomaly.alerts (kind, user_id, error) VALUES ('scoring_failed', 'carol', 'bad model')" 
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$MAILER" "${COMMON[@]}" --once >"$WORK/valgrind.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ "$(mail_count)" = 2 ] && pass "valgrind clean" || fail "valgrind clean" "rc=$rc; $(grep -E 'ERROR SUMMARY|definitely' "$WORK/valgrind.log")"
	grep -E 'ERROR SUMMARY|definitely lost' "$WORK/valgrind.log" | sed 's/^/# /'
	# The storm window is open for alice now: the next alert is held, and a dry run prints a digest
	insert_alert alice >/dev/null
	valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$MAILER" "${COMMON[@]}" --once >"$WORK/valgrind-held.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q "held by the storm window" "$WORK/valgrind-held.log" &&
		pass "valgrind clean holding an alert" || fail "valgrind clean holding an alert" "rc=$rc; $(grep -E 'ERROR SUMMARY|definitely' "$WORK/valgrind-held.log")"
	sql -c "INSERT INTO login_anomaly.alerts (user_id, city, country, reasons)
		SELECT 'vgdry', 'Zürich', 'CH', '{new country}' FROM generate_series(1, 2)"
	valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$MAILER" "${COMMON[@]}" --dry-run >"$WORK/valgrind-dry.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q "a digest of 2 alerts" "$WORK/valgrind-dry.log" &&
		pass "valgrind clean in a dry run" || fail "valgrind clean in a dry run" "rc=$rc; $(grep -E 'ERROR SUMMARY|definitely' "$WORK/valgrind-dry.log")"
else
	fail "valgrind clean" "valgrind is not installed"
fi

log "the daemon under valgrind: LISTEN, send, SIGTERM"
reset_state
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
		"$MAILER" "${COMMON[@]}" >"$WORK/valgrind-daemon.log" 2>&1 &
	VG=$!
	sleep 3
	insert_alert vg >/dev/null
	sql -c "NOTIFY login_anomaly"
	wait_mail 1 20
	stop_mailer "$VG"
	[ "$STOP_RC" -eq 0 ] && pass "daemon valgrind clean" || fail "daemon valgrind clean" "rc=$STOP_RC; $(grep -E 'ERROR SUMMARY|definitely' "$WORK/valgrind-daemon.log")"
fi

log "the user's search_path cannot redirect the mailer"
[ "$(sql -c "SHOW search_path")" = "hostile, pg_catalog, public" ] && pass "hostile search_path was in effect" || fail "hostile search_path was in effect"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

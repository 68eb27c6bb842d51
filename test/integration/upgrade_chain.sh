#!/usr/bin/env bash
# The upgrade path: install version 0.1.0, train models and raise an alert,
# then walk ALTER EXTENSION login_anomaly UPDATE one version at a time to
# the default version.  After every step the models score bit for bit as
# before and the alert outbox is unchanged.  At the end the extension's
# objects are the same as those of a fresh CREATE EXTENSION, and pg_dump
# and pg_restore carry models and alerts into a new database.
#
# Models stored by the 0.1.0 library (lib/upgrade/fixture_0.1.0.sql) must
# decode to the same bytes and score as that library scored them, unless
# lib/upgrade/scores_VERSION.sql exists for the default version.  Such a
# change of score is deliberate and comes with that file (written by
# make_fixture.sh --scores) and a note in the update script.  0.2.0 changed
# how the novelty chains combine, the country's novelty rate and the
# risk-to-score mapping.
set -u
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
lib=$here/lib/upgrade
old=la_it_upgrade_old
fresh=la_it_upgrade_fresh
restored=la_it_upgrade_restored
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PGOPTIONS="-c client_min_messages=warning"
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$bindir/pg_dump" ] || bindir=/usr/lib/postgresql/15/bin
failed=0

pass() { echo "PASS: upgrade_chain: $1"; }
fail()
{
	echo "FAIL: upgrade_chain: $1${2:+: $2}"
	failed=1
}
same()
{
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected '$(printf %s "$2" | head -c 300)', got '$(printf %s "$3" | head -c 300)'"
	fi
}
q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$@"; }

# Every model, from training and from the fixture, against every probe
scores="SELECT string_agg(s.user_id || '/' || p.probe || ':' ||
          float8send(login_anomaly.score(s.model, login_anomaly.features(p.ts, p.ip, p.country,
            p.region, p.city, p.user_agent, p.lat, p.lon)))::text, ',' ORDER BY s.user_id, p.probe)
        FROM (SELECT user_id, model FROM login_anomaly.models
              UNION ALL SELECT 'fixture_' || user_id, model FROM fixture_stored) s, probes p"
by_user="SELECT string_agg(p.probe || ':' || float8send(login_anomaly.score('u3', p.ts, p.ip, p.country,
            p.region, p.city, p.user_agent, p.lat, p.lon))::text, ',' ORDER BY p.probe) FROM probes p"
alerts="SELECT string_agg(concat_ws(':', alert_id, kind, user_id, risk, reasons::text, verdict,
          float8send(score)::text), ',' ORDER BY alert_id) FROM login_anomaly.alerts"
models="SELECT string_agg(user_id || ':' || md5(login_anomaly.model_send(model)), ',' ORDER BY user_id)
        FROM login_anomaly.models"
unusual="INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
         VALUES ('u3', %s, '176.36.1.5', 'UA', 'Kyiv City', 'Kyiv',
                 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0', 50.45, 30.52)"

q postgres -c "DROP DATABASE IF EXISTS $old" -c "DROP DATABASE IF EXISTS $fresh" \
	-c "DROP DATABASE IF EXISTS $restored" -c "CREATE DATABASE $old" -c "CREATE DATABASE $fresh" \
	-c "CREATE DATABASE $restored" >/dev/null || { fail "create databases"; exit 1; }

target=$(q postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'login_anomaly'")
path=$(q postgres -c "SELECT path FROM pg_extension_update_paths('login_anomaly')
                      WHERE source = '0.1.0' AND target = '$target'")
if [ "$target" = "0.1.0" ]; then
	path=0.1.0
fi
if [ -n "$path" ]; then
	pass "an update path leads from 0.1.0 to $target: $path"
else
	fail "an update path leads from 0.1.0 to $target" "pg_extension_update_paths has none"
	exit 1
fi

# Version 0.1.0 in use: models, a fixture of 0.1.0-trained models, an alert with a verdict
if ! q "$old" >"$work/setup.out" 2>&1 <<SQL; then
CREATE EXTENSION login_anomaly VERSION '0.1.0';
\i $lib/history.sql
\i $lib/fixture_0.1.0.sql
$(if [ -f "$lib/scores_$target.sql" ]; then echo "\\i $lib/scores_$target.sql"; else echo "CREATE TABLE current_scores AS TABLE fixture_scores;"; fi)
SELECT login_anomaly.train('logins');
CREATE TABLE fixture_stored AS
  SELECT user_id, model_text::login_anomaly.model AS model, model_md5 FROM fixture_models;
CREATE TRIGGER check_login AFTER INSERT ON logins FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
$(printf "$unusual" "'2026-11-02 03:00+00'");
SELECT login_anomaly.record_verdict(max(alert_id), 'not_me') FROM login_anomaly.alerts;
SQL
	fail "set up version 0.1.0" "$(head -c 400 "$work/setup.out")"
	exit 1
fi
same "installed version is 0.1.0" "0.1.0" "$(q "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'login_anomaly'")"
same "the 0.1.0 trigger raised one alert" "1" "$(q "$old" -c "SELECT count(*) FROM login_anomaly.alerts WHERE kind = 'anomaly'")"

same "0.1.0 models read back to the bytes the 0.1.0 library wrote" \
	"$(q "$old" -c "SELECT string_agg(model_md5, ',' ORDER BY user_id) FROM fixture_stored")" \
	"$(q "$old" -c "SELECT string_agg(md5(login_anomaly.model_send(model)), ',' ORDER BY user_id) FROM fixture_stored")"
same "0.1.0 models score as the $target library's rules say" \
	"$(q "$old" -c "SELECT string_agg(score_bytes, ',' ORDER BY user_id, probe) FROM current_scores")" \
	"$(q "$old" -c "SELECT string_agg(float8send(login_anomaly.score(f.model, login_anomaly.features(p.ts, p.ip,
	                  p.country, p.region, p.city, p.user_agent, p.lat, p.lon)))::text, ',' ORDER BY f.user_id, p.probe)
	                FROM fixture_stored f, probes p")"
if q "$old" -c "SELECT * FROM login_anomaly.trigger_stats()" >/dev/null 2>"$work/stats.err"; then
	pass "the library answers the 0.1.0 declaration of trigger_stats()"
else
	fail "the library answers the 0.1.0 declaration of trigger_stats()" "$(head -c 300 "$work/stats.err")"
fi

scores_before=$(q "$old" -c "$scores")
by_user_before=$(q "$old" -c "$by_user")
alerts_before=$(q "$old" -c "$alerts")
models_before=$(q "$old" -c "$models")

# Walk the chain one version at a time
IFS=' ' read -r -a versions <<<"${path//--/ }"
for version in "${versions[@]:1}"; do
	if ! q "$old" -c "ALTER EXTENSION login_anomaly UPDATE TO '$version'" >"$work/update.out" 2>&1; then
		fail "ALTER EXTENSION UPDATE TO '$version'" "$(head -c 300 "$work/update.out")"
		exit 1
	fi
	same "after the update to $version: models are byte for byte the same" "$models_before" "$(q "$old" -c "$models")"
	same "after the update to $version: every model scores bit for bit as before" "$scores_before" "$(q "$old" -c "$scores")"
	same "after the update to $version: score by user is bit for bit as before" "$by_user_before" "$(q "$old" -c "$by_user")"
	same "after the update to $version: the alert outbox is unchanged" "$alerts_before" "$(q "$old" -c "$alerts")"
done
same "the walked database is at the default version" "$target" \
	"$(q "$old" -c "SELECT extversion FROM pg_extension WHERE extname = 'login_anomaly'")"

# The trigger of the updated extension still alerts
q "$old" -c "$(printf "$unusual" "'2026-11-09 03:00+00'")" >/dev/null 2>&1
same "after the walk: the trigger raises the next alert" "2" \
	"$(q "$old" -c "SELECT count(*) FROM login_anomaly.alerts WHERE kind = 'anomaly'")"
q "$fresh" -c "CREATE EXTENSION login_anomaly" >/dev/null || fail "CREATE EXTENSION at the default version"
stats_columns="SELECT string_agg(k, ',') FROM json_object_keys(row_to_json((SELECT s FROM login_anomaly.trigger_stats() s))) k"
same "after the walk: trigger_stats() has the default version's columns" \
	"$(q "$fresh" -c "$stats_columns")" "$(q "$old" -c "$stats_columns")"

# The walked extension is the one a fresh install gives
if ! q "$old" -f "$lib/catalog.sql" >"$work/walked.txt" 2>&1 ||
	! q "$fresh" -f "$lib/catalog.sql" >"$work/fresh.txt" 2>&1; then
	fail "describe the extension's objects" "$(cat "$work/walked.txt" "$work/fresh.txt" | head -c 400)"
elif diff -u "$work/fresh.txt" "$work/walked.txt" >"$work/catalog.diff"; then
	pass "the walked extension's objects equal a fresh install's ($(wc -l <"$work/fresh.txt") lines)"
else
	fail "the walked extension's objects equal a fresh install's" "$(head -c 600 "$work/catalog.diff")"
fi

# pg_dump of the walked database restores into a new one
alerts_walked=$(q "$old" -c "$alerts")
"$bindir/pg_dump" -Fc -d "$old" -f "$work/dump" 2>"$work/dump.err" || fail "pg_dump" "$(head -c 300 "$work/dump.err")"
if "$bindir/pg_restore" -d "$restored" "$work/dump" 2>"$work/restore.err"; then
	pass "pg_restore of the walked database runs without errors"
else
	fail "pg_restore of the walked database runs without errors" "$(head -c 300 "$work/restore.err")"
fi
same "restored: the extension is at the default version" "$target" \
	"$(q "$restored" -c "SELECT extversion FROM pg_extension WHERE extname = 'login_anomaly'")"
same "restored: models are byte for byte the same" "$models_before" "$(q "$restored" -c "$models")"
same "restored: every model scores bit for bit as before" "$scores_before" "$(q "$restored" -c "$scores")"
same "restored: the alert outbox is the same" "$alerts_walked" "$(q "$restored" -c "$alerts")"

q postgres -c "DROP DATABASE IF EXISTS $old" -c "DROP DATABASE IF EXISTS $fresh" \
	-c "DROP DATABASE IF EXISTS $restored" >/dev/null
exit $failed

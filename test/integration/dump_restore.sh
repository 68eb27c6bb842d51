#!/usr/bin/env bash
# pg_dump keeps the models and the alert outbox: a dump restored into a new
# database scores every probe login exactly as before, bit for bit, and
# contains the same alerts.
set -u
src=la_it_dump_source
dst=la_it_dump_target
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$bindir/pg_dump" ] || bindir=/usr/lib/postgresql/15/bin

psql -qX -d postgres -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" \
	-c "CREATE DATABASE $src" -c "CREATE DATABASE $dst" >/dev/null || exit 1

psql -qX -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL' || { echo "FAIL: dump_restore: setup"; exit 1; }
CREATE EXTENSION login_anomaly;
CREATE TABLE logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamptz, ip inet,
  country text, region text, city text, user_agent text, lat float8, lon float8);
INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'u' || (i % 7), '2026-10-01 14:00+00'::timestamptz + i * interval '7 hours',
       ('198.51.' || (i % 7) || '.' || (i % 5))::inet, 'US', 'New York', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
       40.71 + (i % 3) * 0.01, -74.0
FROM generate_series(1, 300) i;
SELECT login_anomaly.train('logins');
CREATE TRIGGER check_login AFTER INSERT ON logins FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
VALUES ('u3', '2026-11-02 03:00+00', '176.36.1.5', 'UA', 'Kyiv City', 'Kyiv',
        'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0', 50.45, 30.52);
CREATE TABLE probes AS
SELECT * FROM (VALUES
  ('2026-11-03 15:00+00'::timestamptz, '198.51.3.1'::inet, 'US', 'New York', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36', 40.72, -74.0),
  ('2026-11-03 03:00+00', '176.36.1.5', 'UA', 'Kyiv City', 'Kyiv',
   'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0', 50.45, 30.52))
  p(ts, ip, country, region, city, user_agent, lat, lon);
SQL

# every model against every probe, as exact text of the double
scores="SELECT string_agg(m.user_id || ':' || float8send(login_anomaly.score(m.model,
          login_anomaly.features(p.ts, p.ip, p.country, p.region, p.city, p.user_agent, p.lat, p.lon)))::text,
          ',' ORDER BY m.user_id, p.ts) FROM login_anomaly.models m, probes p"
alerts="SELECT string_agg(alert_id || ':' || user_id || ':' || reasons::text, ',' ORDER BY alert_id) FROM login_anomaly.alerts"
before=$(psql -qXAt -d "$src" -c "$scores")
alerts_before=$(psql -qXAt -d "$src" -c "$alerts")
# a new session of the source database scores the same
again=$(psql -qXAt -d "$src" -c "$scores")

"$bindir/pg_dump" -Fc -d "$src" -f "$dump" 2>"$dump.err"
if [ -s "$dump.err" ]; then
	echo "FAIL: dump_restore: pg_dump printed: $(head -c 300 "$dump.err")"
else
	echo "PASS: dump_restore: pg_dump runs without warnings"
fi
rm -f "$dump.err"
"$bindir/pg_restore" -d "$dst" "$dump" || echo "FAIL: dump_restore: pg_restore failed"

after=$(psql -qXAt -d "$dst" -c "$scores")
alerts_after=$(psql -qXAt -d "$dst" -c "$alerts")
models=$(psql -qXAt -d "$dst" -c "SELECT count(*) FROM login_anomaly.models")

if [ -n "$before" ] && [ "$before" = "$again" ]; then
	echo "PASS: dump_restore: a new session scores bit for bit alike"
else
	echo "FAIL: dump_restore: a new session scores differently"
fi
if [ "$models" = "7" ]; then
	echo "PASS: dump_restore: all 7 models restored"
else
	echo "FAIL: dump_restore: expected 7 models after restore, found $models"
fi
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	echo "PASS: dump_restore: restored models score bit for bit alike"
else
	echo "FAIL: dump_restore: restored models score differently: before $before, after $after"
fi
if [ -n "$alerts_before" ] && [ "$alerts_before" = "$alerts_after" ]; then
	echo "PASS: dump_restore: the alert outbox is restored"
else
	echo "FAIL: dump_restore: alerts differ: before '$alerts_before', after '$alerts_after'"
fi
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $src" -c "DROP DATABASE IF EXISTS $dst" >/dev/null

#!/usr/bin/env bash
# Write fixture_VERSION.sql: the models that VERSION of the library trains
# from history.sql, as text, and their scores of the probe logins, as the
# exact bytes of each double.  Run it against a cluster whose installed
# library is that version's (PGHOST and friends set), e.g. right before
# releasing it:  bash make_fixture.sh 0.2.0
set -euo pipefail
version=$1
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
db=la_upgrade_fixture
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION login_anomaly VERSION '$version'" \
	-f "$here/history.sql" -c "SELECT login_anomaly.train('logins')" >/dev/null
{
	echo "-- Written by make_fixture.sh $version: models trained by the $version library"
	echo "-- from history.sql, and their scores of the probes as float8send bytes."
	echo "CREATE TABLE fixture_models (user_id text PRIMARY KEY, model_text text, model_md5 text);"
	echo "CREATE TABLE fixture_scores (user_id text, probe int, score_bytes text, PRIMARY KEY (user_id, probe));"
	psql -qXAt -d "$db" -c "
		SELECT format('INSERT INTO fixture_models VALUES (%L, %L, %L);', user_id, model::text,
		              md5(login_anomaly.model_send(model)))
		FROM login_anomaly.models ORDER BY user_id"
	psql -qXAt -d "$db" -c "
		SELECT format('INSERT INTO fixture_scores VALUES (%L, %s, %L);', m.user_id, p.probe,
		              float8send(login_anomaly.score(m.model, login_anomaly.features(p.ts, p.ip,
		                p.country, p.region, p.city, p.user_agent, p.lat, p.lon)))::text)
		FROM login_anomaly.models m, probes p ORDER BY m.user_id, p.probe"
} >"$here/fixture_$version.sql"
psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
echo "wrote $here/fixture_$version.sql"

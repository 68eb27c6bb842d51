#!/usr/bin/env bash
# Write fixture_VERSION.sql: the models that VERSION of the library trains
# from history.sql, as text, and their scores of the probe logins, as the
# exact bytes of each double.  Run it against a cluster whose installed
# library is that version's (PGHOST and friends set), e.g. right before
# releasing it:  bash make_fixture.sh 0.2.0
#
# When a version changes how models score, on purpose, write what it gives
# the 0.1.0 fixture's models instead, as scores_VERSION.sql:
#   bash make_fixture.sh --scores 0.2.0
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
db=la_upgrade_fixture

# The SELECT that writes one INSERT INTO $1 per model and probe, with the
# model given by the expression $2 over a table aliased m
score_inserts()
{
	echo "SELECT format('INSERT INTO $1 VALUES (%L, %s, %L);', m.user_id, p.probe,
	              float8send(login_anomaly.score($2, login_anomaly.features(p.ts, p.ip,
	                p.country, p.region, p.city, p.user_agent, p.lat, p.lon)))::text)"
}

# Create the database with the extension at version $1, run the remaining
# arguments (psql options) in it, print what the commands on stdin print,
# and drop it again
with_database()
{
	local version=$1
	shift
	psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	psql -qX -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION login_anomaly VERSION '$version'" \
		-f "$here/history.sql" "$@" >/dev/null
	psql -qXAt -v ON_ERROR_STOP=1 -d "$db"
	psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
}

score_table="(user_id text, probe int, score_bytes text, PRIMARY KEY (user_id, probe))"
usage="usage: make_fixture.sh [--scores] VERSION"
if [ "${1:?$usage}" = --scores ]; then
	version=${2:?$usage}
	out=$here/scores_$version.sql
	{
		echo "-- Written by make_fixture.sh --scores $version: the $version library's scores of"
		echo "-- the probes by the models of fixture_0.1.0.sql, as float8send bytes."
		echo "CREATE TABLE current_scores $score_table;"
		with_database "$version" -f "$here/fixture_0.1.0.sql" <<-SQL
			$(score_inserts current_scores "m.model_text::login_anomaly.model")
			FROM fixture_models m, probes p ORDER BY m.user_id, p.probe;
		SQL
	} >"$out.tmp"
else
	version=$1
	out=$here/fixture_$version.sql
	{
		echo "-- Written by make_fixture.sh $version: models trained by the $version library"
		echo "-- from history.sql, and their scores of the probes as float8send bytes."
		echo "CREATE TABLE fixture_models (user_id text PRIMARY KEY, model_text text, model_md5 text);"
		echo "CREATE TABLE fixture_scores $score_table;"
		with_database "$version" -c "SELECT login_anomaly.train('logins')" <<-SQL
			SELECT format('INSERT INTO fixture_models VALUES (%L, %L, %L);', user_id, model::text,
			              md5(login_anomaly.model_send(model)))
			FROM login_anomaly.models ORDER BY user_id;
			$(score_inserts fixture_scores m.model)
			FROM login_anomaly.models m, probes p ORDER BY m.user_id, p.probe;
		SQL
	} >"$out.tmp"
fi
# written whole or not at all: a failed psql leaves the old file
mv "$out.tmp" "$out"
echo "wrote $out"

#!/usr/bin/env bash
# uap-core conformance through the SQL function parse_user_agent: every case
# of the installed uap-core test files, one PASS or FAIL line per file.
set -u
here=$(cd "$(dirname "$0")" && pwd)
db=la_it_uap_conformance
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || exit 1
psql -qX -d "$db" -c "CREATE EXTENSION login_anomaly" >/dev/null || exit 1

out=$(PGDATABASE=$db "${LA_PYTHON:-python3}" "$here/../uap/conformance.py" 2>&1)
rc=$?
echo "$out"
for f in test_ua.yaml test_os.yaml test_device.yaml; do
	line=$(grep "^$f: " <<<"$out")
	if [ -z "$line" ]; then
		echo "FAIL: uap conformance $f: no result"
	elif [ $rc -eq 0 ]; then
		echo "PASS: uap conformance $line"
	else
		echo "FAIL: uap conformance $line (below target)"
	fi
done
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
exit $rc

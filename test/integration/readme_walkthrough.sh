#!/usr/bin/env bash
# The README's psql walkthrough, run as written in a fresh database: every
# statement must succeed, and the Kyiv login must leave an alert naming its
# country and browser.
set -u
here=$(cd "$(dirname "$0")" && pwd)
db=la_it_readme_walkthrough
sql=$(mktemp)
trap 'rm -f "$sql"' EXIT

# the first sql block after the walkthrough heading
awk '/^## A walkthrough in psql/ {found = 1}
     found && /^```sql/ {inside = 1; next}
     inside && /^```/ {exit}
     inside {print}' "$here/../../README.md" > "$sql"
if [ ! -s "$sql" ]; then
	echo "FAIL: readme walkthrough: no sql block found"
	exit 1
fi

psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || exit 1
if psql -qX -v ON_ERROR_STOP=1 -d "$db" -f "$sql" >/dev/null; then
	echo "PASS: readme walkthrough: every statement runs"
else
	echo "FAIL: readme walkthrough: a statement failed"
fi

alert=$(psql -qXAt -d "$db" -c "SELECT country || ' ' || browser || ' ' || array_to_string(reasons, '; ')
                               FROM login_anomaly.alerts WHERE user_id = 'alice'")
case "$alert" in
	UA\ Firefox*"country UA never seen"*"browser Firefox never seen"*)
		echo "PASS: readme walkthrough: the Kyiv login raised an alert with its reasons" ;;
	*)
		echo "FAIL: readme walkthrough: expected one alert for alice naming UA and Firefox, got: $alert" ;;
esac
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null

#!/usr/bin/env bash
# test/demo.sh: the login_anomaly demo, end to end on a throwaway cluster.
#
# Builds and installs the extension, generates four months of login history
# for DEMO_USERS users, trains one model per user and installs the trigger.
# Then it replays one day of new logins, about 1% of them injected account
# takeovers, while a listener prints the alerts as they arrive.  It ends with
# a summary: takeovers caught and false alarms, by kind.
#
#   bash test/demo.sh
#
# Environment: DEMO_USERS (default 3000), DEMO_SEED (default 1),
# DEMO_ATTACK_RATE (default 0.01), LA_KEEP_CLUSTER=1 to leave the cluster
# running afterwards for a look with psql.

# The la_* functions take optional arguments, and this script passes none.
# shellcheck disable=SC2119

set -euo pipefail

LA_TEST_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/cluster.sh
source "$LA_TEST_DIR/lib/cluster.sh"

DEMO_USERS=${DEMO_USERS:-3000}
DEMO_SEED=${DEMO_SEED:-1}
DEMO_ATTACK_RATE=${DEMO_ATTACK_RATE:-0.01}
DEMO_DIR=$LA_TEST_DIR/demo

demo_started=$(date +%s)

step()
{
	printf '\n== %s\n' "$*"
}

elapsed()
{
	echo $(($(date +%s) - $1))
}

demo_psql()
{
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# Set before la_start_cluster, which keeps this trap and stops the cluster
# first.
work=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-demo.XXXXXX")
listener_pid=
cleanup()
{
	if [ -n "$listener_pid" ]; then
		kill "$listener_pid" 2>/dev/null || true
	fi
	rm -rf -- "$work"
}
trap cleanup EXIT

step "Installing dependencies and building login_anomaly"
la_install_deps
la_build_install >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	exit 1
}
echo "built and installed ($(elapsed "$demo_started") s so far)"

step "Starting a throwaway PostgreSQL 15 cluster"
la_start_cluster

step "Generating 120 days of logins for $DEMO_USERS users"
started=$(date +%s)
"$LA_PYTHON" "$LA_TEST_DIR/gen/generate_logins.py" --users "$DEMO_USERS" --seed "$DEMO_SEED" \
	--attack-rate "$DEMO_ATTACK_RATE" --test-days 1 --out "$work"
echo "generated in $(elapsed "$started") s"

step "Loading the history into demo.logins (login_anomaly.enabled = off)"
started=$(date +%s)
demo_psql -f "$DEMO_DIR/schema.sql"
# The paths come from mktemp, so they need no quoting beyond the single quotes.
demo_psql <<EOF
SET login_anomaly.enabled = off;
\\copy demo.logins FROM '$work/history.csv' WITH (FORMAT csv, HEADER)
\\copy demo.replay FROM '$work/test.csv' WITH (FORMAT csv, HEADER)
ANALYZE demo.logins;
EOF
demo_psql -At -c "SELECT format('loaded %s history logins of %s users, and %s logins to replay',
	(SELECT count(*) FROM demo.logins), (SELECT count(DISTINCT user_id) FROM demo.logins),
	(SELECT count(*) FROM demo.replay))"
echo "loaded in $(elapsed "$started") s"

step "Training one model per user"
demo_psql -f "$DEMO_DIR/train.sql"

step "Installing the trigger on demo.logins"
demo_psql <<'EOF'
CREATE TRIGGER logins_check_login
	AFTER INSERT ON demo.logins
	FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('login_ref=login_id');
EOF
echo "AFTER INSERT trigger login_anomaly.check_login('login_ref=login_id') installed"

step "Replaying one day of new logins; alerts as the listener receives them:"
ready=$work/listener.ready
"$LA_PYTHON" "$DEMO_DIR/listen.py" --labels demo.replay --max-print 15 --ready-file "$ready" &
listener_pid=$!
for _ in $(seq 100); do
	[ -e "$ready" ] && break
	if ! kill -0 "$listener_pid" 2>/dev/null; then
		echo "demo.sh: the listener exited before it was ready" >&2
		exit 1
	fi
	sleep 0.1
done
if [ ! -e "$ready" ]; then
	echo "demo.sh: the listener was not ready after 10 s" >&2
	exit 1
fi

demo_psql -f "$DEMO_DIR/replay.sql"
# Notifications arrive in commit order, so this one comes after every alert.
demo_psql -c "NOTIFY login_anomaly_demo_done"
if ! wait "$listener_pid"; then
	echo "demo.sh: the listener failed" >&2
fi
listener_pid=

demo_psql -f "$DEMO_DIR/summary.sql"

if la_server_log_has_crash; then
	echo "demo.sh: the server log shows a crashed backend: $LA_SERVER_LOG" >&2
	exit 1
fi
printf '\nDemo finished in %s s.\n' "$(elapsed "$demo_started")"

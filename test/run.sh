#!/usr/bin/env bash
# test/run.sh: run every login_anomaly test and print one summary line.
#
# Usage: bash test/run.sh [--quick]
#
# Steps: install missing Debian packages, build and install the extension,
# start a throwaway cluster (test/lib/cluster.sh), then run
#   1. pg_regress through `make installcheck`: each test file counts as one
#      test, passed or failed as pg_regress reports it;
#   2. every file directly in test/integration/: *.py runs with Debian's
#      python3, *.sh with bash, and any other executable file as it is;
#      test/integration/lib/ contains their helpers and is not run;
#   3. test/mailer/run_tests.sh, when it exists: its last line must be
#      "N passed, N failed", and those counts are added;
#   4. one check that the server log shows no crashed backend.
#
# Contract for an integration test file: print one line per check,
# "PASS: <name>" or "FAIL: <name>[: detail]", and exit non-zero when a check
# failed.  Every such line counts as one test.  A file that exits non-zero
# without printing a FAIL line (it crashed or timed out) adds one failure;
# a file that prints no PASS or FAIL line counts as one test, passed when it
# exits 0.  A file whose first lines contain "# la-test: slow" is skipped by
# --quick (or LA_QUICK=1).  Each file runs with PGHOST, PGPORT, PGUSER and
# PGDATABASE set for the test cluster, and gets at most LA_TEST_TIMEOUT
# seconds (default 600).
#
# The last line printed is "N passed, N failed", and the exit status is 0
# only when nothing failed.  LA_KEEP_CLUSTER=1 leaves the cluster running.

set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"

LA_QUICK=${LA_QUICK:-0}
LA_TEST_TIMEOUT=${LA_TEST_TIMEOUT:-600}
for argument in "$@"; do
	case "$argument" in
		--quick) LA_QUICK=1 ;;
		-h|--help)
			sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
			exit 0
			;;
		*)
			echo "run.sh: unknown argument $argument (expected --quick)" >&2
			exit 2
			;;
	esac
done
export LA_QUICK
export PYTHONDONTWRITEBYTECODE=1

passed=0
failed=0
skipped=0
failed_names=()
work=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-run.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

record_pass()
{
	passed=$((passed + 1))
}

record_fail()
{
	failed=$((failed + 1))
	failed_names+=("$1")
}

section()
{
	printf '\n==== %s ====\n' "$1"
}

# Print the summary and exit.  Nothing may follow the summary line.
finish()
{
	if [ "$skipped" -gt 0 ]; then
		echo "skipped: $skipped slow test file(s) (--quick)"
	fi
	if [ ${#failed_names[@]} -gt 0 ]; then
		echo "failed tests:"
		printf '  %s\n' "${failed_names[@]}"
	fi
	la_stop_cluster
	rm -rf -- "$work"
	echo "$passed passed, $failed failed"
	if [ "$failed" -eq 0 ]; then
		exit 0
	fi
	exit 1
}

run_pg_regress()
{
	local output=$work/pg_regress.out status line name result

	section "pg_regress (make installcheck)"
	if ! ls "$ROOT"/sql/*.sql 2>/dev/null | grep -v '/login_anomaly--' | grep -q .; then
		echo "no regression test files in sql/"
		return
	fi
	rm -rf -- "$ROOT/test/results"
	mkdir -p "$ROOT/test/results"

	timeout -k 10 900 make -C "$ROOT" PG_CONFIG="$LA_PG_CONFIG" installcheck \
		>"$output" 2>&1
	status=$?
	cat "$output"

	# PostgreSQL 15 prints "test name ... ok" or, inside a parallel group,
	# "     name ... FAILED"; "failed (ignored)" also counts as failed.
	local counted=0
	while IFS= read -r line; do
		if [[ "$line" =~ ^(test)?[[:space:]]+([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed) ]]; then
			name=${BASH_REMATCH[2]}
			result=${BASH_REMATCH[3]}
			counted=$((counted + 1))
			if [ "$result" = ok ]; then
				record_pass
			else
				record_fail "pg_regress: $name"
			fi
		fi
	done <"$output"

	if [ "$status" -ne 0 ] && [ "$counted" -eq 0 ]; then
		record_fail "pg_regress: make installcheck exited with status $status"
	fi
	if [ -s "$ROOT/test/results/regression.diffs" ]; then
		echo "---- test/results/regression.diffs ----"
		cat "$ROOT/test/results/regression.diffs"
	fi
}

# Count the PASS/FAIL lines of one integration test file's output.
run_test_file()
{
	local file=$1 name log status passes fails
	local command=()

	name=${file#"$ROOT"/}
	case "$file" in
		*.py) command=("$LA_PYTHON" -u "$file") ;;
		*.sh) command=(bash "$file") ;;
		*)
			if [ -x "$file" ]; then
				command=("$file")
			else
				return
			fi
			;;
	esac
	if [ "$LA_QUICK" = 1 ] && head -n 5 "$file" | grep -q '^# la-test: slow'; then
		echo "SKIP: $name (slow, --quick)"
		skipped=$((skipped + 1))
		return
	fi

	section "$name"
	log=$work/$(basename "$file").log
	timeout -k 10 "$LA_TEST_TIMEOUT" "${command[@]}" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}

	passes=$(grep -c '^PASS: ' "$log")
	fails=$(grep -c '^FAIL: ' "$log")
	passed=$((passed + passes))
	failed=$((failed + fails))
	while IFS= read -r line; do
		failed_names+=("${line#FAIL: }")
	done < <(grep '^FAIL: ' "$log" | cut -c1-200)

	if [ $((passes + fails)) -eq 0 ]; then
		if [ "$status" -eq 0 ]; then
			record_pass
		else
			record_fail "$name: exited with status $status"
		fi
	elif [ "$status" -ne 0 ] && [ "$fails" -eq 0 ]; then
		if [ "$status" -eq 124 ]; then
			record_fail "$name: timed out after $LA_TEST_TIMEOUT s"
		else
			record_fail "$name: exited with status $status"
		fi
	fi
}

run_integration_tests()
{
	local file

	for file in "$ROOT"/test/integration/*; do
		if [ -f "$file" ]; then
			run_test_file "$file"
		fi
	done
}

run_mailer_tests()
{
	local script=$ROOT/test/mailer/run_tests.sh log status last

	if [ ! -f "$script" ]; then
		return
	fi
	section "test/mailer/run_tests.sh"
	log=$work/mailer.log
	# As root the mailer tests start a cluster of their own, so they can also
	# restart PostgreSQL under the mailer.  Otherwise they use this run's.
	local environment=(env)
	if [ "$(id -u)" = 0 ]; then
		environment=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE)
	fi
	timeout -k 10 "$LA_TEST_TIMEOUT" "${environment[@]}" bash "$script" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}

	last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
	if [[ "$last" =~ ^([A-Za-z]+:[[:space:]]*)?([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		passed=$((passed + BASH_REMATCH[2]))
		failed=$((failed + BASH_REMATCH[3]))
		if [ "${BASH_REMATCH[3]}" -gt 0 ]; then
			failed_names+=("test/mailer: ${BASH_REMATCH[3]} failed")
		fi
		if [ "$status" -ne 0 ] && [ "${BASH_REMATCH[3]}" -eq 0 ]; then
			record_fail "test/mailer/run_tests.sh: exited with status $status"
		fi
	else
		record_fail "test/mailer/run_tests.sh: last line is not 'N passed, N failed' (status $status)"
	fi
}

check_server_log()
{
	section "server log"
	if la_server_log_has_crash; then
		grep -E -B2 -A2 'terminated by signal|PANIC|server process .* was terminated' \
			"$LA_SERVER_LOG"
		record_fail "server log shows a crashed backend"
	else
		echo "PASS: server log shows no crashed backend"
		record_pass
	fi
}

section "dependencies"
if ! la_install_deps; then
	record_fail "install dependencies"
	finish
fi
echo "all of LA_DEPS installed"

section "build and install"
if ! la_build_install; then
	record_fail "build and install the extension"
	finish
fi

section "cluster"
if ! la_start_cluster; then
	record_fail "start the test cluster"
	finish
fi

run_pg_regress
run_integration_tests
run_mailer_tests
check_server_log
finish

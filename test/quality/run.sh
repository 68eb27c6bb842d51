#!/usr/bin/env bash
# test/quality/run.sh: measure how well login_anomaly detects account
# takeovers, next to two reference detectors scored on the same logins.
#
# Usage: bash test/quality/run.sh [--users N] [--seed S] [--test-days D]
#                                 [--update-readme FILE]
#
#   --users N             users in the generated benchmark (default 3000)
#   --seed S              generator seed (default 1)
#   --test-days D         days of labelled test logins (default 7, about 200
#                         takeovers with 3000 users)
#   --update-readme FILE  also rewrite the block between <!-- quality:begin -->
#                         and <!-- quality:end --> in FILE
#
# Steps: install missing Debian packages, build and install the extension,
# start a throwaway cluster (test/lib/cluster.sh), generate the benchmark
# with test/gen/generate_logins.py, load history.csv into bench.history with
# login_anomaly.enabled = off, then for each day of the test period train
# with the extension's defaults (login_anomaly.train('bench.history')),
# score that day's test logins with login_anomaly.score() and add them to
# the history, as a nightly retraining would.  The references
# (reference_naive_svm.py and reference_freeman.py) score the same logins
# the same way through nightly.py, and evaluate.py computes the figures.  Outputs: test/quality/results/figures.md and
# test/quality/results/roc.png, and with --update-readme the generated block
# of that file.
#
# QUALITY_KEEP_WORK=1 keeps the directory with the CSV files and scores;
# LA_KEEP_CLUSTER=1 leaves the cluster running.

# The la_* functions take optional arguments, and this script passes none.
# shellcheck disable=SC2119

set -euo pipefail

QUALITY_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$QUALITY_DIR/../.." && pwd)
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"

users=3000
seed=1
test_days=7
readme_files=()

usage()
{
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

# Return 0 when $1 is a positive integer.
is_positive_integer()
{
	[[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]
}

while [ $# -gt 0 ]; do
	case "$1" in
		--users|--seed|--test-days|--update-readme)
			if [ $# -lt 2 ]; then
				echo "run.sh: $1 needs a value" >&2
				exit 2
			fi
			case "$1" in
				--users) users=$2 ;;
				--seed) seed=$2 ;;
				--test-days) test_days=$2 ;;
				--update-readme)
					if [ ! -f "$2" ]; then
						echo "run.sh: --update-readme: file not found: $2" >&2
						exit 2
					fi
					if ! grep -q -F '<!-- quality:begin -->' "$2" ||
						! grep -q -F '<!-- quality:end -->' "$2"; then
						echo "run.sh: --update-readme: $2 lacks the <!-- quality:begin --> and <!-- quality:end --> lines" >&2
						exit 2
					fi
					readme_files+=("$(cd -- "$(dirname -- "$2")" && pwd)/$(basename -- "$2")")
					;;
			esac
			shift 2
			;;
		-h|--help)
			usage
			exit 0
			;;
		*)
			echo "run.sh: unknown argument $1 (see --help)" >&2
			exit 2
			;;
	esac
done
if ! is_positive_integer "$users" || ! is_positive_integer "$test_days"; then
	echo "run.sh: --users and --test-days must be positive integers" >&2
	exit 2
fi
if ! [[ $seed =~ ^-?[0-9]+$ ]]; then
	echo "run.sh: --seed must be an integer, got $seed" >&2
	exit 2
fi
arguments="--users $users --seed $seed --test-days $test_days"

# The references need scikit-learn and uap-core's Python parser, the chart
# needs gnuplot.
for package in python3-numpy python3-sklearn python3-ua-parser gnuplot-nox; do
	if [[ " ${LA_DEPS[*]} " != *" $package "* ]]; then
		LA_DEPS+=("$package")
	fi
done
export PYTHONDONTWRITEBYTECODE=1

run_started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-quality.XXXXXX")
cleanup()
{
	if [ "${QUALITY_KEEP_WORK:-0}" = 1 ]; then
		echo "run.sh: QUALITY_KEEP_WORK=1, leaving $work" >&2
	else
		rm -rf -- "$work"
	fi
}
# Set before la_start_cluster, which keeps this trap and stops the cluster
# first.
trap cleanup EXIT

step()
{
	printf '\n== %s\n' "$*"
}

elapsed()
{
	echo $(($(date +%s) - $1))
}

now_ms()
{
	date +%s%3N
}

# Seconds since $1 (a now_ms value), with one decimal.
elapsed_s()
{
	local ms=$(($(now_ms) - $1))
	echo "$((ms / 1000)).$((ms % 1000 / 100))"
}

bench_psql()
{
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}

step "Installing dependencies and building login_anomaly"
la_install_deps
la_build_install >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	exit 1
}
echo "built and installed ($(elapsed "$run_started") s so far)"

step "Starting a throwaway PostgreSQL 15 cluster"
la_start_cluster

step "Generating the benchmark ($arguments)"
"$LA_PYTHON" "$ROOT/test/gen/generate_logins.py" --users "$users" --seed "$seed" \
	--test-days "$test_days" --out "$work"

step "Loading history.csv into bench.history (login_anomaly.enabled = off)"
bench_psql <<EOF
CREATE EXTENSION login_anomaly;
CREATE SCHEMA bench;
CREATE TABLE bench.history (
	login_id bigint PRIMARY KEY,
	user_id text NOT NULL,
	ts timestamptz NOT NULL,
	ip inet,
	country text,
	region text,
	city text,
	user_agent text,
	lat float8,
	lon float8
);
CREATE TABLE bench.test (
	LIKE bench.history INCLUDING ALL,
	label text NOT NULL CHECK (label IN ('legit', 'attack')),
	kind text NOT NULL
);
SET login_anomaly.enabled = off;
\\copy bench.history FROM '$work/history.csv' WITH (FORMAT csv, HEADER)
\\copy bench.test FROM '$work/test.csv' WITH (FORMAT csv, HEADER)
ANALYZE bench.history;
ANALYZE bench.test;
EOF
bench_psql -At -c "SELECT format('%s history logins of %s users, %s test logins',
	(SELECT count(*) FROM bench.history), (SELECT count(DISTINCT user_id) FROM bench.history),
	(SELECT count(*) FROM bench.test))"

# The setting exists once the library is loaded; SHOW reports what the
# server uses now, so a changed default is picked up without editing this.
default_threshold=$(bench_psql -At -c "LOAD 'login_anomaly'" -c "SHOW login_anomaly.threshold")
echo "login_anomaly.threshold = $default_threshold"

# A deployment retrains every night (README, "Running it day to day"), so
# each test day is scored by models trained on everything before it:
# history.csv and the test logins of the days before, takeovers included,
# as no analyst has given a verdict.  The references get the same nights
# through nightly.py.
mapfile -t days < <("$LA_PYTHON" "$QUALITY_DIR/nightly.py" days --test "$work/test.csv")
step "Training login_anomaly with its defaults and scoring the ${#days[@]} test days, retraining every night"
bench_psql -c "CREATE TABLE bench.scores (login_id bigint, score float8)"
train_ms=0
score_ms=0
for day in "${days[@]}"; do
	started=$(now_ms)
	trained=$(bench_psql -At -c "SELECT login_anomaly.train('bench.history')")
	train_ms=$((train_ms + $(now_ms) - started))
	started=$(now_ms)
	bench_psql -c "INSERT INTO bench.scores
		SELECT login_id, login_anomaly.score(user_id, ts, ip, country, region, city, user_agent, lat, lon)
		FROM bench.test WHERE ts >= '$day'::timestamptz AND ts < '$day'::timestamptz + interval '1 day'"
	score_ms=$((score_ms + $(now_ms) - started))
	bench_psql -c "INSERT INTO bench.history
		SELECT login_id, user_id, ts, ip, country, region, city, user_agent, lat, lon
		FROM bench.test WHERE ts >= '$day'::timestamptz AND ts < '$day'::timestamptz + interval '1 day'"
	echo "$day: trained $trained users"
done
train_s="$((train_ms / 1000)).$((train_ms % 1000 / 100))"
score_s="$((score_ms / 1000)).$((score_ms % 1000 / 100))"
bench_psql <<EOF
\\copy (SELECT login_id, score FROM bench.scores ORDER BY login_id) TO '$work/scores_extension.csv' WITH (FORMAT csv, HEADER)
EOF
nulls=$(awk -F, 'NR > 1 && $2 == "" { n++ } END { print n + 0 }' "$work/scores_extension.csv")
echo "trained in $train_s s and scored in $score_s s in all; $nulls logins without a score (user without a model)"
cat >"$work/timing_extension.json" <<EOF
{"train_s": $train_s, "score_s": $score_s,
 "note": "Retrained every night: ${#days[@]} runs of login_anomaly.train('bench.history') with the extension's defaults, each followed by login_anomaly.score(user_id, ts, ip, country, region, city, user_agent, lat, lon) for the day's test logins in one statement. A NULL score (a user without a model) counts as the lowest score. The times add up the nights, in one backend each."}
EOF

step "Scoring the same logins with the naive OneClassSVM reference, retrained every night"
"$LA_PYTHON" "$QUALITY_DIR/nightly.py" run --history "$work/history.csv" --test "$work/test.csv" \
	--work "$work/nights_naive_svm" --out "$work/scores_naive_svm.csv" --timing "$work/timing_naive_svm.json" \
	-- "$LA_PYTHON" "$QUALITY_DIR/reference_naive_svm.py"

step "Scoring the same logins with the Freeman et al. reference, retrained every night"
"$LA_PYTHON" "$QUALITY_DIR/nightly.py" run --history "$work/history.csv" --test "$work/test.csv" \
	--work "$work/nights_freeman" --out "$work/scores_freeman.csv" --timing "$work/timing_freeman.json" \
	-- "$LA_PYTHON" "$QUALITY_DIR/reference_freeman.py"

step "Figures"
mkdir -p "$ROOT/test/quality/results"
readme_arguments=()
for file in "${readme_files[@]}"; do
	readme_arguments+=(--readme "$file")
done
"$LA_PYTHON" "$QUALITY_DIR/evaluate.py" --test "$work/test.csv" --history "$work/history.csv" \
	--detector "extension:$work/scores_extension.csv:$work/timing_extension.json" \
	--detector "naive_svm:$work/scores_naive_svm.csv:$work/timing_naive_svm.json" \
	--detector "freeman:$work/scores_freeman.csv:$work/timing_freeman.json" \
	--default-threshold "$default_threshold" --arguments "$arguments" \
	--out-dir "$ROOT/test/quality/results" --roc-dir "$work" --json "$work/figures.json" \
	"${readme_arguments[@]}"

gnuplot -e "datadir='$work'; output='$ROOT/test/quality/results/roc.png'" "$QUALITY_DIR/roc.gp"
echo "wrote test/quality/results/figures.md and test/quality/results/roc.png"

if la_server_log_has_crash; then
	echo "run.sh: the server log shows a crashed backend: $LA_SERVER_LOG" >&2
	exit 1
fi
printf '\nQuality run finished in %s s.\n' "$(elapsed "$run_started")"

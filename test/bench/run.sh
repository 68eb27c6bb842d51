#!/usr/bin/env bash
# test/bench/run.sh: login_anomaly's speed benchmarks, each figure side by
# side with its reference, written to test/bench/RESULTS.md.
#
#   bash test/bench/run.sh [--quick] [--no-build]
#
# --quick     smaller sizes and fewer repetitions (about 3 minutes on 2 cores;
#             the full run takes about 6 to 10)
# --no-build  measure the extension already installed instead of running
#             make and make install first
#
# Installs missing Debian packages, builds the C harnesses (libsvm_floor,
# uap_bench) into a temporary directory, starts a throwaway cluster, runs
# bench.py and renders RESULTS.md with report.py.  LA_KEEP_CLUSTER=1 leaves
# the cluster running; BENCH_KEEP_WORK=1 keeps the temporary directory with
# the generated data and results.json.

# The la_* functions take optional arguments, and this script passes none.
# shellcheck disable=SC2119

set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
source "$BENCH_DIR/../lib/cluster.sh"

quick=
build=1
for arg in "$@"; do
	case $arg in
		--quick) quick=--quick ;;
		--no-build) build=0 ;;
		-h | --help)
			sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
			exit 0
			;;
		*)
			echo "run.sh: unknown option $arg (valid: --quick, --no-build)" >&2
			exit 2
			;;
	esac
done

# Set before la_start_cluster, which keeps this trap and stops the cluster
# first.
work=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-bench.XXXXXX")
cleanup()
{
	if [ "${BENCH_KEEP_WORK:-0}" = 1 ]; then
		echo "run.sh: kept $work" >&2
	else
		rm -rf -- "$work"
	fi
}
trap cleanup EXIT

la_install_deps
if [ "$build" = 1 ]; then
	la_build_install >"$work/build.log" 2>&1 || {
		cat "$work/build.log" >&2
		exit 1
	}
fi
make -s -C "$BENCH_DIR" OUT="$work" all

la_start_cluster

"$LA_PYTHON" "$BENCH_DIR/bench.py" $quick --work "$work" --build "$work" \
	--pgbench "$LA_PG_BIN/pgbench" --json "$work/results.json"
"$LA_PYTHON" "$BENCH_DIR/report.py" "$work/results.json" --out "$BENCH_DIR/RESULTS.md"
if [ -n "$quick" ]; then
	echo "run.sh: a --quick run; its smaller sizes are not comparable with a full run" >&2
fi

if la_server_log_has_crash; then
	echo "run.sh: the server log shows a crashed backend: $LA_SERVER_LOG" >&2
	exit 1
fi
echo "run.sh: wrote $BENCH_DIR/RESULTS.md" >&2

#!/usr/bin/env bash
# test/sanitize/run.sh: build login_anomaly and its mailer with
# AddressSanitizer and UndefinedBehaviorSanitizer, run the test suite
# against them, and run the mailer's tests once more under valgrind.
#
# Usage: bash test/sanitize/run.sh      (as root; see test/sanitize/README.md)
#
# Nothing is installed into the system PostgreSQL.  Everything lives under
# LA_SANITIZE_DIR (default /tmp/login_anomaly-sanitize):
#   1. a copy of /usr/lib/postgresql/15 and /usr/share/postgresql/15 under
#      root/; PostgreSQL finds its share and lib directories relative to its
#      own binary, so the copy is a private installation;
#   2. the extension, built with gcc and $SANITIZE_FLAGS in a copy of the
#      sources under build/ and installed with DESTDIR into the copy.  The
#      mailer is built with clang-14 and the same flags under mailer-asan/,
#      because gcc 12's UBSan ignores log_path when ASan is linked too;
#   3. a cluster started from the copy with gcc's libasan preloaded into
#      pg_ctl and so into the server, because Debian's postgres binary is
#      not instrumented.  A small preload library (asan_early_init.c below)
#      makes the first malloc outside glibc's locks; without it the server
#      hangs at start (see README.md);
#   4. make installcheck (pg_regress) and every file in test/integration,
#      counted as test/run.sh counts them;
#   5. test/mailer/run_tests.sh with the instrumented mailer
#      (LA_MAILER_BIN), then again with an uninstrumented build of the
#      mailer under valgrind;
#   6. the verdict: any AddressSanitizer, LeakSanitizer or UBSan report
#      (files under reports/; the server's UBSan reports go to its log),
#      any valgrind error or definitely or indirectly lost block, or a
#      crashed backend fails the run.  Two planted bugs in a probe module then check that the server
#      really reports heap overflows and undefined behaviour.
#
# The last line is "N passed, N failed"; the exit status is 0 only when
# nothing failed.  Logs and reports stay in LA_SANITIZE_DIR.

set -uo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
SCRATCH=${LA_SANITIZE_DIR:-/tmp/login_anomaly-sanitize}
LA_TEST_TIMEOUT=${LA_TEST_TIMEOUT:-1200}
PG_CONFIG_SYSTEM=/usr/lib/postgresql/15/bin/pg_config
PRIVATE=$SCRATCH/root
PRIVATE_BIN=$PRIVATE/usr/lib/postgresql/15/bin
PRIVATE_LIB=$PRIVATE/usr/lib/postgresql/15/lib
REPORTS=$SCRATCH/reports
VALGRIND_LOGS=$SCRATCH/valgrind

# UBSan recovers and goes on, so one run lists every report.  ASan cannot
# recover from a bad access: the process aborts after its report.
SANITIZE_FLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer'
LIBASAN=$(gcc -print-file-name=libasan.so)
SERVER_ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$REPORTS/server-asan"
# gcc's libubsan writes to stderr, which is the server log, even with
# log_path set, when libasan is loaded too.
SERVER_UBSAN_OPTIONS="print_stacktrace=1"
# In clang's runtime UBSan shares ASan's log_path, and a log_path in
# UBSAN_OPTIONS would send the ASan and LSan reports to its file as well.
MAILER_ASAN_OPTIONS="detect_leaks=1:log_path=$REPORTS/mailer"
MAILER_UBSAN_OPTIONS="print_stacktrace=1"

passed=0
failed=0
skipped=0

# Checks that cannot hold under the sanitizers or valgrind, as extended
# regular expressions for their FAIL or "not ok" lines, each with the reason
# printed when it is skipped.  A skipped check counts neither as passed nor
# as failed.
SKIP_UNDER_ASAN=(
	'^FAIL: training_limits: .*: peak memory grows by at most'
	"the backend's RssAnon includes ASan's shadow memory and its quarantine of freed blocks (256 MB by default)"
)
SKIP_MAILER_UNDER_ASAN=(
	'^not ok - (daemon )?valgrind clean'
	"valgrind cannot run a mailer built with ASan; the valgrind pass runs these cases"
)
# Under valgrind every mailer check runs
SKIP_MAILER_UNDER_VALGRIND=()

pass()
{
	echo "PASS: sanitize: $1"
	passed=$((passed + 1))
}

fail()
{
	echo "FAIL: sanitize: $1${2:+: $2}"
	failed=$((failed + 1))
}

section()
{
	printf '\n==== %s ====\n' "$1"
}

# Print the lines of file $1 that match the pattern in $2 as SKIP lines with
# the reason in $3, and add their number to skipped.  Return their number.
skip_matching()
{
	local count

	count=$(grep -c -E "$2" "$1")
	if [ "$count" -gt 0 ]; then
		grep -E "$2" "$1" | cut -c1-200 | sed 's/^/SKIP: /'
		echo "      because $3"
		skipped=$((skipped + count))
	fi
	return "$count"
}

# Print the summary and exit.  Nothing may follow the summary line.
finish()
{
	trap - EXIT
	la_stop_cluster 2>/dev/null
	if [ "$skipped" -gt 0 ]; then
		echo "skipped: $skipped checks that cannot hold under ASan or valgrind (see SKIP lines)"
	fi
	echo "$passed passed, $failed failed"
	if [ "$failed" -eq 0 ]; then
		exit 0
	fi
	exit 1
}

# Print the report files whose names start with $1, and return 0 if any.
show_reports()
{
	local file found=1

	for file in "$1"*; do
		[ -f "$file" ] || continue
		found=0
		echo "---- $file"
		head -n 60 "$file"
	done
	return $found
}

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root: the cluster runs as the postgres user and the mailer tests use runuser" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for tool in gcc clang-14 valgrind "$PG_CONFIG_SYSTEM"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "run.sh: $tool not found; apt-get install build-essential clang-14 libclang-rt-14-dev valgrind postgresql-server-dev-15" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done
if [ ! -f "$LIBASAN" ]; then
	echo "run.sh: gcc has no libasan.so; apt-get install libasan8" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

rm -rf -- "$SCRATCH"
mkdir -p "$SCRATCH/build" "$REPORTS" "$VALGRIND_LOGS"
chmod 755 "$SCRATCH"
chmod 777 "$REPORTS"

section "private PostgreSQL installation"
mkdir -p "$PRIVATE/usr/lib/postgresql" "$PRIVATE/usr/share/postgresql"
if cp -a /usr/lib/postgresql/15 "$PRIVATE/usr/lib/postgresql/" &&
	cp -a /usr/share/postgresql/15 "$PRIVATE/usr/share/postgresql/"; then
	pass "copy of the PostgreSQL installation in $PRIVATE"
else
	fail "copy of the PostgreSQL installation in $PRIVATE"
	finish
fi

# In the server, libasan is preloaded, so its allocator starts on the first
# malloc of the process.  That first malloc comes from a library
# constructor (libgpg-error's, which runs before libasan's own) calling
# bindtextdomain(), which holds glibc's _nl_state_lock for writing.  ASan's
# start-up then calls dlerror(), which calls gettext, which takes the same
# lock for reading: glibc refuses, gettext unlocks a lock it never got, and
# the next bindtextdomain() in PostgreSQL's main() waits forever.  This
# wrapper makes one malloc before the real bindtextdomain() takes the lock.
section "instrumented build"
cat >"$SCRATCH/asan_early_init.c" <<'EOF'
/*
 * asan_early_init.c: preload library for test/sanitize/run.sh that starts
 * AddressSanitizer before the first bindtextdomain() takes glibc's
 * _nl_state_lock.  Preload it after libasan.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

typedef char *(*bindtextdomain_function) (const char *, const char *);

char *
bindtextdomain(const char *domainname, const char *dirname)
{
	static bindtextdomain_function next;
	void	   *volatile block;

	/* volatile, so that the compiler does not drop the malloc and free */
	block = malloc(1);
	free(block);
	if (next == NULL)
		next = (bindtextdomain_function) dlsym(RTLD_NEXT, "bindtextdomain");
	return next(domainname, dirname);
}
EOF
if gcc -O2 -fPIC -shared -Wall -o "$SCRATCH/asan_early_init.so" "$SCRATCH/asan_early_init.c" -ldl \
		>"$SCRATCH/build.log" 2>&1; then
	pass "asan_early_init.so builds"
else
	cat "$SCRATCH/build.log"
	fail "asan_early_init.so builds"
	finish
fi
SERVER_PRELOAD="$LIBASAN $SCRATCH/asan_early_init.so"

# A PGXS VPATH build would reuse the objects already built in the
# repository, so the sources are copied.
cp -a "$ROOT/Makefile" "$ROOT/login_anomaly.control" "$ROOT/sql" "$ROOT/expected" "$ROOT/src" \
	"$SCRATCH/build/"
if make -C "$SCRATCH/build" PG_CONFIG="$PG_CONFIG_SYSTEM" clean >>"$SCRATCH/build.log" 2>&1 &&
	make -C "$SCRATCH/build" PG_CONFIG="$PG_CONFIG_SYSTEM" COPT="$SANITIZE_FLAGS" -j"$(nproc)" \
		>>"$SCRATCH/build.log" 2>&1 &&
	make -C "$SCRATCH/build" PG_CONFIG="$PG_CONFIG_SYSTEM" COPT="$SANITIZE_FLAGS" \
		DESTDIR="$PRIVATE" install >>"$SCRATCH/build.log" 2>&1; then
	pass "instrumented extension builds and installs into the copy"
else
	tail -n 30 "$SCRATCH/build.log"
	fail "instrumented extension builds" "see $SCRATCH/build.log"
	finish
fi
libraries=$(ldd "$PRIVATE_LIB/login_anomaly.so")
if grep -q 'libasan\.so' <<<"$libraries" && grep -q 'libubsan\.so' <<<"$libraries"; then
	pass "login_anomaly.so is linked with libasan and libubsan"
else
	fail "login_anomaly.so is linked with libasan and libubsan"
fi

# clang links its sanitizer runtimes into the executable, so the mailer
# needs no preloading.
mkdir -p "$SCRATCH/mailer-asan"
cp -a "$ROOT/src/mailer" "$SCRATCH/mailer-asan/"
ASAN_MAILER=$SCRATCH/mailer-asan/mailer/login-anomaly-mailer
if make -C "$SCRATCH/mailer-asan/mailer" clean >>"$SCRATCH/build.log" 2>&1 &&
	make -C "$SCRATCH/mailer-asan/mailer" PG_CONFIG="$PG_CONFIG_SYSTEM" CC=clang-14 \
		CFLAGS="-O2 -g $SANITIZE_FLAGS" LDFLAGS="$SANITIZE_FLAGS" >>"$SCRATCH/build.log" 2>&1 &&
	symbols=$(nm "$ASAN_MAILER") &&
	grep -q ' __asan_report_load' <<<"$symbols" && grep -q ' __ubsan_handle_' <<<"$symbols"; then
	pass "mailer builds with clang-14, ASan and UBSan"
else
	tail -n 30 "$SCRATCH/build.log"
	fail "mailer builds with clang-14, ASan and UBSan" "see $SCRATCH/build.log"
fi

# Two planted bugs, called at the end to show that the server reports them.
cat >"$SCRATCH/sanitize_probe.c" <<'EOF'
/*
 * sanitize_probe.c: functions with planted bugs for test/sanitize/run.sh,
 * to check that the server reports what the sanitizers find.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(sanitize_probe_heap_overflow);
PG_FUNCTION_INFO_V1(sanitize_probe_signed_overflow);

/* Read one byte past the end of a malloc'd block of n bytes. */
Datum
sanitize_probe_heap_overflow(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	volatile char *block = malloc(n);
	int32		result;

	memset((char *) block, 1, n);
	result = block[n];
	free((char *) block);
	PG_RETURN_INT32(result);
}

/* Add two int32 values without an overflow check. */
Datum
sanitize_probe_signed_overflow(PG_FUNCTION_ARGS)
{
	int32		a = PG_GETARG_INT32(0);
	int32		b = PG_GETARG_INT32(1);

	PG_RETURN_INT32(a + b);
}
EOF
if gcc $SANITIZE_FLAGS -O1 -g -fPIC -shared -I"$("$PG_CONFIG_SYSTEM" --includedir-server)" \
		-o "$PRIVATE_LIB/sanitize_probe.so" "$SCRATCH/sanitize_probe.c" >>"$SCRATCH/build.log" 2>&1; then
	pass "probe module with planted bugs builds"
else
	tail -n 20 "$SCRATCH/build.log"
	fail "probe module with planted bugs builds"
fi

# The same check for the mailer's toolchain: a program with a planted leak
# and a planted signed overflow must leave both reports in files.
# LeakSanitizer stops the process with ptrace, which some containers forbid,
# and then reports no leak at all.
printf '%s\n' '#include <stdlib.h>' 'void *volatile block;' \
	'int main(int argc, char **argv) { block = malloc(33); block = NULL; return atoi(argv[1]) + 1; }' \
	>"$SCRATCH/mailer_probe.c"
clang-14 $SANITIZE_FLAGS -g -o "$SCRATCH/mailer_probe" "$SCRATCH/mailer_probe.c" >>"$SCRATCH/build.log" 2>&1
ASAN_OPTIONS="detect_leaks=1:log_path=$SCRATCH/probe-report" UBSAN_OPTIONS="$MAILER_UBSAN_OPTIONS" \
	"$SCRATCH/mailer_probe" 2147483647 2>/dev/null
if grep -q -s 'detected memory leaks' "$SCRATCH"/probe-report.*; then
	pass "LeakSanitizer reports a planted leak to a file"
else
	fail "LeakSanitizer reports a planted leak to a file" "so the mailer's leaks would go unseen"
fi
if grep -q -s 'signed integer overflow' "$SCRATCH"/probe-report.*; then
	pass "UBSan reports a planted signed overflow to a file"
else
	fail "UBSan reports a planted signed overflow to a file" "so the mailer's UBSan reports would go unseen"
fi

section "cluster with libasan preloaded"
# Without asan_early_init.so this command hangs, so a hang is reported
# rather than waited for.
if timeout 30 env LD_PRELOAD="$SERVER_PRELOAD" ASAN_OPTIONS="$SERVER_ASAN_OPTIONS" \
		"$PRIVATE_BIN/postgres" -V >"$SCRATCH/postgres-V.log" 2>&1; then
	pass "postgres -V with libasan preloaded ($(cat "$SCRATCH/postgres-V.log"))"
else
	fail "postgres -V with libasan preloaded" "status $?; $(head -c 300 "$SCRATCH/postgres-V.log")"
	finish
fi

LA_PG_BIN=$PRIVATE_BIN
LA_PG_CONFIG=$PRIVATE_BIN/pg_config
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"

# Replaces cluster.sh's version: pg_ctl, and so the server it starts, runs
# with libasan preloaded.  initdb runs uninstrumented and unchanged.
la_as_cluster_owner()
{
	local preload=()

	if [ "$(basename "$1")" = pg_ctl ]; then
		preload=(env "LD_PRELOAD=$SERVER_PRELOAD" "ASAN_OPTIONS=$SERVER_ASAN_OPTIONS"
			"UBSAN_OPTIONS=$SERVER_UBSAN_OPTIONS")
	fi
	(cd "$LA_CLUSTER_DIR" && runuser -u postgres -- "${preload[@]}" "$@")
}

trap finish EXIT
if ! la_start_cluster; then
	fail "cluster starts with libasan preloaded"
	finish
fi
pass "cluster starts with libasan preloaded"

# JIT would inline the uninstrumented bitcode that PGXS installs in place
# of the instrumented functions, so it is off.
psql -X -q -c "ALTER SYSTEM SET jit = off" -c "SELECT pg_reload_conf()" >/dev/null
backend_maps=$(psql -X -At -c "CREATE EXTENSION login_anomaly" \
	-c "SELECT pg_read_file('/proc/' || pg_backend_pid() || '/maps')" \
	-c "DROP EXTENSION login_anomaly" postgres 2>&1)
if grep -q 'libasan\.so' <<<"$backend_maps" && grep -q "$PRIVATE_LIB/login_anomaly\.so" <<<"$backend_maps"; then
	pass "a backend runs with libasan and the instrumented module from the copy"
else
	fail "a backend runs with libasan and the instrumented module from the copy" \
		"$(grep -E 'asan|login_anomaly|ERROR' <<<"$backend_maps" | head -n 5)"
fi

section "pg_regress (make installcheck)"
timeout -k 10 "$LA_TEST_TIMEOUT" make -C "$SCRATCH/build" PG_CONFIG="$PG_CONFIG_SYSTEM" \
	installcheck REGRESS_OPTS="--inputdir=. --outputdir=$SCRATCH/regress" >"$SCRATCH/regress.log" 2>&1
status=$?
counted=0
while IFS= read -r line; do
	if [[ "$line" =~ ^(test)?[[:space:]]+([^[:space:]]+)[[:space:]]+\.\.\.[[:space:]]+(ok|FAILED|failed) ]]; then
		counted=$((counted + 1))
		if [ "${BASH_REMATCH[3]}" = ok ]; then
			pass "pg_regress ${BASH_REMATCH[2]}"
		else
			fail "pg_regress ${BASH_REMATCH[2]}" "see $SCRATCH/regress/regression.diffs"
		fi
	fi
done <"$SCRATCH/regress.log"
if [ "$counted" -eq 0 ]; then
	tail -n 20 "$SCRATCH/regress.log"
	fail "make installcheck ran no test" "status $status"
fi

section "test/integration"
export PYTHONDONTWRITEBYTECODE=1
for file in "$ROOT"/test/integration/*; do
	[ -f "$file" ] || continue
	case $file in
		*.py) command=("$LA_PYTHON" -u "$file") ;;
		*.sh) command=(bash "$file") ;;
		*) [ -x "$file" ] || continue; command=("$file") ;;
	esac
	name=${file#"$ROOT"/}
	log=$SCRATCH/integration-$(basename "$file").log
	start=$SECONDS
	timeout -k 10 "$LA_TEST_TIMEOUT" "${command[@]}" >"$log" 2>&1
	status=$?
	p=$(grep -c '^PASS: ' "$log")
	f=$(grep -c '^FAIL: ' "$log")
	echo "$name: $p passed, $f failed, status $status, $((SECONDS - start)) s"
	grep '^FAIL: ' "$log" | grep -v -E "${SKIP_UNDER_ASAN[0]}" | cut -c1-300
	skip_matching "$log" "${SKIP_UNDER_ASAN[0]}" "${SKIP_UNDER_ASAN[1]}"
	f=$((f - $?))
	passed=$((passed + p))
	failed=$((failed + f))
	if [ $((p + f)) -eq 0 ] && [ "$(grep -c -E '^(PASS|FAIL): ' "$log")" -eq 0 ]; then
		if [ "$status" -eq 0 ]; then
			pass "$name"
		else
			tail -n 10 "$log"
			fail "$name" "exited with status $status; see $log"
		fi
	elif [ "$f" -eq 0 ] && [ "$status" -ne 0 ] && ! grep -q -E "${SKIP_UNDER_ASAN[0]}" "$log"; then
		tail -n 10 "$log"
		fail "$name" "exited with status $status without a FAIL line; see $log"
	fi
done

# Run the mailer tests with the environment assignments that follow $1 to
# $3.  $1 names the run, $2 is its log, and the array named by $3 contains
# the pattern and the reason of the checks to skip.
run_mailer_tests()
{
	local label=$1 log=$2 status last mailer_passed mailer_failed
	local -n skip=$3
	shift 3

	# Without PGHOST the mailer tests start their own cluster from the
	# system's binaries.  That runs more cases than a shared cluster allows
	# (a server restart, roles without privileges), and only the mailer is
	# under test here.
	timeout -k 10 "$LA_TEST_TIMEOUT" env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$@" \
		bash "$ROOT/test/mailer/run_tests.sh" >"$log" 2>&1
	status=$?
	if [ "${#skip[@]}" -gt 0 ]; then
		grep '^not ok' "$log" | grep -v -E "${skip[0]}" | cut -c1-300
	else
		grep '^not ok' "$log" | cut -c1-300
	fi
	last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
	if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		echo "$label: $last, status $status"
		mailer_passed=${BASH_REMATCH[1]}
		mailer_failed=${BASH_REMATCH[2]}
		if [ "${#skip[@]}" -gt 0 ]; then
			skip_matching "$log" "${skip[0]}" "${skip[1]}"
			mailer_failed=$((mailer_failed - $?))
		fi
		passed=$((passed + mailer_passed))
		failed=$((failed + mailer_failed))
		if [ "$status" -ne 0 ] && [ "$mailer_failed" -eq 0 ] &&
			{ [ "${#skip[@]}" -eq 0 ] || ! grep -q -E "${skip[0]}" "$log"; }; then
			fail "$label" "exited with status $status; see $log"
		fi
	else
		tail -n 10 "$log"
		fail "$label" "last line is not 'N passed, N failed' (status $status); see $log"
	fi
}

section "test/mailer/run_tests.sh with the instrumented mailer"
run_mailer_tests "mailer tests under ASan and UBSan" "$SCRATCH/mailer-asan.log" SKIP_MAILER_UNDER_ASAN \
	LA_MAILER_BIN="$ASAN_MAILER" ASAN_OPTIONS="$MAILER_ASAN_OPTIONS" UBSAN_OPTIONS="$MAILER_UBSAN_OPTIONS"

section "test/mailer/run_tests.sh with the mailer under valgrind"
mkdir -p "$SCRATCH/plain"
cp -a "$ROOT/src/mailer" "$SCRATCH/plain/"
VALGRIND_MAILER=$SCRATCH/plain/mailer/login-anomaly-mailer
if make -C "$SCRATCH/plain/mailer" clean >"$SCRATCH/plain/build.log" 2>&1 &&
	make -C "$SCRATCH/plain/mailer" PG_CONFIG="$PG_CONFIG_SYSTEM" CFLAGS='-O1 -g' \
		>>"$SCRATCH/plain/build.log" 2>&1; then
	# Each mailer process writes its own log.  Memory still reachable at exit
	# is not an error.
	cat >"$SCRATCH/plain/mailer-under-valgrind" <<EOF
#!/bin/sh
exec valgrind --log-file=$VALGRIND_LOGS/mailer.%p.log --leak-check=full \\
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect \\
	--track-origins=yes --num-callers=30 $VALGRIND_MAILER "\$@"
EOF
	chmod 755 "$SCRATCH/plain/mailer-under-valgrind"
	run_mailer_tests "mailer tests under valgrind" "$SCRATCH/mailer-valgrind.log" SKIP_MAILER_UNDER_VALGRIND \
		LA_MAILER_BIN="$SCRATCH/plain/mailer-under-valgrind"
else
	tail -n 20 "$SCRATCH/plain/build.log"
	fail "uninstrumented mailer builds for valgrind"
fi

section "sanitizer and valgrind reports"
if show_reports "$REPORTS/server-"; then
	fail "no ASan report from the server" "$(ls "$REPORTS" | grep '^server-' | tr '\n' ' ')"
else
	pass "no ASan report from the server"
fi
if show_reports "$REPORTS/mailer."; then
	fail "no ASan, LSan or UBSan report from the mailer" "$(ls "$REPORTS" | grep '^mailer\.' | tr '\n' ' ')"
else
	pass "no ASan, LSan or UBSan report from the mailer"
fi

valgrind_runs=0
valgrind_bad=()
for file in "$VALGRIND_LOGS"/mailer.*.log; do
	[ -f "$file" ] || continue
	valgrind_runs=$((valgrind_runs + 1))
	# A process killed by SIGKILL (one test does that on purpose) writes no
	# summary; such a log counts only if it lists an error.
	if grep -q 'ERROR SUMMARY: [1-9]' "$file" || grep -q -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched)' "$file"; then
		valgrind_bad+=("$file")
	fi
done
if [ "$valgrind_runs" -eq 0 ]; then
	fail "valgrind ran the mailer" "no log in $VALGRIND_LOGS"
elif [ ${#valgrind_bad[@]} -gt 0 ]; then
	for file in "${valgrind_bad[@]}"; do
		echo "---- $file"
		grep -v -E '^==[0-9]+== *$' "$file" | head -n 80
	done
	fail "no valgrind error in $valgrind_runs mailer runs" "${#valgrind_bad[@]} logs with errors"
else
	pass "no valgrind error in $valgrind_runs mailer runs"
fi

if la_server_log_has_crash || grep -q -E 'runtime error|Sanitizer' "$LA_SERVER_LOG"; then
	grep -E -B2 -A12 'terminated by signal|PANIC|runtime error|Sanitizer' "$LA_SERVER_LOG" | head -n 80
	fail "server log shows no crashed backend and no sanitizer report"
else
	pass "server log shows no crashed backend and no sanitizer report"
fi

# The planted bugs come last: the heap overflow aborts a backend, and the
# postmaster then restarts every session.
section "planted bugs are reported"
psql -X -q -c "CREATE FUNCTION sanitize_probe_signed_overflow(int, int) RETURNS int
		AS '$PRIVATE_LIB/sanitize_probe.so' LANGUAGE C STRICT" \
	-c "CREATE FUNCTION sanitize_probe_heap_overflow(int) RETURNS int
		AS '$PRIVATE_LIB/sanitize_probe.so' LANGUAGE C STRICT" postgres
psql -X -q -At -c "SELECT sanitize_probe_signed_overflow(2147483647, 1)" postgres >/dev/null 2>&1
if grep -q 'sanitize_probe\.c:[0-9]*:[0-9]*: runtime error: signed integer overflow' "$LA_SERVER_LOG"; then
	pass "planted signed overflow is reported by UBSan"
else
	fail "planted signed overflow is reported by UBSan" "no report in $LA_SERVER_LOG"
fi
psql -X -q -At -c "SELECT sanitize_probe_heap_overflow(10)" postgres >/dev/null 2>&1
for _ in $(seq 50); do
	grep -l -s 'heap-buffer-overflow' "$REPORTS"/server-asan* >/dev/null && break
	sleep 0.2
done
if grep -l -s 'heap-buffer-overflow' "$REPORTS"/server-asan* >/dev/null; then
	pass "planted heap overflow is reported by ASan"
else
	fail "planted heap overflow is reported by ASan" "no report in $REPORTS"
fi
if grep -q 'terminated by signal 6' "$LA_SERVER_LOG"; then
	pass "planted heap overflow aborts its backend"
else
	fail "planted heap overflow aborts its backend" "$(tail -n 5 "$LA_SERVER_LOG")"
fi
# Let crash recovery finish, so that pg_ctl stop finds a running server.
for _ in $(seq 60); do
	psql -X -q -c "SELECT 1" postgres >/dev/null 2>&1 && break
	sleep 0.5
done

finish

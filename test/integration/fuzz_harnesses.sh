#!/usr/bin/env bash
# la-test: slow
# The libFuzzer harnesses of test/fuzz still build against the current
# sources, replay their regression inputs cleanly, and run 2,000 inputs each.
# They compile the product's files unchanged with stubs for the backend
# functions no fuzzed path calls, so a new backend call in those files
# breaks their link.  That happened once unnoticed, because no test built
# them.  Long fuzzing runs stay in test/fuzz/run.sh; text_inputs, which
# needs a cluster of its own, is left to it too.
set -u
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
build=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-fuzz-test.XXXXXX")
trap 'rm -rf "$build"' EXIT

# test/fuzz/run.sh prints PASS/FAIL lines in this file's contract and then
# its own summary, which is dropped so that only the lines count.
LA_FUZZ_BUILD=$build LA_FUZZ_RUNS=2000 LA_FUZZ_JOBS=1 \
	LA_FUZZ_ONLY="fuzz_model fuzz_feature_vector fuzz_encode fuzz_uap fuzz_mailer_message" \
	bash "$here/../fuzz/run.sh" 10 >"$build/run.log" 2>&1
status=$?
grep -E '^(PASS|FAIL): ' "$build/run.log" | sed 's/^\(PASS\|FAIL\): /\1: fuzz: /'
if [ "$status" -ne 0 ] && ! grep -q '^FAIL: ' "$build/run.log"; then
	echo "FAIL: fuzz: test/fuzz/run.sh exited $status; end of its output:"
	tail -n 20 "$build/run.log"
fi
exit "$status"

#!/usr/bin/env bash
# test/fuzz/make_corpus.sh: regenerate the seed corpora in test/fuzz/corpus/
# from a real cluster.
#
# Usage: bash test/fuzz/make_corpus.sh
#
# Starts a throwaway cluster (test/lib/cluster.sh) with the installed
# extension, generates 40 users' login history with
# test/gen/generate_logins.py, trains their models and writes:
#   corpus/fuzz_model/            model_send() bytes of every model
#   corpus/fuzz_feature_vector/   feature_vector_send() bytes of 200 logins
#   corpus/fuzz_uap/              200 distinct user agents
#   corpus/fuzz_encode/           200 logins in fuzz_encode.c's input layout
#   corpus/fuzz_mailer_message/   alert rows in fuzz_mailer_message.c's layout
#   corpus/text_inputs/           model and feature vector text forms
# Existing files in those directories are replaced.

set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/test/fuzz
# shellcheck source=test/lib/cluster.sh
source "$ROOT/test/lib/cluster.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/login_anomaly-corpus.XXXXXX")
chmod 755 "$work"
trap 'la_stop_cluster; rm -rf -- "$work"' EXIT

la_start_cluster
"$LA_PYTHON" "$ROOT/test/gen/generate_logins.py" --users 40 --seed 7 \
	--history-days 60 --test-days 2 --attack-rate 0.2 --out "$work" --quiet

psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION login_anomaly;
CREATE TABLE logins (login_id bigint PRIMARY KEY, user_id text NOT NULL,
    ts timestamptz NOT NULL, ip inet, country text, region text, city text,
    user_agent text, lat float8, lon float8);
\copy logins FROM '$work/history.csv' (FORMAT csv, HEADER)
SELECT login_anomaly.train('logins');
CREATE TABLE test_logins (login_id bigint PRIMARY KEY, user_id text NOT NULL,
    ts timestamptz NOT NULL, ip inet, country text, region text, city text,
    user_agent text, lat float8, lon float8, label text, kind text);
\copy test_logins FROM '$work/test.csv' (FORMAT csv, HEADER)
SQL

"$LA_PYTHON" "$HERE/make_corpus.py" "$HERE/corpus"
echo "make_corpus.sh: corpora written under $HERE/corpus"

#!/usr/bin/env bash
# The detection-quality evaluation's arithmetic (AUC, rates at a fixed
# false-positive rate, ties) against small cases worked out by hand.
set -u
cd "$(dirname "$0")/../quality" || exit 1
"${LA_PYTHON:-python3}" -m unittest -q test_evaluate 2>&1

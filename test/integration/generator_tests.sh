#!/usr/bin/env bash
# The login generator's own unit tests: determinism by seed, the shape of
# each legitimate behaviour and of each kind of takeover.
set -u
cd "$(dirname "$0")/../gen" || exit 1
"${LA_PYTHON:-python3}" -m unittest discover -s . -p "test_*.py" 2>&1

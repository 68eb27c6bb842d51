#!/usr/bin/python3
"""Run uap-core's test files through login_anomaly.parse_user_agent().

Every case of /usr/share/uap-core/tests/test_ua.yaml, test_os.yaml and
test_device.yaml is loaded into a temporary table with psql's COPY, parsed
by the SQL function in one query, and compared field by field (NULL and ''
are different values, as in the test files).  The connection comes from
PGHOST, PGPORT, PGUSER and PGDATABASE; the extension must be installed in
that database.

Prints the pass count per file and every failing case, and exits 0 when
test_ua.yaml and test_os.yaml pass completely and test_device.yaml passes
at least 99.5%, 1 when a target is missed, 2 on a setup error.

With --standalone, builds and runs the C harness uap_conformance instead,
which links src/uap_*.c directly and needs no cluster.
"""

import argparse
import csv
import io
import os
import subprocess
import sys

import yaml

TESTS_DIR = "/usr/share/uap-core/tests"
HERE = os.path.dirname(os.path.abspath(__file__))

# file, result columns compared, expected keys in the file, target fraction
SUITES = [
    ("test_ua.yaml", ["ua_family", "ua_major", "ua_minor", "ua_patch"],
     ["family", "major", "minor", "patch"], 1.0),
    ("test_os.yaml", ["os_family", "os_major", "os_minor", "os_patch", "os_patch_minor"],
     ["family", "major", "minor", "patch", "patch_minor"], 1.0),
    ("test_device.yaml", ["device_family", "device_brand", "device_model"],
     ["family", "brand", "model"], 0.995),
]

NFIELDS = 5


def csv_value(value):
    """Return a CSV field: None is left unquoted (NULL), a string is quoted."""
    if value is None:
        return ""
    return '"' + str(value).replace('"', '""') + '"'


def build_copy_data(tests_dir):
    """Return the COPY input rows and the number of cases per file."""
    lines = []
    counts = {}
    for name, _, keys, _ in SUITES:
        with open(os.path.join(tests_dir, name), "rb") as f:
            cases = yaml.load(f, Loader=yaml.CSafeLoader)["test_cases"]
        counts[name] = len(cases)
        for i, case in enumerate(cases):
            expected = [case.get(k) for k in keys] + [None] * (NFIELDS - len(keys))
            lines.append(",".join([csv_value(name), str(i), csv_value(case["user_agent_string"])]
                                  + [csv_value(e) for e in expected]))
    return "\n".join(lines) + "\n", counts


def comparison_query():
    """Return a query listing file, case number, pass flag and both values."""
    branches = []
    for name, columns, _, _ in SUITES:
        got = ", ".join(f"r.{c}" for c in columns)
        exp = ", ".join(f"t.e{i + 1}" for i in range(len(columns)))
        branches.append(
            f"SELECT t.file, t.id, t.ua, ROW({got}) IS NOT DISTINCT FROM ROW({exp}) AS ok, "
            f"ROW({got})::text AS got, ROW({exp})::text AS expected "
            f"FROM uap_cases t, LATERAL login_anomaly.parse_user_agent(t.ua) r "
            f"WHERE t.file = '{name}'")
    return " UNION ALL ".join(branches)


def run_sql(tests_dir):
    data, counts = build_copy_data(tests_dir)
    script = (
        "\\set ON_ERROR_STOP 1\n"
        "CREATE TEMP TABLE uap_cases (file text, id int, ua text, "
        "e1 text, e2 text, e3 text, e4 text, e5 text);\n"
        "COPY uap_cases FROM STDIN WITH (FORMAT csv);\n"
        + data + "\\.\n"
        "COPY (" + comparison_query() + " ORDER BY 1, 2) TO STDOUT WITH (FORMAT csv);\n"
    )
    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                          input=script, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write("conformance: psql failed:\n" + proc.stderr)
        return 2

    passed = {name: 0 for name, _, _, _ in SUITES}
    seen = {name: 0 for name, _, _, _ in SUITES}
    for file, _, ua, ok, got, expected in csv.reader(io.StringIO(proc.stdout)):
        seen[file] += 1
        if ok == "t":
            passed[file] += 1
        else:
            print(f"FAIL {file}: {ua}\n    expected {expected}\n    got      {got}")

    all_met = True
    for name, _, _, target in SUITES:
        total = counts[name]
        print(f"{name}: {passed[name]} of {total} passed "
              f"({100.0 * passed[name] / total if total else 0:.2f}%)")
        if total == 0 or seen[name] != total or passed[name] < target * total:
            all_met = False
    return 0 if all_met else 1


def run_standalone(tests_dir):
    build = subprocess.run(["make", "-s", "-C", HERE, "uap_conformance"])
    if build.returncode != 0:
        return 2
    return subprocess.run([os.path.join(HERE, "uap_conformance"),
                           "/usr/share/uap-core/regexes.yaml", tests_dir]).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standalone", action="store_true",
                        help="run the C harness instead of the SQL function")
    parser.add_argument("--tests-dir", default=TESTS_DIR)
    args = parser.parse_args()
    if args.standalone:
        return run_standalone(args.tests_dir)
    return run_sql(args.tests_dir)


if __name__ == "__main__":
    sys.exit(main())

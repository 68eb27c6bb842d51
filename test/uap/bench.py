#!/usr/bin/python3
"""Benchmark the C parser against python3-ua-parser on uap-core's corpus.

Both parse every distinct user agent of uap-core's three test files
(test_ua.yaml, test_os.yaml, test_device.yaml) with the same regexes.yaml:
python3-ua-parser 0.16 reads the file named by UA_PARSER_YAML, by default
/usr/share/uap-core/regexes.yaml, which is the file the C parser loads.

"cold" is the first parse of each string with the regexes already loaded;
"warm" is a second pass over the same strings.  The C parser's warm pass is
all cache hits (the cache is large enough for the whole corpus).  python3-ua-parser's own
cache holds 200 entries and is cleared when full, so its warm pass over the
corpus misses as well; its hit cost is measured apart on one string.

With --sql, the same passes also run through login_anomaly.parse_user_agent()
on the cluster named by PGHOST, PGPORT, PGUSER and PGDATABASE (extension
installed), in one backend with login_anomaly.uap_cache_size = 32768.

Usage: bench.py [--runs N] [--bench PATH_TO_uap_bench] [--sql]
Prints each figure as the median over N runs and the ratios.
"""

import re

import argparse
import os
import statistics
import subprocess
import sys
import time

import yaml

TESTS_DIR = "/usr/share/uap-core/tests"
FILES = ["test_ua.yaml", "test_os.yaml", "test_device.yaml"]


def distinct_user_agents():
    """Return the distinct user agents of the three test files."""
    seen = set()
    for name in FILES:
        with open(os.path.join(TESTS_DIR, name), "rb") as f:
            cases = yaml.load(f, Loader=yaml.CSafeLoader)["test_cases"]
        for case in cases:
            seen.add(case["user_agent_string"])
    return sorted(seen)


def python_figures(user_agents, runs):
    """Time python3-ua-parser's full Parse (user agent, OS and device)."""
    start = time.perf_counter()
    from ua_parser import user_agent_parser as uap
    load = time.perf_counter() - start

    cold, warm, hit = [], [], []
    for _ in range(runs):
        uap._PARSE_CACHE.clear()
        start = time.perf_counter()
        for ua in user_agents:
            uap.Parse(ua)
        cold.append(time.perf_counter() - start)

        start = time.perf_counter()
        for ua in user_agents:
            uap.Parse(ua)
        warm.append(time.perf_counter() - start)

        # best case for its cache: the same string again and again
        uap.Parse(user_agents[0])
        start = time.perf_counter()
        for _ in range(len(user_agents)):
            uap.Parse(user_agents[0])
        hit.append(time.perf_counter() - start)

    n = len(user_agents)
    return {
        "regexes_file": uap.UA_PARSER_YAML,
        "load_ms": 1000 * load,
        "cold_per_second": n / statistics.median(cold),
        "warm_per_second": n / statistics.median(warm),
        "hit_per_second": n / statistics.median(hit),
    }


def c_figures(bench, runs):
    """Run the C benchmark and read its "name value" lines."""
    out = subprocess.run([bench, str(runs)], check=True, capture_output=True,
                         text=True).stdout
    figures = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        figures[name] = value
    return figures


def sql_figures(user_agents, runs):
    """Time the SQL function: first call in a backend, cold and warm passes."""
    data = "".join('"' + ua.replace('"', '""') + '"\n' for ua in user_agents)
    query = ("SELECT count(r.ua_family) FROM uap_bench_ua u, "
             "LATERAL login_anomaly.parse_user_agent(u.ua) r;\n")
    script = (
        "\\set ON_ERROR_STOP 1\n"
        "\\timing on\n"
        "SELECT ua_family FROM login_anomaly.parse_user_agent('first call loads the regexes');\n"
        "SELECT ua_family FROM login_anomaly.parse_user_agent('second call');\n"
        "SET login_anomaly.uap_cache_size = 32768;\n"
        "CREATE TEMP TABLE uap_bench_ua (ua text);\n"
        "COPY uap_bench_ua FROM STDIN WITH (FORMAT csv);\n" + data + "\\.\n"
        "SELECT count(ua) FROM uap_bench_ua;\n"
        + query + query
    )
    first, cold, warm = [], [], []
    for _ in range(runs):
        out = subprocess.run(["psql", "-X", "-q"], input=script, check=True,
                             capture_output=True, text=True).stdout
        times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out, re.M)]
        # first call, second call, SET, CREATE, COPY, scan, cold pass, warm pass
        first.append(times[0] - times[1])
        scan = times[-3]
        cold.append((times[-2] - scan) / 1000)
        warm.append((times[-1] - scan) / 1000)
    n = len(user_agents)

    # the hostile inputs of sql/parse_user_agent.sql, uncached, worst of runs
    hostile_script = (
        "\\set ON_ERROR_STOP 1\n"
        "SET login_anomaly.uap_cache_size = 0;\n"
        "SELECT ua_family FROM login_anomaly.parse_user_agent('warm up');\n"
        "\\timing on\n"
        "SELECT r.ua_family FROM (SELECT string_agg('Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' || "
        "CASE i % 3 WHEN 0 THEN '\"' WHEN 1 THEN E'\\\\' ELSE E'\\n' END, '') "
        "FROM generate_series(1, 200) i) s(u), LATERAL login_anomaly.parse_user_agent(u) r;\n"
        "SELECT ua_family FROM login_anomaly.parse_user_agent('');\n"
        "SELECT ua_family FROM login_anomaly.parse_user_agent(E'\\x01\\x02' || chr(65533));\n"
    )
    hostile = []
    for _ in range(runs):
        out = subprocess.run(["psql", "-X", "-q"], input=hostile_script, check=True,
                             capture_output=True, text=True).stdout
        hostile.append(max(float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out, re.M)))

    return {
        "hostile_max_ms": max(hostile),
        "load_ms": statistics.median(first),
        "cold_per_second": n / statistics.median(cold),
        "warm_per_second": n / statistics.median(warm),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sql", action="store_true",
                        help="also time the SQL function on a running cluster")
    parser.add_argument("--bench", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "uap_bench"))
    args = parser.parse_args()

    user_agents = distinct_user_agents()
    py = python_figures(user_agents, args.runs)
    c = c_figures(args.bench, args.runs)

    c_cold = float(c["cold_per_second"])
    c_warm = float(c["warm_per_second"])
    print(f"corpus: {len(user_agents)} distinct user agents, "
          f"longest {c['longest_user_agent_bytes']} bytes; medians of {args.runs} runs")
    print(f"python3-ua-parser regexes: {py['regexes_file']}")
    print(f"load: C {c['load_eager_jit_ms']} ms (eager, JIT), "
          f"C {c['load_lazy_ms']} ms (lazy, then {c['lazy_load_and_first_pass_seconds']} s "
          f"load plus first pass), python {py['load_ms']:.0f} ms")
    print(f"cold without the literal prefilter: C {float(c['cold_noprefilter_per_second']):,.0f}/s")
    print(f"cold: C {c_cold:,.0f}/s, python {py['cold_per_second']:,.0f}/s, "
          f"ratio {c_cold / py['cold_per_second']:.1f}x")
    print(f"warm: C {c_warm:,.0f}/s, python {py['warm_per_second']:,.0f}/s, "
          f"ratio {c_warm / py['warm_per_second']:.1f}x")
    print(f"cache hit only: C {c_warm:,.0f}/s, python {py['hit_per_second']:,.0f}/s, "
          f"ratio {c_warm / py['hit_per_second']:.1f}x")
    if args.sql:
        sql = sql_figures(user_agents, args.runs)
        print(f"SQL: first call in a backend {sql['load_ms']:.1f} ms more than the second; "
              f"cold {sql['cold_per_second']:,.0f}/s "
              f"({sql['cold_per_second'] / py['cold_per_second']:.1f}x python), "
              f"warm {sql['warm_per_second']:,.0f}/s "
              f"({sql['warm_per_second'] / py['warm_per_second']:.1f}x python)")
        print(f"SQL hostile inputs (22 kB, empty, control characters): slowest statement "
              f"{sql['hostile_max_ms']:.2f} ms over {args.runs} runs, query overhead included")
    for name, value in c.items():
        if name.startswith("hostile_"):
            print(f"{name}: {value}")

    met = (c_cold >= 10 * py["cold_per_second"] and
           c_warm >= 100 * py["warm_per_second"])
    print("targets (10x cold, 100x warm): " + ("met" if met else "NOT met"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

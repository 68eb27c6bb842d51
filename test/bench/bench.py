#!/usr/bin/python3
"""Measure login_anomaly's speed against its references; run by run.sh.

Connects to the cluster named by PGHOST, PGPORT, PGUSER and PGDATABASE
(extension installable, nothing else needed), loads the generated logins
into the schema bench, and measures, each figure a median over several
repetitions with its min and max:

  training    the train_model aggregate and train() over every user, against
              libsvm called directly on the same vectors (libsvm_floor) and
              against the naive Python path (naive_python.py);
  parallel    serial training against the parallel recipes, in the same run;
  scoring     score(model, features) and score(user_id, ...) per login,
              against libsvm's svm_predict_values plus features() per login;
  trigger     pgbench single-row INSERTs, INSERT ... SELECT and COPY, with
              and without the check_login trigger;
  memory      backend RSS while one session scores and retrains;
  uap         test/uap/bench.py's figures.

Writes every figure to a JSON file; report.py turns it into the table.
"""

import argparse
import collections
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import floor_vectors  # noqa: E402
import naive_python  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

COLUMNS = "ts, ip, country, region, city, user_agent, lat, lon"
FEATURES = "login_anomaly.features(%s)" % COLUMNS
FEATURES_T = "login_anomaly.features(t.ts, t.ip, t.country, t.region, t.city, t.user_agent, t.lat, t.lon)"

# Sizes and repetitions; --quick keeps the run under about 3 minutes.
FULL = dict(users=2000, history_days=125, test_days=25, test_logins=50000,
            train_reps=5, naive_reps=3, parallel_reps=5, score_reps=7,
            pgbench_seconds=20, pgbench_reps=3, bulk_logins=100000, bulk_reps=5,
            memory_scores=1000000, uap_runs=5)
QUICK = dict(users=500, history_days=125, test_days=25, test_logins=10000,
             train_reps=3, naive_reps=2, parallel_reps=3, score_reps=3,
             pgbench_seconds=5, pgbench_reps=2, bulk_logins=20000, bulk_reps=2,
             memory_scores=200000, uap_runs=2)

# The parameters of fit_svm() in src/train.c
SVM_CACHE_MB = 16.0
SVM_EPS = 1e-3
SVM_SHRINKING = 1


def log(message):
    print("bench: " + message, file=sys.stderr, flush=True)


def summary(samples):
    """Median, min, max and the samples themselves."""
    return {"median": statistics.median(samples), "min": min(samples),
            "max": max(samples), "samples": samples}


def connect(autocommit=True):
    conn = psycopg2.connect("")
    conn.autocommit = autocommit
    with conn.cursor() as cur:
        cur.execute("LOAD 'login_anomaly'")
    return conn


def run_sql(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        if cur.description is not None:
            return cur.fetchall()
    return None


def interleaved(conn, queries, reps, also=None):
    """Time each of queries (name -> sql) once per round, for reps rounds.

    The rounds go round-robin, so that a noisy moment of the machine falls
    on every query alike rather than on one query's block of runs.  also()
    runs once per round after the queries (the libsvm floor).  Each query
    runs once untimed first.  Returns name -> list of seconds.
    """
    for sql in queries.values():
        run_sql(conn, sql)
    seconds = collections.defaultdict(list)
    for _ in range(reps):
        for name, sql in queries.items():
            started = time.perf_counter()
            run_sql(conn, sql)
            seconds[name].append(time.perf_counter() - started)
        if also is not None:
            also()
    return seconds


def timed(conn, sql, reps, setup=(), warmup=0):
    """Run sql reps times in one session; return the seconds of each run.

    warmup runs come first and are not timed, so per-backend caches (the
    uap-core regexes, parsed user agents, decoded models) are filled.
    """
    for statement in setup:
        run_sql(conn, statement)
    for _ in range(warmup):
        run_sql(conn, sql)
    seconds = []
    for _ in range(reps):
        started = time.perf_counter()
        run_sql(conn, sql)
        seconds.append(time.perf_counter() - started)
    return seconds


# ---------------------------------------------------------------- data


def generate(cfg, work):
    out = os.path.join(work, "data")
    if not os.path.exists(os.path.join(out, "test.csv")):
        log("generating %d users, %d history days, %d test days"
            % (cfg["users"], cfg["history_days"], cfg["test_days"]))
        subprocess.run([sys.executable, os.path.join(REPO, "test/gen/generate_logins.py"),
                        "--users", str(cfg["users"]), "--history-days", str(cfg["history_days"]),
                        "--test-days", str(cfg["test_days"]), "--out", out, "--quiet"],
                       check=True)
    return out


def load(conn, cfg, data_dir):
    log("loading logins into schema bench")
    run_sql(conn, "DROP SCHEMA IF EXISTS bench CASCADE")
    run_sql(conn, "CREATE EXTENSION IF NOT EXISTS login_anomaly")
    run_sql(conn, "TRUNCATE login_anomaly.models, login_anomaly.alerts")
    with open(os.path.join(HERE, "schema.sql")) as f:
        run_sql(conn, f.read())
    with conn.cursor() as cur:
        with open(os.path.join(data_dir, "history.csv")) as f:
            cur.copy_expert("COPY bench.logins FROM STDIN WITH (FORMAT csv, HEADER)", f)
        with open(os.path.join(data_dir, "test.csv")) as f:
            cur.copy_expert("COPY bench.test_all FROM STDIN WITH (FORMAT csv, HEADER)", f)
    # the test set: the first test logins of users who have a history
    run_sql(conn, """
        INSERT INTO bench.test_logins
        SELECT row_number() OVER (ORDER BY login_id), login_id, user_id, ts, ip, country,
               region, city, user_agent, lat, lon
        FROM bench.test_all t
        WHERE EXISTS (SELECT 1 FROM bench.logins l WHERE l.user_id = t.user_id)
        ORDER BY login_id LIMIT %s""", (cfg["test_logins"],))
    run_sql(conn, "INSERT INTO bench.users SELECT DISTINCT user_id FROM bench.logins")
    run_sql(conn, "INSERT INTO bench.logins_p2 SELECT * FROM bench.logins")
    run_sql(conn, "INSERT INTO bench.logins_p4 SELECT * FROM bench.logins")
    run_sql(conn, "VACUUM ANALYZE")
    stats = run_sql(conn, """
        SELECT count(*), count(DISTINCT user_id),
               (SELECT count(*) FROM bench.test_logins)
        FROM bench.logins""")[0]
    per_user = run_sql(conn, """
        SELECT avg(n), percentile_cont(0.5) WITHIN GROUP (ORDER BY n), max(n)
        FROM (SELECT count(*) AS n FROM bench.logins GROUP BY user_id) s""")[0]
    data = {"history_logins": stats[0], "users": stats[1], "test_logins": stats[2],
            "logins_per_user_mean": float(per_user[0]),
            "logins_per_user_median": float(per_user[1]),
            "logins_per_user_max": per_user[2]}
    log("loaded %(history_logins)d logins of %(users)d users (mean %(logins_per_user_mean).1f), "
        "%(test_logins)d test logins" % data)
    if data["test_logins"] < cfg["test_logins"]:
        log("WARNING: only %d test logins, fewer than %d" % (data["test_logins"], cfg["test_logins"]))
    return data


# ---------------------------------------------------------------- training

TRAIN_AGG = ("SELECT count(m) FROM (SELECT user_id, login_anomaly.train_model(%s) AS m "
             "FROM bench.logins GROUP BY user_id) s" % FEATURES)
TRAIN_AGG_STORED = ("SELECT count(m) FROM (SELECT user_id, login_anomaly.train_model(f) AS m "
                    "FROM bench.stored_features GROUP BY user_id) s")
SERIAL = ("SET max_parallel_workers_per_gather = 0",)


def measure_training(conn, cfg, build, work):
    log("training: the aggregate, round by round with the libsvm floor")
    res = {}
    floor = prepare_floor(conn, cfg, build, work)
    floor_train = []
    run_sql(conn, SERIAL[0])
    agg = interleaved(conn, {"aggregate": TRAIN_AGG}, cfg["train_reps"],
                      also=lambda: floor_train.append(floor_once(floor)[0]))
    res["aggregate"] = summary(agg["aggregate"])
    floor["train"] = summary(floor_train)
    res["floor"] = floor
    log("training: the other forms")
    run_sql(conn, "CREATE TABLE bench.stored_features AS SELECT login_id, user_id, %s AS f "
            "FROM bench.logins" % FEATURES)
    run_sql(conn, "ANALYZE bench.stored_features")
    res["aggregate_stored_features"] = summary(timed(conn, TRAIN_AGG_STORED, cfg["train_reps"],
                                                          warmup=1))
    res["features_only"] = summary(timed(
        conn, "SELECT count(%s) FROM bench.logins" % FEATURES, cfg["train_reps"]))
    # The aggregate's plan (GroupAggregate over the user_id index) with a
    # trivial aggregate: what reading and encoding cost before any training.
    res["scan_encode_grouped"] = summary(timed(
        conn, "SELECT count(m) FROM (SELECT user_id, count(%s) AS m FROM bench.logins "
              "GROUP BY user_id) s" % FEATURES, cfg["train_reps"],
        SERIAL + ("SET enable_hashagg = off",), warmup=1))
    run_sql(conn, "RESET enable_hashagg")
    res["train_function"] = summary(timed(
        conn, "SELECT login_anomaly.train('bench.logins')", cfg["train_reps"]))

    log("training: naive Python path")
    naive = []
    pyconn = psycopg2.connect("")
    for _ in range(cfg["naive_reps"]):
        run_sql(conn, "TRUNCATE bench.naive_models")
        naive.append(naive_python.train_all(pyconn, "bench.logins", "bench.naive_models"))
    pyconn.close()
    res["naive_python"] = summary([n["total_s"] for n in naive])
    res["naive_python_parts"] = naive

    res["ratio_floor"] = res["aggregate"]["median"] / res["floor"]["train"]["median"]
    res["ratio_floor_stored"] = (res["aggregate_stored_features"]["median"]
                                 / res["floor"]["train"]["median"])
    res["ratio_python"] = res["naive_python"]["median"] / res["train_function"]["median"]
    res["ratio_python_aggregate"] = res["naive_python"]["median"] / res["aggregate"]["median"]
    return res


def prepare_floor(conn, cfg, build, work):
    """Export the extension's vectors and check that libsvm finds its models.

    Returns what floor_once() needs.  The timings are taken there, one run
    of libsvm_floor (all users trained, all test logins predicted) at a time.
    """
    weights = floor_vectors.parse_weights(run_sql(conn, "SHOW login_anomaly.weights")[0][0])
    nu, gamma, max_logins = run_sql(conn, """
        SELECT current_setting('login_anomaly.nu')::float8,
               current_setting('login_anomaly.gamma')::float8,
               current_setting('login_anomaly.max_training_logins')::int""")[0]

    train = collections.defaultdict(list)
    for user, ts, text in run_sql(conn, "SELECT user_id, ts, %s::text FROM bench.logins "
                                  "ORDER BY user_id, login_id" % FEATURES):
        train[user].append((ts, json.loads(text)))
    test = collections.defaultdict(list)
    for user, text in run_sql(conn, "SELECT user_id, %s::text FROM bench.test_logins "
                              "ORDER BY seq" % FEATURES):
        test[user].append(json.loads(text))

    users = sorted(train)
    problems = []
    for user in users:
        logins = train[user]
        if len(logins) > max_logins:
            # the extension keeps the max_training_logins most recent logins
            logins = sorted(logins, key=lambda login: login[0], reverse=True)[:max_logins]
        vectors = [floor_vectors.svm_vector(f, weights) for _, f in logins]
        tests = [floor_vectors.svm_vector(f, weights) for f in test.get(user, [])]
        problems.append((max(nu, 1.0 / len(vectors)), vectors, tests))
    path = os.path.join(work, "floor.bin")
    floor_vectors.write_floor_file(path, problems, gamma, SVM_CACHE_MB, SVM_EPS, SVM_SHRINKING)

    floor = {"binary": os.path.join(build, "libsvm_floor"), "input": path,
             "models": os.path.join(work, "floor_models.txt")}
    figures = run_floor(floor)
    models_path = floor["models"]

    # Check the vectors: libsvm must find the extension's models again.
    ext = {user: (rho, nsv) for user, rho, nsv in run_sql(conn, """
        SELECT user_id, (login_anomaly.model_info(model)).rho,
               (login_anomaly.model_info(model)).support_vectors
        FROM login_anomaly.models""")}
    compared = rho_close = nsv_close = 0
    worst = 0.0
    with open(models_path) as f:
        for line in f:
            index, rho, nsv = line.split()
            rho = float(rho)
            if rho == float("inf") or users[int(index)] not in ext:
                continue        # the extension replaces an infinite rho
            ext_rho, ext_nsv = ext[users[int(index)]]
            compared += 1
            rel = abs(ext_rho - rho) / max(abs(ext_rho), 1e-12)
            worst = max(worst, rel)
            rho_close += rel <= 1e-2
            nsv_close += abs(ext_nsv - int(nsv)) <= max(1, 0.1 * ext_nsv)
    check = {"users_compared": compared, "rho_within_1pct": rho_close,
             "nsv_within_10pct": nsv_close, "worst_rho_rel_diff": worst}
    log("floor check: %(rho_within_1pct)d of %(users_compared)d users have the extension's "
        "rho within 1%% (worst %(worst_rho_rel_diff).2g), %(nsv_within_10pct)d its "
        "support vector count within 10%%" % check)

    floor.update({"train_vectors": int(figures["train_vectors"][0]),
                  "test_vectors": int(figures["test_vectors"][0]), "check": check,
                  "nu": nu, "gamma": gamma, "max_training_logins": max_logins})
    return floor


def run_floor(floor):
    out = subprocess.run([floor["binary"], floor["input"], "1", floor["models"]],
                         check=True, capture_output=True, text=True).stdout
    figures = collections.defaultdict(list)
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        figures[name].append(float(value))
    return figures


def floor_once(floor):
    """One run of libsvm_floor: (seconds training, seconds predicting)."""
    figures = run_floor(floor)
    return figures["train_seconds"][0], figures["predict_seconds"][0]


# ---------------------------------------------------------------- parallel

PARALLEL_ON = ("SET max_parallel_workers_per_gather = 2",
               "SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0",
               "SET min_parallel_table_scan_size = 0", "SET jit = off")
RESET = ("RESET ALL",)


def two_sessions(reps):
    """Two sessions at once, each training the users of one hash half."""
    # %% is psycopg2's escape of a literal %; %s takes the half
    sql = ("SELECT count(m) FROM (SELECT user_id, login_anomaly.train_model(" + FEATURES
           + ") AS m FROM bench.logins WHERE abs(hashtext(user_id)) %% 2 = %s "
           "GROUP BY user_id) s")
    conns = [connect() for _ in range(2)]
    for c in conns:
        run_sql(c, SERIAL[0])
    seconds = []
    for _ in range(reps):
        errors = []

        def work(c, half):
            try:
                run_sql(c, sql, (half,))
            except Exception as e:      # reported after the join
                errors.append(e)
        threads = [threading.Thread(target=work, args=(c, i)) for i, c in enumerate(conns)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds.append(time.perf_counter() - started)
        if errors:
            raise errors[0]
    for c in conns:
        c.close()
    return seconds


def measure_parallel(conn, cfg):
    log("parallel training recipes")
    reps = cfg["parallel_reps"]
    agg_on = "SELECT count(m) FROM (SELECT user_id, login_anomaly.train_model(%s) AS m " \
             "FROM %%s GROUP BY user_id) s" % FEATURES
    recipes = [
        ("serial GROUP BY (max_parallel_workers_per_gather = 0)",
         agg_on % "bench.logins", RESET + SERIAL),
        ("plain parallel plan: workers scan, the leader trains",
         agg_on % "bench.logins", RESET + PARALLEL_ON),
        ("hash-partitioned by user_id, 2 partitions, partitionwise aggregate",
         agg_on % "bench.logins_p2", RESET + PARALLEL_ON + ("SET enable_partitionwise_aggregate = on",)),
        ("hash-partitioned by user_id, 4 partitions, partitionwise aggregate",
         agg_on % "bench.logins_p4", RESET + PARALLEL_ON + ("SET enable_partitionwise_aggregate = on",)),
        ("parallel scan of users calling a per-user training function",
         "SELECT count(bench.train_user(user_id)) FROM bench.users", RESET + PARALLEL_ON),
        ("the same, parallel_leader_participation = off",
         "SELECT count(bench.train_user(user_id)) FROM bench.users",
         RESET + PARALLEL_ON + ("SET parallel_leader_participation = off",)),
    ]
    results = []
    # Repetitions are interleaved across recipes, so drift hits them alike.
    samples = [[] for _ in recipes]
    plans = []
    for i, (_, sql, setup) in enumerate(recipes):
        for statement in setup:
            run_sql(conn, statement)
        plans.append("\n".join(r[0] for r in run_sql(conn, "EXPLAIN (COSTS OFF) " + sql)))
        run_sql(conn, sql)      # warm-up, not timed
    for _ in range(reps):
        for i, (_, sql, setup) in enumerate(recipes):
            samples[i].extend(timed(conn, sql, 1, setup))
    run_sql(conn, "RESET ALL")
    two = two_sessions(reps)
    serial = statistics.median(samples[0])
    for (name, sql, setup), s, plan in zip(recipes, samples, plans):
        results.append({"recipe": name, "sql": sql, "settings": list(setup[1:]),
                        "plan": plan, "seconds": summary(s),
                        "speedup": serial / statistics.median(s),
                        "workers_in_plan": "Workers Planned" in plan})
    results.append({"recipe": "two sessions at once, each training half the users "
                              "(WHERE abs(hashtext(user_id)) % 2 = 0 or 1)",
                    "sql": "", "settings": [], "plan": "", "seconds": summary(two),
                    "speedup": serial / statistics.median(two), "workers_in_plan": False})
    best = max(results[1:], key=lambda r: r["speedup"])
    return {"recipes": results, "best": best["recipe"], "best_speedup": best["speedup"]}


# ---------------------------------------------------------------- scoring

def measure_scoring(conn, cfg, floor):
    log("scoring, round by round with the libsvm floor's prediction")
    reps = cfg["score_reps"]
    n = run_sql(conn, "SELECT count(*) FROM bench.test_logins t "
                      "JOIN login_anomaly.models m USING (user_id)")[0][0]
    res = {"logins": n}
    queries = {
        "scan_only": "SELECT count(t.user_agent) FROM bench.test_logins t",
        "features": "SELECT count(%s) FROM bench.test_logins t" % FEATURES_T,
        "score_model": "SELECT sum(login_anomaly.score(m.model, %s)) FROM bench.test_logins t "
                       "JOIN login_anomaly.models m USING (user_id)" % FEATURES_T,
        "score_user": "SELECT sum(login_anomaly.score(t.user_id, t.ts, t.ip, t.country, t.region, "
                      "t.city, t.user_agent, t.lat, t.lon)) FROM bench.test_logins t",
    }
    # New sessions, so that each form's first run starts with empty caches:
    # the by-user form's model cache and the model form's decoded models.
    first = {}
    for name in ("score_model", "score_user"):
        c = connect()
        run_sql(c, SERIAL[0])
        first[name] = timed(c, queries[name], 1)[0]
        c.close()
    c = connect()
    run_sql(c, SERIAL[0])
    predict = []
    seconds = interleaved(c, queries, reps, also=lambda: predict.append(floor_once(floor)[1]))
    for name in queries:
        res[name] = summary(seconds[name])
        res[name + "_us"] = 1e6 * statistics.median(seconds[name]) / n
    floor["predict"] = summary(predict)
    floor["predict_per_vector_us"] = 1e6 * statistics.median(predict) / floor["test_vectors"]
    res["score_user_first_run_us"] = 1e6 * first["score_user"] / n
    res["score_model_first_run_us"] = 1e6 * first["score_model"] / n
    c.close()
    return res


# ---------------------------------------------------------------- trigger

PGBENCH_SCRIPT = """\\set id random(1, {n})
INSERT INTO bench.{table} (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT user_id, ts, ip, country, region, city, user_agent, lat, lon
FROM bench.test_logins WHERE seq = :id;
"""


def pgbench(cfg, work, table, n, pgbench_bin):
    path = os.path.join(work, "insert_%s.sql" % table)
    with open(path, "w") as f:
        f.write(PGBENCH_SCRIPT.format(n=n, table=table))
    out = subprocess.run([pgbench_bin, "-n", "-M", "prepared", "-c", "2", "-j", "2",
                          "-T", str(cfg["pgbench_seconds"]), "-f", path],
                         check=True, capture_output=True, text=True).stdout
    latency = float(re.search(r"latency average = ([0-9.]+) ms", out).group(1))
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    return latency, tps


def measure_trigger(conn, cfg, work, pgbench_bin):
    log("trigger: pgbench, %d s x %d per variant" % (cfg["pgbench_seconds"], cfg["pgbench_reps"]))
    n = run_sql(conn, "SELECT count(*) FROM bench.test_logins")[0][0]
    res = {}
    lat = {"plain": [], "trigger": []}
    tps = {"plain": [], "trigger": []}
    for _ in range(cfg["pgbench_reps"]):
        for variant, table in (("plain", "insert_plain"), ("trigger", "insert_trigger")):
            run_sql(conn, "TRUNCATE bench.insert_plain, bench.insert_trigger")
            run_sql(conn, "CHECKPOINT")
            latency, rate = pgbench(cfg, work, table, n, pgbench_bin)
            lat[variant].append(latency)
            tps[variant].append(rate)
    res["pgbench_latency_ms"] = {v: summary(s) for v, s in lat.items()}
    res["pgbench_tps"] = {v: summary(s) for v, s in tps.items()}
    res["pgbench_ratio"] = (res["pgbench_latency_ms"]["trigger"]["median"]
                            / res["pgbench_latency_ms"]["plain"]["median"])
    res["alerts_during_pgbench"] = run_sql(conn, "SELECT count(*) FROM login_anomaly.alerts")[0][0]

    log("trigger: INSERT ... SELECT and COPY of %d logins" % cfg["bulk_logins"])
    run_sql(conn, "TRUNCATE bench.bulk_source")
    run_sql(conn, """
        INSERT INTO bench.bulk_source
        SELECT user_id, ts, ip, country, region, city, user_agent, lat, lon
        FROM bench.test_logins, generate_series(1, %s) g
        ORDER BY g, seq LIMIT %s""", (cfg["bulk_logins"] // max(n, 1) + 1, cfg["bulk_logins"]))
    csv_path = os.path.join(work, "bulk.csv")
    with open(csv_path, "w") as f, conn.cursor() as cur:
        cur.copy_expert("COPY bench.bulk_source TO STDOUT WITH (FORMAT csv)", f)
    cols = "user_id, ts, ip, country, region, city, user_agent, lat, lon"
    bulk = {k: [] for k in ("insert_plain", "insert_trigger", "copy_plain", "copy_trigger")}

    def fresh_start():
        # Each statement starts alike: empty targets, no alerts, and a
        # checkpoint.  After a checkpoint WAL segments are recycled rather
        # than created, and creating one, zero-filled, took about a fifth of
        # a plain INSERT's time in a profile.  Nor does a variant inherit the
        # other's dirty buffers.
        run_sql(conn, "TRUNCATE bench.insert_plain, bench.insert_trigger")
        run_sql(conn, "DELETE FROM login_anomaly.alerts")
        run_sql(conn, "CHECKPOINT")

    # Warm-up, not measured, so that the session's model cache and parsed
    # user agents are as full as in a long-lived application session.
    fresh_start()
    run_sql(conn, "INSERT INTO bench.insert_trigger (%s) SELECT %s FROM bench.bulk_source"
            % (cols, cols))
    for _ in range(cfg["bulk_reps"]):
        for table in ("insert_plain", "insert_trigger"):
            fresh_start()
            bulk["insert_" + table.split("_")[1]].extend(timed(
                conn, "INSERT INTO bench.%s (%s) SELECT %s FROM bench.bulk_source"
                % (table, cols, cols), 1))
            fresh_start()
            with open(csv_path) as f, conn.cursor() as cur:
                started = time.perf_counter()
                cur.copy_expert("COPY bench.%s (%s) FROM STDIN WITH (FORMAT csv)" % (table, cols), f)
                bulk["copy_" + table.split("_")[1]].append(time.perf_counter() - started)
    for k, s in bulk.items():
        res[k] = summary(s)
    res["insert_ratio"] = res["insert_trigger"]["median"] / res["insert_plain"]["median"]
    res["copy_ratio"] = res["copy_trigger"]["median"] / res["copy_plain"]["median"]
    res["bulk_logins"] = cfg["bulk_logins"]
    run_sql(conn, "TRUNCATE bench.insert_plain, bench.insert_trigger")
    run_sql(conn, "DELETE FROM login_anomaly.alerts")
    return res


# ---------------------------------------------------------------- memory

def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssShmem", "RssFile", "VmHWM"):
                fields[name] = int(value.split()[0])
    return fields


def measure_memory(cfg):
    log("memory: scoring %d logins and retraining twice in one session" % cfg["memory_scores"])
    c = connect()
    run_sql(c, SERIAL[0])
    pid = run_sql(c, "SELECT pg_backend_pid()")[0][0]
    n = run_sql(c, "SELECT count(*) FROM bench.test_logins")[0][0]
    samples = [("start", proc_status(pid))]
    by_user = ("SELECT sum(login_anomaly.score(t.user_id, t.ts, t.ip, t.country, t.region, "
               "t.city, t.user_agent, t.lat, t.lon)) FROM bench.test_logins t")
    by_model = ("SELECT sum(login_anomaly.score(m.model, %s)) FROM bench.test_logins t "
                "JOIN login_anomaly.models m USING (user_id)" % FEATURES_T)
    batches = max(2, -(-cfg["memory_scores"] // n))
    scored = 0
    for b in range(batches):
        sql = by_user if b % 2 == 0 else by_model
        run_sql(c, sql)
        scored += n
        samples.append(("scored %d (%s)" % (scored, "by user" if b % 2 == 0 else "model in hand"),
                        proc_status(pid)))
    for r in (1, 2):
        run_sql(c, "SELECT login_anomaly.train('bench.logins')")
        samples.append(("retrained all models, %d" % r, proc_status(pid)))
        run_sql(c, by_user)
        scored += n
        samples.append(("scored %d (by user, after retraining)" % scored, proc_status(pid)))
    c.close()

    # From the first batch on the model and user-agent caches are full, so
    # growth is measured from there: over the whole session, within the
    # scoring phase, and from the first retraining to the second.
    def growth(base, later):
        return {k: (max(s[k] for _, s in later) - base[k]) / base[k]
                for k in ("VmRSS", "RssAnon")}
    # the second batch is the first with the model in hand, so the scoring
    # phase is measured from there
    scoring = samples[2:batches + 1]
    first_retrain = samples[batches + 1:batches + 3]
    second_retrain = samples[batches + 3:]
    growth_all = growth(samples[2][1], samples[3:])
    growth_scoring = growth(scoring[0][1], scoring[1:])
    growth_retrain = growth({k: max(s[k] for _, s in first_retrain) for k in ("VmRSS", "RssAnon")},
                            second_retrain)
    sizes = run_sql(connect(), """
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_column_size(model)),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY pg_column_size(model)),
               max(pg_column_size(model)),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY (login_anomaly.model_info(model)).support_vectors),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY logins)
        FROM login_anomaly.models""")[0]
    return {"samples": samples, "scored": scored, "growth_after_first_batch": growth_all,
            "growth_scoring": growth_scoring, "growth_second_retrain": growth_retrain,
            "max_kb": {k: max(s[k] for _, s in samples) for k in ("VmRSS", "RssAnon")},
            "model_size": {"median": float(sizes[0]), "p90": float(sizes[1]), "max": sizes[2],
                           "median_support_vectors": float(sizes[3]),
                           "median_logins": float(sizes[4])}}


# ---------------------------------------------------------------- uap

def measure_uap(cfg, build):
    log("user-agent parsing: test/uap/bench.py")
    proc = subprocess.run([sys.executable, os.path.join(REPO, "test/uap/bench.py"),
                           "--runs", str(cfg["uap_runs"]), "--bench",
                           os.path.join(build, "uap_bench"), "--sql"],
                          capture_output=True, text=True)
    out = proc.stdout
    res = {"output": out, "exit_code": proc.returncode, "stderr": proc.stderr[-2000:]}
    number = r"([0-9,.]+)"
    for name in ("cold", "warm"):
        m = re.search(r"^%s: C %s/s, python %s/s, ratio %sx" % (name, number, number, number),
                      out, re.M)
        if m:
            res[name] = {"c_per_s": float(m.group(1).replace(",", "")),
                         "python_per_s": float(m.group(2).replace(",", "")),
                         "ratio": float(m.group(3))}
    m = re.search(r"^SQL: .* cold %s/s \(%sx python\), warm %s/s \(%sx python\)"
                  % (number, number, number, number), out, re.M)
    if m:
        res["sql"] = {"cold_per_s": float(m.group(1).replace(",", "")),
                      "cold_ratio": float(m.group(2)),
                      "warm_per_s": float(m.group(3).replace(",", "")),
                      "warm_ratio": float(m.group(4))}
    return res


# ---------------------------------------------------------------- main

def machine(conn):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    libsvm = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libsvm3"],
                            capture_output=True, text=True).stdout or "unknown"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kb / 1048576, 1),
            "postgresql": run_sql(conn, "SELECT version()")[0][0],
            "libsvm": libsvm, "kernel": os.uname().release,
            "load_average_at_start": open("/proc/loadavg").read().split()[:3],
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument("--work", required=True, help="scratch directory")
    parser.add_argument("--build", required=True, help="directory of libsvm_floor and uap_bench")
    parser.add_argument("--pgbench", default="/usr/lib/postgresql/15/bin/pgbench")
    parser.add_argument("--json", required=True, help="results file to write")
    args = parser.parse_args()

    cfg = QUICK if args.quick else FULL
    started = time.perf_counter()
    conn = connect()
    results = {"mode": "quick" if args.quick else "full", "config": cfg, "machine": machine(conn)}
    results["data"] = load(conn, cfg, generate(cfg, args.work))
    # train() first, so that scoring and the floor check have models
    run_sql(conn, "SELECT login_anomaly.train('bench.logins')")
    results["training"] = measure_training(conn, cfg, args.build, args.work)
    results["parallel"] = measure_parallel(conn, cfg)
    results["scoring"] = measure_scoring(conn, cfg, results["training"]["floor"])
    floor = results["training"]["floor"]["predict_per_vector_us"]
    sc = results["scoring"]
    sc["floor_us"] = floor + sc["features_us"]
    sc["ratio_model"] = sc["score_model_us"] / sc["floor_us"]
    sc["ratio_user"] = sc["score_user_us"] / sc["floor_us"]
    results["trigger"] = measure_trigger(conn, cfg, args.work, args.pgbench)
    results["memory"] = measure_memory(cfg)
    results["uap"] = measure_uap(cfg, args.build)
    results["elapsed_s"] = time.perf_counter() - started
    with open("/proc/loadavg") as f:
        results["machine"]["load_average_at_end"] = f.read().split()[:3]
    conn.close()
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1, default=str)
    log("done in %.0f s" % results["elapsed_s"])


if __name__ == "__main__":
    main()

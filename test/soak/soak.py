"""Soak test with faults: 100,000 logins, a mailer killed with SIGKILL, an
SMTP server that goes away, and one PostgreSQL immediate restart.

run.sh starts the cluster and calls this file; see README.md next to it.

Setup: test/gen/generate_logins.py makes the users and their history, which
is loaded with scoring off and trained.  The stream is built from that
history: each login repeats one of its user's past logins on a later day,
and a share (--unusual-share) takes the place, network and user agent of
another user's login, so the model usually finds it unusual.

Clients: --clients connections insert the stream in transactions of
--batch logins with login ids chosen by the client.  When a connection
breaks, the client reconnects, looks up which ids of its transaction are
in the table (a COMMIT can succeed just before the connection drops), and
inserts the batch again when they are not.  A client records a login as
committed only after it saw COMMIT succeed or found the row afterwards.

Faults, while the clients run: the mailer is killed with SIGKILL
--mailer-kills times and restarted each time; the SMTP server is stopped
for --smtp-outage seconds; PostgreSQL is restarted once with
pg_ctl restart -m immediate.

Checks at the end, one PASS or FAIL line each:
- every login a client saw committed is in the table, and no other;
- every login that scores above the threshold (by-user score() with the
  same models) has exactly one alert, matched through alerts.login_ref,
  and no other login has one;
- every alert is sent, and each alert's Message-ID appears in the saved
  e-mails; an alert mailed more than once used the same Message-ID each
  time (the documented duplicate after a crash between sending and
  marking), and there are at most as many duplicates as mailer kills;
- every saved e-mail belongs to an alert.
run.sh adds the server log check and prints the "N passed, N failed" line.
"""

import argparse
import csv
import datetime
import email
import email.policy
import glob
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import psycopg2
import psycopg2.extras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    if ok:
        print("PASS: soak: %s" % name, flush=True)
        results["passed"] += 1
    else:
        print("FAIL: soak: %s%s" % (name, ": " + str(detail) if detail else ""), flush=True)
        results["failed"] += 1
    return ok


def log(message):
    print("%s %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def connect(autocommit=False):
    conn = psycopg2.connect(connect_timeout=5)
    conn.autocommit = autocommit
    return conn


def connect_retrying(deadline_seconds=120):
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            return connect()
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Setup

def load_history(work, users, seed):
    subprocess.run([sys.executable, os.path.join(ROOT, "test", "gen", "generate_logins.py"),
                    "--users", str(users), "--seed", str(seed), "--history-days", "60",
                    "--test-days", "1", "--out", work, "--quiet"], check=True)
    conn = connect(autocommit=True)
    with conn.cursor() as cur:
        # test/lib/cluster.sh turns synchronous_commit off, which lets an
        # immediate restart lose commits that clients saw succeed
        cur.execute("ALTER SYSTEM SET synchronous_commit = on")
        cur.execute("SELECT pg_reload_conf()")
    conn.close()
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS login_anomaly")
        cur.execute("""
            CREATE TABLE logins (login_id bigint PRIMARY KEY, user_id text NOT NULL,
                ts timestamptz NOT NULL, ip inet, country text, region text, city text,
                user_agent text, lat float8, lon float8)""")
        with open(os.path.join(work, "history.csv"), encoding="utf-8") as f:
            cur.copy_expert("COPY logins FROM STDIN (FORMAT csv, HEADER)", f)
        cur.execute("SELECT login_anomaly.train('logins')")
        trained = cur.fetchone()[0]
        cur.execute("CREATE TRIGGER check_login AFTER INSERT ON logins FOR EACH ROW "
                    "EXECUTE FUNCTION login_anomaly.check_login('login_ref=login_id')")
        cur.execute("SELECT max(login_id), max(ts) FROM logins")
        max_id, max_ts = cur.fetchone()
    conn.commit()
    conn.close()
    with open(os.path.join(work, "history.csv"), encoding="utf-8") as f:
        history = list(csv.DictReader(f))
    return trained, max_id, max_ts, history


def build_stream(history, count, unusual_share, first_id, after, rng):
    """Return count logins as tuples in the column order of INSERT_SQL."""
    by_user = {}
    for row in history:
        by_user.setdefault(row["user_id"], []).append(row)
    users = sorted(by_user)
    stream = []
    for n in range(count):
        user = rng.choice(users)
        base = rng.choice(by_user[user])
        ts = after + datetime.timedelta(days=1 + n // 20000, seconds=n)
        ts = ts.replace(hour=datetime.datetime.fromisoformat(base["ts"].replace("Z", "+00:00")).hour)
        place = base
        if rng.random() < unusual_share:
            place = rng.choice(history)
        stream.append((first_id + n, user, ts, place["ip"] or None, place["country"] or None,
                       place["region"] or None, place["city"] or None,
                       place["user_agent"] or None,
                       float(place["lat"]) if place["lat"] else None,
                       float(place["lon"]) if place["lon"] else None))
    return stream


# The inserting clients

INSERT_SQL = ("INSERT INTO logins (login_id, user_id, ts, ip, country, region, city, "
              "user_agent, lat, lon) VALUES %s")


class Client(threading.Thread):
    def __init__(self, number, logins, batch):
        super().__init__(name="client-%d" % number)
        self.logins = logins
        self.batch = batch
        self.committed = set()
        self.reconnects = 0
        self.retried_batches = 0
        self.error = None

    def lookup(self, ids):
        """Reconnect and return the connection and which of ids are stored.

        The server can go away again while this runs (a restart in
        progress), so it retries until the lookup itself succeeds.
        """
        deadline = time.monotonic() + 120
        while True:
            conn = connect_retrying()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT login_id FROM logins WHERE login_id = ANY(%s)", (ids,))
                    found = {row[0] for row in cur.fetchall()}
                conn.commit()
                return conn, found
            except psycopg2.Error:
                if conn.closed == 0 or time.monotonic() > deadline:
                    raise
                self.reconnects += 1
                time.sleep(0.5)

    def run(self):
        try:
            conn = connect_retrying()
            i = 0
            while i < len(self.logins):
                batch = self.logins[i:i + self.batch]
                ids = [row[0] for row in batch]
                try:
                    with conn.cursor() as cur:
                        psycopg2.extras.execute_values(cur, INSERT_SQL, batch, page_size=len(batch))
                    conn.commit()
                    self.committed.update(ids)
                    i += self.batch
                except psycopg2.Error as error:
                    # psycopg2 reports a dropped connection as OperationalError,
                    # InterfaceError or, mid-statement, a plain DatabaseError
                    lost = conn.closed != 0 or isinstance(
                        error, (psycopg2.OperationalError, psycopg2.InterfaceError))
                    if not lost:
                        raise
                    # The transaction, or only the connection after COMMIT, was lost
                    self.reconnects += 1
                    try:
                        conn.close()
                    except psycopg2.Error:
                        pass
                    conn, found = self.lookup(ids)
                    if found == set(ids):
                        self.committed.update(ids)
                        i += self.batch
                    elif found:
                        raise RuntimeError("batch partly committed: %d of %d rows" % (len(found), len(ids)))
                    else:
                        self.retried_batches += 1
            conn.close()
        except Exception as error:  # reported by the main thread
            self.error = error


# The mailer and the SMTP sink

class SmtpSink:
    """smtp_sink.py in a new directory each time it starts, so numbers never clash."""

    def __init__(self, work, port):
        self.work = work
        self.port = port
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        directory = os.path.join(self.work, "mail-%d" % self.starts)
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "test", "mailer", "smtp_sink.py"),
             "--port", str(self.port), "--dir", directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start on port %d" % self.port)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def messages(self):
        return sorted(glob.glob(os.path.join(self.work, "mail-*", "*.eml")))


class Mailer:
    def __init__(self, binary, smtp_port, work):
        self.binary = binary
        self.smtp_port = smtp_port
        self.log = open(os.path.join(work, "mailer.log"), "ab")
        self.process = None

    def start(self):
        conninfo = "host=%s port=%s dbname=%s" % (os.environ["PGHOST"], os.environ["PGPORT"],
                                                  os.environ.get("PGDATABASE", "postgres"))
        self.process = subprocess.Popen(
            [self.binary, "--dbname=" + conninfo,
             "--smtp-url=smtp://127.0.0.1:%d" % self.smtp_port,
             "--from=Security alerts <security-alerts@example.com>",
             "--to=security-team@example.com", "--message-id-domain=soak.example.com",
             "--storm-window=0", "--poll-interval=1", "--retry-delay=1",
             "--retry-max-delay=2", "--max-attempts=1000", "--smtp-timeout=10"],
            stdout=self.log, stderr=self.log)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def restart_postgres():
    command = ["/usr/lib/postgresql/15/bin/pg_ctl", "restart", "-m", "immediate", "-w",
               "-t", "60", "-D", os.environ["LA_PGDATA"], "-l", os.environ["LA_SERVER_LOG"]]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=os.environ["LA_CLUSTER_DIR"])


# Checks

def check_results(clients, stream, mailer_kills, sink, threshold):
    committed = set()
    for client in clients:
        committed |= client.committed
    stream_ids = [row[0] for row in stream]
    conn = connect()
    cur = conn.cursor()
    cur.execute("SELECT login_id FROM logins WHERE login_id >= %s", (min(stream_ids),))
    stored = {row[0] for row in cur.fetchall()}
    check("every login a client saw committed is stored", committed <= stored,
          "%d committed logins missing, e.g. %s" % (len(committed - stored),
                                                    sorted(committed - stored)[:5]))
    check("no login is stored that no client saw committed", stored <= committed,
          "%d unexpected logins" % len(stored - committed))
    check("every login of the stream committed", len(committed) == len(stream),
          "%d of %d" % (len(committed), len(stream)))

    # Which stored logins should have alerted: the same scoring, by user
    cur.execute("""
        SELECT l.login_id,
               login_anomaly.score(l.user_id, l.ts, l.ip, l.country, l.region, l.city,
                                   l.user_agent, l.lat, l.lon) AS score,
               (SELECT count(*) FROM login_anomaly.alerts a
                WHERE a.login_ref = l.login_id::text) AS alerts
        FROM logins l WHERE l.login_id >= %s""", (min(stream_ids),))
    rows = cur.fetchall()
    expected = {login_id for login_id, score, _ in rows if score is not None and score > threshold}
    wrong = [(login_id, score, alerts) for login_id, score, alerts in rows
             if alerts != (1 if login_id in expected else 0)]
    log("%d of %d stored logins score above %.2f" % (len(expected), len(rows), threshold))
    check("unusual logins were in the stream", len(expected) > 0.005 * len(rows),
          "%d alerts expected" % len(expected))
    check("each login above the threshold has exactly one alert, the others none", not wrong,
          "%d mismatches (login_id, score, alerts), e.g. %s" % (len(wrong), wrong[:5]))
    cur.execute("SELECT count(*) FROM login_anomaly.alerts a WHERE NOT EXISTS "
                "(SELECT 1 FROM logins l WHERE l.login_id::text = a.login_ref)")
    check("every alert belongs to a stored login", cur.fetchone()[0] == 0)
    cur.execute("SELECT count(*) FROM login_anomaly.alerts WHERE kind <> 'anomaly'")
    check("no scoring_failed alert", cur.fetchone()[0] == 0)

    # Mail
    cur.execute("SELECT alert_id, status, message_id FROM login_anomaly.alerts")
    alerts = {alert_id: (status, message_id) for alert_id, status, message_id in cur.fetchall()}
    conn.close()
    unsent = [a for a, (status, _) in alerts.items() if status != "sent"]
    check("every alert is marked sent", not unsent, "%d not sent, e.g. %s" % (len(unsent), unsent[:5]))

    mails_by_alert = {}
    foreign = []
    for path in sink.messages():
        with open(path, "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.compat32)
        alert_id = int(message.get("X-Login-Anomaly-Alert-Id", "0"))
        if alert_id not in alerts:
            foreign.append(path)
            continue
        mails_by_alert.setdefault(alert_id, []).append(message.get("Message-ID"))
    missing = [a for a in alerts if a not in mails_by_alert]
    check("every alert has an e-mail", not missing, "%d without, e.g. %s" % (len(missing), missing[:5]))
    mismatched = [(a, ids, alerts[a][1]) for a, ids in mails_by_alert.items()
                  if any(i != alerts[a][1] for i in ids)]
    check("each e-mail carries its alert's Message-ID", not mismatched, mismatched[:3])
    duplicates = sum(len(ids) - 1 for ids in mails_by_alert.values())
    log("%d e-mails for %d alerts, %d duplicates, %d mailer kills"
        % (sum(len(i) for i in mails_by_alert.values()), len(alerts), duplicates, mailer_kills))
    check("duplicates only from mailer kills (at most one per kill)", duplicates <= mailer_kills,
          "%d duplicates after %d kills" % (duplicates, mailer_kills))
    check("every e-mail belongs to an alert", not foreign, foreign[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--mailer", required=True)
    parser.add_argument("--logins", type=int, default=100000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--unusual-share", type=float, default=0.02)
    parser.add_argument("--mailer-kills", type=int, default=5)
    parser.add_argument("--smtp-outage", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=180)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    log("generating %d users' history and training" % args.users)
    trained, max_id, max_ts, history = load_history(args.work, args.users, args.seed)
    log("trained %d users on %d logins" % (trained, len(history)))
    stream = build_stream(history, args.logins, args.unusual_share, max_id + 1, max_ts, rng)
    conn = connect()
    with conn.cursor() as cur:
        # A call into the library defines its settings in this session
        cur.execute("SELECT login_anomaly.risk_level(0)")
        cur.execute("SELECT current_setting('login_anomaly.threshold')::float8")
        threshold = cur.fetchone()[0]
    conn.close()

    sink = SmtpSink(args.work, free_port())
    sink.start()
    mailer = Mailer(args.mailer, sink.port, args.work)
    mailer.start()

    share = len(stream) // args.clients + 1
    clients = [Client(n, stream[n * share:(n + 1) * share], args.batch) for n in range(args.clients)]
    start = time.monotonic()
    for client in clients:
        client.start()

    def progress():
        return sum(len(c.committed) for c in clients) / len(stream)

    kills = 0
    restarted = False
    outage_done = False
    mailer_exits = 0
    while any(c.is_alive() for c in clients):
        time.sleep(0.5)
        done = progress()
        if mailer.process.poll() is not None:
            mailer_exits += 1
            log("the mailer exited by itself with status %d; restarting it" % mailer.process.returncode)
            mailer.start()
        if kills < args.mailer_kills and done >= (kills + 1) / (args.mailer_kills + 2):
            mailer.kill()
            kills += 1
            log("mailer killed with SIGKILL (%d), %.0f%% inserted" % (kills, 100 * done))
            mailer.start()
        if not restarted and done >= 0.4:
            log("pg_ctl restart -m immediate at %.0f%% inserted" % (100 * done))
            restart_postgres()
            restarted = True
        if not outage_done and done >= 0.6:
            log("SMTP server stopped for %.0f s" % args.smtp_outage)
            sink.stop()
            time.sleep(args.smtp_outage)
            sink.start()
            outage_done = True
    elapsed = time.monotonic() - start
    for client in clients:
        client.join()
        if client.error is not None:
            check("%s ran to the end" % client.name, False, repr(client.error))
    log("inserted %d logins in %.0f s (%.0f/s); %d reconnects, %d batches retried"
        % (sum(len(c.committed) for c in clients), elapsed,
           sum(len(c.committed) for c in clients) / elapsed,
           sum(c.reconnects for c in clients), sum(c.retried_batches for c in clients)))
    # Kills the fast clients left no time for happen now, while the mailer drains
    while kills < args.mailer_kills:
        time.sleep(1)
        mailer.kill()
        kills += 1
        log("mailer killed with SIGKILL (%d) after the inserts" % kills)
        mailer.start()
    check("PostgreSQL was restarted once with -m immediate", restarted)
    check("the mailer was killed %d times" % args.mailer_kills, kills == args.mailer_kills,
          "%d kills" % kills)
    check("the SMTP server was down once", outage_done)
    check("the mailer never exited by itself", mailer_exits == 0, "%d exits" % mailer_exits)

    # Let the mailer drain the outbox
    deadline = time.monotonic() + args.drain_timeout
    while time.monotonic() < deadline:
        conn = connect_retrying()
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM login_anomaly.alerts WHERE status <> 'sent'")
            left = cur.fetchone()[0]
        conn.close()
        if left == 0:
            break
        time.sleep(1)
    log("outbox drained, %d alerts left" % left)
    mailer.stop()
    time.sleep(1)
    sink.stop()

    check_results(clients, stream, kills, sink, threshold)
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()

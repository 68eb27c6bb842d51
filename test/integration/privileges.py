"""Least privilege: the three roles of README.md's "Least privilege" section.

The SQL is read from README.md itself (the first sql block of that
section), so this test checks the grants the README tells operators to
run.  Then, each role connecting as itself:

- app inserts logins; the trigger still scores them and writes the alert,
  but app cannot read or change models or alerts, call by-user scoring, or
  switch scoring off;
- analyst reads alerts, records a verdict (record_verdict(), which updates verdict, verdict_at
  and verdict_by) and calls score() and explain() by user, but cannot
  change any other alert column, read or change models, or retrain;
- mailer claims alerts with SELECT ... FOR UPDATE SKIP LOCKED and marks
  them (status, sent_at, message_id and the other delivery columns) but
  cannot change the rest of an alert or read models; the real
  login-anomaly-mailer, run with --once as this role against a local SMTP
  sink, mails a pending alert and marks it sent.

Role names are cluster-wide, so the test drops app, analyst and mailer
first when a previous run left them.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

import psycopg2  # noqa: E402
import psycopg2.errors  # noqa: E402

SUITE = "privileges"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ("app", "analyst", "mailer")

# The logins table of README.md's walkthrough, which the grants name
LOGINS_TABLE = """
CREATE TABLE logins (
    login_id   bigserial PRIMARY KEY,
    user_id    text NOT NULL,
    ts         timestamptz NOT NULL,
    ip         inet,
    country    text, region text, city text,
    user_agent text,
    lat        float8, lon float8
)"""

INSERT_LOGIN = ("INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent, lat, lon) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING login_id")


def readme_privilege_sql():
    """Return the first sql block under "## Least privilege" in README.md."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = re.search(r"^## Least privilege\n(.*?)(?=^## )", text, re.S | re.M)
    if section is None:
        raise RuntimeError("README.md has no \"## Least privilege\" section")
    block = re.search(r"```sql\n(.*?)```", section.group(1), re.S)
    if block is None:
        raise RuntimeError("the Least privilege section has no sql block")
    return block.group(1)


def drop_roles(admin):
    """Drop the roles a previous run left, with what they own in any database."""
    with admin.cursor() as cur:
        cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(ROLES),))
        existing = [row[0] for row in cur.fetchall()]
        if not existing:
            return
        cur.execute("SELECT datname FROM pg_database WHERE datallowconn")
        databases = [row[0] for row in cur.fetchall()]
    for database in databases:
        conn = la.connect(database, autocommit=True)
        with conn.cursor() as cur:
            for role in existing:
                cur.execute("DROP OWNED BY %s" % role)
        conn.close()
    with admin.cursor() as cur:
        for role in existing:
            cur.execute("DROP ROLE %s" % role)


def connect_as(dbname, role):
    conn = psycopg2.connect(dbname=dbname, user=role)
    conn.set_client_encoding("UTF8")
    return conn


def attempt(conn, query, parameters=None):
    """Run query; return None when it worked, else the error.  Rolls back."""
    try:
        with conn.cursor() as cur:
            cur.execute(query, parameters)
        conn.commit()
        return None
    except psycopg2.Error as error:
        conn.rollback()
        return error


def check_allowed(report, conn, name, query, parameters=None):
    error = attempt(conn, query, parameters)
    report.check(name, error is None,
                 "%s: %s" % (getattr(error, "pgcode", None), str(error).strip()))


def check_denied(report, conn, name, query, parameters=None):
    error = attempt(conn, query, parameters)
    report.check(name, isinstance(error, psycopg2.errors.InsufficientPrivilege),
                 "expected permission denied (42501), got %s"
                 % ("success" if error is None else "%s: %s" % (error.pgcode, str(error).strip())))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mailer_binary():
    """The installed mailer, else the one built in the repository."""
    bindir = subprocess.run(["/usr/lib/postgresql/15/bin/pg_config", "--bindir"],
                            capture_output=True, text=True).stdout.strip()
    for path in (os.path.join(bindir, "login-anomaly-mailer"),
                 os.path.join(ROOT, "src", "mailer", "login-anomaly-mailer")):
        if os.access(path, os.X_OK):
            return path
    return None


def run_mailer_once(report, dbname):
    """Mail the pending alerts with the real mailer, connected as role mailer."""
    binary = mailer_binary()
    if binary is None:
        report.check("mailer binary found", False, "no login-anomaly-mailer installed or built")
        return
    spool = tempfile.mkdtemp(prefix="la-privileges-smtp.")
    port = free_port()
    sink = subprocess.Popen([sys.executable, os.path.join(ROOT, "test", "mailer", "smtp_sink.py"),
                             "--port", str(port), "--dir", spool],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        conninfo = "host=%s port=%s dbname=%s user=mailer" % (
            os.environ.get("PGHOST", "/var/run/postgresql"), os.environ.get("PGPORT", "5432"), dbname)
        result = subprocess.run(
            [binary, "--dbname=" + conninfo, "--smtp-url=smtp://127.0.0.1:%d" % port,
             "--from=Security alerts <security-alerts@example.com>",
             "--to=security-team@example.com", "--message-id-domain=test.example.com",
             "--storm-window=0", "--once"],
            capture_output=True, text=True, timeout=60)
        mails = [name for name in os.listdir(spool) if name.endswith(".eml")]
        report.check("mailer role: login-anomaly-mailer --once exits 0", result.returncode == 0,
                     "exit %d: %s" % (result.returncode, result.stderr.strip()[-500:]))
        report.check("mailer role: login-anomaly-mailer mails the pending alert", len(mails) >= 1,
                     "%d messages; mailer said: %s" % (len(mails), result.stderr.strip()[-300:]))
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        shutil.rmtree(spool, ignore_errors=True)


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    admin = la.connect(os.environ.get("PGDATABASE", "postgres"), autocommit=True)
    conn = la.connect(dbname)
    alice = la.office_profile(0, user_id="alice@example.com")
    usual = la.usual_login(alice, la.later_slot(3))
    unusual = la.unusual_login(alice.user_id, la.at(la.weekday(la.TRAINING_LOGINS + 1), 3))

    with report.case("set up the README's roles"):
        drop_roles(admin)
        la.create_extension(conn)
        with conn.cursor() as cur:
            cur.execute(LOGINS_TABLE)
            cur.execute("CREATE TRIGGER check_login AFTER INSERT ON logins "
                        "FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login()")
            cur.execute("SET login_anomaly.enabled = off")
        la.insert_logins(conn, "logins", la.training_logins(alice))
        with conn.cursor() as cur:
            cur.execute("RESET login_anomaly.enabled")
        conn.commit()
        la.train(conn, "logins")
        with conn.cursor() as cur:
            cur.execute(readme_privilege_sql())
        conn.commit()
        report.check("README's Least privilege SQL runs", True)

    app = connect_as(dbname, "app")
    analyst = connect_as(dbname, "analyst")
    mailer = connect_as(dbname, "mailer")

    # The application role
    with report.case("app inserts logins"):
        with app.cursor() as cur:
            cur.execute(INSERT_LOGIN, usual.values())
            usual_id = cur.fetchone()[0]
            cur.execute(INSERT_LOGIN, unusual.values())
            unusual_id = cur.fetchone()[0]
        app.commit()
        report.check("app: INSERT into logins works", True)
        alerts = la.fetch_all(conn, "SELECT login_ref, kind, user_id FROM login_anomaly.alerts "
                                    "ORDER BY alert_id")
        report.equal("app: the trigger alerts on the unusual login only",
                     alerts, [(str(unusual_id), "anomaly", alice.user_id)])
        report.check("app: the usual login has no alert",
                     all(ref != str(usual_id) for ref, _, _ in alerts), alerts)

    check_denied(report, app, "app: cannot read models", "SELECT * FROM login_anomaly.models")
    check_denied(report, app, "app: cannot read alerts", "SELECT * FROM login_anomaly.alerts")
    check_denied(report, app, "app: cannot change alerts",
                 "UPDATE login_anomaly.alerts SET status = 'sent'")
    check_denied(report, app, "app: cannot delete alerts", "DELETE FROM login_anomaly.alerts")
    check_denied(report, app, "app: cannot insert models",
                 "INSERT INTO login_anomaly.models SELECT * FROM login_anomaly.models")
    check_denied(report, app, "app: cannot score by user",
                 "SELECT login_anomaly.score(%s, %s, %s, %s, %s, %s, %s, %s, %s)", unusual.values())
    check_denied(report, app, "app: cannot explain by user",
                 "SELECT login_anomaly.explain(%s, %s, %s, %s, %s, %s, %s, %s, %s)", unusual.values())
    check_denied(report, app, "app: cannot switch scoring off",
                 "SET login_anomaly.enabled = off")
    check_denied(report, app, "app: cannot raise the threshold",
                 "SET login_anomaly.threshold = 0.99")
    check_denied(report, app, "app: cannot retrain", "SELECT login_anomaly.train('logins')")

    # The analyst role
    with report.case("analyst reads alerts"):
        rows = la.fetch_all(analyst, "SELECT alert_id, reasons FROM login_anomaly.alerts")
        report.check("analyst: can read alerts", len(rows) == 1 and rows[0][1], rows)
    alert_id = la.fetch_value(conn, "SELECT max(alert_id) FROM login_anomaly.alerts")
    check_allowed(report, analyst, "analyst: can record a verdict",
                  "SELECT login_anomaly.record_verdict(%s, 'not_me')", (alert_id,))
    report.equal("analyst: the verdict is stored",
                 la.fetch_all(conn, "SELECT verdict, verdict_by FROM login_anomaly.alerts "
                                    "WHERE alert_id = %s", (alert_id,)),
                 [("not_me", "analyst")])
    for column, value in (("status", "'sent'"), ("score", "0"), ("reasons", "'{}'"),
                          ("user_id", "'bob'"), ("message_id", "'x'")):
        check_denied(report, analyst, "analyst: cannot change alerts.%s" % column,
                     "UPDATE login_anomaly.alerts SET %s = %s" % (column, value))
    check_denied(report, analyst, "analyst: cannot delete alerts", "DELETE FROM login_anomaly.alerts")
    check_denied(report, analyst, "analyst: cannot read models", "SELECT * FROM login_anomaly.models")
    check_denied(report, analyst, "analyst: cannot change models",
                 "UPDATE login_anomaly.models SET logins = 1")
    check_denied(report, analyst, "analyst: cannot delete models", "DELETE FROM login_anomaly.models")
    check_denied(report, analyst, "analyst: cannot retrain", "SELECT login_anomaly.train('logins')")
    with report.case("analyst scores by user"):
        score = la.fetch_value(analyst, "SELECT login_anomaly.score(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                               unusual.values())
        report.check("analyst: can score by user", score is not None and score > la.threshold(analyst),
                     "score %r" % (score,))
        reasons = la.fetch_value(analyst,
                                 "SELECT login_anomaly.explain(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                                 unusual.values())
        report.check("analyst: can explain by user", bool(reasons), reasons)

    # The mailer role
    with report.case("mailer claims and marks"):
        with mailer.cursor() as cur:
            cur.execute("SELECT alert_id, user_id, reasons FROM login_anomaly.alerts "
                        "WHERE status = 'pending' ORDER BY alert_id FOR UPDATE SKIP LOCKED LIMIT 1")
            claimed = cur.fetchall()
        report.check("mailer: can claim with FOR UPDATE SKIP LOCKED", len(claimed) == 1, claimed)
        mailer.rollback()
    check_allowed(report, mailer, "mailer: can record a failed attempt",
                  "UPDATE login_anomaly.alerts SET attempts = attempts + 1, last_error = 'test', "
                  "next_attempt_at = now() - interval '1 second' WHERE alert_id = %s", (alert_id,))
    check_denied(report, mailer, "mailer: cannot change alerts.verdict",
                 "UPDATE login_anomaly.alerts SET verdict = 'it_was_me'")
    check_denied(report, mailer, "mailer: cannot change alerts.score",
                 "UPDATE login_anomaly.alerts SET score = 0")
    check_denied(report, mailer, "mailer: cannot delete alerts", "DELETE FROM login_anomaly.alerts")
    check_denied(report, mailer, "mailer: cannot read models", "SELECT * FROM login_anomaly.models")
    check_denied(report, mailer, "mailer: cannot score by user",
                 "SELECT login_anomaly.score(%s, %s, %s, %s, %s, %s, %s, %s, %s)", unusual.values())

    with report.case("mailer program as role mailer"):
        # an alert with a verdict is not mailed, so clear the analyst's one
        with conn.cursor() as cur:
            cur.execute("UPDATE login_anomaly.alerts SET verdict = NULL WHERE alert_id = %s",
                        (alert_id,))
        conn.commit()
        run_mailer_once(report, dbname)
        report.equal("mailer role: the alert is marked sent",
                     la.fetch_all(conn, "SELECT status, message_id IS NOT NULL, sent_at IS NOT NULL "
                                        "FROM login_anomaly.alerts WHERE alert_id = %s", (alert_id,)),
                     [("sent", True, True)])

    for c in (app, analyst, mailer, conn):
        c.close()
    with report.case("clean up roles"):
        la.connect(os.environ.get("PGDATABASE", "postgres"), autocommit=True).cursor().execute(
            "DROP DATABASE IF EXISTS la_it_%s WITH (FORCE)" % SUITE)
        drop_roles(admin)
    admin.close()
    report.finish()


if __name__ == "__main__":
    main()

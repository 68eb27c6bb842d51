# la-test: slow
"""Concurrent inserts through the check_login trigger.

Four connections insert 10,000 logins of 8 users at the same time, 2,500
each in batches of 50 rows per transaction.  One login in 20 comes from
Ukraine on Firefox/Linux at 03:00 UTC.  Afterwards no login may be missing,
each unusual login must have exactly one alert, and no login may have two.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

import psycopg2.extras  # noqa: E402

SUITE = "concurrent_inserts"
USERS = 8
CONNECTIONS = 4
LOGINS = 10000
UNUSUAL_EVERY = 20
BATCH = 50
INSERT_COLUMNS = la.LOGIN_COLUMNS + ("expected_unusual",)


def insert_share(dbname, rows, start, errors):
    """Insert rows in batches on a new connection once all threads are ready."""
    try:
        conn = la.connect(dbname)
        start.wait()
        for first in range(0, len(rows), BATCH):
            with conn.cursor() as cur:
                psycopg2.extras.execute_values(
                    cur,
                    "INSERT INTO logins (%s) VALUES %%s" % ", ".join(INSERT_COLUMNS),
                    rows[first:first + BATCH],
                    page_size=BATCH)
            conn.commit()
        conn.close()
    except Exception as error:
        errors.append("%s: %s" % (type(error).__name__, error))
        start.abort()


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    profiles = [la.office_profile(i) for i in range(USERS)]

    with report.case("setup"):
        la.create_extension(conn)
        la.create_logins_table(conn, "login_history")
        for profile in profiles:
            la.insert_logins(conn, "login_history", la.training_logins(profile))
        la.train(conn, "login_history")
        la.create_logins_table(conn, "logins",
                               extra_columns="expected_unusual boolean NOT NULL")
        la.create_trigger(conn, "logins")
        report.check("setup", True)

    logins = la.mixed_logins(profiles, LOGINS, UNUSUAL_EVERY)
    expected_unusual = sum(1 for _, unusual in logins if unusual)
    rows = [login.values() + (unusual,) for login, unusual in logins]
    share = LOGINS // CONNECTIONS

    with report.case("concurrent inserts"):
        conn.rollback()
        start = threading.Barrier(CONNECTIONS, timeout=60)
        errors = []
        threads = [
            threading.Thread(target=insert_share,
                             args=(dbname, rows[i * share:(i + 1) * share], start, errors))
            for i in range(CONNECTIONS)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        print("# %d logins on %d connections in %.1f s (%.0f logins/s)"
              % (LOGINS, CONNECTIONS, elapsed, LOGINS / elapsed), flush=True)
        report.equal("no insert raised an error", errors, [])

    with report.case("alerts"):
        conn.rollback()
        la.check_alerts_match_logins(report, conn, "logins", LOGINS, expected_unusual)

    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

"""A rolled-back login leaves no alert row and sends no notification.

The alert row and the NOTIFY belong to the transaction of the login, so
ROLLBACK, and ROLLBACK TO SAVEPOINT for a login inserted after the savepoint,
must undo both.  Each case first checks that the trigger did write the alert
inside the transaction, so "nothing afterwards" cannot pass because the
trigger never fired.  A committed unusual login at the end shows that the
listener does receive notifications.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "rollback_gives_nothing"
CHANNEL = "la_rollback"
QUIET_SECONDS = 2

COUNT_ALERTS = "SELECT count(*) FROM login_anomaly.alerts"


def count_alerts_inside(conn):
    """Count alerts from inside conn's open transaction, leaving it open."""
    with conn.cursor() as cur:
        cur.execute(COUNT_ALERTS)
        return cur.fetchone()[0]


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    observer = la.connect(dbname, autocommit=True)
    profile = la.office_profile(1, user_id="carol@example.com")

    with report.case("setup"):
        la.create_extension(conn)
        la.create_logins_table(conn, "logins")
        la.insert_logins(conn, "logins", la.training_logins(profile))
        la.train(conn, "logins")
        la.create_trigger(conn, "logins", "channel=" + CHANNEL)
        report.check("setup", True)

    listener = la.listen(dbname, CHANNEL)

    with report.case("rollback"):
        conn.rollback()
        login = la.unusual_login(profile.user_id, la.unusual_ts(0))
        la.insert_logins(conn, "logins", [login], commit=False)
        report.equal("rollback: alert written inside the transaction",
                     count_alerts_inside(conn), 1)
        conn.rollback()
        report.equal("rollback: no alert row afterwards",
                     la.fetch_value(observer, COUNT_ALERTS), 0)
        report.equal("rollback: no login row afterwards",
                     la.fetch_value(observer, "SELECT count(*) FROM logins WHERE ts = %s",
                                    (login.ts,)), 0)
        received = la.wait_for_notifications(listener, 1, QUIET_SECONDS)
        report.equal("rollback: no notification",
                     [n.payload for n in received], [])

    with report.case("rollback to savepoint"):
        conn.rollback()
        usual = la.usual_login(profile, la.later_slot(0))
        unusual = la.unusual_login(profile.user_id, la.unusual_ts(1))
        la.insert_logins(conn, "logins", [usual], commit=False)
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT before_unusual")
        la.insert_logins(conn, "logins", [unusual], commit=False)
        report.equal("savepoint: alert written after the savepoint",
                     count_alerts_inside(conn), 1)
        with conn.cursor() as cur:
            cur.execute("ROLLBACK TO SAVEPOINT before_unusual")
        report.equal("savepoint: alert gone after ROLLBACK TO SAVEPOINT",
                     count_alerts_inside(conn), 0)
        conn.commit()
        report.equal("savepoint: no alert row after commit",
                     la.fetch_value(observer, COUNT_ALERTS), 0)
        rows = la.fetch_all(observer, "SELECT ts FROM logins WHERE ts IN (%s, %s)",
                            (usual.ts, unusual.ts))
        report.equal("savepoint: only the login before the savepoint is stored",
                     rows, [(usual.ts,)])
        received = la.wait_for_notifications(listener, 1, QUIET_SECONDS)
        report.equal("savepoint: no notification",
                     [n.payload for n in received], [])

    with report.case("committed login"):
        conn.rollback()
        login = la.unusual_login(profile.user_id, la.unusual_ts(2))
        la.insert_logins(conn, "logins", [login])
        received = la.wait_for_notifications(listener, 1, 10)
        report.equal("committed unusual login: one notification", len(received), 1)
        report.equal("committed unusual login: one alert row",
                     la.fetch_value(observer, COUNT_ALERTS), 1)

    listener.close()
    observer.close()
    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

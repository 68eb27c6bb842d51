"""What check_login does as the NOTIFY queue fills.

PostgreSQL's notification queue can only be emptied past the oldest
notification that some listener has not read yet.  A session that LISTENs
and then sits in an open transaction reads nothing, so the queue grows.
When the queue is full, the commit of any transaction that notifies fails,
which would lose the login.  check_login therefore:

- warns, at most once a minute per session, once the queue is more than
  login_anomaly.notify_queue_warning full, and still notifies;
- sends no NOTIFY once the queue is more than login_anomaly.notify_queue_limit
  full, with a WARNING; the login commits and the alert is in the outbox.

The real queue is 8 GB, too much to fill in the fast suite, so this test
fills a few pages and sets both settings just below the usage it measured.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "notify_queue"
FILLER_NOTIFICATIONS = 40
FILLER_BYTES = 7900


def hold_queue(dbname):
    """Return a session that listens on both channels and then reads nothing.

    The backend of a session inside a transaction does not read the queue,
    so the queue's tail stays behind everything sent from now on.
    """
    conn = la.connect(dbname)
    with conn.cursor() as cur:
        cur.execute("LISTEN login_anomaly")
        cur.execute("LISTEN la_filler")
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    return conn


def fill_queue(conn):
    """Send FILLER_NOTIFICATIONS distinct large payloads in one transaction."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_notify('la_filler', i::text || repeat('x', %s)) "
                    "FROM generate_series(1, %s) i", (FILLER_BYTES, FILLER_NOTIFICATIONS))
    conn.commit()


def queue_usage(conn):
    return float(la.fetch_value(conn, "SELECT pg_notification_queue_usage()"))


def insert_unusual(conn, login, settings):
    """Insert one login with settings in force; return the notices it raised."""
    with conn.cursor() as cur:
        for name, value in settings.items():
            cur.execute("SELECT set_config(%s, %s, true)", (name, str(value)))
        del conn.notices[:]
        la.insert_logins(conn, "logins", [login], commit=False)
        notices = list(conn.notices)
    conn.commit()
    return notices


def skipped_count(conn):
    return la.fetch_value(conn, "SELECT notify_skipped FROM login_anomaly.trigger_stats()")


def alert_ids_of(conn, logins):
    rows = la.fetch_all(conn,
                        "SELECT login_ts, alert_id FROM login_anomaly.alerts "
                        "WHERE kind = 'anomaly' AND login_ts = ANY(%s)",
                        ([login.ts for login in logins],))
    return dict(rows)


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    profile = la.office_profile(0, user_id="queue@example.com")

    with report.case("setup"):
        la.create_extension(conn)
        la.create_logins_table(conn, "logins")
        la.insert_logins(conn, "logins", la.training_logins(profile))
        la.train(conn, "logins")
        la.create_trigger(conn, "logins")
        report.check("setup", True)

    holder = hold_queue(dbname)
    fill_queue(conn)
    usage = queue_usage(conn)
    report.check("a listener that reads nothing keeps the queue in use",
                 usage > 0.0, "pg_notification_queue_usage() = %r" % usage)
    below = usage / 2.0

    skipped = la.unusual_login(profile.user_id, la.unusual_ts(0))
    warned = la.unusual_login(profile.user_id, la.unusual_ts(1))
    again = la.unusual_login(profile.user_id, la.unusual_ts(2))

    with report.case("above the limit"):
        before = skipped_count(conn)
        notices = insert_unusual(conn, skipped, {"login_anomaly.notify_queue_limit": below})
        report.check("above the limit: a WARNING names the skipped NOTIFY",
                     any("skipped NOTIFY for alert" in n for n in notices), notices)
        report.equal("above the limit: trigger_stats counts one skipped NOTIFY",
                     skipped_count(conn) - before, 1)

    with report.case("above the warning"):
        notices = insert_unusual(conn, warned, {"login_anomaly.notify_queue_warning": below})
        report.check("above the warning: a WARNING says how full the queue is",
                     any("notification queue is" in n and "% full" in n for n in notices),
                     notices)
        notices = insert_unusual(conn, again, {"login_anomaly.notify_queue_warning": below})
        report.check("above the warning: the session does not warn again within a minute",
                     not any("notification queue is" in n for n in notices), notices)

    with report.case("outbox and notifications"):
        logins = [skipped, warned, again]
        stored = la.fetch_value(conn, "SELECT count(*) FROM logins WHERE ts = ANY(%s)",
                                ([login.ts for login in logins],))
        report.equal("every login committed", stored, 3)
        alert_ids = alert_ids_of(conn, logins)
        report.equal("every login has its alert in the outbox", len(alert_ids), 3)

        # The holder ends its transaction and reads what the queue kept
        holder.commit()
        received = la.wait_for_notifications(holder, FILLER_NOTIFICATIONS + 2, 10)
        alert_payloads = sorted(la.parse_payload(n)["alert_id"] for n in received
                                if n.channel == "login_anomaly")
        expected = sorted(alert_ids[login.ts] for login in (warned, again) if login.ts in alert_ids)
        report.equal("NOTIFY was sent for the logins below the limit only",
                     alert_payloads, expected)
        report.equal("the filler notifications all arrived",
                     sum(1 for n in received if n.channel == "la_filler"),
                     FILLER_NOTIFICATIONS)

    holder.close()
    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

"""COPY into a table with the check_login trigger.

COPY FROM STDIN loads 1,000 logins of 8 users in one statement, one in 20
of them from Ukraine on Firefox/Linux at 03:00 UTC.  Every row must be
stored, each unusual login must have exactly one alert, and the listener
must receive one notification per alert, after the COPY commits.
"""

import io
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "copy_works"
USERS = 8
LOGINS = 1000
UNUSUAL_EVERY = 20
COPY_COLUMNS = la.LOGIN_COLUMNS + ("expected_unusual",)


def csv_field(value):
    """Format one value for COPY ... (FORMAT csv), where an unquoted empty field is NULL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return '"' + text.replace('"', '""') + '"'


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    profiles = [la.office_profile(i) for i in range(USERS)]

    # The history the models learn from lives in its own table, so the
    # logins table contains exactly the rows of the COPY.
    with report.case("setup"):
        la.create_extension(conn)
        la.create_logins_table(conn, "login_history")
        for profile in profiles:
            la.insert_logins(conn, "login_history", la.training_logins(profile))
        la.train(conn, "login_history")
        la.create_logins_table(conn, "logins",
                               extra_columns="expected_unusual boolean NOT NULL")
        la.create_trigger(conn, "logins", "channel=la_copy")
        report.check("setup", True)

    listener = la.listen(dbname, "la_copy")
    logins = la.mixed_logins(profiles, LOGINS, UNUSUAL_EVERY)
    expected_unusual = sum(1 for _, unusual in logins if unusual)

    with report.case("copy"):
        conn.rollback()
        data = io.StringIO()
        for login, unusual in logins:
            fields = list(login.values()) + [unusual]
            data.write(",".join(csv_field(value) for value in fields) + "\n")
        data.seek(0)
        with conn.cursor() as cur:
            cur.copy_expert("COPY logins (%s) FROM STDIN WITH (FORMAT csv)"
                            % ", ".join(COPY_COLUMNS), data)
            report.equal("COPY reports every row", cur.rowcount, LOGINS)
        received_before_commit = la.wait_for_notifications(listener, 1, 0.5)
        report.equal("no notification before commit", len(received_before_commit), 0)
        conn.commit()

    with report.case("alerts"):
        conn.rollback()
        la.check_alerts_match_logins(report, conn, "logins", LOGINS, expected_unusual)

    with report.case("notifications"):
        conn.rollback()
        alert_ids = {row[0] for row in la.fetch_all(conn, "SELECT alert_id FROM login_anomaly.alerts")}
        received = la.wait_for_notifications(listener, len(alert_ids), 15)
        received += la.wait_for_notifications(listener, 1, 1)
        payload_ids = []
        for notification in received:
            try:
                payload_ids.append(la.parse_payload(notification).get("alert_id"))
            except (ValueError, AttributeError):
                payload_ids.append(notification.payload[:100])
        report.equal("one notification per alert", len(payload_ids), len(alert_ids))
        report.check("notification alert_ids match the alert rows",
                     sorted(payload_ids, key=str) == sorted(alert_ids, key=str),
                     "%d payload ids, %d alert rows, first unmatched %r"
                     % (len(payload_ids), len(alert_ids),
                        sorted(set(payload_ids) ^ alert_ids, key=str)[:5]))

    listener.close()
    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

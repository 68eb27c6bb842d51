"""NOTIFY payloads of the check_login trigger.

A listener on channel login_anomaly must receive, for an unusual login, a
payload that parses as JSON, carries the alert_id of the alerts row and stays
under PostgreSQL's 8000-byte payload limit.  That must hold when the login
has a 10 kB user agent and a long non-ASCII city, and the trigger argument
channel=NAME must move the notification to that channel.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "listen_payload"
PAYLOAD_LIMIT = 8000
WAIT_SECONDS = 10


def long_user_agent(size=10240):
    """Return a Firefox user agent padded with add-on tokens to size bytes."""
    tokens = [la.FIREFOX_LINUX]
    number = 0
    while len(" ".join(tokens)) < size:
        tokens.append("AddOn-%04d/%d.%d" % (number, number % 7, number % 13))
        number += 1
    return " ".join(tokens)[:size]


def check_one_alert_notification(report, name, conn, listener, table, login, channel):
    """Insert login into table and check the one notification it must produce."""
    la.insert_logins(conn, table, [login])
    try:
        notifications = la.wait_for_notifications(listener, 1, WAIT_SECONDS)
    except (UnicodeDecodeError, ValueError) as error:
        report.check(name + ": payload decodes as UTF-8", False, error)
        return
    report.equal(name + ": one notification", len(notifications), 1)
    if not notifications:
        return

    notification = notifications[0]
    report.equal(name + ": channel", notification.channel, channel)
    payload_bytes = notification.payload.encode("utf-8")
    report.check(name + ": payload under 8000 bytes", len(payload_bytes) < PAYLOAD_LIMIT,
                 "%d bytes" % len(payload_bytes))
    report.check(name + ": payload has no replacement character",
                 "\ufffd" not in notification.payload, notification.payload[:200])
    try:
        payload = la.parse_payload(notification)
    except ValueError as error:
        report.check(name + ": payload is JSON", False,
                     "%s; payload starts %r" % (error, notification.payload[:200]))
        return
    report.check(name + ": payload is a JSON object", isinstance(payload, dict), repr(payload)[:200])
    if not isinstance(payload, dict):
        return

    alert_id = payload.get("alert_id")
    report.check(name + ": payload alert_id is an integer", isinstance(alert_id, int),
                 "alert_id %r" % (alert_id,))
    rows = la.fetch_all(
        conn,
        "SELECT alert_id, user_id, login_ts FROM login_anomaly.alerts WHERE login_ts = %s",
        (login.ts,))
    report.equal(name + ": alerts row matches payload alert_id",
                 rows, [(alert_id, login.user_id, login.ts)])


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    profile = la.office_profile(0, user_id="bob@example.com")

    with report.case("setup"):
        la.create_extension(conn)
        la.create_logins_table(conn, "logins")
        la.create_logins_table(conn, "logins_custom")
        la.insert_logins(conn, "logins", la.training_logins(profile))
        la.train(conn, "logins")
        la.create_trigger(conn, "logins")
        la.create_trigger(conn, "logins_custom", "channel=la_custom_channel")
        report.check("setup", True)

    listener = la.listen(dbname, "login_anomaly", "la_custom_channel")

    with report.case("usual login"):
        conn.rollback()
        la.insert_logins(conn, "logins", [la.usual_login(profile, la.later_slot(0))])
        received = la.wait_for_notifications(listener, 1, 2)
        report.equal("usual login sends no notification", len(received), 0)

    with report.case("plain unusual login"):
        conn.rollback()
        login = la.unusual_login(profile.user_id, la.unusual_ts(0))
        check_one_alert_notification(report, "plain unusual login", conn, listener,
                                     "logins", login, "login_anomaly")

    with report.case("long user agent and city"):
        conn.rollback()
        city = "Kraków " * 400
        login = la.unusual_login(profile.user_id, la.unusual_ts(1),
                                 user_agent=long_user_agent(),
                                 city=city.strip(), region="Małopolskie",
                                 country="PL", lat=50.0647, lon=19.9450,
                                 ip="203.0.113.200")
        print("# user agent %d bytes, city %d bytes"
              % (len(login.user_agent.encode()), len(login.city.encode())), flush=True)
        check_one_alert_notification(report, "long user agent and city", conn, listener,
                                     "logins", login, "login_anomaly")

    with report.case("custom channel"):
        conn.rollback()
        login = la.unusual_login(profile.user_id, la.unusual_ts(2))
        check_one_alert_notification(report, "channel=la_custom_channel", conn, listener,
                                     "logins_custom", login, "la_custom_channel")
        extra = la.wait_for_notifications(listener, 1, 1)
        report.equal("channel=la_custom_channel: nothing on login_anomaly",
                     [n.channel for n in extra], [])

    listener.close()
    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

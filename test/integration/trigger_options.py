"""Trigger arguments and the login_anomaly.enabled setting.

user_id=account reads the user from a column named account; threshold=X
overrides login_anomaly.threshold for one trigger; SET
login_anomaly.enabled = off stops scoring in the session until RESET.  Each
case has a control insert that must raise an alert, so "no alert" means the
option worked, not that scoring is broken.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "trigger_options"

ALERTS_FOR = "SELECT count(*) FROM login_anomaly.alerts WHERE login_ts = %s"


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    profile = la.office_profile(2, user_id="dave@example.com")

    with report.case("setup"):
        la.create_extension(conn)
        la.create_logins_table(conn, "login_history")
        la.insert_logins(conn, "login_history", la.training_logins(profile))
        la.train(conn, "login_history")
        la.create_logins_table(conn, "logins")
        la.create_trigger(conn, "logins")
        report.check("setup", True)

    with report.case("user_id=account"):
        conn.rollback()
        la.create_logins_table(conn, "sign_ins", user_column="account")
        la.create_trigger(conn, "sign_ins", "user_id=account")
        login = la.unusual_login(profile.user_id, la.unusual_ts(0))
        la.insert_logins(conn, "sign_ins", [login], user_column="account")
        rows = la.fetch_all(conn, "SELECT user_id FROM login_anomaly.alerts WHERE login_ts = %s",
                            (login.ts,))
        report.equal("user_id=account: alert for the account's user", rows, [(profile.user_id,)])

    with report.case("threshold="):
        conn.rollback()
        login = la.unusual_login(profile.user_id, la.unusual_ts(1))
        unusual_score = la.score(conn, login)
        # a threshold is at most 1; halfway between the score and 1 is above it
        high = min(1.0, (unusual_score + 1.0) / 2)
        la.create_logins_table(conn, "quiet_logins")
        la.create_trigger(conn, "quiet_logins", "threshold=%r" % high)
        la.insert_logins(conn, "quiet_logins", [login])
        report.equal("threshold=%r: no alert for a login scoring %r" % (high, unusual_score),
                     la.fetch_value(conn, ALERTS_FOR, (login.ts,)), 0)

        control = la.unusual_login(profile.user_id, la.unusual_ts(2))
        la.insert_logins(conn, "logins", [control])
        report.equal("default threshold: alert for the same kind of login",
                     la.fetch_value(conn, ALERTS_FOR, (control.ts,)), 1)

    with report.case("enabled = off"):
        conn.rollback()
        login = la.unusual_login(profile.user_id, la.unusual_ts(3))
        with conn.cursor() as cur:
            cur.execute("SET login_anomaly.enabled = off")
        la.insert_logins(conn, "logins", [login])
        report.equal("enabled = off: no alert",
                     la.fetch_value(conn, ALERTS_FOR, (login.ts,)), 0)

        with conn.cursor() as cur:
            cur.execute("RESET login_anomaly.enabled")
        conn.commit()
        control = la.unusual_login(profile.user_id, la.unusual_ts(4))
        la.insert_logins(conn, "logins", [control])
        report.equal("after RESET: alert again",
                     la.fetch_value(conn, ALERTS_FOR, (control.ts,)), 1)

    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

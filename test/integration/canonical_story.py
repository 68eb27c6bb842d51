"""The story login_anomaly is for, end to end through the trigger.

Alice logs in 30 times from her New York office on Chrome/Windows during
office hours.  Her 31st login looks the same and raises no alert.  Then
someone logs in as her from Ukraine on Firefox/Linux at 03:00 UTC: that login
raises one alert, and its reasons name the country (UA) and the browser
(Firefox).
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "canonical_story"


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    alice = la.office_profile(0, user_id="alice@example.com")

    with report.case("create extension"):
        la.create_extension(conn)
        report.check("create extension", True)

    # The trigger is in place before the history is loaded, as on a live
    # system.  login_anomaly.enabled = off keeps the bulk load from scoring.
    with report.case("bulk load with scoring off"):
        conn.rollback()
        la.create_logins_table(conn, "logins")
        la.create_trigger(conn, "logins")
        with conn.cursor() as cur:
            cur.execute("SET login_anomaly.enabled = off")
        la.insert_logins(conn, "logins", la.training_logins(alice))
        with conn.cursor() as cur:
            cur.execute("RESET login_anomaly.enabled")
        conn.commit()
        report.equal("bulk load with scoring off writes no alert",
                     la.fetch_value(conn, "SELECT count(*) FROM login_anomaly.alerts"), 0)

    with report.case("train"):
        conn.rollback()
        trained = la.train(conn, "logins")
        report.check("train returns a positive count", trained is not None and trained > 0,
                     "train returned %r" % (trained,))
        rows = la.fetch_all(conn, "SELECT logins FROM login_anomaly.models WHERE user_id = %s",
                            (alice.user_id,))
        report.equal("model stored for alice with 30 logins", rows, [(la.TRAINING_LOGINS,)])

    usual = la.usual_login(alice, la.later_slot(3))
    unusual = la.unusual_login(alice.user_id, la.at(la.weekday(la.TRAINING_LOGINS + 1), 3))

    with report.case("31st usual login"):
        conn.rollback()
        la.insert_logins(conn, "logins", [usual])
        report.equal("31st usual login raises no alert",
                     la.fetch_value(conn, "SELECT count(*) FROM login_anomaly.alerts"), 0)

    with report.case("scores"):
        conn.rollback()
        usual_score = la.score(conn, usual)
        unusual_score = la.score(conn, unusual)
        # The GUC exists once the library is loaded, which score() ensures.
        limit = la.threshold(conn)
        print("# threshold %r, usual login score %r, unusual login score %r"
              % (limit, usual_score, unusual_score), flush=True)
        report.check("usual login scores at or below the threshold",
                     usual_score <= limit, "score %r, threshold %r" % (usual_score, limit))
        report.check("unusual login scores above the threshold",
                     unusual_score > limit, "score %r, threshold %r" % (unusual_score, limit))
        report.check("unusual login scores higher than usual login",
                     unusual_score > usual_score,
                     "unusual %r, usual %r" % (unusual_score, usual_score))

    with report.case("unusual login"):
        conn.rollback()
        la.insert_logins(conn, "logins", [unusual])
        alerts = la.fetch_all(
            conn,
            "SELECT kind, user_id, login_ts, country, browser, score, threshold, risk, reasons"
            "  FROM login_anomaly.alerts ORDER BY alert_id")
        report.equal("unusual login raises exactly one alert", len(alerts), 1)
        if alerts:
            kind, user_id, login_ts, country, browser, alert_score, alert_threshold, risk, reasons = alerts[0]
            print("# alert reasons: %r" % (reasons,), flush=True)
            report.equal("alert kind", kind, "anomaly")
            report.equal("alert user_id", user_id, alice.user_id)
            report.equal("alert login_ts", login_ts, unusual.ts)
            report.equal("alert country", country, "UA")
            report.check("alert browser is Firefox", browser is not None and "Firefox" in browser,
                         "browser %r" % (browser,))
            report.check("alert score above its threshold",
                         alert_score is not None and alert_threshold is not None
                         and alert_score > alert_threshold,
                         "score %r, threshold %r" % (alert_score, alert_threshold))
            report.check("alert risk is set", risk in ("low", "medium", "high"), "risk %r" % (risk,))
            report.check("reasons mention the country UA",
                         any(re.search(r"\bUA\b|Ukraine", reason) for reason in reasons),
                         "reasons %r" % (reasons,))
            report.check("reasons mention the browser Firefox",
                         any("firefox" in reason.lower() for reason in reasons),
                         "reasons %r" % (reasons,))

    with report.case("explain"):
        conn.rollback()
        reasons = la.explain(conn, unusual)
        report.check("explain mentions the country UA",
                     any(re.search(r"\bUA\b|Ukraine", reason) for reason in reasons),
                     "explain returned %r" % (reasons,))
        report.check("explain mentions the browser Firefox",
                     any("firefox" in reason.lower() for reason in reasons),
                     "explain returned %r" % (reasons,))

    with report.case("logins kept"):
        conn.rollback()
        report.equal("every login row is stored",
                     la.fetch_value(conn, "SELECT count(*) FROM logins"),
                     la.TRAINING_LOGINS + 2)

    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

"""Checks of the e-mails the SMTP sink saved, one subcommand per test case.

Each subcommand prints one line per failed check and exits 1 if any
failed.  MAILER_TEST_CONNINFO names the test database, whose alert rows
the checks compare with the messages.
"""
import email
import email.policy
import email.utils
import glob
import json
import os
import re
import sys
import time

import psycopg2

failures = []


def check(condition, description):
    if not condition:
        failures.append(description)


def load(directory):
    """Return (message, envelope, raw bytes) for every saved e-mail, oldest first."""
    out = []
    for meta_path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(meta_path) as f:
            meta = json.load(f)
        with open(meta_path[:-5] + ".eml", "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        out.append((msg, meta, raw))
    return out


def query(sql, *params):
    with psycopg2.connect(os.environ["MAILER_TEST_CONNINFO"]) as conn:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()


def body_of(msg):
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def header_names(raw):
    """Names of the top-level header fields, read from the raw bytes."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0].lower()
            for line in head.split("\r\n") if line and line[0] not in " \t"]


def cmd_basic(directory, alert_id, failed_id, domain):
    mails = load(directory)
    check(len(mails) == 2, "expected 2 e-mails, found %d" % len(mails))
    by_id = {m["X-Login-Anomaly-Alert-Id"]: (m, meta, raw) for m, meta, raw in mails}
    check(alert_id in by_id, "no e-mail for alert %s" % alert_id)
    if alert_id in by_id:
        msg, meta, raw = by_id[alert_id]
        body = body_of(msg)
        check(msg["Subject"] == "Unusual sign-in to your account from Zürich, Zürich, CH",
              "subject is %r" % msg["Subject"])
        check(b"=?UTF-8?B?" in raw.split(b"\r\n\r\n")[0], "non-ASCII subject not encoded")
        check(msg["From"].addresses[0].display_name == "Login Wächter",
              "From display name is %r" % msg["From"].addresses[0].display_name)
        check(msg["From"].addresses[0].addr_spec == "alerts@example.test",
              "From address is %r" % msg["From"].addresses[0].addr_spec)
        check([a.addr_spec for a in msg["To"].addresses] == ["alice@example.test"],
              "To is %r" % str(msg["To"]))
        check(sorted(meta["rcpt_tos"]) == ["alice@example.test", "security@example.test"],
              "envelope recipients are %r" % meta["rcpt_tos"])
        check(msg["Message-ID"] == "<login-anomaly-alert-%s@%s>" % (alert_id, domain),
              "Message-ID is %r" % msg["Message-ID"])
        date = email.utils.parsedate_to_datetime(msg["Date"])
        check(abs(date.timestamp() - time.time()) < 300, "Date is %r" % msg["Date"])
        check(msg.get_content_type() == "text/plain", "content type %s" % msg.get_content_type())
        check(msg.get_content_charset() == "utf-8", "charset %s" % msg.get_content_charset())
        check(msg["Content-Transfer-Encoding"] == "quoted-printable",
              "transfer encoding %r" % msg["Content-Transfer-Encoding"])
        check(msg["MIME-Version"] == "1.0", "MIME-Version missing")
        check(all(len(line) <= 78 for line in raw.split(b"\r\n")),
              "a line is longer than 78 bytes")
        check(all(b < 128 for b in raw), "raw message is not 7-bit")
        for text in ("Zürich, Zürich, CH", "new country CH", "device Firefox on Linux never seen",
                     "Firefox on Linux (desktop)", "203.0.113.7", "203.0.113.0/24",
                     "Was this you?", "change your password", "Risk:     high",
                     "2026-03-01 13:30:00 CET (UTC+0100, Europe/Zurich)"):
            check(text in body, "body lacks %r" % text)
        rows = query("SELECT status, message_id, sent_at IS NOT NULL, attempts "
                     "FROM login_anomaly.alerts WHERE alert_id = %s", int(alert_id))
        check(rows == [("sent", msg["Message-ID"], True, 1)], "alert row is %r" % rows)
    check(failed_id in by_id, "no e-mail for scoring_failed alert %s" % failed_id)
    if failed_id in by_id:
        msg, meta, raw = by_id[failed_id]
        body = body_of(msg)
        check(msg["Subject"] == "Login anomaly scoring failed for user carol",
              "scoring_failed subject is %r" % msg["Subject"])
        check(meta["rcpt_tos"] == ["security@example.test"],
              "scoring_failed recipients are %r" % meta["rcpt_tos"])
        check("model for user carol is corrupt" in body, "scoring_failed body lacks the error")
        check("2026-03-01 12:00:00 UTC" in body, "scoring_failed body lacks the UTC time")


def cmd_ids(directory, expected):
    """Each expected alert id was mailed exactly once, and nothing else was."""
    mails = load(directory)
    ids = [m["X-Login-Anomaly-Alert-Id"] for m, _, _ in mails]
    message_ids = [m["Message-ID"] for m, _, _ in mails]
    want = sorted(expected.split(","), key=int)
    check(sorted(ids, key=int) == want,
          "mailed alerts %s, expected %s" % (",".join(sorted(ids, key=int))[:200],
                                             ",".join(want)[:200]))
    check(len(set(message_ids)) == len(message_ids), "duplicate Message-IDs")


def cmd_injection(directory, alert_id):
    mails = load(directory)
    check(len(mails) == 1, "expected 1 e-mail, found %d" % len(mails))
    for msg, meta, raw in mails:
        names = header_names(raw)
        check("bcc" not in names, "a Bcc header was injected")
        check(names.count("to") == 1 and names.count("subject") == 1,
              "header names are %r" % names)
        check(all(r.endswith("@example.test") and "evil" not in r for r in meta["rcpt_tos"]),
              "envelope recipients are %r" % meta["rcpt_tos"])
        check(meta["rcpt_tos"] == ["security@example.test"],
              "the invalid user address was used: %r" % meta["rcpt_tos"])
        check("\r" not in msg["Subject"] and "\n" not in msg["Subject"],
              "subject has a line break: %r" % msg["Subject"])
        check("Paris Bcc: evil@example.test" in msg["Subject"],
              "subject is %r" % msg["Subject"])
        body = body_of(msg)
        check("Where:    Paris Bcc: evil@example.test" in body, "body place line is wrong")
        check("\x1b" not in body and "\x00" not in body, "control characters reached the body")
        check("reason one Subject: fake" in body, "reason with CR LF was not kept on one line")
        check(b"\r\n.\r\n" not in raw and b"\r\n." not in raw, "a line starts with a dot")
        check(msg["Message-ID"].startswith("<login-anomaly-alert-%s@" % alert_id),
              "Message-ID is %r" % msg["Message-ID"])


def cmd_storm(directory, user, total):
    """The storm of one user: few e-mails, every alert listed once, rows folded."""
    total = int(total)
    mails = load(directory)
    print("storm: %d alerts gave %d e-mails" % (total, len(mails)))
    check(1 <= len(mails) <= 5, "expected 1 to 5 e-mails, found %d" % len(mails))

    listed = []
    for msg, _, _ in mails:
        body = body_of(msg)
        found = re.findall(r"^\d+\. Alert (\d+)$", body, re.M)
        if not found:
            found = [msg["X-Login-Anomaly-Alert-Id"]]
        listed.extend(int(x) for x in found)
        count = msg["X-Login-Anomaly-Alert-Count"]
        if count is not None:
            check(int(count) == len(found), "digest header count %s but %d listed" % (count, len(found)))

    rows = query("SELECT alert_id, status, folded_into FROM login_anomaly.alerts "
                 "WHERE user_id = %s ORDER BY alert_id", user)
    check(len(rows) == total, "expected %d rows, found %d" % (total, len(rows)))
    check(sorted(listed) == [r[0] for r in rows],
          "e-mails list %d alerts (%d distinct), rows %d" % (len(listed), len(set(listed)), len(rows)))

    sent = {r[0] for r in rows if r[1] == "sent"}
    check(len(sent) == len(mails), "%d rows sent but %d e-mails" % (len(sent), len(mails)))
    for alert_id, status, folded_into in rows:
        if status == "folded":
            check(folded_into in sent, "alert %d folded into %r, not a sent alert" % (alert_id, folded_into))
        else:
            check(status == "sent", "alert %d is %s" % (alert_id, status))

    times = query("SELECT sent_at FROM login_anomaly.alerts WHERE user_id = %s "
                  "AND status = 'sent' ORDER BY sent_at", user)
    window = float(os.environ.get("STORM_WINDOW", "0"))
    for a, b in zip(times, times[1:]):
        gap = (b[0] - a[0]).total_seconds()
        check(gap >= window - 0.01, "two e-mails %.2f s apart, window %.0f s" % (gap, window))


def cmd_digest(directory, carrier, expected):
    """One digest e-mail, carried by alert carrier, lists the expected alerts in that order."""
    mails = load(directory)
    check(len(mails) == 1, "expected 1 e-mail, found %d" % len(mails))
    want = expected.split(",")
    for msg, _, _ in mails:
        check(msg["X-Login-Anomaly-Alert-Id"] == carrier,
              "the digest is carried by alert %s, expected %s" % (msg["X-Login-Anomaly-Alert-Id"], carrier))
        check(msg["X-Login-Anomaly-Alert-Count"] == str(len(want)),
              "X-Login-Anomaly-Alert-Count is %r, expected %d" % (msg["X-Login-Anomaly-Alert-Count"], len(want)))
        listed = re.findall(r"^\d+\. Alert (\d+)$", body_of(msg), re.M)
        check(listed == want, "the digest lists alerts %s, expected %s" % (",".join(listed), expected))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    globals()["cmd_" + command](*args)
    for failure in failures:
        print("check failed: " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Print login_anomaly alerts as they arrive, for the demo.

Listens on the channel login_anomaly and reads each alert row by the
alert_id of the NOTIFY payload.  It prints one line per alert: user, place,
browser, score, risk and reasons.  When --labels names a table with columns
login_id, label and kind, the line also shows the true label of the login.
After --max-print
alerts it only counts.  It stops on a NOTIFY on --done-channel, after
--timeout seconds, or on SIGTERM, and then prints how many alerts arrived.

Connection settings come from the usual libpq environment (PGHOST, PGPORT,
PGUSER, PGDATABASE).
"""

import argparse
import json
import select
import signal
import sys
import time

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

ALERT_QUERY = """
SELECT alert_id, user_id, login_ref, city, country, browser, os, user_agent,
       score, risk, reasons
FROM login_anomaly.alerts
WHERE alert_id = %s
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Print login_anomaly alerts as they arrive.")
    parser.add_argument("--channel", default="login_anomaly",
                        help="channel of the alert notifications (default login_anomaly)")
    parser.add_argument("--done-channel", default="login_anomaly_demo_done",
                        help="a NOTIFY on this channel ends the listener "
                             "(default login_anomaly_demo_done)")
    parser.add_argument("--labels", metavar="TABLE",
                        help="table with login_id, label and kind to show the truth of each login")
    parser.add_argument("--max-print", type=int, default=15,
                        help="print this many alerts, then only count them (default 15)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="stop after this many seconds (default 600)")
    parser.add_argument("--ready-file",
                        help="create this file once LISTEN is in place")
    return parser.parse_args(argv)


def alert_id_of(payload):
    """Return the alert_id of a notification payload (JSON object or bare number), else None."""
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    if isinstance(value, dict):
        value = value.get("alert_id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def describe(row, truth):
    alert_id, user_id, _, city, country, browser, os_name, user_agent, score, risk, reasons = row
    place = ", ".join(p for p in (city, country) if p) or "unknown place"
    if browser or os_name:
        agent = "%s on %s" % (browser or "?", os_name or "?")
    else:
        agent = (user_agent or "no user agent")[:30]
    score_text = "%.2f" % score if score is not None else "-"
    line = "  alert %-5s %-7s %-28s %-34s score %s %-6s %s" % (
        alert_id, user_id, place[:28], agent[:34], score_text, risk or "-",
        "; ".join(reasons or []))
    if truth is not None:
        line += "  [%s %s]" % truth
    return line


def main(argv=None):
    options = parse_args(argv)
    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))

    conn = psycopg2.connect("")
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    cur = conn.cursor()
    cur.execute(sql.SQL("LISTEN {}").format(sql.Identifier(options.channel)))
    cur.execute(sql.SQL("LISTEN {}").format(sql.Identifier(options.done_channel)))
    labels_query = None
    if options.labels:
        schema, _, table = options.labels.rpartition(".")
        name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        labels_query = sql.SQL("SELECT label, kind FROM {} WHERE login_id = %s").format(name)
    if options.ready_file:
        open(options.ready_file, "w").close()

    received = 0
    unreadable = 0
    deadline = time.monotonic() + options.timeout
    done = False
    while not done and not stop:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print("listen.py: stopped after %.0f s without the done notification"
                  % options.timeout, file=sys.stderr)
            break
        try:
            readable, _, _ = select.select([conn], [], [], min(remaining, 1.0))
        except InterruptedError:
            continue
        if not readable:
            continue
        conn.poll()
        while conn.notifies:
            notify = conn.notifies.pop(0)
            if notify.channel == options.done_channel:
                done = True
                continue
            alert_id = alert_id_of(notify.payload)
            if alert_id is None:
                unreadable += 1
                continue
            received += 1
            if received > options.max_print:
                continue
            cur.execute(ALERT_QUERY, (alert_id,))
            row = cur.fetchone()
            if row is None:
                print("  alert %s: not found in login_anomaly.alerts" % alert_id)
                continue
            truth = None
            login_ref = row[2]
            if labels_query is not None and login_ref is not None and str(login_ref).isdigit():
                cur.execute(labels_query, (int(login_ref),))
                truth = cur.fetchone()
            print(describe(row, truth), flush=True)
            if received == options.max_print:
                print("  ... counting further alerts without printing them", flush=True)

    print("listener: %d alert notifications received" % received, flush=True)
    if unreadable:
        print("listener: %d notifications had no alert_id in their payload" % unreadable,
              file=sys.stderr)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

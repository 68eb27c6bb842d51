"""Score the test period as a deployment that retrains every night would.

Each UTC day of test.csv is scored by models trained on history.csv plus
every test login of the days before it, which is what a nightly run of
login_anomaly.train() gives.  The extension does this in SQL (run.sh);
this script does the same for a reference detector that reads CSV files:

  nightly.py days --test test.csv
      print the start of each test day, one ISO 8601 UTC time per line

  nightly.py run --history history.csv --test test.csv --work DIR
                 --out scores.csv --timing timing.json -- COMMAND...
      for each day, write DIR/day_N/history.csv and DIR/day_N/test.csv,
      run COMMAND --history ... --test ... --out ... --timing ..., then
      join the days' scores into one file and add up their timings

Training on the test logins of earlier days includes the takeovers among
them, as it would in production without analysts' verdicts.
"""

import argparse
import csv
import datetime
import json
import os
import subprocess
import sys

HISTORY_COLUMNS = ("login_id", "user_id", "ts", "ip", "country", "region", "city",
                   "user_agent", "lat", "lon")


def parse_ts(text):
    """Parse an ISO 8601 time with a zone into UTC (a time without one is UTC)."""
    ts = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        return ts.replace(tzinfo=datetime.timezone.utc)
    return ts.astimezone(datetime.timezone.utc)


def day_starts(test_rows):
    """Return the UTC midnights that start each day of the test period."""
    if not test_rows:
        return []
    first = min(parse_ts(r["ts"]) for r in test_rows)
    last = max(parse_ts(r["ts"]) for r in test_rows)
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    while start <= last:
        days.append(start)
        start += datetime.timedelta(days=1)
    return days


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path, columns, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def run_nightly(args):
    history = read_rows(args.history)
    test = read_rows(args.test)
    test_columns = list(test[0].keys()) if test else list(HISTORY_COLUMNS)
    days = day_starts(test)
    scores = []
    timing = {"train_s": 0.0, "score_s": 0.0}
    for index, start in enumerate(days):
        end = start + datetime.timedelta(days=1)
        before = [r for r in test if parse_ts(r["ts"]) < start]
        today = [r for r in test if start <= parse_ts(r["ts"]) < end]
        directory = os.path.join(args.work, "day_%d" % index)
        os.makedirs(directory, exist_ok=True)
        paths = {name: os.path.join(directory, name)
                 for name in ("history.csv", "test.csv", "scores.csv", "timing.json")}
        write_rows(paths["history.csv"], HISTORY_COLUMNS, history + before)
        write_rows(paths["test.csv"], test_columns, today)
        subprocess.run(args.command + ["--history", paths["history.csv"],
                                       "--test", paths["test.csv"],
                                       "--out", paths["scores.csv"],
                                       "--timing", paths["timing.json"]], check=True)
        scores.extend(read_rows(paths["scores.csv"]))
        with open(paths["timing.json"]) as handle:
            day_timing = json.load(handle)
        timing["train_s"] += day_timing.get("train_s", 0.0)
        timing["score_s"] += day_timing.get("score_s", 0.0)
        if "note" in day_timing:
            timing["note"] = day_timing["note"]
    timing["note"] = ("Retrained every night: the times add up %d trainings and %d scorings. "
                      % (len(days), len(days))) + timing.get("note", "")
    write_rows(args.out, ["login_id", "score"], scores)
    with open(args.timing, "w") as handle:
        json.dump(timing, handle, indent=1)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    days = sub.add_parser("days", help="print the start of each test day")
    days.add_argument("--test", required=True)
    run = sub.add_parser("run", help="score a CSV detector night by night")
    run.add_argument("--history", required=True)
    run.add_argument("--test", required=True)
    run.add_argument("--work", required=True)
    run.add_argument("--out", required=True)
    run.add_argument("--timing", required=True)
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.mode == "days":
        for start in day_starts(read_rows(args.test)):
            print(start.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return 0
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("run needs a COMMAND after --")
    run_nightly(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Score the test logins with the naive one-class SVM recipe, as a reference.

The recipe as it is often written: every login field label-encoded to one
integer, then scikit-learn's OneClassSVM with its default settings, one
model per user.  Exactly what this script does, per user:

- The columns are the login's fields except user_id and login_id, in this
  order: ts as integer seconds since the Unix epoch, then ip, country,
  region, city, user_agent, lat and lon, each turned into one integer by a
  sklearn.preprocessing.LabelEncoder.  Each encoder is fitted on the
  user's values of that field in history.csv and test.csv together, so that
  a value first seen in the test period still gets a code.  lat and lon are
  encoded as their CSV text, and an empty field is the value "".
- sklearn.svm.OneClassSVM() with no arguments (scikit-learn 1.2 defaults:
  RBF kernel, gamma="scale", nu=0.5), fitted on the user's history logins,
  unscaled.
- The score of a test login is -decision_function(x): higher is more unusual.
- A user with no history logins gets no score (an empty field, like SQL
  NULL).

What this gives: gamma="scale" is 1 / (8 * variance of all the matrix's
entries), and the unscaled epoch seconds (about 1.7e9) dominate that
variance, so gamma comes out near 4e-19.  A user's whole 120-day history
then spans about 4e-5 in gamma * squared distance, and the label codes add
about 1e-14: the kernel is almost constant and what varies comes from ts.
The model in effect ranks logins by time, so its figures show how the
recipe fails, not how well an SVM can do.

Writes login_id,score for every test login and a JSON file with the timings.
"""

import argparse
import collections
import csv
import datetime
import json
import sys
import time

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import OneClassSVM

TEXT_FIELDS = ("ip", "country", "region", "city", "user_agent", "lat", "lon")


def epoch_seconds(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def read_by_user(path):
    by_user = collections.defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            by_user[row["user_id"]].append(row)
    return by_user


def encode(history_rows, test_rows):
    """Return the history and test matrices of one user (ts, then one code per field)."""
    history = np.empty((len(history_rows), 1 + len(TEXT_FIELDS)))
    test = np.empty((len(test_rows), 1 + len(TEXT_FIELDS)))
    history[:, 0] = [epoch_seconds(row["ts"]) for row in history_rows]
    test[:, 0] = [epoch_seconds(row["ts"]) for row in test_rows]
    for column, field in enumerate(TEXT_FIELDS, start=1):
        history_values = [row[field] for row in history_rows]
        test_values = [row[field] for row in test_rows]
        encoder = LabelEncoder().fit(history_values + test_values)
        history[:, column] = encoder.transform(history_values)
        if test_rows:
            test[:, column] = encoder.transform(test_values)
    return history, test


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", required=True, help="history.csv")
    parser.add_argument("--test", required=True, help="test.csv")
    parser.add_argument("--out", required=True, help="score CSV to write (login_id,score)")
    parser.add_argument("--timing", required=True, help="timing JSON to write")
    args = parser.parse_args(argv)

    started = time.monotonic()
    history = read_by_user(args.history)
    test = read_by_user(args.test)
    read_s = time.monotonic() - started

    scores = {}
    train_s = 0.0
    score_s = 0.0
    # Every user of the history gets a model, as login_anomaly.train() does,
    # so that the training time covers the same users.
    for user, history_rows in history.items():
        test_rows = test.get(user, [])
        x_history, x_test = encode(history_rows, test_rows)

        t0 = time.monotonic()
        model = OneClassSVM().fit(x_history)
        t1 = time.monotonic()
        train_s += t1 - t0
        if not test_rows:
            continue
        values = -model.decision_function(x_test)
        score_s += time.monotonic() - t1
        for row, value in zip(test_rows, values):
            scores[int(row["login_id"])] = float(value)
    for user, test_rows in test.items():
        if user not in history:
            for row in test_rows:
                scores[int(row["login_id"])] = None

    total_s = time.monotonic() - started
    with open(args.out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["login_id", "score"])
        for login_id in sorted(scores):
            value = scores[login_id]
            writer.writerow([login_id, "" if value is None else repr(value)])

    timing = {
        "train_s": train_s,
        "score_s": score_s,
        "total_s": total_s,
        "read_s": read_s,
        "users": len(history),
        "note": "sklearn.svm.OneClassSVM() with default settings (RBF, gamma='scale', "
                "nu=0.5), one model per user, fitted on that user's history logins. The "
                "features are ts in epoch seconds, then ip, country, region, city, user_agent, "
                "lat and lon, each label-encoded per user by a LabelEncoder fitted on the "
                "user's history and test values. The score is -decision_function. With "
                "unscaled epoch seconds, gamma='scale' comes out near 4e-19, so the kernel "
                "sees little but ts. The times cover fit and decision_function on one core. "
                "With reading the CSV files and encoding, the script took %.1f s." % total_s,
    }
    with open(args.timing, "w") as handle:
        json.dump(timing, handle, indent=1)
    print("reference_naive_svm.py: %d users, fit %.1f s, score %.1f s, "
          "%.1f s in all" % (len(history), train_s, score_s, total_s), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Score detectors against the labelled benchmark and write the figures.

Reads test.csv from test/gen/generate_logins.py (login_id, user_id, ts, ...,
label, kind) and one score file per detector (CSV with a header and the
columns login_id,score, where a higher score means more unusual and an empty
score is SQL NULL).  Writes:

  figures.md        the Markdown tables of figures, also printed
  roc_<key>.dat     ROC points per detector, for test/quality/roc.gp
  README block      the text between <!-- quality:begin --> and
                    <!-- quality:end --> in each --readme FILE

Conventions, the same for every detector:

- An attack login is a positive, a legitimate one a negative.
- A login alarms when its score is strictly above the threshold, as
  login_anomaly.threshold does ("exactly at it does not").
- A NULL score (a user without a model) counts as the lowest possible score:
  it never alarms, and it ranks below every scored login in the AUC.
- ROC AUC is the Mann-Whitney statistic with midranks, so a tie between an
  attack and a legitimate login counts one half.
- The threshold for a target false-positive rate f is the lowest one whose
  false-positive rate does not exceed f: with m = floor(f * legitimate
  logins), it is the (m+1)-th largest legitimate score.  Ties can make the
  reached rate lower than f; the tables show the reached rate.
- Alerts per 1,000 users per day count every alarm, true or false, over the
  users of the history and the days the test logins span (rounded to whole
  days).

Only the standard library is used, so any python3 runs the unit tests.
"""

import argparse
import csv
import datetime
import json
import math
import os
import re
import sys

LEGIT_KINDS = ("ordinary", "travel", "vpn", "new_device", "few_logins")
ATTACK_KINDS = ("A1", "A2", "A3")
TARGET_FPRS = (0.01, 0.001)
# False-positive rates at which the first detector's detection rate is
# compared with each other detector's ("every operating point", sampled).
COMPARE_FPRS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02,
                0.03, 0.05, 0.1, 0.2)

DETECTOR_LABELS = {
    "extension": "login_anomaly",
    "naive_svm": "naive OneClassSVM",
    "freeman": "Freeman et al. 2016",
}

BEGIN_MARKER = "<!-- quality:begin -->"
END_MARKER = "<!-- quality:end -->"


# ---------------------------------------------------------------------------
# The evaluation math.  Labels are true for an attack and false for a
# legitimate login; scores are floats where -inf stands for NULL.


def midranks(values):
    """Return the 1-based ranks of values, tied values sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        mean_rank = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            ranks[order[position]] = mean_rank
        start = end + 1
    return ranks


def roc_auc(labels, scores):
    """Return the area under the ROC curve (Mann-Whitney U / (positives * negatives))."""
    labels = [bool(label) for label in labels]
    scores = [float(score) for score in scores]
    if len(labels) != len(scores):
        raise ValueError("%d labels but %d scores" % (len(labels), len(scores)))
    if any(math.isnan(score) for score in scores):
        raise ValueError("scores contain NaN; use -inf for a missing score")
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs at least one positive and one negative, got %d and %d"
                         % (positives, negatives))
    ranks = midranks(scores)
    rank_sum = sum(rank for rank, label in zip(ranks, labels) if label)
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def threshold_at_fpr(negative_scores, target_fpr):
    """Return the lowest threshold t with share(negative_scores > t) <= target_fpr.

    The result is -inf when every negative may alarm.
    """
    negatives = sorted((float(score) for score in negative_scores), reverse=True)
    if not negatives:
        raise ValueError("no negative scores")
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError("target FPR must be in [0, 1], got %r" % target_fpr)
    # The tolerance keeps 0.001 * 1000 from flooring to 0.
    allowed = int(math.floor(target_fpr * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return -math.inf
    return negatives[allowed]


def alarm_rate(scores, threshold):
    """Return the share of scores strictly above threshold (NaN for no scores)."""
    scores = list(scores)
    if not scores:
        return math.nan
    return sum(1 for score in scores if score > threshold) / len(scores)


def roc_points(labels, scores):
    """Return (fpr, tpr) lists of the ROC curve, one point per distinct score.

    The curve starts at (0, 0); a group of tied scores moves diagonally, as
    the AUC's midranks assume.
    """
    pairs = sorted(zip(scores, labels), key=lambda pair: -pair[0])
    positives = max(1, sum(1 for _, label in pairs if label))
    negatives = max(1, sum(1 for _, label in pairs if not label))
    fpr, tpr = [0.0], [0.0]
    true_positives = false_positives = 0
    for index, (score, label) in enumerate(pairs):
        if label:
            true_positives += 1
        else:
            false_positives += 1
        # Emit a point after the last login of each group of equal scores.
        if index + 1 == len(pairs) or pairs[index + 1][0] != score:
            fpr.append(false_positives / negatives)
            tpr.append(true_positives / positives)
    return fpr, tpr


# ---------------------------------------------------------------------------
# Reading the benchmark and the score files.


def parse_ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_test(path):
    """Return the test logins as a dict of parallel lists, plus the day count."""
    login_ids, users, labels, kinds, times = [], [], [], [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            login_ids.append(int(row["login_id"]))
            users.append(row["user_id"])
            labels.append(row["label"] == "attack")
            kinds.append(row["kind"])
            times.append(parse_ts(row["ts"]).timestamp())
    if not login_ids:
        raise SystemExit("evaluate.py: %s has no test logins" % path)
    span = max(times) - min(times)
    return {
        "login_id": login_ids,
        "user_id": users,
        "label": labels,
        "kind": kinds,
        "days": max(1, int(round(span / 86400.0))),
    }


def count_history_users(path):
    users = set()
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            users.add(row["user_id"])
    return len(users)


def read_scores(path, login_ids):
    """Return scores aligned with login_ids (-inf for NULL) and the NULL count."""
    by_id = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["score"].strip()
            by_id[int(row["login_id"])] = float(text) if text else None
    missing = [i for i in login_ids if i not in by_id]
    if missing:
        raise SystemExit("evaluate.py: %s has no row for %d test logins, e.g. login_id %d"
                         % (path, len(missing), missing[0]))
    scores = []
    nulls = 0
    for login_id in login_ids:
        value = by_id[login_id]
        if value is None:
            nulls += 1
            scores.append(-math.inf)
        elif math.isnan(value):
            raise SystemExit("evaluate.py: %s scores login_id %d as NaN" % (path, login_id))
        else:
            scores.append(value)
    return scores, nulls


# ---------------------------------------------------------------------------
# Figures for one detector.


def rates_at(test, scores, threshold, users):
    """Return the recall per attack kind, alarm rate per legitimate kind and alert rates."""
    attacks = [s for s, label in zip(scores, test["label"]) if label]
    legit = [s for s, label in zip(scores, test["label"]) if not label]
    result = {"threshold": threshold}
    result["tpr"] = alarm_rate(attacks, threshold)
    result["fpr"] = alarm_rate(legit, threshold)
    for kind in ATTACK_KINDS + LEGIT_KINDS:
        result[kind] = alarm_rate([s for s, k in zip(scores, test["kind"]) if k == kind],
                                  threshold)
    per_day = 1000.0 / users / test["days"]
    result["alerts"] = sum(1 for s in scores if s > threshold) * per_day
    result["false_alerts"] = sum(1 for s in legit if s > threshold) * per_day
    return result


def tpr_at_fprs(labels, scores, fprs):
    """Return the detection rate at each false-positive rate in fprs."""
    legit = [s for s, label in zip(scores, labels) if not label]
    attacks = [s for s, label in zip(scores, labels) if label]
    return [alarm_rate(attacks, threshold_at_fpr(legit, target)) for target in fprs]


def fpr_label(value):
    """Format a false-positive rate, with two decimals below 0.1%."""
    return "%.2f%%" % (100.0 * value) if value < 0.001 else percent(value)


def count_at_least(first, other):
    """Return how many of the paired rates in first are at least those in other."""
    return sum(1 for a, b in zip(first, other) if a >= b)


def evaluate_detector(test, scores, users, default_threshold=None):
    labels = test["label"]
    legit = [s for s, label in zip(scores, labels) if not label]
    figures = {"auc": roc_auc(labels, scores), "at_fpr": {},
               "tpr_grid": tpr_at_fprs(labels, scores, COMPARE_FPRS)}
    for target in TARGET_FPRS:
        threshold = threshold_at_fpr(legit, target)
        figures["at_fpr"][target] = rates_at(test, scores, threshold, users)
    if default_threshold is not None:
        figures["at_default"] = rates_at(test, scores, default_threshold, users)
    return figures


# ---------------------------------------------------------------------------
# Formatting.


def percent(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "%.1f%%" % (100.0 * value)


def number(value, digits=4):
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return ("%%.%dg" % digits) % value


def seconds(value):
    return "n/a" if value is None else "%.1f s" % value


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def threshold_rows(keys, results, pick):
    """Rows of the figures at one threshold per detector; pick(key) returns the rates or None."""
    rows = []

    def row(title, fmt):
        cells = [title]
        for key in keys:
            rates = pick(key)
            cells.append("—" if rates is None else fmt(rates))
        rows.append(cells)

    row("threshold (alarm when score >)", lambda r: number(r["threshold"]))
    row("detection rate, all attacks", lambda r: percent(r["tpr"]))
    for kind in ATTACK_KINDS:
        row("recall %s" % kind, lambda r, kind=kind: percent(r[kind]))
    row("false-positive rate, all legitimate", lambda r: percent(r["fpr"]))
    for kind in LEGIT_KINDS:
        row("alarm rate %s" % kind, lambda r, kind=kind: percent(r[kind]))
    row("alerts per 1,000 users per day", lambda r: "%.1f" % r["alerts"])
    row("of which false", lambda r: "%.1f" % r["false_alerts"])
    return rows


def render_figures(context, keys, results):
    """Return the full figures page (Markdown)."""
    test = context["test"]
    attacks = sum(test["label"])
    header = ["figure"] + [DETECTOR_LABELS.get(k, k) for k in keys]
    out = []
    out.append("# Detection quality: figures")
    out.append("")
    out.append("Generated by `bash test/quality/run.sh %s` on %s; do not edit by hand."
               % (context["arguments"], context["generated"]))
    out.append("")
    counts = ", ".join("%s %d" % (kind, test["kind"].count(kind))
                       for kind in ATTACK_KINDS + LEGIT_KINDS)
    out.append("Benchmark: %d users, %d test logins over %d days, %d attacks and %d "
               "legitimate (%s).  A higher score means more unusual; a login alarms "
               "when its score is strictly above the threshold."
               % (context["users"], len(test["label"]), test["days"], attacks,
                  len(test["label"]) - attacks, counts))
    out.append("")
    out.append("Small counts make coarse rates: a rate over n logins has a binomial "
               "standard error of at most 50/sqrt(n) percentage points, %.1f for all "
               "attacks and %.1f for the smallest attack kind."
               % (50.0 / math.sqrt(max(1, attacks)),
                  50.0 / math.sqrt(max(1, min(test["kind"].count(k) for k in ATTACK_KINDS)))))
    out.append("")

    rows = [["ROC AUC"] + ["%.3f" % results[k]["auc"] for k in keys]]
    for target in TARGET_FPRS:
        rows.append(["detection rate at %s FPR" % percent(target).replace(".0%", "%")]
                    + [percent(results[k]["at_fpr"][target]["tpr"]) for k in keys])
    rows.append(["logins without a score (no model)"]
                + ["%d" % results[k]["nulls"] for k in keys])
    rows.append(["training time"] + [seconds(results[k]["timing"].get("train_s")) for k in keys])
    rows.append(["scoring time"] + [seconds(results[k]["timing"].get("score_s")) for k in keys])
    out.append("## Overall")
    out.append("")
    out.append(markdown_table(header, rows))
    out.append("")

    for target in TARGET_FPRS:
        out.append("## At the threshold giving %s false positives"
                   % percent(target).replace(".0%", "%"))
        out.append("")
        out.append("Each detector gets its own global threshold, the lowest whose "
                   "false-positive rate on the legitimate test logins is at most %s."
                   % percent(target).replace(".0%", "%"))
        out.append("")
        out.append(markdown_table(header, threshold_rows(
            keys, results, lambda k, target=target: results[k]["at_fpr"][target])))
        out.append("")

    if context.get("default_threshold") is not None:
        out.append("## At login_anomaly's default threshold (%s)"
                   % number(context["default_threshold"]))
        out.append("")
        out.append("The references have no documented threshold of their own.")
        out.append("")
        out.append(markdown_table(header, threshold_rows(
            keys, results, lambda k: results[k].get("at_default"))))
        out.append("")

    out.append("## Compared at %d false-positive rates" % len(COMPARE_FPRS))
    out.append("")
    out.append("Detection rate at each false-positive rate; a login alarms when its score "
               "is strictly above the threshold that gives that rate.")
    out.append("")
    grid_rows = [[fpr_label(target)] + [percent(results[k]["tpr_grid"][i]) for k in keys]
                 for i, target in enumerate(COMPARE_FPRS)]
    grid_rows.append(["%s at least as high" % DETECTOR_LABELS.get(keys[0], keys[0])]
                     + ["—"] + ["%d of %d" % (count_at_least(results[keys[0]]["tpr_grid"],
                                                         results[k]["tpr_grid"]),
                                            len(COMPARE_FPRS)) for k in keys[1:]])
    out.append(markdown_table(["false-positive rate"] + header[1:], grid_rows))
    out.append("")

    out.append("## What the detectors are")
    out.append("")
    for key in keys:
        note = results[key]["timing"].get("note")
        if note:
            out.append("- **%s**: %s" % (DETECTOR_LABELS.get(key, key), note))
    out.append("")
    out.append("Timings are wall-clock seconds on the machine that ran the command; "
               "the ROC curves are in [roc.png](roc.png).")
    return "\n".join(out) + "\n"


def render_readme_block(context, keys, results):
    """Return the short summary that goes between the README markers."""
    test = context["test"]
    header = ["figure"] + [DETECTOR_LABELS.get(k, k) for k in keys]
    rows = [["ROC AUC"] + ["%.3f" % results[k]["auc"] for k in keys]]
    for target in TARGET_FPRS:
        rows.append(["detection rate at %s false positives" % percent(target).replace(".0%", "%")]
                    + [percent(results[k]["at_fpr"][target]["tpr"]) for k in keys])
    rows.append(["recall A1 / A2 / A3 at 1% false positives"]
                + [" / ".join("%.0f%%" % (100.0 * results[k]["at_fpr"][0.01][kind])
                              for kind in ATTACK_KINDS) for k in keys])
    rows.append(["detection rate at least the reference's, at %d false-positive rates "
                 "from %s to %s" % (len(COMPARE_FPRS), fpr_label(COMPARE_FPRS[0]),
                                    fpr_label(COMPARE_FPRS[-1]))]
                + ["—"] + ["%d of %d" % (count_at_least(results[keys[0]]["tpr_grid"],
                                                    results[k]["tpr_grid"]), len(COMPARE_FPRS))
                           for k in keys[1:]])
    default = context.get("default_threshold")
    if default is not None:
        first = keys[0]
        at_default = results[first].get("at_default")
        if at_default is not None:
            rows.append(["at threshold %s: detection rate" % number(default)]
                        + [percent(at_default["tpr"])] + ["—"] * (len(keys) - 1))
            rows.append(["at threshold %s: alerts per 1,000 users per day" % number(default)]
                        + ["%.1f" % at_default["alerts"]] + ["—"] * (len(keys) - 1))
    lines = [BEGIN_MARKER,
             "Generated by `bash test/quality/run.sh %s` on %s: %d users, %d test "
             "logins over %d days, %d of them takeovers."
             % (context["arguments"], context["generated"], context["users"],
                len(test["label"]), test["days"], sum(test["label"])),
             "",
             markdown_table(header, rows),
             "",
             "![ROC curves of login_anomaly and the two references](test/quality/results/roc.png)",
             "",
             "Recall per kind of takeover, alarm rates per kind of legitimate login and "
             "timings: [test/quality/results/figures.md](test/quality/results/figures.md).",
             END_MARKER]
    return "\n".join(lines)


def replace_marked_block(text, block):
    """Return text with the lines from BEGIN_MARKER to END_MARKER replaced by block."""
    pattern = re.compile(re.escape(BEGIN_MARKER) + r".*?" + re.escape(END_MARKER), re.S)
    matches = pattern.findall(text)
    if len(matches) != 1:
        raise ValueError("expected exactly one %s ... %s block, found %d"
                         % (BEGIN_MARKER, END_MARKER, len(matches)))
    return pattern.sub(lambda _: block, text)


def write_roc_data(path, fpr, tpr):
    """Write ROC points for gnuplot, densifying diagonal (tied) segments for a log axis.

    A straight segment in linear FPR is a curve on a log axis, so a segment
    that spans more than 20% in FPR gets intermediate points.  An FPR of 0
    is written as 1e-6, left of the plotted range, so that the curve enters
    the log-scale panel from its left edge.
    """
    with open(path, "w") as handle:
        handle.write("# fpr tpr\n")
        previous = None
        for x, y in zip(fpr, tpr):
            if previous is not None:
                x0, y0 = previous
                if x0 > 0 and y != y0 and x > x0 * 1.2:
                    steps = int(min(50, math.ceil(math.log(x / x0) / math.log(1.05))))
                    for i in range(1, steps):
                        xi = x0 * (x / x0) ** (i / steps)
                        yi = y0 + (y - y0) * (xi - x0) / (x - x0)
                        handle.write("%.8g %.8g\n" % (xi, yi))
            handle.write("%.8g %.8g\n" % (max(x, 1e-6), y))
            previous = (x, y)


def parse_detector(text):
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("expected KEY:SCORES_CSV[:TIMING_JSON], got %r" % text)
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Compute detection-quality figures from test.csv and per-detector score files.")
    parser.add_argument("--test", required=True, help="test.csv written by generate_logins.py")
    parser.add_argument("--history", required=True,
                        help="history.csv written by generate_logins.py (for the user count)")
    parser.add_argument("--detector", action="append", type=parse_detector, required=True,
                        help="KEY:SCORES_CSV[:TIMING_JSON]; KEY is extension, naive_svm or "
                             "freeman; repeat for each detector, the first is the main one")
    parser.add_argument("--default-threshold", type=float,
                        help="the first detector's documented threshold (login_anomaly.threshold)")
    parser.add_argument("--out-dir", required=True,
                        help="directory for figures.md")
    parser.add_argument("--roc-dir", required=True,
                        help="directory for the roc_<key>.dat files")
    parser.add_argument("--readme", action="append", default=[],
                        help="file whose quality:begin/end block is rewritten; repeatable")
    parser.add_argument("--arguments", default="",
                        help="the run.sh arguments, quoted in the generated text")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    test = read_test(args.test)
    users = count_history_users(args.history)
    keys = []
    results = {}
    for key, scores_path, timing_path in args.detector:
        scores, nulls = read_scores(scores_path, test["login_id"])
        default = args.default_threshold if not keys else None
        figures = evaluate_detector(test, scores, users, default)
        figures["nulls"] = nulls
        figures["timing"] = {}
        if timing_path:
            with open(timing_path) as handle:
                figures["timing"] = json.load(handle)
        fpr, tpr = roc_points(test["label"], scores)
        write_roc_data(os.path.join(args.roc_dir, "roc_%s.dat" % key), fpr, tpr)
        keys.append(key)
        results[key] = figures

    context = {
        "test": test,
        "users": users,
        "default_threshold": args.default_threshold,
        "arguments": args.arguments,
        "generated": datetime.date.today().isoformat(),
    }
    page = render_figures(context, keys, results)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "figures.md"), "w") as handle:
        handle.write(page)
    print(page)

    block = render_readme_block(context, keys, results)
    for path in args.readme:
        with open(path) as handle:
            text = handle.read()
        try:
            text = replace_marked_block(text, block)
        except ValueError as error:
            raise SystemExit("evaluate.py: cannot update %s: %s" % (path, error))
        with open(path, "w") as handle:
            handle.write(text)
        print("evaluate.py: updated the quality block in %s" % path, file=sys.stderr)

    if args.json:
        with open(args.json, "w") as handle:
            json.dump({k: {"auc": r["auc"], "nulls": r["nulls"],
                           "at_fpr": {str(t): v for t, v in r["at_fpr"].items()},
                           "at_default": r.get("at_default"), "timing": r["timing"]}
                       for k, r in results.items()}, handle, indent=1, default=float)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Generate synthetic but realistic login histories for login_anomaly.

Writes two CSV files for `\\copy ... (format csv, header)`:

  history.csv  the logins before the cutoff, for training:
               login_id,user_id,ts,ip,country,region,city,user_agent,lat,lon
  test.csv     the logins of the test period after the cutoff, the same
               columns plus label (legit or attack) and kind:
               ordinary, travel, vpn, new_device, few_logins (legitimate)
               or A1, A2, A3 (account takeovers, see attacks.py)

Rows are in timestamp order and login_id follows that order across both
files.  ts is UTC in ISO 8601; an empty lat/lon is NULL.  The same --seed
and options give byte-identical files.  User agents come from uap-core's
test corpus and places from tzdata's zone.tab (Debian packages uap-core and
tzdata); the standard library does the rest.

A legitimate test login's kind is the first of these that applies:
  few_logins  the account has at most 5 history logins
  travel      the user is on a trip
  vpn         the login came through a VPN exit
  new_device  its browser family and OS pair is absent from the history
  ordinary    none of the above
"""

import argparse
import collections
import csv
import datetime
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from attacks import Victim, make_attacks  # noqa: E402
from networks import Internet  # noqa: E402
from places import ZONE_TAB, World  # noqa: E402
from useragents import CORPUS_DIR, Catalog  # noqa: E402
from users import Clock, User  # noqa: E402

HISTORY_COLUMNS = ("login_id", "user_id", "ts", "ip", "country", "region", "city",
                   "user_agent", "lat", "lon")
TEST_COLUMNS = HISTORY_COLUMNS + ("label", "kind")
LEGIT_KINDS = ("ordinary", "travel", "vpn", "new_device", "few_logins")
FEW_LOGINS_MAX = 5


def parse_cutoff(text):
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("invalid --cutoff %r: expected ISO 8601 such as "
                                         "2025-05-01T00:00:00Z" % text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer, got %s" % text)
    return value


def share(text):
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be in [0, 1), got %s" % text)
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Generate login histories (history.csv) and a labelled test period "
                    "(test.csv) for login_anomaly.")
    parser.add_argument("--users", type=positive_int, default=3000,
                        help="number of users (default 3000)")

    parser.add_argument("--seed", type=int, default=1,
                        help="random seed; the same seed gives identical files (default 1)")
    parser.add_argument("--out", default=".",
                        help="output directory, created if missing (default: current directory)")
    parser.add_argument("--history-days", type=positive_int, default=120,
                        help="days of history before the cutoff (default 120)")
    parser.add_argument("--test-days", type=positive_int, default=1,
                        help="days of labelled test logins after the cutoff (default 1)")
    parser.add_argument("--cutoff", type=parse_cutoff, default=parse_cutoff("2025-05-01T00:00:00Z"),
                        help="end of the history, start of the test period, ISO 8601 "
                             "(default 2025-05-01T00:00:00Z)")
    parser.add_argument("--attack-rate", type=share, default=0.01,
                        help="share of test logins that are attacks, in [0, 1) (default 0.01)")

    parser.add_argument("--vpn-share", type=share, default=0.06,
                        help="share of users who habitually log in through a VPN (default 0.06)")
    parser.add_argument("--few-logins-share", type=share, default=0.03,
                        help="share of new accounts with 1 to 5 history logins (default 0.03)")
    parser.add_argument("--test-trip-share", type=share, default=0.04,
                        help="share of users given a trip during the test period (default 0.04)")
    parser.add_argument("--test-new-device-share", type=share, default=0.04,
                        help="share of users given a new device during the test period "
                             "(default 0.04)")
    parser.add_argument("--test-vpn-share", type=share, default=0.01,
                        help="share of users who start using a VPN during the test period "
                             "(default 0.01)")

    parser.add_argument("--uap-dir", default=CORPUS_DIR,
                        help="directory of uap-core's test corpus (default %s)" % CORPUS_DIR)
    parser.add_argument("--zone-tab", default=ZONE_TAB,
                        help="path of tzdata's zone.tab (default %s)" % ZONE_TAB)
    parser.add_argument("--stats", action="store_true",
                        help="print distributions of the generated data to stderr")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    return parser.parse_args(argv)


def format_ts(epoch, day_strings):
    day, seconds = divmod(epoch, 86400)
    date = day_strings.get(day)
    if date is None:
        date = day_strings[day] = (datetime.datetime(1970, 1, 1)
                                   + datetime.timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(seconds, 3600)
    return "%sT%02d:%02d:%02dZ" % (date, hours, rest // 60, rest % 60)


def legit_kind(login, history_family_os, history_count):
    if history_count <= FEW_LOGINS_MAX:
        return "few_logins"
    if login.context == "travel":
        return "travel"
    if login.context == "vpn":
        return "vpn"
    if login.family_os not in history_family_os:
        return "new_device"
    return "ordinary"


def generate(options):
    """Return (history, test, users, catalog), with the logins in timestamp order."""
    catalog = Catalog(options.uap_dir)
    world = World(options.zone_tab)
    internet = Internet(world)
    clock = Clock(options.cutoff, options.history_days, options.test_days)

    history = []
    test = []
    victims = []
    users = []
    for number in range(1, options.users + 1):
        rng = random.Random("%d/user/%d" % (options.seed, number))
        user = User(rng, number, world, internet, catalog, clock, options)
        users.append(user)
        logins = user.generate()
        own_history = [l for l in logins if l.ts < clock.cutoff]
        own_test = [l for l in logins if l.ts >= clock.cutoff]
        history_family_os = {l.family_os for l in own_history}
        for login in own_test:
            login.kind = legit_kind(login, history_family_os, len(own_history))
        history.extend(own_history)
        test.extend(own_test)
        if own_history:
            victims.append(Victim(user, own_history))

    if options.attack_rate > 0 and victims:
        count = round(len(test) * options.attack_rate / (1.0 - options.attack_rate))
        rng = random.Random("%d/attacks" % options.seed)
        test.extend(make_attacks(rng, count, victims, world, internet, catalog, clock))

    history.sort(key=lambda l: (l.ts, l.user_id))
    test.sort(key=lambda l: (l.ts, l.user_id))
    return history, test, users, catalog


def write_csv(path, logins, columns, first_id, with_labels):
    day_strings = {}
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        login_id = first_id
        for l in logins:
            row = [login_id, l.user_id, format_ts(l.ts, day_strings), l.ip, l.country,
                   l.region, l.city, l.user_agent,
                   "" if l.lat is None else repr(l.lat), "" if l.lon is None else repr(l.lon)]
            if with_labels:
                row += [l.label, l.kind]
            writer.writerow(row)
            login_id += 1
    return login_id


def quantiles(values, points=(0.0, 0.1, 0.5, 0.9, 1.0)):
    ordered = sorted(values)
    if not ordered:
        return "none"
    return " ".join("p%d=%s" % (p * 100, ordered[min(len(ordered) - 1, int(p * len(ordered)))])
                    for p in points)


def print_stats(history, test, users, catalog, out):
    per_user = collections.Counter(l.user_id for l in history)
    counts = [per_user.get(u.user_id, 0) for u in users]
    print("user-agent groups from uap-core:", file=out)
    for line in catalog.summary():
        print("  " + line, file=out)
    print("history logins per user: %s, mean %.1f"
          % (quantiles(counts), sum(counts) / max(1, len(counts))), file=out)
    print("users with 1-5 history logins: %d, with none: %d"
          % (sum(1 for c in counts if 1 <= c <= 5), sum(1 for c in counts if c == 0)), file=out)
    print("devices per user: %s" % dict(sorted(collections.Counter(
        len(u.devices) for u in users).items())), file=out)

    def describe(rows, name):
        n = max(1, len(rows))
        v6 = sum(1 for l in rows if ":" in l.ip)
        no_coords = sum(1 for l in rows if l.lat is None)
        print("%s: %d logins, IPv6 %.1f%%, no coordinates %.1f%%"
              % (name, len(rows), 100.0 * v6 / n, 100.0 * no_coords / n), file=out)
        families = collections.Counter("%s/%s" % l.family_os for l in rows)
        print("  browser/OS: " + ", ".join("%s %.1f%%" % (k, 100.0 * c / n)
                                           for k, c in families.most_common(8)), file=out)
        countries = collections.Counter(l.country for l in rows)
        print("  countries: %d distinct; top %s" % (len(countries), ", ".join(
            "%s %.1f%%" % (k, 100.0 * c / n) for k, c in countries.most_common(6))), file=out)
        hours = collections.Counter(int(format_ts(l.ts, {})[11:13]) for l in rows)
        print("  UTC hour histogram: " + " ".join("%d" % hours.get(h, 0) for h in range(24)),
              file=out)

    describe(history, "history")
    describe(test, "test")
    by_user = collections.defaultdict(list)
    for l in history:
        by_user[l.user_id].append(l)
    per_user_values = collections.defaultdict(list)
    for rows in by_user.values():
        per_user_values["countries"].append(len({l.country for l in rows}))
        per_user_values["cities"].append(len({l.city for l in rows}))
        per_user_values["user agents"].append(len({l.user_agent for l in rows}))
        per_user_values["/24 or /64"].append(len({
            l.ip.rsplit(".", 1)[0] if "." in l.ip else ":".join(l.ip.split(":")[:4])
            for l in rows}))
    for name, values in per_user_values.items():
        print("distinct %s per user: %s" % (name, quantiles(values)), file=out)
    kinds = collections.Counter((l.label, l.kind) for l in test)
    print("test labels: " + ", ".join("%s/%s %d" % (label, kind, c)
                                      for (label, kind), c in sorted(kinds.items())), file=out)


def main(argv=None):
    options = parse_args(argv)
    started = time.monotonic()
    try:
        history, test, users, catalog = generate(options)
    except (OSError, ValueError, RuntimeError) as error:
        print("generate_logins.py: %s" % error, file=sys.stderr)
        return 1
    os.makedirs(options.out, exist_ok=True)
    next_id = write_csv(os.path.join(options.out, "history.csv"), history,
                        HISTORY_COLUMNS, 1, False)
    write_csv(os.path.join(options.out, "test.csv"), test, TEST_COLUMNS, next_id, True)
    elapsed = time.monotonic() - started

    if not options.quiet:
        attacks = sum(1 for l in test if l.label == "attack")
        print("generate_logins.py: %d users, %d history logins, %d test logins (%d attacks) "
              "in %s in %.1f s" % (options.users, len(history), len(test), attacks,
                                   options.out, elapsed), file=sys.stderr)
    if options.stats:
        print_stats(history, test, users, catalog, sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

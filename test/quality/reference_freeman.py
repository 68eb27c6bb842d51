#!/usr/bin/env python3
"""Score the test logins with a frequency model after Freeman et al., as a reference.

Source: D. M. Freeman, S. Jain, M. Duermuth, B. Biggio, G. Giacinto, "Who
Are You? A Statistical Approach to Measuring User Authenticity", NDSS 2016.
The paper assumes an attacker's logins follow the population's distribution
and the features are independent, and scores a login x of user u by

    risk(x, u) = prod over features k of p(x_k) / p(x_k | u)

where p is the frequency over every user's history and p(. | u) the
frequency over u's own history.  The paper's user prior factor
p(u | attack) / p(u | legit) is left out (taken as 1).  The score written
is log risk: higher is more unusual.

Two features, each a path from a coarse level to the value itself:

  IP address   country -> network prefix -> address
  user agent   device class -> OS family -> browser family and major
               version -> the user-agent string

The network prefix replaces the AS number, which the benchmark lacks.  It
is the IPv4 /16, or the IPv6 /32 (an IPv4-mapped IPv6 address counts as
IPv4).  The country is the login's country field.  uap-core's parser for
Python (Debian python3-ua-parser) gives the browser family, its major
version and the OS family.  It has no device class, so the class is
derived from its output:

  bot      the device family is "Spider"
  tablet   an iPad, or an Android user agent without "Mobile"
  phone    any other iOS, Android or Windows Phone user agent
  desktop  Windows, Mac OS X, Linux, Chrome OS and the BSDs
  other    everything else

An empty field is the value "unknown".

Probabilities follow the path by the chain rule, p(v) = prod over levels of
p(level value | parent), so that a value never seen falls back on the
counts of its coarser levels.  With c the value at one level and a its
parent path (the empty path at the top):

  global  p(c | a)    = (N(a, c) + 1) / (N(a) + D(a) + 1)
  user    p_u(c | a)  = (n_u(a, c) + d_u(a) * p(c | a)) / (n_u(a) + d_u(a))
                        when n_u(a) > 0, else p(c | a)

N counts history logins of all users, n_u those of user u; D(a) and d_u(a)
count the distinct values seen under a.  The global estimate keeps the mass
of one extra value for everything unseen (add-one on the values plus an
"unseen" slot).  The user estimate is Witten-Bell interpolation with the
global estimate: the more distinct values a user has shown under a, the
more probable a new one.  A level whose parent the user never had
contributes a ratio of 1, so the risk of a new address in a known network
prefix comes from the address level alone, and that of a new country from
the country level and below.

NOTE: these formulas implement the back-off the paper describes (an unseen
value falls back on the next coarser level) but were not checked against
the paper's own smoothing equations, which may differ in detail.
"""

import argparse
import collections
import csv
import ipaddress
import json
import math
import sys
import time

from ua_parser import user_agent_parser

DESKTOP_OS = {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Chrome OS",
              "FreeBSD", "OpenBSD", "NetBSD"}
PHONE_OS = {"iOS", "Android", "Windows Phone"}


def network_prefix(text):
    """Return the IPv4 /16 or IPv6 /32 of an address, or "unknown"."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    length = 16 if address.version == 4 else 32
    return str(ipaddress.ip_network("%s/%d" % (address, length), strict=False))


def canonical_address(text):
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def device_class(parsed, user_agent):
    device = parsed["device"]["family"]
    os_family = parsed["os"]["family"]
    if device == "Spider":
        return "bot"
    if device == "iPad" or (os_family == "Android" and "Mobile" not in user_agent):
        return "tablet"
    if os_family in PHONE_OS:
        return "phone"
    if os_family in DESKTOP_OS:
        return "desktop"
    return "other"


class UserAgentPaths:
    """Cache of user-agent paths, because the benchmark repeats about a thousand strings."""

    def __init__(self):
        self.cache = {}

    def path(self, user_agent):
        user_agent = user_agent or "unknown"
        cached = self.cache.get(user_agent)
        if cached is None:
            parsed = user_agent_parser.Parse(user_agent)
            browser = "%s %s" % (parsed["user_agent"]["family"],
                                 parsed["user_agent"]["major"] or "")
            cached = (device_class(parsed, user_agent), parsed["os"]["family"],
                      browser.strip(), user_agent)
            self.cache[user_agent] = cached
        return cached


def ip_path(row):
    return (row["country"] or "unknown", network_prefix(row["ip"]), canonical_address(row["ip"]))


class Counts:
    """Login counts of every path prefix, and the distinct values under each prefix."""

    def __init__(self):
        self.logins = collections.Counter()
        self.children = collections.defaultdict(set)

    def add(self, path):
        self.logins[()] += 1
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            self.logins[prefix] += 1
            self.children[path[:depth - 1]].add(path[depth - 1])

    def distinct(self, prefix):
        values = self.children.get(prefix)
        return len(values) if values else 0


def log_risk(path, global_counts, user_counts):
    """Return sum over levels of log p(c | a) - log p_u(c | a)."""
    total = 0.0
    for depth in range(1, len(path) + 1):
        parent = path[:depth - 1]
        value = path[:depth]
        p_global = ((global_counts.logins[value] + 1)
                    / (global_counts.logins[parent] + global_counts.distinct(parent) + 1))
        user_parent = user_counts.logins[parent]
        if user_parent == 0:
            continue
        distinct = user_counts.distinct(parent)
        p_user = ((user_counts.logins[value] + distinct * p_global)
                  / (user_parent + distinct))
        total += math.log(p_global) - math.log(p_user)
    return total


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", required=True, help="history.csv")
    parser.add_argument("--test", required=True, help="test.csv")
    parser.add_argument("--out", required=True, help="score CSV to write (login_id,score)")
    parser.add_argument("--timing", required=True, help="timing JSON to write")
    args = parser.parse_args(argv)

    started = time.monotonic()
    user_agents = UserAgentPaths()
    features = (ip_path, lambda row: user_agents.path(row["user_agent"]))
    global_counts = [Counts() for _ in features]
    user_counts = collections.defaultdict(lambda: [Counts() for _ in features])
    with open(args.history, newline="") as handle:
        for row in csv.DictReader(handle):
            counts = user_counts[row["user_id"]]
            for k, feature in enumerate(features):
                path = feature(row)
                global_counts[k].add(path)
                counts[k].add(path)
    train_s = time.monotonic() - started

    started = time.monotonic()
    scores = []
    with open(args.test, newline="") as handle:
        for row in csv.DictReader(handle):
            counts = user_counts.get(row["user_id"])
            if counts is None:
                scores.append((int(row["login_id"]), None))
                continue
            score = sum(log_risk(feature(row), global_counts[k], counts[k])
                        for k, feature in enumerate(features))
            scores.append((int(row["login_id"]), score))
    score_s = time.monotonic() - started

    with open(args.out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["login_id", "score"])
        for login_id, value in scores:
            writer.writerow([login_id, "" if value is None else repr(value)])

    timing = {
        "train_s": train_s,
        "score_s": score_s,
        "users": len(user_counts),
        "note": "The score is log of prod_k p(x_k)/p(x_k|u) over two features. They are "
                "the IP address (country, IPv4 /16 or IPv6 /32, address) and the user agent "
                "(device class, OS family, browser family and major version, string). Unseen "
                "values back off to the coarser level, with the formulas in the header of "
                "test/quality/reference_freeman.py. The training time covers reading "
                "history.csv, counting, and parsing %d distinct user agents."
                % len(user_agents.cache),
    }
    with open(args.timing, "w") as handle:
        json.dump(timing, handle, indent=1)
    print("reference_freeman.py: %d users, counting %.1f s, scoring %.1f s"
          % (len(user_counts), train_s, score_s), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

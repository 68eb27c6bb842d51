"""Shared fixtures and result reporting for the login_anomaly integration tests.

Every test file calls fresh_database() first, so each file has its own
database and therefore its own login_anomaly.models, login_anomaly.alerts and
NOTIFY channels.  Connection settings come from the libpq environment
(PGHOST, PGPORT, PGUSER) that test/lib/cluster.sh exports.

Result lines follow the contract of test/run.sh: one "PASS: <suite>: <check>"
or "FAIL: <suite>: <check>: <detail>" line per check, and exit status 1 when
any check failed.

The logins are invented but shaped like real ones: the IP addresses come from
the documentation ranges of RFC 5737, and the user agents are those that
current browsers send.
"""

import contextlib
import dataclasses
import datetime
import json
import os
import select
import sys
import time
import traceback

import psycopg2
import psycopg2.extensions
import psycopg2.extras

UTC = datetime.timezone.utc

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
)
SAFARI_MACOS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Safari/605.1.15"
)
FIREFOX_LINUX = (
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) "
    "Gecko/20100101 Firefox/121.0"
)

LOGIN_COLUMNS = ("user_id", "ts", "ip", "country", "region", "city",
                 "user_agent", "lat", "lon")

# Monday 8 January 2024.  Training logins fall on the 30 weekdays from here;
# the logins under test come after them.
TRAINING_START = datetime.date(2024, 1, 8)
TRAINING_LOGINS = 30


@dataclasses.dataclass
class Login:
    user_id: str
    ts: datetime.datetime
    ip: str
    country: str
    region: str
    city: str
    user_agent: str
    lat: float | None
    lon: float | None

    def values(self):
        return tuple(getattr(self, column) for column in LOGIN_COLUMNS)


@dataclasses.dataclass
class Profile:
    """How one user usually logs in: from an office, on one browser."""

    user_id: str
    country: str
    region: str
    city: str
    lat: float
    lon: float
    ips: tuple
    user_agent: str


# US offices.  Office hours 09:00-16:59 Eastern (EST, UTC-5 in winter) are
# 14:00-21:59 UTC; every usual login in these tests falls in that window.
_OFFICES = [
    ("US", "NY", "New York", 40.7128, -74.0060, CHROME_WINDOWS),
    ("US", "MA", "Boston", 42.3601, -71.0589, CHROME_WINDOWS),
    ("US", "PA", "Philadelphia", 39.9526, -75.1652, EDGE_WINDOWS),
    ("US", "DC", "Washington", 38.9072, -77.0369, CHROME_WINDOWS),
    ("US", "NJ", "Newark", 40.7357, -74.1724, SAFARI_MACOS),
    ("US", "NY", "Albany", 42.6526, -73.7562, CHROME_WINDOWS),
    ("US", "CT", "Hartford", 41.7658, -72.6734, EDGE_WINDOWS),
    ("US", "MD", "Baltimore", 39.2904, -76.6122, CHROME_WINDOWS),
]


def office_profile(index, user_id=None):
    """Return the usual-login profile of user number index (0-based)."""
    country, region, city, lat, lon, user_agent = _OFFICES[index % len(_OFFICES)]
    host = 10 + 2 * (index % 100)
    return Profile(
        user_id=user_id or "user%02d@example.com" % index,
        country=country, region=region, city=city, lat=lat, lon=lon,
        ips=("198.51.100.%d" % host, "198.51.100.%d" % (host + 1)),
        user_agent=user_agent,
    )


def weekday(n, start=TRAINING_START):
    """Return the n-th weekday (0-based) counting from start, a Monday."""
    weeks, day = divmod(n, 5)
    return start + datetime.timedelta(weeks=weeks, days=day)


def at(date, hour, minute=0, second=0):
    return datetime.datetime(date.year, date.month, date.day,
                             hour, minute, second, tzinfo=UTC)


def usual_login(profile, slot):
    """Return a login in the user's usual pattern.

    slot numbers the login: each slot maps to a distinct timestamp, ten
    slots per weekday between 14:00 and 21:00 UTC.
    """
    day, within = divmod(slot, 10)
    minutes = within * 45 + (slot * 7) % 10
    return Login(
        user_id=profile.user_id,
        ts=at(weekday(day), 14, 0, slot % 60) + datetime.timedelta(minutes=minutes),
        ip=profile.ips[slot % 2],
        country=profile.country, region=profile.region, city=profile.city,
        user_agent=profile.user_agent, lat=profile.lat, lon=profile.lon,
    )


def training_logins(profile, count=TRAINING_LOGINS):
    """Return count usual logins, one per weekday from TRAINING_START."""
    return [usual_login(profile, day * 10 + day % 10) for day in range(count)]


def later_slot(n):
    """Return slot number n counted from the first weekday after training."""
    return TRAINING_LOGINS * 10 + n


def unusual_login(user_id, ts, user_agent=FIREFOX_LINUX,
                  city="Kyiv", region="Kyiv City", country="UA",
                  lat=50.4501, lon=30.5234, ip="203.0.113.77"):
    """Return a login from Ukraine on Firefox/Linux, by default."""
    return Login(user_id=user_id, ts=ts, ip=ip, country=country,
                 region=region, city=city, user_agent=user_agent,
                 lat=lat, lon=lon)


def unusual_ts(n):
    """Return the n-th distinct 03:xx UTC timestamp on a weekday after training."""
    day, within = divmod(n, 10)
    return at(weekday(TRAINING_LOGINS + day), 3, within * 5, n % 60)


# Database and table fixtures

def connect(dbname=None, autocommit=False):
    params = {"dbname": dbname} if dbname else {}
    conn = psycopg2.connect(**params)
    conn.set_client_encoding("UTF8")
    conn.autocommit = autocommit
    return conn


def fresh_database(suite):
    """Drop and create database la_it_<suite>; return its name.

    The extension is created by the caller through create_extension(), so a
    missing or broken extension shows up as a failed check, not as a crash.
    """
    name = "la_it_" + suite
    admin = connect(os.environ.get("PGDATABASE", "postgres"), autocommit=True)
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        cur.execute("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
                    "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'" % name)
    admin.close()
    return name


def create_extension(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION login_anomaly")
    conn.commit()


def create_logins_table(conn, table, user_column="user_id", extra_columns=""):
    """Create a logins table with the columns the trigger reads.

    The id and extra_columns are there because real login tables carry more
    columns than the model uses, and the trigger must ignore them.
    """
    columns = [
        "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        "%s text NOT NULL" % user_column,
        "ts timestamptz NOT NULL",
        "ip inet",
        "country text",
        "region text",
        "city text",
        "user_agent text",
        "lat float8",
        "lon float8",
    ]
    if extra_columns:
        columns.append(extra_columns)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE %s (%s)" % (table, ", ".join(columns)))
    conn.commit()


def insert_logins(conn, table, logins, user_column="user_id", commit=True):
    columns = (user_column,) + LOGIN_COLUMNS[1:]
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO %s (%s) VALUES %%s" % (table, ", ".join(columns)),
            [login.values() for login in logins],
            page_size=200,
        )
    if commit:
        conn.commit()


def train(conn, table):
    """Train a model for every user of table; return train()'s result."""
    with conn.cursor() as cur:
        cur.execute("SELECT login_anomaly.train(%s::regclass)", (table,))
        result = cur.fetchone()[0]
    conn.commit()
    return result


def create_trigger(conn, table, *arguments):
    quoted = ", ".join("'%s'" % argument.replace("'", "''")
                       for argument in arguments)
    with conn.cursor() as cur:
        cur.execute("CREATE TRIGGER %s_check_login AFTER INSERT ON %s "
                    "FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login(%s)"
                    % (table, table, quoted))
    conn.commit()


def fetch_all(conn, query, parameters=None):
    with conn.cursor() as cur:
        cur.execute(query, parameters)
        rows = cur.fetchall()
    conn.commit()
    return rows


def fetch_value(conn, query, parameters=None):
    rows = fetch_all(conn, query, parameters)
    return rows[0][0]


def score(conn, login):
    return fetch_value(
        conn,
        "SELECT login_anomaly.score(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        login.values())


def explain(conn, login):
    return fetch_value(
        conn,
        "SELECT login_anomaly.explain(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        login.values())


def threshold(conn):
    return float(fetch_value(conn, "SELECT current_setting('login_anomaly.threshold')"))


# NOTIFY

def listen(dbname, *channels):
    conn = connect(dbname, autocommit=True)
    with conn.cursor() as cur:
        for channel in channels:
            cur.execute("LISTEN %s" % channel)
    return conn


def wait_for_notifications(conn, count, timeout):
    """Collect notifications until count arrived or timeout seconds passed.

    Returns every notification received, which can be more than count.
    """
    deadline = time.monotonic() + timeout
    received = []
    while True:
        conn.poll()
        while conn.notifies:
            received.append(conn.notifies.pop(0))
        remaining = deadline - time.monotonic()
        if len(received) >= count or remaining <= 0:
            return received
        select.select([conn], [], [], remaining)


# Result reporting

class Report:
    """Prints one PASS or FAIL line per check and sets the exit status."""

    def __init__(self, suite):
        self.suite = suite
        self.failures = 0

    def check(self, name, ok, detail=""):
        if ok:
            print("PASS: %s: %s" % (self.suite, name), flush=True)
        else:
            self.failures += 1
            line = "FAIL: %s: %s" % (self.suite, name)
            if detail:
                line += ": " + " ".join(str(detail).split())
            print(line, flush=True)
        return ok

    def equal(self, name, actual, expected):
        return self.check(name, actual == expected,
                          "expected %r, got %r" % (expected, actual))

    @contextlib.contextmanager
    def case(self, name):
        """Run a block of checks; an exception in it is one failed check."""
        try:
            yield
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.check(name + " (raised)", False,
                       "%s: %s" % (type(error).__name__, error))

    def finish(self):
        sys.exit(1 if self.failures else 0)


def parse_payload(notification):
    """Return the JSON object of a notification's payload."""
    return json.loads(notification.payload)


# Checks shared by the bulk tests

# The tests mark each login they expect to be flagged in an extra column,
# expected_unusual, and match alerts to logins on (user_id, login_ts).  That
# pair is unique because every login in these tests has a distinct timestamp
# per user.
MATCHING_ALERTS = ("SELECT count(*) FROM login_anomaly.alerts a "
                   "WHERE a.user_id = l.user_id AND a.login_ts = l.ts")

# Share of usual logins that may raise an alert before a bulk test fails.
# The usual logins repeat the training pattern exactly, so any alert on them
# is a false positive.  The bound leaves room for a model that treats a few
# training points as outliers, as a one-class SVM does by the choice of nu.
MAX_FALSE_ALERT_SHARE = 0.05


def check_alerts_match_logins(report, conn, table, expected_logins, expected_unusual):
    """Check that table contains every login and each unusual one has one alert."""
    report.equal("every login row is stored",
                 fetch_value(conn, "SELECT count(*) FROM %s" % table), expected_logins)
    report.equal("logins marked unusual",
                 fetch_value(conn, "SELECT count(*) FROM %s WHERE expected_unusual" % table),
                 expected_unusual)

    missed = fetch_all(
        conn,
        "SELECT l.user_id, l.ts, (%s) AS alerts FROM %s l "
        "WHERE l.expected_unusual AND (%s) <> 1 ORDER BY l.ts LIMIT 5"
        % (MATCHING_ALERTS, table, MATCHING_ALERTS))
    report.check("each unusual login has exactly one alert", not missed,
                 "first mismatches (user, ts, alerts): %r" % (missed,))

    duplicates = fetch_value(
        conn,
        "SELECT count(*) FROM (SELECT user_id, login_ts FROM login_anomaly.alerts "
        "GROUP BY user_id, login_ts HAVING count(*) > 1) d")
    report.equal("no login has two alerts", duplicates, 0)

    orphans = fetch_value(
        conn,
        "SELECT count(*) FROM login_anomaly.alerts a WHERE NOT EXISTS "
        "(SELECT 1 FROM %s l WHERE l.user_id = a.user_id AND l.ts = a.login_ts)" % table)
    report.equal("every alert matches a stored login", orphans, 0)

    not_anomaly = fetch_all(
        conn,
        "SELECT kind, error FROM login_anomaly.alerts WHERE kind <> 'anomaly' LIMIT 3")
    report.equal("no scoring_failed alerts", not_anomaly, [])

    wrong_table = fetch_value(
        conn,
        "SELECT count(*) FROM login_anomaly.alerts "
        "WHERE login_table IS DISTINCT FROM %s::regclass", (table,))
    report.equal("alerts name the login table", wrong_table, 0)

    usual = expected_logins - expected_unusual
    false_alerts = fetch_value(
        conn,
        "SELECT count(*) FROM %s l WHERE NOT l.expected_unusual AND (%s) > 0"
        % (table, MATCHING_ALERTS))
    print("# %d of %d usual logins raised an alert" % (false_alerts, usual), flush=True)
    report.check("usual logins rarely alert",
                 false_alerts <= MAX_FALSE_ALERT_SHARE * usual,
                 "%d of %d usual logins raised an alert" % (false_alerts, usual))


def mixed_logins(profiles, total, unusual_every, unusual_offset=7):
    """Return total logins cycling through profiles; every unusual_every-th is unusual.

    Returns a list of (Login, is_unusual).  Some unusual logins have no
    coordinates, as when the GeoIP database has only the country.
    """
    usual_counters = [0] * len(profiles)
    unusual_counters = [0] * len(profiles)
    logins = []
    for n in range(total):
        user = n % len(profiles)
        profile = profiles[user]
        if n % unusual_every == unusual_offset:
            k = unusual_counters[user]
            unusual_counters[user] += 1
            login = unusual_login(profile.user_id, unusual_ts(k))
            if k % 4 == 3:
                login.lat = None
                login.lon = None
            logins.append((login, True))
        else:
            login = usual_login(profile, later_slot(usual_counters[user]))
            usual_counters[user] += 1
            logins.append((login, False))
    return logins

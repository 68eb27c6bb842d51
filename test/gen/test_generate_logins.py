"""Checks of the login generator's output: format, determinism and the test labels.

Run with: python3 -m unittest discover -s test/gen -v
"""

import collections
import csv
import datetime
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import places  # noqa: E402
import useragents  # noqa: E402

GENERATOR = os.path.join(HERE, "generate_logins.py")
CUTOFF = datetime.datetime(2025, 5, 1, tzinfo=datetime.timezone.utc)
USERS = 600
TEST_DAYS = 3
LEGIT_KINDS = {"ordinary", "travel", "vpn", "new_device", "few_logins"}
ATTACK_KINDS = {"A1", "A2", "A3"}


def run_generator(out, seed, users=USERS, extra=()):
    subprocess.run([sys.executable, GENERATOR, "--users", str(users), "--seed", str(seed),
                    "--test-days", str(TEST_DAYS), "--out", out, "--quiet", *extra],
                   check=True)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def parse_ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def family_os(user_agent):
    parsed = useragents.classify(user_agent)
    if parsed is not None:
        return parsed[0], parsed[1]
    app = useragents.classify_app(user_agent)
    return (app[0], "iOS") if app is not None else None


class GeneratedFiles(unittest.TestCase):
    """One generated data set, shared by the checks of this class."""

    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="generate_logins_test.")
        run_generator(cls.out, seed=7)
        cls.history = read_rows(os.path.join(cls.out, "history.csv"))
        cls.test = read_rows(os.path.join(cls.out, "test.csv"))
        cls.by_user = collections.defaultdict(list)
        for row in cls.history:
            cls.by_user[row["user_id"]].append(row)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out)

    def home_of(self, user_id):
        """Return the (country, city) a user logged in from most often."""
        counts = collections.Counter((r["country"], r["city"]) for r in self.by_user[user_id])
        return counts.most_common(1)[0][0]

    def test_header_columns(self):
        base = ["login_id", "user_id", "ts", "ip", "country", "region", "city",
                "user_agent", "lat", "lon"]
        self.assertEqual(list(self.history[0].keys()), base)
        self.assertEqual(list(self.test[0].keys()), base + ["label", "kind"])

    def test_every_user_has_history(self):
        self.assertEqual(len(self.by_user), USERS)

    def test_login_ids_follow_time(self):
        rows = self.history + self.test
        ids = [int(r["login_id"]) for r in rows]
        self.assertEqual(ids, list(range(1, len(rows) + 1)))
        times = [parse_ts(r["ts"]) for r in rows]
        self.assertEqual(times, sorted(times))

    def test_periods_split_at_cutoff(self):
        self.assertLess(parse_ts(self.history[-1]["ts"]), CUTOFF)
        self.assertGreaterEqual(parse_ts(self.history[0]["ts"]),
                                CUTOFF - datetime.timedelta(days=120))
        self.assertGreaterEqual(parse_ts(self.test[0]["ts"]), CUTOFF)
        self.assertLess(parse_ts(self.test[-1]["ts"]),
                        CUTOFF + datetime.timedelta(days=TEST_DAYS))

    def test_addresses_are_public(self):
        for row in self.history + self.test:
            address = ipaddress.ip_address(row["ip"])
            self.assertTrue(address.is_global, row["ip"])

    def test_some_ipv6(self):
        share = sum(1 for r in self.history if ":" in r["ip"]) / len(self.history)
        self.assertGreater(share, 0.05)
        self.assertLess(share, 0.5)

    def test_coordinates_mostly_present(self):
        missing = sum(1 for r in self.history if r["lat"] == "")
        self.assertGreater(missing / len(self.history), 0.03)
        self.assertLess(missing / len(self.history), 0.12)
        for row in self.history:
            self.assertEqual(row["lat"] == "", row["lon"] == "")
            if row["lat"]:
                self.assertLessEqual(abs(float(row["lat"])), 90.0)
                self.assertLessEqual(abs(float(row["lon"])), 180.0)

    def test_logins_per_user(self):
        counts = sorted(len(rows) for rows in self.by_user.values())
        median = counts[len(counts) // 2]
        self.assertGreater(median, 60)
        self.assertLess(median, 200)
        few = sum(1 for c in counts if c <= 5)
        self.assertGreater(few, 0)
        self.assertLess(few / len(counts), 0.1)

    def test_users_keep_to_few_places(self):
        countries = sorted(len({r["country"] for r in rows}) for rows in self.by_user.values())
        self.assertEqual(countries[len(countries) // 2], 1)

    def test_browser_updates_happen(self):
        updated = 0
        for rows in self.by_user.values():
            strings = collections.defaultdict(set)
            for row in rows:
                strings[family_os(row["user_agent"])].add(row["user_agent"])
            if any(len(s) > 1 for s in strings.values()):
                updated += 1
        self.assertGreater(updated / len(self.by_user), 0.3)

    def test_labels_and_kinds(self):
        kinds = collections.Counter((r["label"], r["kind"]) for r in self.test)
        legit = {k for (label, k) in kinds if label == "legit"}
        attack = {k for (label, k) in kinds if label == "attack"}
        self.assertEqual(legit, LEGIT_KINDS)
        self.assertEqual(attack, ATTACK_KINDS)

    def test_attack_rate(self):
        attacks = sum(1 for r in self.test if r["label"] == "attack")
        legit = len(self.test) - attacks
        self.assertEqual(attacks, round(legit * 0.01 / 0.99))

    def test_a1_comes_from_another_country(self):
        for row in self.test:
            if row["kind"] == "A1":
                self.assertNotEqual(row["country"], self.home_of(row["user_id"])[0], row)

    def test_a2_same_country_other_city(self):
        for row in self.test:
            if row["kind"] == "A2":
                country, city = self.home_of(row["user_id"])
                self.assertEqual(row["country"], country, row)
                self.assertNotEqual(row["city"], city, row)

    def test_a3_imitates_victim(self):
        for row in self.test:
            if row["kind"] != "A3":
                continue
            history = self.by_user[row["user_id"]]
            self.assertIn(row["city"], {r["city"] for r in history}, row)
            self.assertIn(family_os(row["user_agent"]),
                          {family_os(r["user_agent"]) for r in history}, row)
            networks = {r["ip"].rsplit(".", 1)[0] for r in history}
            self.assertNotIn(row["ip"].rsplit(".", 1)[0], networks, row)

    def test_new_device_is_new(self):
        for row in self.test:
            if row["kind"] == "new_device":
                seen = {family_os(r["user_agent"]) for r in self.by_user[row["user_id"]]}
                self.assertNotIn(family_os(row["user_agent"]), seen, row)

    def test_travel_leaves_home(self):
        away = 0
        travel = [r for r in self.test if r["kind"] == "travel"]
        for row in travel:
            if (row["country"], row["city"]) != self.home_of(row["user_id"]):
                away += 1
        self.assertGreater(away / len(travel), 0.5)


class Determinism(unittest.TestCase):

    def test_same_seed_same_bytes(self):
        first = tempfile.mkdtemp(prefix="generate_logins_a.")
        second = tempfile.mkdtemp(prefix="generate_logins_b.")
        third = tempfile.mkdtemp(prefix="generate_logins_c.")
        try:
            run_generator(first, seed=3, users=150)
            run_generator(second, seed=3, users=150)
            run_generator(third, seed=4, users=150)
            for name in ("history.csv", "test.csv"):
                with open(os.path.join(first, name), "rb") as a, \
                        open(os.path.join(second, name), "rb") as b, \
                        open(os.path.join(third, name), "rb") as c:
                    data = a.read()
                    self.assertEqual(data, b.read(), name)
                    self.assertNotEqual(data, c.read(), name)
        finally:
            for path in (first, second, third):
                shutil.rmtree(path)


class HistoryStability(unittest.TestCase):

    def test_history_ignores_test_days(self):
        short = tempfile.mkdtemp(prefix="generate_logins_1d.")
        long = tempfile.mkdtemp(prefix="generate_logins_7d.")
        try:
            for out, days in ((short, "1"), (long, "7")):
                subprocess.run([sys.executable, GENERATOR, "--users", "150", "--seed", "5",
                                "--test-days", days, "--out", out, "--quiet"], check=True)
            with open(os.path.join(short, "history.csv"), "rb") as a, \
                    open(os.path.join(long, "history.csv"), "rb") as b:
                self.assertEqual(a.read(), b.read())
        finally:
            shutil.rmtree(short)
            shutil.rmtree(long)


class Sources(unittest.TestCase):

    def test_iso6709_minutes(self):
        lat, lon = places.parse_iso6709("+4043-07400")
        self.assertAlmostEqual(lat, 40 + 43 / 60)
        self.assertAlmostEqual(lon, -74.0)

    def test_iso6709_seconds(self):
        lat, lon = places.parse_iso6709("-334720+1510500")
        self.assertAlmostEqual(lat, -(33 + 47 / 60 + 20 / 3600))
        self.assertAlmostEqual(lon, 151 + 5 / 60)

    def test_iso6709_invalid(self):
        with self.assertRaises(ValueError):
            places.parse_iso6709("4043-07400")

    def test_zone_names_become_places(self):
        world = places.World()
        city = next(c for c in world.by_country["US"] if c.zone == "America/New_York")
        self.assertEqual((city.name, city.region), ("New York", "America"))
        city = next(c for c in world.by_country["US"]
                    if c.zone == "America/Indiana/Indianapolis")
        self.assertEqual((city.name, city.region), ("Indianapolis", "Indiana"))

    def test_classify_browsers(self):
        cases = {
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, "
            "like Gecko) Chrome/80.0.3987.87 Safari/537.36": ("Chrome", "Mac OS X", "desktop"),
            "Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_1 like Mac OS X) AppleWebKit/601.1.46 "
            "(KHTML, like Gecko) Version/9.0 Mobile/13E238 Safari/601.1": ("Safari", "iOS", "phone"),
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/75.0.3763.0 Safari/537.36 Edg/75.0.131.0": ("Edge", "Windows", "desktop"),
        }
        for ua, expected in cases.items():
            self.assertEqual(useragents.classify(ua)[:3], expected, ua)

    def test_classify_rejects_bots(self):
        self.assertIsNone(useragents.classify(
            "Mozilla/5.0 (compatible; Windows NT 6.1; Catchpoint bot) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/43.0.2357.81 Safari/537.36"))

    def test_catalog_has_update_paths(self):
        catalog = useragents.Catalog()
        group = catalog.groups[("Chrome", "Android", "phone")]
        self.assertGreater(len(group.releases), 10)
        self.assertEqual(group.versions, sorted(group.versions))


if __name__ == "__main__":
    unittest.main()

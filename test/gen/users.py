"""Simulated users and their legitimate logins.

A user has a home city and time zone, a daily rhythm and one to three
devices.  The user's networks are a home ISP /24 (with an IPv6 /64 on some
ISPs), an office /24 for office workers, a mobile carrier, and for some
users a VPN service.  Day
by day the simulation draws a number of logins, an hour from the rhythm in
local time, a device that fits the hour, and a network that fits the device
and the place.  Browsers update, devices are added or replaced, users travel
for a few days, and some accounts have only a handful of logins.

Everything a user does comes from one random.Random seeded with the run
seed and the user number, so a user's history does not depend on how many
other users are generated.  Parts whose number of draws depends on the
length of the test period draw from their own forked generator, so the
history is also the same whatever --test-days is.
"""

import datetime
import math
import random
import zoneinfo

# Daily rhythms: per archetype, (mean local hour, standard deviation in
# hours, weight) for weekdays and for weekends.
RHYTHMS = {
    "office": (((9.0, 1.0, 0.35), (13.2, 1.2, 0.2), (16.8, 1.2, 0.2), (21.0, 1.5, 0.25)),
               ((11.0, 2.0, 0.5), (20.5, 2.0, 0.5))),
    "evening": (((7.3, 0.7, 0.2), (19.5, 1.5, 0.5), (22.5, 1.0, 0.3)),
                ((12.0, 2.5, 0.5), (21.0, 2.0, 0.5))),
    "early": (((6.2, 0.6, 0.45), (12.5, 1.5, 0.25), (19.0, 1.2, 0.3)),
              ((8.0, 1.5, 0.5), (18.5, 2.0, 0.5))),
    "night": (((14.0, 2.0, 0.3), (23.3, 1.3, 0.5), (25.5, 1.0, 0.2)),
              ((15.0, 2.5, 0.4), (24.5, 1.5, 0.6))),
}
ARCHETYPE_WEIGHTS = (("office", 0.45), ("evening", 0.3), ("early", 0.1), ("night", 0.15))

# Mean logins per day, log-normal so that there are light and heavy users.
# The mean rate exp(mu + sigma^2 / 2) is 1.08 a day.  Weekends and trips
# lower it, and 120 days gave 123 logins per user on average (3000 users).
RATE_MU = math.log(1.08) - 0.18
RATE_SIGMA = 0.6

# Days between browser updates by family: (min, max).
UPDATE_INTERVALS = {
    "Chrome": (28, 42), "Edge": (28, 42), "Firefox": (28, 42),
    "Samsung Internet": (40, 70), "Safari": (60, 100), "Chrome Mobile iOS": (28, 42),
}
APP_UPDATE_INTERVAL = (14, 35)

# Work computers are chosen by the employer, not by market share.
WORK_GROUPS = ((("Chrome", "Windows", "desktop"), 0.45), (("Edge", "Windows", "desktop"), 0.3),
               (("Firefox", "Windows", "desktop"), 0.1), (("Chrome", "Mac OS X", "desktop"), 0.1),
               (("Safari", "Mac OS X", "desktop"), 0.05))

# Share of logins whose row has no coordinates (the lookup returned none).
NO_COORDINATES_SHARE = 0.07

# Local hours of the working day, for the work computer and the office network.
WORK_START, WORK_END = 7.5, 18.5


def fork(rng):
    """Return a new generator seeded by one draw of rng."""
    return random.Random(rng.getrandbits(64))


def poisson(rng, mean):
    """Draw from a Poisson distribution by Knuth's method, which suits small means."""
    if mean <= 0:
        return 0
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class Clock:
    """Local-day arithmetic for the simulated period, with cached UTC offsets."""

    def __init__(self, cutoff, history_days, test_days):
        self.cutoff = int(cutoff.timestamp())
        self.history_days = history_days
        self.test_days = test_days
        self.start = self.cutoff - history_days * 86400
        self.end = self.cutoff + test_days * 86400
        self.first_date = (cutoff - datetime.timedelta(days=history_days)).date()
        self.zones = {}
        self.midnights = {}
        self.weekdays = [(self.first_date + datetime.timedelta(days=d)).weekday()
                         for d in range(-1, history_days + test_days + 2)]

    def local_midnight(self, zone, day):
        """Return the UTC epoch of local midnight of simulated day `day` in the zone."""
        key = (zone, day)
        found = self.midnights.get(key)
        if found is None:
            tz = self.zones.get(zone)
            if tz is None:
                tz = self.zones[zone] = zoneinfo.ZoneInfo(zone)
            date = self.first_date + datetime.timedelta(days=day)
            found = int(datetime.datetime(date.year, date.month, date.day, tzinfo=tz).timestamp())
            self.midnights[key] = found
        return found

    def is_weekend(self, day):
        return self.weekdays[day + 1] >= 5


class Rhythm:
    """A user's distribution of local login hours on weekdays and weekends."""

    def __init__(self, rng, archetype):
        self.archetype = archetype
        shift = rng.gauss(0.0, 0.7)
        weekday, weekend = RHYTHMS[archetype]
        self.weekday = [(m + shift + rng.gauss(0.0, 0.3), s, w) for m, s, w in weekday]
        self.weekend = [(m + shift + rng.gauss(0.0, 0.3), s, w) for m, s, w in weekend]
        self.weekday_weights = [w for _, _, w in self.weekday]
        self.weekend_weights = [w for _, _, w in self.weekend]

    def sample_hour(self, rng, weekend):
        """Draw a local hour in [0, 24)."""
        if weekend:
            mean, sd, _ = rng.choices(self.weekend, self.weekend_weights)[0]
        else:
            mean, sd, _ = rng.choices(self.weekday, self.weekday_weights)[0]
        return rng.gauss(mean, sd) % 24.0


class Device:
    """One browser or app install, whose version advances on its update days."""

    def __init__(self, rng, kind, group, first_day, history_days, total_days):
        rng = fork(rng)
        self.kind = kind                # work_pc, computer, phone, tablet, app
        self.group = group
        self.first_day = first_day
        self.last_day = total_days + 1
        self.test_only = False
        self.weight = {"phone": 1.0, "computer": 0.8, "work_pc": 1.2, "tablet": 0.4,
                       "app": 1.0}[kind]
        releases = len(group.releases)
        # Which string of a release this device sends, e.g. its phone model.
        self.variant = rng.getrandbits(16)
        start_fraction = rng.random()
        if kind == "app":
            low, high = APP_UPDATE_INTERVAL
        else:
            low, high = UPDATE_INTERVALS.get(group.family, (30, 60))
        self.update_days = []
        day = first_day + rng.randint(0, high)
        while day < total_days:
            self.update_days.append(day)
            day += rng.randint(low, high)
        # Start far enough from the newest release to leave room for the
        # updates of the history; later ones may stay on the newest release.
        room = min(sum(1 for d in self.update_days if d < history_days), releases - 1)
        self.first_release = int(start_fraction * (releases - room))

    def user_agent(self, day):
        updates = 0
        for update_day in self.update_days:
            if update_day > day:
                break
            updates += 1
        releases = self.group.releases
        strings = releases[min(self.first_release + updates, len(releases) - 1)]
        return strings[self.variant % len(strings)]


class Address:
    """An address a login came from, with the provider and block for geolocation."""

    __slots__ = ("ip", "provider", "sub", "network")

    def __init__(self, ip, provider, sub, network):
        self.ip = ip
        self.provider = provider
        self.sub = sub
        self.network = network      # home, office, mobile, vpn, hotel, roaming, local_mobile


class HomeNetwork:
    """A home ISP line: one /24, a host address that changes with DHCP leases, maybe a /64."""

    def __init__(self, rng, internet, city, total_days):
        rng = fork(rng)
        self.provider = internet.pick(rng, city.country, "isp")
        self.city = city
        self.prefix_index = rng.randrange(len(self.provider.prefixes16))
        self.v6_sub = None
        if self.provider.v6_prefix32 is not None and rng.random() < 0.7:
            self.v6_sub = self.provider.sub_for_city(rng, city, 65536)
            self.v6_site = rng.getrandbits(16)
            self.v6_share = rng.uniform(0.5, 0.9)
        self.changes = []           # (first day, /24 block, host)
        day = -1
        sub = self.provider.sub_for_city(rng, city)
        while day < total_days:
            if self.changes and rng.random() < 0.1:
                sub = self.provider.sub_for_city(rng, city)
            self.changes.append((day, sub, rng.randint(2, 254)))
            day += rng.randint(5, 45)

    def address(self, rng, day):
        if self.v6_sub is not None and rng.random() < self.v6_share:
            # Privacy extensions: a new random interface identifier in the fixed /64.
            ip = self.provider.ipv6(self.v6_sub, self.v6_site, rng.getrandbits(64))
            return Address(ip, self.provider, self.v6_sub, "home")
        sub, host = self.changes[0][1], self.changes[0][2]
        for first_day, change_sub, change_host in self.changes:
            if first_day > day:
                break
            sub, host = change_sub, change_host
        return Address(self.provider.ipv4(self.prefix_index, sub, host), self.provider, sub, "home")


class OfficeNetwork:
    """An employer's fixed /24 with a few NAT addresses."""

    def __init__(self, rng, internet, city, exclude):
        kind = "business" if rng.random() < 0.7 else "isp"
        self.provider = internet.pick(rng, city.country, kind, exclude)
        self.city = city
        self.prefix_index = rng.randrange(len(self.provider.prefixes16))
        self.sub = self.provider.sub_for_city(rng, city)
        self.hosts = [rng.randint(2, 254) for _ in range(rng.randint(1, 3))]

    def address(self, rng, day):
        ip = self.provider.ipv4(self.prefix_index, self.sub, rng.choice(self.hosts))
        return Address(ip, self.provider, self.sub, "office")


class MobileNetwork:
    """A carrier subscription: mostly one /16, a new /24 and host on each session."""

    def __init__(self, rng, internet, city, kind_name="mobile"):
        self.provider = internet.pick(rng, city.country, "mobile")
        self.city = city
        self.kind_name = kind_name
        self.primary = rng.randrange(len(self.provider.prefixes16))
        self.v6 = self.provider.v6_prefix32 is not None and rng.random() < 0.5

    def address(self, rng, day):
        provider = self.provider
        if self.v6 and rng.random() < 0.6:
            sub = provider.sub_for_city(rng, self.city, 65536)
            ip = provider.ipv6(sub, rng.getrandbits(16), rng.getrandbits(64))
            return Address(ip, provider, sub, self.kind_name)
        prefix_index = self.primary
        if rng.random() < 0.15:
            prefix_index = rng.randrange(len(provider.prefixes16))
        sub = provider.sub_for_city(rng, self.city)
        ip = provider.ipv4(prefix_index, sub, rng.randint(1, 254))
        return Address(ip, provider, sub, self.kind_name)


class VpnNetwork:
    """A VPN service's exit servers in one country: a few /24 blocks."""

    def __init__(self, rng, internet, home_country):
        exits = [e for e in internet.vpn_exits if e[1].country != home_country]
        self.service, self.provider = rng.choice(exits)
        self.subs = [rng.randrange(256) for _ in range(rng.randint(1, 3))]

    def address(self, rng, day):
        sub = rng.choice(self.subs)
        return Address(self.provider.ipv4(0, sub, rng.randint(2, 254)), self.provider, sub, "vpn")


class HotelNetwork:
    """Wi-Fi at the place a traveller stays: one address for the whole trip."""

    def __init__(self, rng, internet, city):
        self.provider = internet.pick(rng, city.country, "isp")
        self.prefix_index = rng.randrange(len(self.provider.prefixes16))
        self.sub = self.provider.sub_for_city(rng, city)
        self.host = rng.randint(2, 254)

    def address(self, rng, day):
        ip = self.provider.ipv4(self.prefix_index, self.sub, self.host)
        return Address(ip, self.provider, self.sub, "hotel")


class Trip:
    """Days spent in another city, with that place's networks."""

    def __init__(self, rng, internet, city, first_day, days):
        self.city = city
        self.first_day = first_day
        self.last_day = first_day + days - 1
        self.hotel = HotelNetwork(rng, internet, city)
        self.local_mobile = MobileNetwork(rng, internet, city, "local_mobile")
        self.roaming_share = rng.choice((0.2, 0.6, 0.9))
        self.test_only = False


class Login:
    """One login row.  label and kind matter only in the test period."""

    __slots__ = ("ts", "user_id", "ip", "country", "region", "city", "user_agent",
                 "lat", "lon", "label", "kind", "family_os", "context")

    def __init__(self, ts, user_id, address, user_agent, family_os, context, rng):
        city = address.provider.geo_city(address.sub)
        self.ts = ts
        self.user_id = user_id
        self.ip = address.ip
        self.country = city.country
        self.region = city.region
        self.city = city.name
        self.user_agent = user_agent
        if rng.random() < NO_COORDINATES_SHARE:
            self.lat = self.lon = None
        else:
            self.lat, self.lon = address.provider.block_coordinates(address.sub)
        self.label = "legit"
        self.kind = None
        self.family_os = family_os
        self.context = context      # travel, vpn or None


class User:
    """A simulated account and the generator of its legitimate logins."""

    def __init__(self, rng, number, world, internet, catalog, clock, options):
        self.user_id = "u%05d" % number
        self.rng = rng
        self.clock = clock
        total_days = clock.history_days + clock.test_days
        self.total_days = total_days

        country = world.pick_country(rng)
        self.city = world.pick_city(rng, country)
        self.zone = self.city.zone
        archetype = rng.choices([a for a, _ in ARCHETYPE_WEIGHTS],
                                [w for _, w in ARCHETYPE_WEIGHTS])[0]
        self.rhythm = Rhythm(rng, archetype)
        self.rate = math.exp(rng.gauss(RATE_MU, RATE_SIGMA))
        self.few_logins = rng.random() < options.few_logins_share
        test_rng = fork(rng)
        self.has_office = rng.random() < (0.9 if archetype == "office" else 0.25)

        self.home = HomeNetwork(rng, internet, self.city, total_days)
        self.mobile = MobileNetwork(rng, internet, self.city)
        self.office = None
        if self.has_office:
            office_city = self.city
            if rng.random() < 0.2:
                office_city = world.nearest_city(self.city, 300.0) or self.city
            self.office_city = office_city
            self.office = OfficeNetwork(rng, internet, office_city, (self.home.provider,))

        # Habitual VPN users route most logins through one exit country.
        self.vpn = None
        self.vpn_from_day = 0
        self.vpn_share = 0.0
        self.vpn_test_only = False
        if rng.random() < options.vpn_share:
            self.vpn = VpnNetwork(rng, internet, country)
            self.vpn_share = rng.uniform(0.6, 1.0)

        self.devices = self._make_devices(rng, catalog, total_days)
        self.trips = self._make_trips(rng, test_rng, world, internet, clock,
                                      options.test_trip_share)

        # Events placed in the test period so that it has every legitimate kind.
        test_first = clock.history_days
        if test_rng.random() < options.test_new_device_share:
            kind = test_rng.choice(("phone", "computer", "tablet"))
            first_day = test_first + test_rng.randrange(clock.test_days)
            device = self._new_device(test_rng, catalog, kind, first_day)
            device.test_only = True
            self.devices.append(device)
        if self.vpn is None and test_rng.random() < options.test_vpn_share:
            self.vpn = VpnNetwork(test_rng, internet, country)
            self.vpn_from_day = test_first + test_rng.randrange(clock.test_days)
            self.vpn_share = test_rng.uniform(0.5, 1.0)
            self.vpn_test_only = True

    def _new_device(self, rng, catalog, kind, first_day):
        if kind == "work_pc":
            keys = [k for k, _ in WORK_GROUPS if k in catalog.groups]
            weights = [w for k, w in WORK_GROUPS if k in catalog.groups]
            group = catalog.groups[rng.choices(keys, weights)[0]]
        elif kind == "app" and catalog.apps:
            group = rng.choice(catalog.apps)
        else:
            device_class = {"computer": "desktop", "app": "phone"}.get(kind, kind)
            group = catalog.pick_popular(rng, device_class)
        device = Device(rng, kind, group, first_day, self.clock.history_days, self.total_days)
        if first_day >= self.clock.history_days:
            # A device just bought is used more than the old ones for a while.
            device.weight *= 3.0
        return device

    def _make_devices(self, rng, catalog, total_days):
        count = rng.choices((1, 2, 3), (0.35, 0.45, 0.2))[0]
        kinds = []
        if rng.random() < 0.85:
            kinds.append("app" if rng.random() < 0.05 else "phone")
        if self.has_office:
            kinds.append("work_pc")
        while len(kinds) < count:
            kinds.append(rng.choices(("computer", "tablet", "phone"), (0.6, 0.25, 0.15))[0])
        kinds = kinds[:max(count, 1)]
        devices = [self._new_device(rng, catalog, kind, -1) for kind in kinds]

        # A new device during the history, replacing the phone half the time.
        if rng.random() < 0.2 and not self.few_logins:
            first_day = rng.randint(20, max(21, self.clock.history_days - 5))
            kind = rng.choice(("phone", "phone", "computer", "tablet"))
            new = self._new_device(rng, catalog, kind, first_day)
            if kind == "phone" and rng.random() < 0.5:
                for device in devices:
                    if device.kind == "phone":
                        device.last_day = first_day + rng.randint(0, 2)
                        break
            devices.append(new)
        return devices

    def _make_trips(self, rng, test_rng, world, internet, clock, test_trip_share):
        trips = []
        for _ in range(poisson(rng, 0.35)):
            trip = self._new_trip(rng, world, internet, rng.randrange(-5, clock.history_days))
            if all(trip.first_day > t.last_day + 2 or trip.last_day < t.first_day - 2
                   for t in trips):
                trips.append(trip)
        # A trip that starts in the test period, unless a history trip is
        # under way.  History trips may also run on past the cutoff.
        if test_rng.random() < test_trip_share:
            first_day = clock.history_days + test_rng.randrange(clock.test_days)
            trip = self._new_trip(test_rng, world, internet, first_day)
            trip.test_only = True
            if all(trip.first_day > t.last_day + 2 or trip.last_day < t.first_day - 2
                   for t in trips):
                trips.append(trip)
        return trips

    def _new_trip(self, rng, world, internet, first_day):
        """Plan a trip: abroad three times in four, else to another city at home."""
        if rng.random() < 0.75 or len(world.by_country[self.city.country]) == 1:
            country = world.pick_country(rng, exclude=self.city.country)
            city = world.pick_city(rng, country)
        else:
            city = world.pick_city(rng, self.city.country, exclude=(self.city,))
        return Trip(rng, internet, city, first_day, rng.randint(2, 10))

    def trip_on(self, day):
        for trip in self.trips:
            if trip.first_day <= day <= trip.last_day:
                return trip
        return None

    def generate(self):
        """Return this user's legitimate logins inside the simulated period."""
        if self.few_logins:
            return self._generate_few()
        rng = self.rng
        clock = self.clock
        logins = []
        office_dow = 1.15 if self.has_office else 1.0
        for day in range(-1, self.total_days + 1):
            weekend = clock.is_weekend(day)
            trip = self.trip_on(day)
            mean = self.rate * (0.6 if weekend and self.has_office else office_dow)
            # The day's logins are made in time order, so the draws of those
            # before the cutoff are the same whatever happens after it.
            hours = sorted(self.rhythm.sample_hour(rng, weekend)
                           for _ in range(poisson(rng, mean)))
            for hour in hours:
                login = self._login(rng, day, weekend, trip, hour)
                if login is not None:
                    logins.append(login)
        return [l for l in logins if clock.start <= l.ts < clock.end]

    def _generate_few(self):
        """Generate a new account's 1 to 5 history logins and maybe a test login or two."""
        rng = self.rng
        clock = self.clock
        logins = []
        target_count = rng.randint(1, 5)
        tries = 0
        while len(logins) < target_count and tries < 50:
            tries += 1
            day = rng.randrange(max(0, clock.history_days - 30), clock.history_days)
            login = self._login(rng, day, clock.is_weekend(day), None)
            if login is not None and clock.start <= login.ts < clock.cutoff:
                logins.append(login)
        if rng.random() < 0.6:
            for _ in range(rng.randint(1, 2)):
                day = clock.history_days + rng.randrange(clock.test_days)
                login = self._login(rng, day, clock.is_weekend(day), None)
                if login is not None and clock.cutoff <= login.ts < clock.end:
                    logins.append(login)
        return logins

    def _login(self, rng, day, weekend, trip, hour=None):
        if hour is None:
            hour = self.rhythm.sample_hour(rng, weekend)
        seconds = int(hour * 3600.0)
        ts = self.clock.local_midnight(self.zone, day) + seconds
        if trip is not None:
            ts = self.clock.local_midnight(trip.city.zone, day) + seconds
        # Test-period events leave the history alone, whatever --test-days is.
        before_cutoff = ts < self.clock.cutoff
        if trip is not None and trip.test_only and before_cutoff:
            trip = None
            ts = self.clock.local_midnight(self.zone, day) + seconds
            before_cutoff = ts < self.clock.cutoff

        at_work = (self.office is not None and trip is None and not weekend
                   and WORK_START <= hour < WORK_END)
        candidates = []
        for device in self.devices:
            if not device.first_day <= day <= device.last_day:
                continue
            if device.test_only and before_cutoff:
                continue
            if device.kind == "work_pc" and not at_work:
                continue
            if trip is not None and device.kind == "computer" and rng.random() < 0.5:
                continue
            candidates.append(device)
        if not candidates:
            return None
        device = rng.choices(candidates, [d.weight for d in candidates])[0]
        network, context = self._network(rng, day, device, at_work, trip, before_cutoff)
        address = network.address(rng, day)
        family_os = (device.group.family, device.group.os)
        return Login(ts, self.user_id, address, device.user_agent(day), family_os, context, rng)

    def _network(self, rng, day, device, at_work, trip, before_cutoff):
        """Choose the network of a login; return (network, context)."""
        vpn_on = (self.vpn is not None and day >= self.vpn_from_day
                  and not (self.vpn_test_only and before_cutoff))
        if (vpn_on and device.kind != "work_pc"
                and rng.random() < self.vpn_share):
            return self.vpn, "vpn"
        mobile_device = device.kind in ("phone", "app")
        if trip is not None:
            if mobile_device:
                r = rng.random()
                if r < trip.roaming_share * 0.7:
                    return self.mobile, "travel"
                if r < 0.75:
                    return trip.local_mobile, "travel"
            return trip.hotel, "travel"
        if at_work:
            if device.kind == "work_pc" or (device.kind == "computer" and rng.random() < 0.6):
                return self.office, None
            if mobile_device and rng.random() < 0.2:
                return self.office, None
        if mobile_device:
            return (self.home if rng.random() < 0.45 else self.mobile), None
        if rng.random() < 0.03:
            return self.mobile, None    # tethered to the phone
        return self.home, None

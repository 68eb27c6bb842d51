"""Synthetic internet for the login generator: providers, address blocks, geolocation.

Every country gets residential ISPs, mobile carriers, a business provider and
a hosting provider.  Each provider owns IPv4 /16 networks and, for most, an
IPv6 /32, all derived from a hash of the country code, so the same country
always gets the same networks.  The addresses look like public ones, but
the allocation is made up.

Geolocation is a fixed function of the network prefix, as in a geo-IP
database: the third IPv4 octet (or the third IPv6 group) selects the city, so
every user of the same /24 or /48 lands in the same place.  A share of each
mobile carrier's /24 networks geolocate to the carrier's gateway city instead
of the subscriber's city, as they often do in practice.
"""

import hashlib

# First octets of ordinary unicast space; none falls in a private, shared,
# loopback, link-local, multicast or documentation range.
PUBLIC_FIRST_OCTETS = (
    2, 5, 24, 31, 37, 41, 46, 49, 58, 59, 60, 61, 62, 77, 78, 79, 80, 81, 82,
    83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 101, 102, 103, 105,
    106, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122,
    123, 124, 125, 141, 145, 151, 176, 177, 178, 179, 180, 181, 182, 183, 185,
    186, 187, 188, 189, 190, 191, 193, 194, 195, 196, 197, 200, 201, 202, 210,
    211, 212, 213, 217, 218, 219, 220, 221, 222,
)

# First IPv6 group by the zone area of the country, shaped like the regional
# registries' allocations.
V6_FIRST_GROUP = {
    "Europe": 0x2A00, "America": 0x2600, "Asia": 0x2400, "Australia": 0x2400,
    "Pacific": 0x2400, "Indian": 0x2400, "Africa": 0x2C0F, "Atlantic": 0x2A00,
}

# Providers per country: (kind, count, /16 networks each, chance of IPv6).
PROVIDER_PLAN = (
    ("isp", 3, 3, 0.6),
    ("mobile", 2, 3, 0.5),
    ("business", 1, 2, 0.3),
    ("hosting", 1, 1, 1.0),
)

# Commercial VPN services and the countries of their exit servers.
VPN_SERVICES = (
    ("SwiftTunnel", ("NL", "SE", "CH", "US", "GB", "DE")),
    ("NorthGate VPN", ("NL", "CH", "SG", "CA", "JP")),
    ("Harbor Privacy", ("SE", "US", "FR", "DE", "SG")),
)

# One in this many of a mobile carrier's blocks geolocate to its gateway city.
GATEWAY_SHARE_DIVISOR = 3


def stable_hash(*parts):
    """Return a 64-bit hash of the parts that does not change between runs."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Provider:
    """An ISP, mobile carrier, business or hosting provider in one country."""

    def __init__(self, name, kind, country, cities, prefixes16, v6_prefix32, home_city):
        self.name = name
        self.kind = kind
        self.country = country
        self.cities = cities            # the country's cities, in World order
        self.prefixes16 = prefixes16    # ints a * 256 + b
        self.v6_prefix32 = v6_prefix32  # int of the first two groups, or None
        # Hosting providers put all their blocks in this data centre city, and
        # mobile carriers route a share of their blocks through it.
        self.home_city = home_city
        self.coordinates = {}

    def geo_city(self, sub):
        """Return the city a geo-IP lookup gives for this provider's block number sub."""
        if self.kind == "hosting":
            return self.home_city
        count = len(self.cities)
        if self.kind == "mobile" and (sub // count) % GATEWAY_SHARE_DIVISOR == 0:
            return self.home_city
        return self.cities[sub % count]

    def sub_for_city(self, rng, city, limit=256):
        """Pick a block number below limit that geolocates to the city's partition."""
        if self.kind == "hosting":
            return rng.randrange(limit)
        count = len(self.cities)
        return city.index + count * rng.randrange((limit - 1 - city.index) // count + 1)

    def block_coordinates(self, sub):
        """Return (lat, lon) of a block: its city's, moved by up to 0.08 degrees."""
        found = self.coordinates.get(sub)
        if found is None:
            city = self.geo_city(sub)
            h = stable_hash(self.name, sub)
            dlat = ((h & 0xFFFF) / 65535.0 - 0.5) * 0.16
            dlon = (((h >> 16) & 0xFFFF) / 65535.0 - 0.5) * 0.16
            found = (round(city.lat + dlat, 4), round(city.lon + dlon, 4))
            self.coordinates[sub] = found
        return found

    def ipv4(self, prefix_index, sub, host):
        prefix = self.prefixes16[prefix_index]
        return "%d.%d.%d.%d" % (prefix >> 8, prefix & 0xFF, sub, host)

    def ipv6(self, sub, site, interface_id):
        """Format prefix32:sub:site::/64 with a 64-bit interface identifier."""
        p = self.v6_prefix32
        return "%x:%x:%x:%x:%x:%x:%x:%x" % (
            p >> 16, p & 0xFFFF, sub, site,
            (interface_id >> 48) & 0xFFFF, (interface_id >> 32) & 0xFFFF,
            (interface_id >> 16) & 0xFFFF, interface_id & 0xFFFF)


class Internet:
    """All providers of all countries, plus the VPN services' exit networks."""

    def __init__(self, world):
        self.world = world
        self.used16 = set()
        self.used_v6 = set()
        self.providers = {}       # country -> kind -> [Provider]
        for country in world.countries:
            self._add_country(country)
        self.vpn_exits = []       # (service, Provider)
        for service, countries in VPN_SERVICES:
            for country in countries:
                if country in world.by_country:
                    self.vpn_exits.append((service, self._new_provider(
                        "%s %s" % (service, country), "hosting", country, 1, 1.0)))

    def _allocate16(self, name, index):
        attempt = 0
        while True:
            h = stable_hash(name, index, attempt)
            prefix = PUBLIC_FIRST_OCTETS[h % len(PUBLIC_FIRST_OCTETS)] * 256 + (h >> 8) % 256
            if prefix not in self.used16:
                self.used16.add(prefix)
                return prefix
            attempt += 1

    def _allocate_v6(self, name, country):
        area = self.world.by_country[country][0].zone.split("/")[0]
        first = V6_FIRST_GROUP.get(area, 0x2A00)
        attempt = 0
        while True:
            h = stable_hash(name, "v6", attempt)
            prefix = (first + h % 16) << 16 | (h >> 4) % 0x10000
            if prefix not in self.used_v6:
                self.used_v6.add(prefix)
                return prefix
            attempt += 1

    def _new_provider(self, name, kind, country, count16, v6_chance):
        cities = self.world.by_country[country]
        prefixes = [self._allocate16(name, i) for i in range(count16)]
        v6 = None
        if (stable_hash(name, "has-v6") % 1000) / 1000.0 < v6_chance:
            v6 = self._allocate_v6(name, country)
        return Provider(name, kind, country, cities, prefixes, v6,
                        self.world.biggest_city(country))

    def _add_country(self, country):
        kinds = {}
        for kind, count, count16, v6_chance in PROVIDER_PLAN:
            kinds[kind] = [
                self._new_provider("%s %s %d" % (country, kind, i + 1), kind, country,
                                   count16, v6_chance)
                for i in range(count)
            ]
        self.providers[country] = kinds

    def pick(self, rng, country, kind, exclude=()):
        """Pick a provider of the kind in the country, avoiding the excluded ones if possible."""
        choices = [p for p in self.providers[country][kind] if p not in exclude]
        return rng.choice(choices or self.providers[country][kind])

"""Places for the login generator, read from tzdata's zone.tab.

Each zone.tab line gives a country code, the coordinates of the zone's
principal city in ISO 6709 form and the zone name.  The zone America/New_York
becomes the city "New York" in region "America" and country "US".  A
three-part zone such as America/Indiana/Indianapolis takes its middle part,
"Indiana", as the region.  The zone is also the city's time zone, which the
generator uses for each user's daily rhythm.
"""

import math
import re

ZONE_TAB = "/usr/share/zoneinfo/zone.tab"

# Rough shares of a web service's users by country (an estimate shaped like
# internet-user counts).  Countries not listed share what is left.
COUNTRY_WEIGHTS = {
    "US": 16.0, "IN": 6.0, "BR": 5.0, "DE": 4.5, "GB": 4.5, "FR": 3.5,
    "JP": 3.5, "CA": 3.0, "RU": 3.0, "MX": 3.0, "ES": 2.5, "IT": 2.5,
    "AU": 2.5, "ID": 2.0, "AR": 1.5, "PL": 1.5, "NL": 1.5, "TR": 1.5,
    "KR": 1.5, "PH": 1.2, "NG": 1.2, "ZA": 1.0, "SE": 0.8, "CH": 0.7,
    "BE": 0.7, "AT": 0.6, "PT": 0.7, "CL": 0.8, "CO": 1.0, "EG": 1.0,
    "KZ": 0.5, "UA": 0.8, "SG": 0.5, "NZ": 0.4, "IE": 0.4, "DK": 0.4,
    "NO": 0.4, "FI": 0.4, "CZ": 0.5, "RO": 0.5, "GR": 0.5, "IL": 0.5,
    "VN": 1.0, "TH": 1.0, "MY": 0.8, "PK": 0.8, "KE": 0.4, "MA": 0.4,
}
OTHER_COUNTRIES_WEIGHT = 10.0

# Zones whose city gets more users than a typical zone of its country.
CITY_WEIGHTS = {
    "America/New_York": 8.0, "America/Chicago": 5.0, "America/Los_Angeles": 6.0,
    "America/Denver": 2.0, "America/Phoenix": 2.0, "America/Detroit": 1.5,
    "America/Toronto": 6.0, "America/Vancouver": 3.0, "America/Edmonton": 2.0,
    "America/Winnipeg": 1.5, "America/Halifax": 1.2,
    "America/Sao_Paulo": 8.0, "America/Bahia": 2.0, "America/Fortaleza": 2.0,
    "America/Recife": 2.0, "America/Manaus": 1.5,
    "Europe/Moscow": 8.0, "Asia/Novosibirsk": 2.0, "Asia/Yekaterinburg": 2.0,
    "Europe/Samara": 1.5, "Asia/Vladivostok": 1.2,
    "America/Mexico_City": 8.0, "America/Monterrey": 3.0, "America/Tijuana": 2.0,
    "Australia/Sydney": 5.0, "Australia/Melbourne": 5.0, "Australia/Brisbane": 3.0,
    "Australia/Perth": 2.0, "Australia/Adelaide": 1.5,
    "America/Argentina/Buenos_Aires": 8.0, "America/Argentina/Cordoba": 2.0,
    "Europe/Berlin": 10.0, "Europe/Madrid": 10.0, "Europe/Lisbon": 10.0,
    "Asia/Jakarta": 6.0, "America/Santiago": 6.0, "Pacific/Auckland": 6.0,
    "Europe/Kyiv": 6.0, "Asia/Almaty": 4.0, "Asia/Kuala_Lumpur": 6.0,
}

# Zones that are research stations or uninhabited islands, not places where
# people log in from home.
EXCLUDED_COUNTRIES = {"AQ", "UM", "BV", "HM", "TF", "GS", "IO", "PN"}

ISO6709 = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?$")


def parse_iso6709(text):
    """Convert zone.tab coordinates such as +4043-07400 to decimal (lat, lon)."""
    match = ISO6709.match(text)
    if match is None:
        raise ValueError("invalid ISO 6709 coordinates in zone.tab: %r" % text)
    lat_sign, lat_deg, lat_min, lat_sec, lon_sign, lon_deg, lon_min, lon_sec = match.groups()
    lat = int(lat_deg) + int(lat_min) / 60.0 + int(lat_sec or 0) / 3600.0
    lon = int(lon_deg) + int(lon_min) / 60.0 + int(lon_sec or 0) / 3600.0
    if lat_sign == "-":
        lat = -lat
    if lon_sign == "-":
        lon = -lon
    return lat, lon


class City:
    """One zone.tab entry: a city with its country, region, coordinates and zone."""

    __slots__ = ("country", "zone", "name", "region", "lat", "lon", "weight", "index")

    def __init__(self, country, zone, lat, lon):
        parts = zone.split("/")
        self.country = country
        self.zone = zone
        self.name = parts[-1].replace("_", " ")
        self.region = parts[1].replace("_", " ") if len(parts) == 3 else parts[0]
        self.lat = lat
        self.lon = lon
        self.weight = CITY_WEIGHTS.get(zone, 1.0)
        self.index = 0              # position in its country's city list

    def __repr__(self):
        return "City(%s, %s)" % (self.country, self.zone)


def distance_km(a, b):
    """Great-circle distance between two cities, in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))


class World:
    """Cities grouped by country, and weighted picks of countries and cities."""

    def __init__(self, path=ZONE_TAB):
        self.by_country = {}
        with open(path, encoding="utf-8") as zone_tab:
            for line in zone_tab:
                if line.startswith("#") or not line.strip():
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 3:
                    raise ValueError("invalid zone.tab line: %r" % line)
                country, coordinates, zone = fields[0], fields[1], fields[2]
                if country in EXCLUDED_COUNTRIES:
                    continue
                lat, lon = parse_iso6709(coordinates)
                self.by_country.setdefault(country, []).append(City(country, zone, lat, lon))
        if not self.by_country:
            raise RuntimeError("no zones read from %s" % path)

        self.countries = sorted(self.by_country)
        for country in self.countries:
            cities = self.by_country[country]
            cities.sort(key=lambda city: city.zone)
            for index, city in enumerate(cities):
                city.index = index
        listed = sum(1 for c in self.countries if c in COUNTRY_WEIGHTS)
        other_weight = OTHER_COUNTRIES_WEIGHT / max(1, len(self.countries) - listed)
        self.country_weights = [COUNTRY_WEIGHTS.get(c, other_weight) for c in self.countries]
        self.multi_city_countries = [c for c in self.countries if len(self.by_country[c]) > 1]

    def pick_country(self, rng, exclude=None):
        while True:
            country = rng.choices(self.countries, self.country_weights)[0]
            if country != exclude:
                return country

    def pick_city(self, rng, country, exclude=()):
        """Pick a city of the country by weight, avoiding the excluded ones if possible."""
        cities = [c for c in self.by_country[country] if c not in exclude]
        if not cities:
            cities = self.by_country[country]
        return rng.choices(cities, [c.weight for c in cities])[0]

    def biggest_city(self, country):
        return max(self.by_country[country], key=lambda c: (c.weight, -c.index))

    def nearest_city(self, city, max_km):
        """Return the nearest other city of the same country within max_km, else None."""
        best = None
        best_km = max_km
        for other in self.by_country[city.country]:
            if other is city:
                continue
            km = distance_km(city, other)
            if km <= best_km:
                best, best_km = other, km
        return best

"""Account-takeover logins injected into the test period.

A1  an attacker anywhere else in the world, with a random popular browser;
A2  an attacker in the victim's country but another city, random popular
    browser;
A3  a targeted attacker: the victim's city, the victim's browser family and
    OS (often the exact string), at the victim's usual hours, but from
    another provider's network.
"""

import collections

from users import Address, Login

ATTACK_KINDS = (("A1", 0.4), ("A2", 0.3), ("A3", 0.3))


class Victim:
    """What an attacker may know or imitate of a user, taken from the history."""

    def __init__(self, user, history):
        self.user = user
        counts = collections.Counter(login.family_os for login in history)
        self.family_os = counts.most_common(1)[0][0]
        self.user_agent = None
        for login in history:
            if login.family_os == self.family_os:
                self.user_agent = login.user_agent
        self.group = None
        for device in user.devices:
            if (device.group.family, device.group.os) == self.family_os:
                self.group = device.group
                break


def pick_user_agent(rng, catalog):
    """Pick a string of a popular group, from its newer half of releases."""
    group = catalog.pick_popular(rng)
    releases = group.releases
    strings = releases[rng.randrange(len(releases) // 2, len(releases))]
    return rng.choice(strings), (group.family, group.os)


def random_address(rng, provider, city):
    """Return an address of the provider that geolocates to the city (IPv6 one time in ten)."""
    if provider.v6_prefix32 is not None and rng.random() < 0.1:
        sub = provider.sub_for_city(rng, city, 65536)
        ip = provider.ipv6(sub, rng.getrandbits(16), rng.getrandbits(64))
        return Address(ip, provider, sub, "attack")
    sub = provider.sub_for_city(rng, city)
    prefix_index = rng.randrange(len(provider.prefixes16))
    return Address(provider.ipv4(prefix_index, sub, rng.randint(1, 254)), provider, sub, "attack")


def make_attack(rng, kind, victim, world, internet, catalog, clock):
    """Build one attack login of the kind against the victim, or None if it cannot apply."""
    user = victim.user
    home_country = user.city.country
    if kind == "A1":
        country = world.pick_country(rng, exclude=home_country)
        city = world.pick_city(rng, country)
        provider_kind = rng.choices(("isp", "hosting", "mobile"), (0.5, 0.3, 0.2))[0]
        provider = internet.pick(rng, country, provider_kind)
        ua, family_os = pick_user_agent(rng, catalog)
        ts = clock.cutoff + rng.randrange(clock.end - clock.cutoff)
    elif kind == "A2":
        if len(world.by_country[home_country]) < 2:
            return None
        exclude = [user.city]
        if user.office is not None:
            exclude.append(user.office_city)
        city = world.pick_city(rng, home_country, exclude=exclude)
        if city in exclude:
            return None
        provider = internet.pick(rng, home_country, rng.choice(("isp", "mobile")),
                                 exclude=(user.home.provider, user.mobile.provider))
        ua, family_os = pick_user_agent(rng, catalog)
        ts = clock.cutoff + rng.randrange(clock.end - clock.cutoff)
    else:
        city = user.city
        exclude = [user.home.provider]
        if user.office is not None:
            exclude.append(user.office.provider)
        provider = internet.pick(rng, home_country, "isp", exclude=exclude)
        family_os = victim.family_os
        ua = victim.user_agent
        if victim.group is not None and rng.random() < 0.5:
            ua = rng.choice(victim.group.releases[-1])
        ts = None
        for _ in range(50):
            day = clock.history_days + rng.randrange(clock.test_days + 1)
            hour = user.rhythm.sample_hour(rng, clock.is_weekend(day))
            candidate = clock.local_midnight(user.zone, day) + int(hour * 3600.0)
            if clock.cutoff <= candidate < clock.end:
                ts = candidate
                break
        if ts is None:
            return None

    address = random_address(rng, provider, city)
    login = Login(ts, user.user_id, address, ua, family_os, None, rng)
    login.label = "attack"
    login.kind = kind
    return login


def make_attacks(rng, count, victims, world, internet, catalog, clock):
    """Build count attack logins against victims drawn at random.

    The kind is drawn first, so the A1/A2/A3 mix holds; A2 victims are drawn
    from countries that have a second city in zone.tab.
    """
    kinds = [k for k, _ in ATTACK_KINDS]
    weights = [w for _, w in ATTACK_KINDS]
    multi_city = [v for v in victims if len(world.by_country[v.user.city.country]) > 1]
    attacks = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        pool = multi_city if kind == "A2" and multi_city else victims
        for _ in range(50):
            login = make_attack(rng, kind, rng.choice(pool), world, internet, catalog, clock)
            if login is not None:
                attacks.append(login)
                break
    return attacks

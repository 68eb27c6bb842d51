"""User-agent catalog for the login generator.

Reads the real user-agent strings of uap-core's test corpus (Debian package
uap-core, /usr/share/uap-core/tests) and groups the clean browser and app
strings by (family, OS, device class).  Within a group the strings are sorted
by the family's version, so a simulated device can move through them in order
as its browser or app updates.

The corpus is a parser test suite, not a traffic sample: it has thousands of
Chrome-on-Android strings but only a handful of desktop Chrome, Firefox, Edge
and iOS Safari strings, and many versions are old.  The login_anomaly encoder
drops version numbers, so old versions do not change what a model is trained on.
"""

import os
import re

CORPUS_DIR = "/usr/share/uap-core/tests"

# test_ua.yaml alone has too few desktop strings, so the OS and device test
# files of the same package are read as well.
CORPUS_FILES = ("test_ua.yaml", "test_os.yaml", "test_device.yaml")

# Strings with any of these tokens are embedded browsers, rebranded Chromium
# builds, bots or otherwise not what a person's everyday browser sends.
EXCLUDED_TOKENS = re.compile(
    r"bot|spider|crawl|; wv\)|FBAN|FBAV|Instagram|Line/|MicroMessenger|GSA/|"
    r"Twitter|Pinterest|UCBrowser|UBrowser|UCWEB|Miui|HuaweiBrowser|HeyTap|"
    r"Puffin|Silk|YaBrowser|Vivaldi|Brave|Whale|QQ|Baidu|Sleipnir|coc_coc|"
    r"Chromium|Headless|Electron|OPR|Opera|MSIE|Trident|Preview|Maxthon|Iron|"
    r"Dragon|PTST|Qt|Seznam|Szn|Snapchat|Focus|Klar|Ecosia|DuckDuckGo|"
    r"Mb2345|Aloha|Kiwi|Nokia|NAVER|Daum|KAKAO|Yandex|Avast|AVG|CCleaner|"
    r"Oculus|SmartTV|Tizen|Web0S|CrKey|PlayStation|Xbox|Nintendo|AppleTV|"
    r"Kindle|Symbian|MeeGo|BlackBerry|BB10|Windows Phone|PaleMoon|Waterfox|"
    r"SeaMonkey|Iceweasel|K-Meleon|Camino|Flock|Epiphany|Konqueror|Midori|"
    r"rekonq|Arora|Otter|QupZilla|Falkon|Sogou|LBBROWSER|MetaSr|TheWorld|"
    r"Avant|Mercury|Dolphin|Skyfire|Teashark|Obigo|NetFront|Polaris|WebView|"
    r"Okta|1Password|ManagedBrowser|AppleNews|MxBrowser|RockMelt|Comodo|"
    r"StatusCake|Catchpoint|compatible|Spotify|CoRom|Version/[0-9.]+ Chrome|"
    r"MySpaceScraper|Slack|AtomShell|MMS/|Rival IQ|GoogleTV|Large Screen|gfe|"
    r"FreeBSD|Goanna|Basilisk|Windows NT 4\.0|"
    # Android phones asking for the desktop site with a spoofed platform.
    r"\((?:Macintosh|X11)[^)]*(?:HTC|PadFone)",
    re.IGNORECASE,
)

# (token regex, family): the first match names the browser family and its
# first group is the family's version.  Order matters because Edge and
# Samsung Internet also carry a Chrome token, and Chrome a Safari token.
FAMILY_TOKENS = (
    (re.compile(r"Edg(?:A|iOS)?/(\d+(?:\.\d+)*)"), "Edge"),
    (re.compile(r"Edge/(\d+(?:\.\d+)*)"), "Edge"),
    (re.compile(r"SamsungBrowser/(\d+(?:\.\d+)*)"), "Samsung Internet"),
    (re.compile(r"CriOS/(\d+(?:\.\d+)*)"), "Chrome Mobile iOS"),
    (re.compile(r"FxiOS/(\d+(?:\.\d+)*)"), "Firefox iOS"),
    (re.compile(r"Firefox/(\d+(?:\.\d+)*)"), "Firefox"),
    (re.compile(r"Chrome/(\d+(?:\.\d+)*)"), "Chrome"),
    (re.compile(r"Version/(\d+(?:\.\d+)*) (?:Mobile/\w+ )?Safari/"), "Safari"),
)

# (regex on the platform part, OS, device class); an Android string without
# "Mobile" is a tablet.
OS_PATTERNS = (
    (re.compile(r"^Mozilla/5\.0 \((?:Windows; U; )?Windows NT \d+\.\d[;)]"), "Windows", "desktop"),
    (re.compile(r"^Mozilla/5\.0 \((?:iPhone|iPod touch|iPod); (?:U; )?CPU iPhone OS \d+_"), "iOS", "phone"),
    (re.compile(r"^Mozilla/5\.0 \(iPad; (?:U; )?CPU (?:iPhone )?OS \d+_"), "iOS", "tablet"),
    (re.compile(r"^Mozilla/5\.0 \(Linux; (?:U; )?Android \d"), "Android", "phone"),
    (re.compile(r"^Mozilla/5\.0 \(X11; CrOS "), "Chrome OS", "desktop"),
    (re.compile(r"^Mozilla/5\.0 \(Macintosh; (?:U; )?Intel Mac OS X 1\d[._]"), "Mac OS X", "desktop"),
    (re.compile(r"^Mozilla/5\.0 \(X11; (?:U; )?(?:Ubuntu; )?Linux (?:x86_64|i686)"), "Linux", "desktop"),
)

# An iOS app's own HTTP client: "Name/version CFNetwork/x Darwin/y".
IOS_APP = re.compile(
    r"^([A-Za-z][A-Za-z0-9 ._-]*?)/(\d+(?:\.\d+)*) CFNetwork/[\d.]+ Darwin/[\d.]+$")

# Share of each (family, OS, device) among everyday logins, a rough estimate
# of browser market shares; groups missing from the corpus are skipped.
POPULAR_GROUPS = {
    ("Chrome", "Windows", "desktop"): 0.26,
    ("Chrome", "Android", "phone"): 0.20,
    ("Safari", "iOS", "phone"): 0.12,
    ("Chrome", "Mac OS X", "desktop"): 0.07,
    ("Safari", "Mac OS X", "desktop"): 0.06,
    ("Edge", "Windows", "desktop"): 0.06,
    ("Firefox", "Windows", "desktop"): 0.04,
    ("Samsung Internet", "Android", "phone"): 0.04,
    ("Safari", "iOS", "tablet"): 0.03,
    ("Chrome", "Android", "tablet"): 0.03,
    ("Firefox", "Linux", "desktop"): 0.02,
    ("Chrome", "Linux", "desktop"): 0.02,
    ("Firefox", "Mac OS X", "desktop"): 0.01,
    ("Chrome", "Chrome OS", "desktop"): 0.01,
    ("Edge", "Android", "phone"): 0.01,
    ("Firefox", "Android", "phone"): 0.01,
    ("Chrome Mobile iOS", "iOS", "phone"): 0.01,
}


class UaGroup:
    """All corpus strings of one (family, OS, device class), oldest first."""

    __slots__ = ("family", "os", "device", "strings", "versions", "releases")

    def __init__(self, family, os_name, device):
        self.family = family
        self.os = os_name
        self.device = device
        self.strings = []
        self.versions = []
        self.releases = []      # strings grouped by version, oldest version first

    @property
    def key(self):
        return (self.family, self.os, self.device)

    def sort(self):
        pairs = sorted(set(zip(self.versions, self.strings)))
        self.versions = [v for v, _ in pairs]
        self.strings = [s for _, s in pairs]
        self.releases = []
        previous = None
        for version, ua in pairs:
            if version != previous:
                self.releases.append([])
                previous = version
            self.releases[-1].append(ua)


def parse_version(text):
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def read_corpus_strings(directory=CORPUS_DIR):
    """Read every user_agent_string value of the corpus files, unquoted.

    A small line parser is enough because each value sits on one line in
    single or double quotes, and it keeps the generator free of PyYAML.
    """
    strings = set()
    for name in CORPUS_FILES:
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8") as corpus:
            for line in corpus:
                line = line.strip()
                if not line.startswith("- user_agent_string:"):
                    continue
                value = line.split(":", 1)[1].strip()
                if value[:1] == "'" and value[-1:] == "'":
                    value = value[1:-1].replace("''", "'")
                elif value[:1] == '"' and value[-1:] == '"':
                    value = value[1:-1].replace('\\"', '"')
                # Some test strings were logged URL-encoded with '+' for space.
                if value.startswith("Mozilla/5.0+("):
                    value = value.replace("+", " ")
                if value:
                    strings.add(value)
    if not strings:
        raise RuntimeError("no user_agent_string found in %s" % directory)
    return sorted(strings)


def classify(ua):
    """Return (family, OS, device, version) for a clean browser string, else None."""
    if not ua.startswith("Mozilla/5.0 (") or EXCLUDED_TOKENS.search(ua):
        return None
    os_name = device = None
    for pattern, name, device_class in OS_PATTERNS:
        if pattern.search(ua):
            os_name, device = name, device_class
            break
    if os_name is None:
        return None
    if os_name == "Android" and "Mobile" not in ua:
        device = "tablet"
    for pattern, family in FAMILY_TOKENS:
        match = pattern.search(ua)
        if match:
            return family, os_name, device, parse_version(match.group(1))
    return None


def classify_app(ua):
    """Return (app name, version) for an iOS app's CFNetwork string, else None."""
    match = IOS_APP.match(ua)
    if match is None or match.group(1) in ("Safari", "Mobile Safari"):
        return None
    return match.group(1), parse_version(match.group(2))


class Catalog:
    """Browser groups, iOS app groups, and weighted picks among popular ones."""

    def __init__(self, directory=CORPUS_DIR):
        self.groups = {}
        apps = {}
        for ua in read_corpus_strings(directory):
            parsed = classify(ua)
            if parsed is not None:
                family, os_name, device, version = parsed
                key = (family, os_name, device)
                group = self.groups.get(key)
                if group is None:
                    group = self.groups[key] = UaGroup(family, os_name, device)
                group.strings.append(ua)
                group.versions.append(version)
                continue
            parsed = classify_app(ua)
            if parsed is not None:
                name, version = parsed
                group = apps.get(name)
                if group is None:
                    group = apps[name] = UaGroup(name, "iOS", "phone")
                group.strings.append(ua)
                group.versions.append(version)
        for group in self.groups.values():
            group.sort()

        # Only apps with three or more versions can show app updates.
        self.apps = []
        for name in sorted(apps):
            group = apps[name]
            group.sort()
            if len(group.releases) >= 3:
                self.apps.append(group)

        self.popular = [self.groups[key] for key in POPULAR_GROUPS if key in self.groups]
        self.popular_weights = [POPULAR_GROUPS[g.key] for g in self.popular]
        if not self.popular:
            raise RuntimeError("the uap-core corpus in %s has none of the popular browser groups"
                               % directory)
        self.by_device = {}
        for group in self.popular:
            self.by_device.setdefault(group.device, []).append(group)

    def pick_popular(self, rng, device=None):
        """Pick a popular group, weighted by its share, optionally of one device class."""
        if device is None:
            return rng.choices(self.popular, self.popular_weights)[0]
        groups = self.by_device.get(device) or self.popular
        return rng.choices(groups, [POPULAR_GROUPS[g.key] for g in groups])[0]

    def summary(self):
        lines = []
        for group in self.popular + self.apps:
            lines.append("%-18s %-9s %-7s %5d strings, %3d versions"
                         % (group.family, group.os, group.device,
                            len(group.strings), len(group.releases)))
        return lines

"""Build libsvm's sparse vectors of logins exactly as login_anomaly does.

The extension never exposes the vectors it gives libsvm, so this module
rebuilds them from what it does expose: the text form of
login_anomaly.features(...) (a JSON object with the hour of day, the place
and the eight field labels) and the weights setting.  It follows
src/encode.c (la_compute_hashes: 32-bit FNV-1a over the field number, the
levels above region and city, and the label, cut to 27 bits) and
src/train.c (svm_vector: indices 1-2 the hour on its circle and 3-5 the
place on its sphere, each scaled by sqrt(weight) / 2, then one index
16 + (field << 27 | hash) per field with value sqrt(weight / 2)).

bench.py checks the result: libsvm trained on these vectors must give each
user the rho and the support vector count of the extension's own model.
"""

import math
import struct

FIELDS = ("country", "region", "city", "browser", "os", "device", "network",
          "wide_network")
WEIGHT_NAMES = FIELDS + ("hour", "place")
HASH_BITS = 27
HASH_MASK = (1 << HASH_BITS) - 1
FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def fnv1a(h, data):
    for byte in data:
        h ^= byte
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def field_hashes(labels):
    """Return the eight 27-bit hashes of a login's labels (bytes, in FIELDS order)."""
    hashes = []
    for f, label in enumerate(labels):
        h = fnv1a(FNV_OFFSET, bytes([f]))
        if f in (1, 2):          # region and city: country first
            h = fnv1a(h, labels[0])
            h = fnv1a(h, b"\0")
        if f == 2:               # city: then region
            h = fnv1a(h, labels[1])
            h = fnv1a(h, b"\0")
        h = fnv1a(h, label)
        hashes.append(h & HASH_MASK)
    return hashes


def parse_weights(spec):
    """Parse the login_anomaly.weights setting ("country=1, region=0.5, ...")."""
    weights = {}
    for item in spec.split(","):
        name, _, value = item.partition("=")
        weights[name.strip()] = float(value)
    missing = [name for name in WEIGHT_NAMES if name not in weights]
    if missing:
        raise ValueError("weights setting %r lacks %s" % (spec, ", ".join(missing)))
    return [weights[name] for name in WEIGHT_NAMES]


def svm_vector(features, weights):
    """Return [(index, value), ...] for one login's features() JSON object."""
    nodes = []
    hour = features.get("hour")
    if hour is not None:
        r = math.sqrt(weights[8]) / 2.0
        angle = hour * (2.0 * math.pi / 24.0)
        nodes.append((1, r * math.cos(angle)))
        nodes.append((2, r * math.sin(angle)))
    lat = features.get("lat")
    lon = features.get("lon")
    if lat is not None and lon is not None:
        r = math.sqrt(weights[9]) / 2.0
        phi = lat * (math.pi / 180.0)
        lam = lon * (math.pi / 180.0)
        nodes.append((3, r * (math.cos(phi) * math.cos(lam))))
        nodes.append((4, r * (math.cos(phi) * math.sin(lam))))
        nodes.append((5, r * math.sin(phi)))
    labels = tuple(features[name].encode("utf-8") for name in FIELDS)
    key = (labels, tuple(weights[:len(FIELDS)]))
    categorical = _categorical_cache.get(key)
    if categorical is None:
        categorical = [(16 + ((f << HASH_BITS) | h), math.sqrt(weights[f] / 2.0))
                       for f, h in enumerate(field_hashes(labels))]
        _categorical_cache[key] = categorical
    return nodes + categorical


# Hashing in Python is slow and a user repeats the same labels, so the
# categorical part of each distinct label tuple is computed once.
_categorical_cache = {}


def pack_vector(nodes):
    out = [struct.pack("=i", len(nodes))]
    for index, value in nodes:
        out.append(struct.pack("=id", index, value))
    return b"".join(out)


def write_floor_file(path, users, gamma, cache_mb, eps, shrinking):
    """Write the input of libsvm_floor.c.

    users is a list of (nu_effective, training vectors, test vectors).
    """
    with open(path, "wb") as out:
        out.write(b"LAFLOOR1")
        out.write(struct.pack("=dddii", gamma, cache_mb, eps, shrinking, len(users)))
        for nu, train, test in users:
            out.write(struct.pack("=iid", len(train), len(test), nu))
            for nodes in train:
                out.write(pack_vector(nodes))
            for nodes in test:
                out.write(pack_vector(nodes))

"""Fuzz the text inputs of login_anomaly.model and feature_vector through a
real PostgreSQL backend.

model_in and feature_vector_in parse JSON with the server's jsonb code,
which is too large to run outside the server, so this fuzzer sends
generated texts to a running cluster over libpq instead:

    SELECT $1::login_anomaly.model::text

It starts from the seed texts in corpus/text_inputs/ (each file is the type
name, a newline and a text form) and mutates them in two ways: on the JSON
structure (a value replaced by an extreme number, a string with escapes, a
wrong type, a key dropped or added, an array grown or emptied) and on the
raw bytes (bit flips, cut, duplicated or inserted bytes).

For every text the backend must answer with a result or an ordinary error
(SQLSTATE class 22, data exception, or XX001, data corrupted); a lost
connection means a crash and the input is saved.  For every accepted text
the round trip must be stable: out(in(out(in(x)))) = out(in(x)).  Every
accepted model is also used to score and explain a fixed login.

Usage: python3 text_inputs.py SECONDS CORPUS_DIR CRASH_DIR
Connection settings come from the libpq environment.  The last line
printed is "text_inputs: N inputs in S s (R/s), A accepted, C crashes".
"""

import json
import math
import os
import random
import sys
import time

import psycopg2
import psycopg2.errors

FIXED_LOGIN = ("login_anomaly.features('2025-05-01 03:00+00', '203.0.113.7', 'UA', "
               "'Kyiv City', 'Kyiv', 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) "
               "Gecko/20100101 Firefox/120.0', 50.45, 30.52)")

EXTREME_NUMBERS = [
    0, -0.0, 1, -1, 0.5, 1e-320, 5e-324, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 63,
    2 ** 64, -(2 ** 63), 134217727, 134217728, 4294967295, 4294967296, 100000000,
    100000001, 1000000, 1000001, 24, 23.999999999999996, 90.00000000000001, 180.1, -90.1,
]
EXTREME_TEXT = [
    "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" * 400, "0." + "0" * 400 + "1",
    "9" * 30, "-0", "1e-400",
]
EXTREME_STRINGS = [
    "", "\u0000", "a\u0000b", "\ud800", "\uffff", "\u202e", "x" * 49, "x" * 48, "x" * 201,
    "é" * 25, "😀" * 13, "infinity", "-infinity", "epoch", "294277-01-01", "4714-11-24 BC",
    "2025-05-01 25:00", "\n\r\t", "\\", "\"",
]


class Mutator:
    def __init__(self, rng):
        self.rng = rng

    def leaf(self):
        r = self.rng.random()
        if r < 0.45:
            return self.rng.choice(EXTREME_NUMBERS)
        if r < 0.8:
            return self.rng.choice(EXTREME_STRINGS)
        if r < 0.87:
            return None
        if r < 0.93:
            return self.rng.choice([True, False])
        if r < 0.97:
            return []
        return {}

    def paths(self, value, prefix=()):
        yield prefix
        if isinstance(value, dict):
            for key, child in value.items():
                yield from self.paths(child, prefix + (key,))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from self.paths(child, prefix + (index,))

    def mutate_json(self, doc):
        """Apply one to three structural changes to a parsed JSON document."""
        for _ in range(self.rng.randint(1, 3)):
            paths = list(self.paths(doc))
            path = self.rng.choice(paths[1:] or paths)
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            if not path:
                continue
            key = path[-1]
            target = parent[key]
            action = self.rng.random()
            if action < 0.5:
                parent[key] = self.leaf()
            elif action < 0.6 and isinstance(parent, dict):
                del parent[key]
            elif action < 0.7 and isinstance(parent, dict):
                parent[self.rng.choice(["extra", "hour", "lat", "lon", "label", key + "_"])] = self.leaf()
            elif action < 0.8 and isinstance(target, list):
                if target and self.rng.random() < 0.5:
                    target.extend(self.rng.choice(target) for _ in range(self.rng.randint(1, 70)))
                else:
                    target.clear()
            elif action < 0.9 and isinstance(target, (int, float)) and not isinstance(target, bool):
                parent[key] = target * self.rng.choice([-1, 2, 1e10, 1e-10]) + self.rng.choice([0, 1, -1])
            else:
                parent[key] = self.leaf()
        return doc

    def dumps(self, doc):
        text = json.dumps(doc, ensure_ascii=self.rng.random() < 0.5, allow_nan=True)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate can only travel as a \u escape
            text = json.dumps(doc, ensure_ascii=True, allow_nan=True)
        if self.rng.random() < 0.2:
            # Swap a number for a literal JSON cannot express in Python
            text = text.replace(str(self.rng.choice(EXTREME_NUMBERS)), self.rng.choice(EXTREME_TEXT), 1)
        return text

    def mutate_bytes(self, text):
        data = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(self.rng.randint(1, 4)):
            if not data:
                data = bytearray(b"{}")
            i = self.rng.randrange(len(data))
            action = self.rng.random()
            if action < 0.3:
                data[i] ^= 1 << self.rng.randrange(8)
            elif action < 0.5:
                del data[i:i + self.rng.randint(1, 16)]
            elif action < 0.7:
                data[i:i] = data[i:i + self.rng.randint(1, 32)]
            elif action < 0.85:
                data[i:i] = self.rng.choice([b"{", b"}", b"[", b"]", b",", b":", b"\"", b"\\u0000", b"-", b"e9"])
            else:
                data = data[:i]
        return data.decode("utf-8", "replace").replace("\x00", "")


def load_seeds(directory):
    seeds = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            kind, _, text = f.read().partition("\n")
        seeds.append((kind.strip(), text))
    return seeds


def connect():
    conn = psycopg2.connect()
    conn.autocommit = True
    conn.set_client_encoding("UTF8")
    return conn


def main():
    seconds, corpus, crash_dir = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.makedirs(crash_dir, exist_ok=True)
    rng = random.Random(int(os.environ.get("LA_FUZZ_SEED", "1")))
    mutator = Mutator(rng)
    seeds = load_seeds(corpus)
    conn = connect()
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS login_anomaly")
    inputs = accepted = crashes = unstable = 0
    start = time.monotonic()

    while time.monotonic() - start < seconds:
        kind, seed = rng.choice(seeds)
        type_name = "login_anomaly." + kind
        if rng.random() < 0.6:
            text = mutator.dumps(mutator.mutate_json(json.loads(seed)))
        else:
            text = mutator.mutate_bytes(seed)
        inputs += 1
        try:
            cur.execute("SELECT (%%s::%s)::text" % type_name, (text,))
            out = cur.fetchone()[0]
            accepted += 1
            cur.execute("SELECT ((%%s::%s)::text::%s)::text" % (type_name, type_name), (out,))
            again = cur.fetchone()[0]
            if again != out:
                unstable += 1
                print("UNSTABLE %s round trip:\n  in:  %s\n  out: %s\n  again: %s"
                      % (kind, text[:300], out[:300], again[:300]), flush=True)
            if kind == "model":
                cur.execute("SELECT login_anomaly.score(%%s::%s, %s), "
                            "login_anomaly.explain(%%s::%s, %s)"
                            % (type_name, FIXED_LOGIN, type_name, FIXED_LOGIN), (text, text))
                score, _ = cur.fetchone()
                if not (0.0 < score <= 1.0) or math.isnan(score):
                    unstable += 1
                    print("BAD SCORE %r for model %s" % (score, text[:300]), flush=True)
        except psycopg2.Error as error:
            if conn.closed or isinstance(error, psycopg2.OperationalError):
                crashes += 1
                path = os.path.join(crash_dir, "crash-%d-%s" % (inputs, kind))
                with open(path, "w", encoding="utf-8") as f:
                    f.write("%s\n%s" % (kind, text))
                print("CRASH: connection lost on input saved as %s: %s" % (path, error), flush=True)
                time.sleep(2)
                conn = connect()
                cur = conn.cursor()
            elif error.pgcode is None or not (error.pgcode.startswith("22") or error.pgcode == "XX001"
                                              or error.pgcode == "54000"):
                print("UNEXPECTED %s %s for %s: %s" % (error.pgcode, type(error).__name__,
                                                       text[:200], str(error).strip()[:200]), flush=True)
                unstable += 1

    elapsed = time.monotonic() - start
    print("text_inputs: %d inputs in %.0f s (%.0f/s), %d accepted, %d crashes, %d property failures"
          % (inputs, elapsed, inputs / elapsed, accepted, crashes, unstable))
    sys.exit(1 if crashes or unstable else 0)


if __name__ == "__main__":
    main()

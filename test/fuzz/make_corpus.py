"""Write the fuzzing seed corpora from a cluster that make_corpus.sh set up.

Reads the trained models and the test logins of the database that the libpq
environment points at, and writes one file per seed under the directory
given as the only argument.  The binary layouts of fuzz_encode and
fuzz_mailer_message must match the cursors at the top of those harnesses'
LLVMFuzzerTestOneInput.
"""

import hashlib
import ipaddress
import os
import shutil
import struct
import sys

import psycopg2

SEEDS = 200


def write_seeds(directory, blobs):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for blob in blobs:
        name = hashlib.sha1(blob).hexdigest()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(blob)


def encode_input(ts_usec, lat, lon, ip, texts):
    """Lay out one login as fuzz_encode.c reads it."""
    flags = 0
    if ts_usec is not None:
        flags |= 0x01
    if lat is not None:
        flags |= 0x02 | 0x04
    null_fields = 0
    for i, value in enumerate(texts):
        if value is None:
            null_fields |= 1 << i
    address = bytes(16)
    bits = 0
    if ip is None:
        flags |= 0x08
    else:
        parsed = ipaddress.ip_address(ip)
        if parsed.version == 6:
            flags |= 0x10
            bits = 128
        else:
            bits = 32
        address = parsed.packed.ljust(16, b"\0")
    out = struct.pack("<BBqddB", flags, null_fields, ts_usec or 0,
                      lat or 0.0, lon or 0.0, bits) + address
    for i, value in enumerate(texts):
        data = (value or "").encode()
        if i < len(texts) - 1:
            out += struct.pack("<H", len(data))
        out += data
    return out


def mailer_input(alert_id, login_epoch, created_epoch, strings, shape):
    """Lay out one alert row as fuzz_mailer_message.c reads it."""
    time_selector = 0x22  # finite login time and creation time
    out = struct.pack("<qddBB", alert_id, login_epoch, created_epoch,
                      time_selector, shape)
    return out + b"\0".join(s.encode() for s in strings)


def main():
    target = sys.argv[1]
    conn = psycopg2.connect()
    conn.set_client_encoding("UTF8")
    cur = conn.cursor()

    cur.execute("SELECT login_anomaly.model_send(model) FROM login_anomaly.models")
    write_seeds(os.path.join(target, "fuzz_model"), [bytes(r[0]) for r in cur.fetchall()])

    cur.execute("""
        SELECT login_anomaly.feature_vector_send(
                   login_anomaly.features(ts, ip, country, region, city, user_agent, lat, lon))
        FROM test_logins ORDER BY login_id LIMIT %s""", (SEEDS,))
    write_seeds(os.path.join(target, "fuzz_feature_vector"), [bytes(r[0]) for r in cur.fetchall()])

    cur.execute("SELECT DISTINCT user_agent FROM (SELECT user_agent FROM logins "
                "UNION SELECT user_agent FROM test_logins) u WHERE user_agent IS NOT NULL "
                "ORDER BY 1 LIMIT %s", (SEEDS,))
    write_seeds(os.path.join(target, "fuzz_uap"), [r[0].encode() for r in cur.fetchall()])

    cur.execute("""
        SELECT (extract(epoch FROM ts - '2000-01-01 00:00:00+00') * 1000000)::bigint,
               lat, lon, host(ip), country, region, city, user_agent
        FROM test_logins ORDER BY login_id LIMIT %s""", (SEEDS,))
    write_seeds(os.path.join(target, "fuzz_encode"),
                [encode_input(r[0], r[1], r[2], r[3], r[4:8]) for r in cur.fetchall()])

    # Alert rows as the trigger writes them: score the attacks and keep
    # their reasons, as login_anomaly.alerts would hold them.
    cur.execute("""
        SELECT login_id, extract(epoch FROM ts)::float8, user_id, host(ip),
               country, region, city, user_agent, c.browser, c.os, c.device,
               login_anomaly.score(user_id, ts, ip, country, region, city, user_agent, lat, lon),
               login_anomaly.explain(user_id, ts, ip, country, region, city, user_agent, lat, lon)
        FROM test_logins, login_anomaly.user_agent_class(user_agent) c
        WHERE label = 'attack' ORDER BY login_id LIMIT 40""")
    blobs = []
    for row in cur.fetchall():
        (login_id, epoch, user_id, ip, country, region, city, user_agent,
         browser, os_family, device, score, reasons) = row
        network = ip.rsplit(".", 1)[0] + ".0/24" if ip and "." in ip else ip or ""
        reasons = list(reasons or [])[:3]
        reasons += [""] * (3 - len(reasons))
        strings = [user_id, ip or "", network, country or "", region or "", city or "",
                   user_agent or "", browser, os_family, device,
                   "%.4f" % (score or 0), "0.8", "high" if (score or 0) > 0.95 else "medium",
                   "", reasons[0], reasons[1], reasons[2],
                   "%s@example.com" % user_id.split("@")[0], "Europe/Kyiv",
                   "Security alerts"]
        shape = 0x80 | (len([r for r in reasons if r]) * 3)
        blobs.append(mailer_input(login_id, epoch, epoch + 1, strings, shape))
    write_seeds(os.path.join(target, "fuzz_mailer_message"), blobs)

    text = []
    cur.execute("SELECT model::text FROM login_anomaly.models ORDER BY user_id LIMIT 20")
    text += [("model", r[0]) for r in cur.fetchall()]
    cur.execute("""
        SELECT login_anomaly.features(ts, ip, country, region, city, user_agent, lat, lon)::text
        FROM test_logins ORDER BY login_id LIMIT 20""")
    text += [("feature_vector", r[0]) for r in cur.fetchall()]
    write_seeds(os.path.join(target, "text_inputs"),
                [("%s\n%s" % kind_value).encode() for kind_value in text])
    conn.close()


if __name__ == "__main__":
    main()

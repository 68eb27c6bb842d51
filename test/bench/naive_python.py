"""The naive Python training path, the reference login_anomaly must beat by 10x.

What an application would write without the extension: fetch every login
with psycopg2, train scikit-learn's OneClassSVM per user on label-encoded
fields (the recipe of test/quality/reference_naive_svm.py: ts in epoch
seconds, then ip, country, region, city, user_agent, lat and lon, each
turned into an integer by a LabelEncoder fitted on that user's values;
OneClassSVM() with its defaults, unscaled), pickle each model and write it
back as one bytea row per user.

train_all() returns the seconds spent fetching, encoding and fitting, and
writing, plus the total.  Importing scikit-learn is not timed.
"""

import collections
import pickle
import time

import numpy as np
from psycopg2.extras import execute_values
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import OneClassSVM

TEXT_COLUMNS = ("ip", "country", "region", "city", "user_agent", "lat", "lon")

FETCH = ("SELECT user_id, extract(epoch FROM ts)::bigint, host(ip), country, region, "
         "city, user_agent, lat::text, lon::text FROM {table}")


def encode(rows):
    """Return the matrix of one user's logins: ts, then one code per field."""
    x = np.empty((len(rows), 1 + len(TEXT_COLUMNS)))
    x[:, 0] = [row[0] for row in rows]
    for column in range(1, 1 + len(TEXT_COLUMNS)):
        values = ["" if row[column] is None else row[column] for row in rows]
        x[:, column] = LabelEncoder().fit_transform(values)
    return x


def train_all(conn, table, models_table):
    """Train and store one model per user of table; return the timings in seconds."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(FETCH.format(table=table))
        by_user = collections.defaultdict(list)
        for row in cur:
            by_user[row[0]].append(row[1:])
    fetched = time.perf_counter()

    models = []
    for user, rows in by_user.items():
        model = OneClassSVM().fit(encode(rows))
        models.append((user, pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)))
    fitted = time.perf_counter()

    with conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO " + models_table + " (user_id, model) VALUES %s "
            "ON CONFLICT (user_id) DO UPDATE SET model = excluded.model",
            models, page_size=500)
    conn.commit()
    written = time.perf_counter()

    return {
        "users": len(by_user),
        "fetch_s": fetched - started,
        "fit_s": fitted - fetched,
        "write_s": written - fitted,
        "total_s": written - started,
        "model_bytes_median": float(np.median([len(m) for _, m in models])),
    }

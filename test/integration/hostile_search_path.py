"""A hostile search_path cannot hijack the trigger, by-user scoring or train().

Objects named like the ones login_anomaly uses are created in the public
schema, and the session runs with search_path = public, pg_catalog, so
each would win over pg_catalog's for any name the extension left
unqualified:

- public.features(...) with login_anomaly.features' signature, which
  always encodes Alice's usual login;
- public."=" for (text, text) and (bigint, bigint), always true, and
  public."<>" for (text, text), always false;
- public.now() and public.clock_timestamp(), returning 2000-01-01;
- temporary tables named models and alerts, since pg_temp is searched for
  tables even when it is listed last.

Every hostile function records its call in public.hijack_log.  The checks:
the trigger alerts on the unusual login only, with the right login_ref and a
real creation time; by-user score() and explain() give the same results as
under a clean search_path; train() trains the same models; and
hijack_log stays empty.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import la_integration as la  # noqa: E402

SUITE = "hostile_search_path"
HOSTILE_PATH = "public, pg_catalog"

HOSTILE_OBJECTS = """
CREATE TABLE public.hijack_log (what text NOT NULL, at timestamptz DEFAULT pg_catalog.clock_timestamp());
GRANT INSERT ON public.hijack_log TO PUBLIC;

CREATE FUNCTION public.hijack_eq_text(a text, b text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log (what) VALUES ('text =');
    RETURN true;
END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_eq_text);

CREATE FUNCTION public.hijack_ne_text(a text, b text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log (what) VALUES ('text <>');
    RETURN false;
END $$;
CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_ne_text);

CREATE FUNCTION public.hijack_eq_bigint(a bigint, b bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log (what) VALUES ('bigint =');
    RETURN true;
END $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.hijack_eq_bigint);

CREATE FUNCTION public.now() RETURNS timestamptz
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log (what) VALUES ('now()');
    RETURN '2000-01-01 00:00:00+00';
END $$;

CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log (what) VALUES ('clock_timestamp()');
    RETURN '2000-01-01 00:00:00+00';
END $$;

CREATE FUNCTION public.features(ts timestamptz, ip inet, country text, region text,
                                city text, user_agent text, lat float8 DEFAULT NULL,
                                lon float8 DEFAULT NULL)
RETURNS login_anomaly.feature_vector
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijack_log (what) VALUES ('features()');
    RETURN login_anomaly.features(ts, '198.51.100.10', 'US', 'NY', 'New York',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
        '(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 40.7128, -74.0060);
END $$;
"""

HOSTILE_TEMP_TABLES = """
CREATE TEMP TABLE models (user_id text, model login_anomaly.model, trained_at timestamptz, logins integer);
CREATE TEMP TABLE alerts (LIKE login_anomaly.alerts);
"""


def by_user(conn, function, login):
    return la.fetch_value(
        conn, "SELECT login_anomaly.%s(%%s, %%s, %%s, %%s, %%s, %%s, %%s, %%s, %%s)" % function,
        login.values())


def set_path(conn, path):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_catalog.set_config('search_path', %s, false)", (path,))
    conn.commit()


def main():
    report = la.Report(SUITE)
    dbname = la.fresh_database(SUITE)
    conn = la.connect(dbname)
    alice = la.office_profile(0, user_id="alice@example.com")
    usual = la.usual_login(alice, la.later_slot(3))
    unusual = la.unusual_login(alice.user_id, la.at(la.weekday(la.TRAINING_LOGINS + 1), 3))

    with report.case("set up"):
        la.create_extension(conn)
        la.create_logins_table(conn, "logins")
        with conn.cursor() as cur:
            cur.execute("SET login_anomaly.enabled = off")
        la.insert_logins(conn, "logins", la.training_logins(alice))
        with conn.cursor() as cur:
            cur.execute("RESET login_anomaly.enabled")
        conn.commit()
        la.train(conn, "logins")
        clean_scores = (by_user(conn, "score", usual), by_user(conn, "score", unusual))
        clean_reasons = by_user(conn, "explain", unusual)
        clean_model = la.fetch_value(conn, "SELECT model::text FROM login_anomaly.models")
        la.create_trigger(conn, "logins", "login_ref=id")
        with conn.cursor() as cur:
            cur.execute(HOSTILE_OBJECTS)
            cur.execute("ALTER DATABASE %s SET search_path = %s" % (dbname, HOSTILE_PATH))
        conn.commit()
        report.check("hostile objects created in public", True)

    conn.close()
    conn = la.connect(dbname)
    with report.case("hostile objects are live"):
        # The hostile operator does win for unqualified SQL in this session
        hijacked = la.fetch_value(conn, "SELECT 'a'::text = 'b'::text")
        report.check("unqualified text = resolves to public.= in this session", hijacked is True,
                     "got %r" % (hijacked,))
        with conn.cursor() as cur:
            cur.execute(HOSTILE_TEMP_TABLES)
            cur.execute("TRUNCATE public.hijack_log")
        conn.commit()

    with report.case("trigger under a hostile search_path"):
        la.insert_logins(conn, "logins", [usual, unusual])
        ids = dict(la.fetch_all(conn, "SELECT ts, id FROM logins WHERE ts IN (%s, %s)",
                                (usual.ts, unusual.ts)))
        alerts = la.fetch_all(conn, "SELECT login_ref, kind, user_id, "
                                    "created_at > '2001-01-01'::timestamptz "
                                    "FROM login_anomaly.alerts ORDER BY alert_id")
        report.equal("trigger: one alert, on the unusual login",
                     alerts, [(str(ids[unusual.ts]), "anomaly", alice.user_id, True)])
        report.equal("trigger: no alert went to the temporary alerts table",
                     la.fetch_value(conn, "SELECT count(*) FROM pg_temp.alerts"), 0)

    with report.case("by-user scoring under a hostile search_path"):
        scores = (by_user(conn, "score", usual), by_user(conn, "score", unusual))
        report.equal("score() by user is unchanged", scores, clean_scores)
        report.equal("explain() by user is unchanged", by_user(conn, "explain", unusual),
                     clean_reasons)

    with report.case("train under a hostile search_path"):
        with conn.cursor() as cur:
            cur.execute("DELETE FROM logins WHERE ts >= %s", (usual.ts,))
            cur.execute("DELETE FROM login_anomaly.alerts")
        conn.commit()
        trained = la.train(conn, "logins")
        report.equal("train() trains the one user", trained, 1)
        model = la.fetch_value(conn, "SELECT model::text FROM login_anomaly.models")
        # trained_at differs between the two trainings; everything else must not
        strip = lambda text: text.split('"trained_at"')[0] + text.split('"nu"', 1)[1]  # noqa: E731
        report.equal("train() gives the same model", strip(model), strip(clean_model))
        report.equal("train() wrote nothing to the temporary models table",
                     la.fetch_value(conn, "SELECT count(*) FROM pg_temp.models"), 0)

    with report.case("no hostile object was called"):
        calls = la.fetch_all(conn, "SELECT what, count(*) FROM public.hijack_log GROUP BY what "
                                   "ORDER BY what")
        report.equal("no hostile function or operator was called", calls, [])

    conn.close()
    report.finish()


if __name__ == "__main__":
    main()

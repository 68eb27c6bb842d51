-- Found by text_inputs.py: a coordinate or model number that reads as -0
-- (a negative number below the double range, such as -1e-400) prints as
-- "-0", and "-0" reads back as +0, so the text form is not stable: the
-- second and third queries return different text.  Run in a database with
-- the extension; after the fix both return the same text.
SELECT ('{"lat": 4.6, "lon": -1e-400, "country": "CO"}'::login_anomaly.feature_vector)::text;
SELECT ((('{"lat": 4.6, "lon": -1e-400, "country": "CO"}'::login_anomaly.feature_vector)::text)::login_anomaly.feature_vector)::text;

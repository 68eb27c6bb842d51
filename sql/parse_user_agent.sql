--
-- parse_user_agent: uap-core's fields for one user agent, and what happens
-- with hostile input and with a bad regexes file.  Timings of the hostile
-- cases are reported by test/uap/bench.py, not asserted here.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;
\x on

-- A desktop Chrome on Windows: versions come from the regex captures
SELECT * FROM login_anomaly.parse_user_agent(
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36');

-- An iPhone: the device rule fills brand and model from replacements
SELECT * FROM login_anomaly.parse_user_agent(
  'Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Mobile/15E148 Safari/604.1');

-- A crawler: uap-core marks known crawlers with device family "Spider"
SELECT * FROM login_anomaly.parse_user_agent(
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)');

-- family_replacement with $1: Firefox pre-release names keep the code name
SELECT ua_family, ua_major, ua_minor, ua_patch FROM login_anomaly.parse_user_agent(
  'Mozilla/5.0 (Windows; U; Windows NT 5.1; rv:2.0b3pre) Gecko/20100727 Minefield/4.0.1pre');

-- A device rule with regex_flag 'i' matches regardless of case
SELECT device_family, device_brand, device_model
FROM login_anomaly.parse_user_agent('SAMSUNG-SGH-A867/A867UCHJ3 SHP/VPP/R5 NetFront/35 SMM-MMS/1.2.0 profile/MIDP-2.0 configuration/CLDC-1.1 UP.Link/6.3.0.0.0')
UNION ALL
SELECT device_family, device_brand, device_model
FROM login_anomaly.parse_user_agent('samsung-sgh-a867/A867UCHJ3 SHP/VPP/R5 NetFront/35 SMM-MMS/1.2.0 profile/MIDP-2.0 configuration/CLDC-1.1 UP.Link/6.3.0.0.0');

-- Nothing matches: families are "Other" and every other field is NULL
SELECT * FROM login_anomaly.parse_user_agent('no browser here');

-- The empty string is parsed like any other string that matches nothing
SELECT * FROM login_anomaly.parse_user_agent('');

-- NULL parses like the empty string: families are "Other"
SELECT * FROM login_anomaly.parse_user_agent(NULL);

\x off

-- A 22 kB user agent (a Chrome string 200 times with quotes, backslashes
-- and newlines) is cut to its first 2048 bytes and still parses
SELECT length(u) AS input_length, r.ua_family, r.os_family, r.device_family
FROM (SELECT string_agg('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
                        || CASE i % 3 WHEN 0 THEN '"' WHEN 1 THEN E'\\' ELSE E'\n' END, '')
      FROM generate_series(1, 200) i) s(u),
     LATERAL login_anomaly.parse_user_agent(u) r;

-- Control characters, U+FFFD and Latin-1 text converted to UTF-8 match no
-- rule and do not disturb the parser
SELECT ua_family, os_family, device_family
FROM login_anomaly.parse_user_agent(E'\x01\x02\x7f' || chr(65533) || convert_from('\xfffe'::bytea, 'LATIN1') || E'\t(;;)');

-- A product token without a version matches no rule
SELECT ua_family, ua_major FROM login_anomaly.parse_user_agent('Chrome/');

-- A missing regexes file is an error that names the setting to fix
SET login_anomaly.uap_regexes = '/nonexistent/regexes.yaml';
SELECT ua_family FROM login_anomaly.parse_user_agent('curl/8.0');

-- So is a YAML file that is not a regexes file
SET login_anomaly.uap_regexes = '/usr/share/uap-core/tests/test_ua.yaml';
SELECT ua_family FROM login_anomaly.parse_user_agent('curl/8.0');

-- After the setting is restored, the next call loads the regexes again
RESET login_anomaly.uap_regexes;
SELECT ua_family, ua_major FROM login_anomaly.parse_user_agent('curl/8.0');

-- The cache size can change in a session; 0 turns the cache off
SET login_anomaly.uap_cache_size = 0;
SELECT ua_family, os_family FROM login_anomaly.parse_user_agent(
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0');
RESET login_anomaly.uap_cache_size;
SELECT ua_family, os_family FROM login_anomaly.parse_user_agent(
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0');

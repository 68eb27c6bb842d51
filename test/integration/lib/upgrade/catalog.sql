-- One line per object of the login_anomaly extension, with what a user of
-- the object depends on.  Functions show signature, volatility, security,
-- privileges and C symbol, and tables their columns, types and defaults.
-- The constraints, indexes and triggers of its schema follow.  Two databases whose
-- output is the same hold the same extension.
WITH members AS (
	SELECT d.classid, d.objid
	FROM pg_depend d
	JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
	WHERE e.extname = 'login_anomaly' AND d.deptype = 'e'
)
SELECT pg_describe_object(m.classid, m.objid, 0) || ' | ' ||
	CASE m.classid
		WHEN 'pg_proc'::regclass THEN (
			SELECT format('%s -> %s; %s %s strict=%s definer=%s acl=%s config=%s symbol=%s',
			              pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
			              p.prokind, p.provolatile, p.proisstrict, p.prosecdef,
			              coalesce(p.proacl::text, 'default'), coalesce(p.proconfig::text, ''),
			              p.prosrc)
			FROM pg_proc p WHERE p.oid = m.objid)
		WHEN 'pg_class'::regclass THEN (
			SELECT format('%s acl=%s columns=%s', c.relkind, coalesce(c.relacl::text, 'default'),
			              (SELECT string_agg(format('%s %s%s%s%s', a.attname,
			                                        format_type(a.atttypid, a.atttypmod),
			                                        CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
			                                        coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
			                                        CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END),
			                                 ', ' ORDER BY a.attnum)
			               FROM pg_attribute a
			               LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
			               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
			FROM pg_class c WHERE c.oid = m.objid)
		WHEN 'pg_type'::regclass THEN (
			SELECT format('%s len=%s align=%s storage=%s', t.typtype, t.typlen, t.typalign, t.typstorage)
			FROM pg_type t WHERE t.oid = m.objid)
		ELSE ''
	END AS object
FROM members m
UNION ALL
SELECT format('constraint %s on %s: %s', conname, conrelid::regclass, pg_get_constraintdef(oid))
FROM pg_constraint WHERE connamespace = 'login_anomaly'::regnamespace
UNION ALL
SELECT indexdef FROM pg_indexes WHERE schemaname = 'login_anomaly'
UNION ALL
SELECT pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'login_anomaly'::regnamespace AND NOT t.tgisinternal
ORDER BY 1;

/*
 * useragent.c
 *		User-agent parsing for SQL and for the encoder: the settings, the
 *		per-backend parser and LRU cache, login_anomaly.parse_user_agent(),
 *		and la_classify_user_agent(), which reduces a user agent to browser
 *		family, OS family and device class.
 *
 * The parsing itself is in uap_*.c (uap-core's regexes.yaml matched with
 * PCRE2, no PostgreSQL dependency).  Each backend loads the regexes file
 * named by login_anomaly.uap_regexes on first use and keeps the compiled
 * rules in malloc'd memory for the life of the backend.  After the setting
 * changes, the next call loads the new file.  Results are kept in a
 * bounded LRU cache of login_anomaly.uap_cache_size entries, also malloc'd.
 * The encoder keeps in front of it a small memo of reduced user agents
 * (browser family, OS family, device class), since a user's logins mostly
 * repeat a few user agents and the reduction costs as much as the lookup.
 *
 * parse_user_agent() raises an error when the regexes cannot be loaded.
 * la_classify_user_agent() runs inside the login trigger, which must not
 * fail, so there it logs one WARNING per backend and per file and falls
 * back to a built-in substring reduction (classify_by_substrings).
 */
#include "postgres.h"

#include <string.h>

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "serial.h"
#include "uap.h"
#include "useragent.h"

PG_FUNCTION_INFO_V1(la_parse_user_agent);

#define UAP_DEFAULT_REGEXES "/usr/share/uap-core/regexes.yaml"

/*
 * Default cache size, in entries.  An entry is a 112-byte header plus the
 * user agent and its parsed fields, about 350 bytes for a typical user
 * agent (an estimate from uap-core's corpus), so 1024 entries take about
 * 350 kB per backend.
 */
#define UAP_DEFAULT_CACHE_SIZE 1024

static char *uap_regexes_path = NULL;
static int	uap_cache_size = UAP_DEFAULT_CACHE_SIZE;

/* Per-backend state, all malloc'd */
static UapParser *uap_parser = NULL;
static char *uap_loaded_path = NULL;	/* the file uap_parser came from */
static UapCache *uap_cache = NULL;
static char *uap_failed_path = NULL;	/* the file whose load failed last */
static char uap_load_error[512];
static bool uap_fallback_warned = false;

/*
 * The encoder's memo: a direct-mapped table of reduced user agents, keyed
 * by the whole user agent.  Entries hold results of the loaded parser only
 * and are cleared when it changes.  256 entries of 336 bytes, 84 kB,
 * allocated on first use; off when login_anomaly.uap_cache_size is 0.  A
 * user agent longer than UA_MEMO_KEY_MAX bytes (about 2% of uap-core's test
 * corpus) is not kept.
 */
#define UA_MEMO_SLOTS 256
#define UA_MEMO_KEY_MAX 192

typedef struct UaMemoEntry
{
	uint32		hash;
	int			len;			/* 0: empty */
	LaUserAgent ua;
	char		key[UA_MEMO_KEY_MAX];
} UaMemoEntry;

static UaMemoEntry *ua_memo = NULL;

/*
 * Hash a user agent eight bytes at a time.  hash_bytes() reads a key that
 * is not 4-byte aligned, as a short text value's data usually is, one byte
 * at a time.
 */
static uint32
ua_hash(const char *s, int len)
{
	uint64		h = (uint64) len * UINT64CONST(0x9e3779b97f4a7c15);
	uint64		w;

	for (; len >= 8; s += 8, len -= 8)
	{
		memcpy(&w, s, 8);
		h = (h ^ (w * UINT64CONST(0xbf58476d1ce4e5b9))) * UINT64CONST(0x9e3779b97f4a7c15);
		h ^= h >> 29;
	}
	if (len > 0)
	{
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ (w * UINT64CONST(0xbf58476d1ce4e5b9))) * UINT64CONST(0x9e3779b97f4a7c15);
	}
	h ^= h >> 32;
	h *= UINT64CONST(0xbf58476d1ce4e5b9);
	return (uint32) (h ^ (h >> 29));
}

/* ---------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------
 */

static const char *
current_regexes_path(void)
{
	return uap_regexes_path ? uap_regexes_path : UAP_DEFAULT_REGEXES;
}

/*
 * Make sure the parser for the current setting is loaded and the cache has
 * the configured size.  Returns false, with the reason in uap_load_error,
 * when the file cannot be loaded.  A file whose load failed is not tried
 * again in this backend unless retry_failed, so a broken file costs the
 * login trigger one attempt, not one per login.  Raises no error.
 */
static bool
uap_ensure_loaded(bool retry_failed)
{
	const char *path = current_regexes_path();
	UapOptions	options = {.lazy_compile = false, .use_jit = true, .use_prefilter = true};
	UapParser  *parser;
	char	   *path_copy;

	if (uap_parser != NULL && strcmp(uap_loaded_path, path) != 0)
	{
		if (ua_memo != NULL)
			memset(ua_memo, 0, sizeof(UaMemoEntry) * UA_MEMO_SLOTS);
		uap_cache_free(uap_cache);
		uap_cache = NULL;
		uap_parser_free(uap_parser);
		uap_parser = NULL;
		free(uap_loaded_path);
		uap_loaded_path = NULL;
	}

	if (uap_parser == NULL)
	{
		if (!retry_failed && uap_failed_path != NULL &&
			strcmp(uap_failed_path, path) == 0)
			return false;

		path_copy = strdup(path);
		if (path_copy == NULL)
		{
			strlcpy(uap_load_error, "out of memory", sizeof(uap_load_error));
			return false;
		}
		/* Compile eagerly: it costs about 20 ms and finds a bad regex now */
		parser = uap_parser_load(path, &options, uap_load_error, sizeof(uap_load_error));
		if (parser == NULL)
		{
			free(uap_failed_path);
			uap_failed_path = path_copy;
			return false;
		}
		free(uap_failed_path);
		uap_failed_path = NULL;
		uap_parser = parser;
		uap_loaded_path = path_copy;
	}

	if (uap_cache != NULL && uap_cache_capacity(uap_cache) != uap_cache_size)
	{
		uap_cache_free(uap_cache);
		uap_cache = NULL;
	}
	if (uap_cache == NULL)
	{
		uap_cache = uap_cache_create(uap_cache_size);
		if (uap_cache == NULL)
		{
			strlcpy(uap_load_error, "out of memory", sizeof(uap_load_error));
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------------
 * SQL: login_anomaly.parse_user_agent(user_agent text)
 * ---------------------------------------------------------------------
 */

/*
 * Return one row of the twelve uap-core fields.  Only the first
 * UAP_MAX_INPUT_LEN bytes are read, so a huge toasted value is not
 * detoasted whole.
 */
Datum
la_parse_user_agent(PG_FUNCTION_ARGS)
{
	text	   *ua;
	TupleDesc	tupdesc;
	const UapResult *result;
	Datum		values[UAP_NFIELDS];
	bool		nulls[UAP_NFIELDS];
	char		errbuf[512];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	check_result_columns(tupdesc, UAP_NFIELDS);

	/* NULL parses like the empty string: nothing matches, family Other */
	if (PG_ARGISNULL(0))
		ua = cstring_to_text("");
	else
		ua = DatumGetTextPSlice(PG_GETARG_DATUM(0), 0, UAP_MAX_INPUT_LEN);

	if (!uap_ensure_loaded(true))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not load user-agent regexes from \"%s\"",
						current_regexes_path()),
				 errdetail("%s", uap_load_error),
				 errhint("Set login_anomaly.uap_regexes to the path of uap-core's regexes.yaml (Debian package uap-core installs %s).",
						 UAP_DEFAULT_REGEXES)));

	result = uap_cache_parse(uap_cache, uap_parser, VARDATA_ANY(ua),
							 VARSIZE_ANY_EXHDR(ua), errbuf, sizeof(errbuf));
	if (result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not parse user agent"),
				 errdetail("%s", errbuf)));

	for (int i = 0; i < UAP_NFIELDS; i++)
	{
		const char *value = uap_result_get(result, i);

		/*
		 * A capture is valid UTF-8 but may be invalid in another server
		 * encoding.  Such a field is returned as NULL, not as bad text.
		 */
		if (value == NULL || !pg_verifymbstr(value, strlen(value), true))
		{
			nulls[i] = true;
			values[i] = (Datum) 0;
		}
		else
		{
			nulls[i] = false;
			values[i] = CStringGetTextDatum(value);
		}
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/* ---------------------------------------------------------------------
 * The encoder's reduction: browser family, OS family, device class
 * ---------------------------------------------------------------------
 */

/* Find a NUL-free needle in a buffer that may contain NULs */
static bool
contains(const char *buf, int len, const char *needle)
{
	int			nlen = strlen(needle);

	for (int i = 0; i + nlen <= len; i++)
	{
		if (buf[i] == needle[0] && memcmp(buf + i, needle, nlen) == 0)
			return true;
	}
	return false;
}

static bool
str_contains(const char *s, const char *needle)
{
	return s != NULL && strstr(s, needle) != NULL;
}

static bool
str_in(const char *s, const char *const *list)
{
	if (s == NULL)
		return false;
	for (; *list; list++)
	{
		if (strcmp(s, *list) == 0)
			return true;
	}
	return false;
}

/*
 * The fallback used when the regexes cannot be loaded: substring tests over
 * the first bytes of the string, in order, the first needle found winning.
 * NOTE: it misreads in-app browsers, WebViews and many bots.
 */
#define UA_SCAN_MAX 512

typedef struct UaRule
{
	const char *needle;
	const char *family;
} UaRule;

/* Edge and Opera also claim Chrome, so they come first */
static const UaRule browser_rules[] = {
	{"Edg/", "Edge"}, {"Edge/", "Edge"}, {"OPR/", "Opera"}, {"Opera", "Opera"},
	{"SamsungBrowser", "Samsung Internet"}, {"YaBrowser", "Yandex Browser"},
	{"Firefox/", "Firefox"}, {"FxiOS", "Firefox iOS"}, {"CriOS", "Chrome Mobile iOS"},
	{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"MSIE", "IE"}, {"Trident/", "IE"},
	{"curl/", "curl"}, {"python-requests", "Python Requests"}, {"Wget", "Wget"},
	{NULL, NULL}
};

static const UaRule os_rules[] = {
	{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iOS"}, {"Android", "Android"},
	{"CrOS", "Chrome OS"}, {"Mac OS X", "Mac OS X"}, {"Macintosh", "Mac OS X"},
	{"Linux", "Linux"}, {NULL, NULL}
};

static void
first_match(const UaRule *rules, const char *ua, int len, char *out)
{
	for (const UaRule *r = rules; r->needle; r++)
	{
		if (contains(ua, len, r->needle))
		{
			strlcpy(out, r->family, LA_UA_FAMILY_MAX);
			return;
		}
	}
	strlcpy(out, "Other", LA_UA_FAMILY_MAX);
}

static void
classify_by_substrings(const char *ua, int len, LaUserAgent *out)
{
	if (len > UA_SCAN_MAX)
		len = UA_SCAN_MAX;

	first_match(browser_rules, ua, len, out->browser);
	first_match(os_rules, ua, len, out->os);

	if (contains(ua, len, "bot") || contains(ua, len, "Bot") ||
		contains(ua, len, "spider") || contains(ua, len, "curl/"))
		out->device = "bot";
	else if (contains(ua, len, "iPad") || contains(ua, len, "Tablet"))
		out->device = "tablet";
	else if (contains(ua, len, "Mobile") || contains(ua, len, "iPhone") ||
			 contains(ua, len, "Android"))
		out->device = "phone";
	else if (contains(ua, len, "Windows") || contains(ua, len, "Macintosh") ||
			 contains(ua, len, "X11") || contains(ua, len, "CrOS"))
		out->device = "desktop";
	else
		out->device = "other";
}

/* OS families (as uap-core names them) of desktop and laptop computers */
static const char *const desktop_os[] = {
	"Windows", "Mac OS X", "Linux", "Ubuntu", "Debian", "Fedora", "Red Hat",
	"SUSE", "openSUSE", "Mint", "Gentoo", "Arch Linux", "Slackware", "Mandriva",
	"CentOS", "Kubuntu", "Xubuntu", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD",
	"Solaris", "SunOS", "Windows NT", "Windows XP", "Windows 7", "Windows 10",
	NULL
};

/* OS families of phones; device_class checks for tablets before these */
static const char *const phone_os[] = {
	"Android", "iOS", "Windows Phone", "BlackBerry OS", "BlackBerry Tablet OS",
	"Symbian OS", "Symbian^3", "Symbian^3 Anna", "Symbian^3 Belle", "KaiOS",
	"Firefox OS", "Tizen", "Bada", "webOS", "MeeGo", "Maemo", "Sailfish",
	"Windows Mobile", "Windows CE", "Ubuntu Touch", "HarmonyOS",
	NULL
};

/*
 * Browser families (as uap-core names them) of HTTP libraries and command
 * line clients.  uap-core gives them device family "Other".  A login from
 * one is a script, so it is classed with the crawlers as "bot", which is
 * also what the substring fallback does for curl.
 */
static const char *const scripted_clients[] = {
	"curl", "Wget", "Python Requests", "Python-urllib", "Go-http-client",
	"Apache-HttpClient", "okhttp", "Google-HTTP-Java-Client", "PostmanRuntime",
	"axios", "reqwest", "aihttp", "scalaj-http", "WinHTTP", "libwww-perl",
	NULL
};

/*
 * Reduce a uap-core result to a device class.  uap-core marks crawlers with
 * device family "Spider" and names tablets by model (iPad, Kindle, Galaxy
 * Tab, "... Tablet").  An Android user agent without the "Mobile" token is
 * a tablet by Android's own convention.
 * NOTE: the phone and desktop OS lists are hand-made, so a rare OS family
 * missing from them gives "other".
 */
static const char *
device_class(const UapResult *r, const char *ua, int len)
{
	const char *family = uap_result_get(r, UAP_DEVICE_FAMILY);
	const char *model = uap_result_get(r, UAP_DEVICE_MODEL);
	const char *os = uap_result_get(r, UAP_OS_FAMILY);

	if ((family != NULL && strcmp(family, "Spider") == 0) ||
		str_in(uap_result_get(r, UAP_UA_FAMILY), scripted_clients))
		return "bot";

	if (str_contains(family, "iPad") || str_contains(model, "iPad") ||
		str_contains(family, "Kindle") || str_contains(family, "Tablet") ||
		str_contains(model, "Tablet") || str_contains(family, "Galaxy Tab") ||
		(os != NULL && strcmp(os, "Android") == 0 && !contains(ua, len, "Mobile") &&
		 contains(ua, len, "Android")))
		return "tablet";

	if (str_contains(family, "iPhone") || str_contains(family, "iPod") ||
		str_contains(family, "Smartphone") || str_contains(family, "Feature Phone") ||
		str_in(os, phone_os))
		return "phone";

	if ((family == NULL || strcmp(family, "Other") == 0 || strcmp(family, "Mac") == 0) &&
		str_in(os, desktop_os))
		return "desktop";

	return "other";
}

/*
 * Copy a family name into a LA_UA_FAMILY_MAX buffer, keeping only a valid
 * prefix in the database encoding and cutting at a character boundary;
 * "Other" when nothing valid remains.  A family comes from captures of the
 * user agent, so it may be cut mid-character or be invalid here.
 */
static void
copy_family(char *dst, const char *src)
{
	int			len = pg_encoding_verifymbstr(GetDatabaseEncoding(), src, strlen(src));

	if (len >= LA_UA_FAMILY_MAX)
		len = pg_mbcliplen(src, len, LA_UA_FAMILY_MAX - 1);
	if (len <= 0)
	{
		strlcpy(dst, "Other", LA_UA_FAMILY_MAX);
		return;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Find the memo entry for a user agent.  Returns the entry that contains it,
 * or else the emptied entry to fill, whose len is then 0.  Returns NULL
 * when the user agent is too long to keep or the memo is off.
 */
static UaMemoEntry *
ua_memo_slot(const char *ua, int len)
{
	uint32		hash;
	UaMemoEntry *e;

	if (len > UA_MEMO_KEY_MAX || uap_cache_size == 0)
		return NULL;
	if (ua_memo == NULL)
	{
		ua_memo = calloc(UA_MEMO_SLOTS, sizeof(UaMemoEntry));
		if (ua_memo == NULL)
			return NULL;
	}
	hash = ua_hash(ua, len);
	e = &ua_memo[hash % UA_MEMO_SLOTS];
	if (e->len == len && e->hash == hash && memcmp(e->key, ua, len) == 0)
		return e;
	e->len = 0;
	e->hash = hash;
	return e;
}

void
la_classify_user_agent(const char *ua, int len, LaUserAgent *out)
{
	const UapResult *result;
	char		errbuf[256];
	UaMemoEntry *memo;

	if (ua == NULL || len <= 0)
	{
		strlcpy(out->browser, "unknown", LA_UA_FAMILY_MAX);
		strlcpy(out->os, "unknown", LA_UA_FAMILY_MAX);
		out->device = "unknown";
		return;
	}

	if (!uap_ensure_loaded(false))
	{
		if (!uap_fallback_warned)
		{
			ereport(WARNING,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("could not load user-agent regexes from \"%s\", using the built-in substring reduction",
							current_regexes_path()),
					 errdetail("%s", uap_load_error),
					 errhint("Set login_anomaly.uap_regexes to the path of uap-core's regexes.yaml.")));
			uap_fallback_warned = true;
		}
		classify_by_substrings(ua, len, out);
		return;
	}
	uap_fallback_warned = false;

	memo = ua_memo_slot(ua, len);
	if (memo != NULL && memo->len == len)
	{
		*out = memo->ua;
		return;
	}

	result = uap_cache_parse(uap_cache, uap_parser, ua, (size_t) len, errbuf, sizeof(errbuf));
	if (result == NULL)
	{
		/* only out of memory gets here: the regexes compiled at load */
		classify_by_substrings(ua, len, out);
		return;
	}

	copy_family(out->browser, uap_result_get(result, UAP_UA_FAMILY));
	copy_family(out->os, uap_result_get(result, UAP_OS_FAMILY));
	out->device = device_class(result, ua, len);

	if (memo != NULL)
	{
		memo->ua = *out;
		memcpy(memo->key, ua, len);
		memo->len = len;
	}
}

/* ---------------------------------------------------------------------
 * Settings
 * ---------------------------------------------------------------------
 */

void
la_useragent_define_gucs(void)
{
	DefineCustomStringVariable("login_anomaly.uap_regexes",
							   "Path of uap-core's regexes.yaml, used to parse user agents.",
							   "Each backend loads the file on first use and again after the setting changes.",
							   &uap_regexes_path,
							   UAP_DEFAULT_REGEXES,
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("login_anomaly.uap_cache_size",
							"Number of parsed user agents each backend keeps in its LRU cache.",
							"0 disables the cache.",
							&uap_cache_size,
							UAP_DEFAULT_CACHE_SIZE,
							0, 100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

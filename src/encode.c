/*
 * encode.c
 *		Turn one login into what the model sees (here also the SQL function
 *		features()), and measure how far apart two logins are.
 *
 * Categorical fields (country, region, city, browser family, OS family,
 * device class and two network prefixes) are one-hot: each value becomes
 * its own dimension, found by hashing "field value".  Integer codes would
 * make an RBF kernel treat country 11 as close to country 10.  A one-hot
 * coordinate of sqrt(w / 2) makes a changed value cost exactly w in squared
 * distance.
 *
 * The hour of day is a point on a circle, so 23:30 is close to 00:30, and is
 * taken in UTC: a user's fixed offset from UTC shifts every hour alike and
 * so leaves every distance on the circle unchanged.  The place is a point on
 * the unit sphere.  Both are scaled so that the farthest two points (12
 * hours apart, or antipodes) cost their weight.  A missing hour or place
 * costs a quarter of its weight against a present one, as a point at the
 * origin would.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "login_anomaly.h"
#include "useragent.h"

PG_FUNCTION_INFO_V1(la_features);

const char *const la_field_names[LA_NUM_FIELDS] = {
	"country", "region", "city", "browser", "os", "device", "network",
	"wide_network"
};

const char *const la_weight_names[LA_NUM_WEIGHTS] = {
	"country", "region", "city", "browser", "os", "device", "network",
	"wide_network", "hour", "place"
};

static const char unknown_value[] = "unknown";

/* FNV-1a, 32 bits: stable across platforms, so stored models stay valid */
static uint32
fnv1a(uint32 h, const char *s, int len)
{
	for (int i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * The labels and hashes of the last login hashed in this backend.  A
 * user's logins repeat most values, and the training aggregate decodes
 * them one user at a time, so comparing a label often replaces hashing it.
 */
static char hashed_label[LA_NUM_FIELDS][LA_VALUE_MAX];
static int	hashed_len[LA_NUM_FIELDS];
static uint32 hashed_hash[LA_NUM_FIELDS];

static uint32
field_hash(const LaLogin *login, int f)
{
	uint32		h = 2166136261u;
	unsigned char tag = (unsigned char) f;

	h = fnv1a(h, (const char *) &tag, 1);
	if (f == LA_REGION || f == LA_CITY)
	{
		h = fnv1a(h, login->label[LA_COUNTRY], login->label_len[LA_COUNTRY]);
		h = fnv1a(h, "", 1);
	}
	if (f == LA_CITY)
	{
		h = fnv1a(h, login->label[LA_REGION], login->label_len[LA_REGION]);
		h = fnv1a(h, "", 1);
	}
	h = fnv1a(h, login->label[f], login->label_len[f]);
	return h & LA_HASH_MASK;
}

/*
 * Compute every field's hash from the labels.  Region and city are hashed
 * together with the levels above them, so Springfield in Illinois and
 * Springfield in Missouri are different cities.
 */
void
la_compute_hashes(LaLogin *login)
{
	bool		same[LA_NUM_FIELDS];

	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		int			len = login->label_len[f];

		same[f] = len > 0 && hashed_len[f] == len &&
			memcmp(hashed_label[f], login->label[f], len) == 0;
	}
	for (int f = 0; f < LA_NUM_FIELDS; f++)
	{
		bool		reuse = same[f];

		if (f == LA_REGION || f == LA_CITY)
			reuse = reuse && same[LA_COUNTRY];
		if (f == LA_CITY)
			reuse = reuse && same[LA_REGION];
		if (reuse)
		{
			login->hash[f] = hashed_hash[f];
			continue;
		}
		login->hash[f] = field_hash(login, f);
		if (!same[f])
		{
			/* the callers cut labels to LA_VALUE_MAX; a longer one is not kept */
			hashed_len[f] = 0;
			if (login->label_len[f] > LA_VALUE_MAX)
				continue;
			memcpy(hashed_label[f], login->label[f], login->label_len[f]);
			hashed_len[f] = login->label_len[f];
		}
		hashed_hash[f] = login->hash[f];
	}
}

/*
 * Set one field's label.  NULL or empty becomes "unknown".  A value longer
 * than LA_VALUE_MAX bytes is cut at a character boundary, so a huge input
 * costs no more than a normal one.  The caller keeps value alive.
 */
void
la_set_field(LaLogin *login, LaField field, const char *value, int len)
{
	if (value == NULL || len <= 0)
	{
		value = unknown_value;
		len = strlen(unknown_value);
	}
	else if (len > LA_VALUE_MAX)
		len = pg_mbcliplen(value, len, LA_VALUE_MAX);

	login->label[field] = value;
	login->label_len[field] = len;
}

void
la_hour_point(double hour, double *xy)
{
	double		angle = hour * (2.0 * M_PI / 24.0);

	xy[0] = cos(angle);
	xy[1] = sin(angle);
}

void
la_place_point(double lat, double lon, double *xyz)
{
	double		phi = lat * (M_PI / 180.0);
	double		lambda = lon * (M_PI / 180.0);

	xyz[0] = cos(phi) * cos(lambda);
	xyz[1] = cos(phi) * sin(lambda);
	xyz[2] = sin(phi);
}

/* Set the login time alone; an infinite timestamp counts as missing */
static void
set_time_value(LaLogin *login, bool has_ts, TimestampTz ts)
{
	login->has_ts = has_ts && !TIMESTAMP_NOT_FINITE(ts);
	login->ts = login->has_ts ? ts : 0;
}

/* Set the time part: the time, its hour and the hour's point */
void
la_set_time(LaLogin *login, bool has_ts, TimestampTz ts)
{
	int64		usec_of_day;

	set_time_value(login, has_ts, ts);
	if (!login->has_ts)
	{
		login->hour = 0;
		login->hour_xy[0] = login->hour_xy[1] = 0;
		return;
	}

	/* PostgreSQL's epoch is a UTC midnight, so this is the UTC time of day */
	usec_of_day = ts % USECS_PER_DAY;
	if (usec_of_day < 0)
		usec_of_day += USECS_PER_DAY;
	login->hour = (double) usec_of_day / USECS_PER_HOUR;
	la_hour_point(login->hour, login->hour_xy);
}

/*
 * Set the coordinates alone.  They must be both present, finite and in
 * range; anything else counts as missing, never as (0, 0).
 */
static void
set_place_value(LaLogin *login, bool has_lat, double lat, bool has_lon, double lon)
{
	login->has_place = has_lat && has_lon &&
		isfinite(lat) && isfinite(lon) &&
		lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
	login->lat = login->has_place ? lat : 0;
	login->lon = login->has_place ? lon : 0;
}

/* Set the place: the coordinates and their point on the sphere */
void
la_set_place(LaLogin *login, bool has_lat, double lat, bool has_lon, double lon)
{
	set_place_value(login, has_lat, lat, has_lon, lon);
	if (login->has_place)
		la_place_point(lat, lon, login->place_xyz);
	else
		login->place_xyz[0] = login->place_xyz[1] = login->place_xyz[2] = 0;
}

/* Write an octet in decimal, as %u would; return the end */
static char *
put_octet(char *p, unsigned char v)
{
	if (v >= 100)
		*p++ = '0' + v / 100;
	if (v >= 10)
		*p++ = '0' + v / 10 % 10;
	*p++ = '0' + v % 10;
	return p;
}

/*
 * Write the network made of the first words 16-bit words of an IPv6
 * address (4 for the /64, 3 for the /48), then suffix, as network(ip)
 * prints it.  Words are lowercase hex without leading zeros, and "::"
 * replaces the longest run of zero words.  That run is always the trailing
 * one here, because at least four words are zero and an earlier run has at
 * most three.  pg_inet_net_ntop's sprintf calls cost more than the rest of
 * features() for an IPv6 login, hence this.
 */
static void
put_ipv6_prefix(char *p, const unsigned char *a, int words, const char *suffix)
{
	static const char hex[] = "0123456789abcdef";
	int			kept = words;

	/* the trailing zero run starts after the last nonzero word */
	while (kept > 0 && a[2 * kept - 2] == 0 && a[2 * kept - 1] == 0)
		kept--;
	for (int i = 0; i < kept; i++)
	{
		unsigned int w = (a[2 * i] << 8) | a[2 * i + 1];
		bool		started = false;

		if (i > 0)
			*p++ = ':';
		for (int shift = 12; shift >= 0; shift -= 4)
		{
			unsigned int digit = (w >> shift) & 0xf;

			if (digit != 0 || started || shift == 0)
			{
				*p++ = hex[digit];
				started = true;
			}
		}
	}
	*p++ = ':';
	*p++ = ':';
	strcpy(p, suffix);
}

/*
 * Write the two network prefixes of an address as labels into buf, which
 * must hold 2 * 64 bytes.  An IPv4-mapped IPv6 address is taken as IPv4.
 */
static void
encode_networks(LaLogin *login, inet *ip, char *buf)
{
	unsigned char *a = ip_addr(ip);
	char	   *narrow = buf;
	char	   *wide = buf + 64;
	static const unsigned char v4mapped[12] =
	{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (ip_family(ip) == PGSQL_AF_INET6 && memcmp(a, v4mapped, 12) != 0)
	{
		/* the canonical text of the network, as network(ip) prints it */
		put_ipv6_prefix(narrow, a, 4, "/64");
		put_ipv6_prefix(wide, a, 3, "/48");
	}
	else
	{
		/*
		 * "a.b.c.0/24" and "a.b.0.0/16", written by hand because snprintf
		 * took a tenth of features()
		 */
		char	   *p = narrow;

		if (ip_family(ip) == PGSQL_AF_INET6)
			a += 12;
		p = put_octet(p, a[0]);
		*p++ = '.';
		p = put_octet(p, a[1]);
		*p++ = '.';
		memcpy(wide, narrow, p - narrow);
		memcpy(wide + (p - narrow), "0.0/16", sizeof("0.0/16"));
		p = put_octet(p, a[2]);
		memcpy(p, ".0/24", sizeof(".0/24"));
	}

	la_set_field(login, LA_NETWORK, narrow, strlen(narrow));
	la_set_field(login, LA_WIDE_NETWORK, wide, strlen(wide));
}

/*
 * Parse a bare IPv4 or IPv6 address into an inet Datum.  Returns false,
 * raising no error, for anything else: a text address column often contains a
 * forwarded header, and one that does not parse counts as missing.
 */
bool
la_parse_address(const char *s, Datum *result)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
		return false;
	*result = DirectFunctionCall1(inet_in, CStringGetDatum(s));
	return true;
}

static void
set_text_field(LaLogin *login, LaField field, text *value)
{
	if (value == NULL)
		la_set_field(login, field, NULL, 0);
	else
		la_set_field(login, field, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

/*
 * Set what a feature vector stores of a login: the time, the coordinates
 * and the labels, but not the hashes nor the points derived from time and
 * place.  The labels point into the arguments, *ua and netbuf (2 * 64
 * bytes), which the caller keeps alive.
 */
static void
encode_stored_parts(LaLogin *login, bool has_ts, TimestampTz ts,
					Datum ip, bool ip_null,
					text *country, text *region, text *city, text *user_agent,
					bool has_lat, double lat, bool has_lon, double lon,
					LaUserAgent *ua, char *netbuf)
{
	memset(login, 0, sizeof(LaLogin));
	set_time_value(login, has_ts, ts);
	set_place_value(login, has_lat, lat, has_lon, lon);

	set_text_field(login, LA_COUNTRY, country);
	set_text_field(login, LA_REGION, region);
	set_text_field(login, LA_CITY, city);

	if (user_agent == NULL)
		la_classify_user_agent(NULL, 0, ua);
	else
		la_classify_user_agent(VARDATA_ANY(user_agent),
							   VARSIZE_ANY_EXHDR(user_agent), ua);
	la_set_field(login, LA_BROWSER, ua->browser, strlen(ua->browser));
	la_set_field(login, LA_OS, ua->os, strlen(ua->os));
	la_set_field(login, LA_DEVICE, ua->device, strlen(ua->device));

	if (ip_null)
	{
		la_set_field(login, LA_NETWORK, NULL, 0);
		la_set_field(login, LA_WIDE_NETWORK, NULL, 0);
	}
	else
		encode_networks(login, DatumGetInetPP(ip), netbuf);
}

/*
 * Encode a login from its raw fields.  Any text argument may be NULL.  The
 * labels of the result point into the arguments and into memory allocated
 * in the current memory context.
 */
void
la_encode_login(LaLogin *login, bool has_ts, TimestampTz ts,
				Datum ip, bool ip_null,
				text *country, text *region, text *city, text *user_agent,
				bool has_lat, double lat, bool has_lon, double lon)
{
	LaUserAgent *ua = palloc(sizeof(LaUserAgent));

	encode_stored_parts(login, has_ts, ts, ip, ip_null, country, region, city,
						user_agent, has_lat, lat, has_lon, lon, ua, palloc(128));
	la_set_time(login, login->has_ts, login->ts);
	la_set_place(login, login->has_place, login->lat, login->has_place, login->lon);
	la_compute_hashes(login);
}

/*
 * features(ts, ip, country, region, city, user_agent, lat, lon): encode one
 * login.  Not strict: any argument may be NULL.  A feature vector stores
 * neither hashes nor derived points, so they are not computed here.
 */
Datum
la_features(PG_FUNCTION_ARGS)
{
	LaLogin		login;
	LaUserAgent ua;
	char		netbuf[128];

#define ARG_TEXT(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))
	encode_stored_parts(&login,
						!PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_TIMESTAMPTZ(0),
						PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1),
						ARG_TEXT(2), ARG_TEXT(3), ARG_TEXT(4), ARG_TEXT(5),
						!PG_ARGISNULL(6), PG_ARGISNULL(6) ? 0 : PG_GETARG_FLOAT8(6),
						!PG_ARGISNULL(7), PG_ARGISNULL(7) ? 0 : PG_GETARG_FLOAT8(7),
						&ua, netbuf);
#undef ARG_TEXT

	PG_RETURN_POINTER(la_feature_vector_encode(&login));
}

/* Copy the parts of a login that the kernel needs; alpha is left at zero */
void
la_login_to_sv(const LaLogin *login, LaSupportVector *sv)
{
	memset(sv, 0, sizeof(LaSupportVector));
	sv->has_ts = login->has_ts;
	sv->has_place = login->has_place;
	sv->hour = login->hour;
	sv->lat = login->lat;
	sv->lon = login->lon;
	memcpy(sv->hour_xy, login->hour_xy, sizeof(sv->hour_xy));
	memcpy(sv->place_xyz, login->place_xyz, sizeof(sv->place_xyz));
	memcpy(sv->hash, login->hash, sizeof(sv->hash));
}

/*
 * Parse a weight specification such as "country=1, browser=0.5" into
 * weights.  Fields not named keep the value already there.  Returns NULL on
 * success, or a message naming the bad item, so that a setting's check hook
 * can use it without raising an error.
 */
char *
la_parse_weights(const char *spec, double *weights)
{
	char	   *copy = pstrdup(spec);
	char	   *item;
	char	   *save = NULL;
	double		parsed[LA_NUM_WEIGHTS];

	memcpy(parsed, weights, sizeof(parsed));
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
	{
		char	   *eq;
		char	   *name;
		char	   *end;
		double		value;
		int			w;

		while (*item == ' ')
			item++;
		for (end = item + strlen(item) - 1; end >= item && *end == ' '; end--)
			*end = '\0';
		eq = strchr(item, '=');
		name = item;
		if (eq == NULL)
			return psprintf("Weight \"%s\" is not a name=value pair.", item);
		*eq = '\0';
		while (*name == ' ')
			name++;
		for (end = eq - 1; end >= name && *end == ' '; end--)
			*end = '\0';

		for (w = 0; w < LA_NUM_WEIGHTS; w++)
		{
			if (strcmp(name, la_weight_names[w]) == 0)
				break;
		}
		if (w == LA_NUM_WEIGHTS)
			return psprintf("Unknown weight \"%s\"; valid names are country, region, city, browser, os, device, network, wide_network, hour and place.", name);

		errno = 0;
		value = strtod(eq + 1, &end);
		while (*end == ' ')
			end++;
		if (errno != 0 || end == eq + 1 || *end != '\0' ||
			!isfinite(value) || value < 0.0 || value > 1000.0)
			return psprintf("Weight \"%s\" must be a number from 0 to 1000, not \"%s\".",
							name, eq + 1);
		parsed[w] = value;
	}
	pfree(copy);
	memcpy(weights, parsed, sizeof(parsed));
	return NULL;
}

/* Format weights as the specification la_parse_weights reads */
char *
la_format_weights(const double *weights)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
		appendStringInfo(&buf, "%s%s=%g", w ? ", " : "", la_weight_names[w],
						 weights[w]);
	return buf.data;
}

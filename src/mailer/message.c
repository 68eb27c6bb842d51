/*
 * message.c
 *		Compose the alert e-mail: plain text in UTF-8, quoted-printable body,
 *		RFC 2047 encoded words for non-ASCII header text, a Date header and a
 *		Message-ID derived from the alert id.
 *
 * Every value that comes from the alert row or the user lookup passes
 * through sanitize_text before it reaches the message.  There, control
 * characters including CR and LF become spaces, so a city of
 * "Paris\r\nBcc: x" stays one line of text and cannot add a header.  Header text that is not plain
 * printable ASCII is sent as encoded words, never raw.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailer.h"

/* RFC 5322 recommends header lines of at most 78 characters */
#define HEADER_LINE_MAX 78

/* An encoded word is at most 75 characters; "=?UTF-8?B?" and "?=" take 12 */
#define ENCODED_WORD_RAW_MAX 45

/* Decode one UTF-8 sequence; returns its length, or 0 when it is invalid */
static int
utf8_decode(const unsigned char *s, size_t avail, unsigned int *cp)
{
	int			len;
	unsigned int min;

	if (s[0] < 0x80)
	{
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0)
	{
		len = 2;
		*cp = s[0] & 0x1F;
		min = 0x80;
	}
	else if ((s[0] & 0xF0) == 0xE0)
	{
		len = 3;
		*cp = s[0] & 0x0F;
		min = 0x800;
	}
	else if ((s[0] & 0xF8) == 0xF0)
	{
		len = 4;
		*cp = s[0] & 0x07;
		min = 0x10000;
	}
	else
		return 0;
	if ((size_t) len > avail)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * Characters that must not reach a message: C0 and C1 controls, DEL, line
 * and paragraph separators, the byte order mark and the bidirectional
 * overrides that can make text display differently from what it is.
 */
static bool
is_unsafe_char(unsigned int cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
		cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
		(cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
		cp == 0xFEFF;
}

/*
 * Return a copy of s that is valid UTF-8 without unsafe characters, with
 * runs of white space collapsed and at most max_bytes long (cut at a
 * character boundary and marked with "..." when cut).  NULL becomes "".
 */
char *
sanitize_text(const char *s, size_t max_bytes)
{
	StrBuf		out;
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	size_t		remaining = strlen((const char *) p);
	bool		pending_space = false;
	bool		truncated = false;

	sb_init(&out);
	while (remaining > 0)
	{
		unsigned int cp;
		int			len = utf8_decode(p, remaining, &cp);
		const char *piece;
		size_t		piece_len;

		if (len == 0)
		{
			/* An invalid byte shows as U+FFFD */
			piece = "\xEF\xBF\xBD";
			piece_len = 3;
			len = 1;
		}
		else if (is_unsafe_char(cp) || cp == ' ')
		{
			pending_space = out.len > 0;
			p += len;
			remaining -= (size_t) len;
			continue;
		}
		else
		{
			piece = (const char *) p;
			piece_len = (size_t) len;
		}

		if (out.len + piece_len + (pending_space ? 1 : 0) > max_bytes)
		{
			truncated = true;
			break;
		}
		if (pending_space)
			sb_append_char(&out, ' ');
		pending_space = false;
		sb_append_len(&out, piece, piece_len);
		p += len;
		remaining -= (size_t) len;
	}
	if (truncated)
		sb_append(&out, "...");
	return out.data;
}

static bool
is_plain_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p > 0x7E)
			return false;
	/* Text that looks like an encoded word is encoded, so it shows as written */
	return strstr(s, "=?") == NULL;
}

static void
base64_append(StrBuf *out, const unsigned char *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < len; i += 3)
	{
		unsigned int n = (unsigned int) data[i] << 16;

		if (i + 1 < len)
			n |= (unsigned int) data[i + 1] << 8;
		if (i + 2 < len)
			n |= data[i + 2];
		sb_append_char(out, alphabet[(n >> 18) & 63]);
		sb_append_char(out, alphabet[(n >> 12) & 63]);
		sb_append_char(out, i + 1 < len ? alphabet[(n >> 6) & 63] : '=');
		sb_append_char(out, i + 2 < len ? alphabet[n & 63] : '=');
	}
}

/*
 * Append text as RFC 2047 "B" encoded words, each of whole UTF-8
 * characters, separated by folding white space (which decoders drop
 * between encoded words).  column is where the first word starts; every
 * line stays within the 76 characters RFC 2047 allows.
 */
static void
append_encoded_words(StrBuf *out, const char *text, size_t column)
{
	const unsigned char *p = (const unsigned char *) text;
	size_t		remaining = strlen(text);

	while (remaining > 0)
	{
		size_t		chunk = 0;
		size_t		room = column + 12 + 4 < 76 ? 76 - column - 12 : 4;
		size_t		raw_max = room / 4 * 3;

		if (raw_max > ENCODED_WORD_RAW_MAX)
			raw_max = ENCODED_WORD_RAW_MAX;
		while (chunk < remaining)
		{
			unsigned int cp;
			int			len = utf8_decode(p + chunk, remaining - chunk, &cp);

			if (len == 0)
				len = 1;		/* cannot happen after sanitize_text */
			/* A character longer than the room still goes out whole */
			if (chunk + (size_t) len > raw_max && chunk > 0)
				break;
			chunk += (size_t) len;
		}
		sb_append(out, "=?UTF-8?B?");
		base64_append(out, p, chunk);
		sb_append(out, "?=");
		p += chunk;
		remaining -= chunk;
		if (remaining > 0)
		{
			sb_append(out, "\r\n ");
			column = 1;
		}
	}
}

/* Append "Name: value" for sanitized value, folded at spaces or encoded */
static void
append_text_header(StrBuf *out, const char *name, const char *value)
{
	sb_appendf(out, "%s: ", name);
	if (!is_plain_ascii(value))
		append_encoded_words(out, value, strlen(name) + 2);
	else
	{
		size_t		column = strlen(name) + 2;
		const char *p = value;

		while (*p)
		{
			const char *space = strchr(p + 1, ' ');
			size_t		word_len = space ? (size_t) (space - p) : strlen(p);

			if (column + word_len > HEADER_LINE_MAX && p != value && *p == ' ')
			{
				sb_append(out, "\r\n");
				column = 0;
			}
			sb_append_len(out, p, word_len);
			column += word_len;
			p += word_len;
		}
	}
	sb_append(out, "\r\n");
}

/* Append the From header; a display name is quoted or encoded as needed */
static void
append_from_header(StrBuf *out, const MailerConfig *cfg)
{
	sb_append(out, "From: ");
	if (cfg->from_name != NULL)
	{
		if (is_plain_ascii(cfg->from_name))
		{
			sb_append_char(out, '"');
			for (const char *p = cfg->from_name; *p; p++)
			{
				if (*p == '"' || *p == '\\')
					sb_append_char(out, '\\');
				sb_append_char(out, *p);
			}
			sb_append_char(out, '"');
		}
		else
			append_encoded_words(out, cfg->from_name, 6);

		/*
		 * Fold before the address when it would take the line past the 76
		 * characters that RFC 2047 allows a line with encoded words
		 */
		{
			const char *line = out->data;
			size_t		column;

			for (const char *p = out->data; p < out->data + out->len; p++)
			{
				if (*p == '\n')
					line = p + 1;
			}
			column = (out->data + out->len) - line;
			if (column + 3 + strlen(cfg->from_address) > 76)
				sb_append(out, "\r\n ");
			else
				sb_append_char(out, ' ');
		}
	}
	sb_appendf(out, "<%s>\r\n", cfg->from_address);
}

/*
 * Append text, whose lines end in "\n", as a quoted-printable body with
 * CRLF line ends.  Besides what RFC 2045 requires, a "." or the "F" of
 * "From " at the start of a line is encoded, so no SMTP or mbox layer can
 * misread the line.
 */
static void
append_quoted_printable(StrBuf *out, const char *text)
{
	const unsigned char *p = (const unsigned char *) text;

	while (*p)
	{
		const unsigned char *eol = (const unsigned char *) strchr((const char *) p, '\n');
		size_t		line_len = eol ? (size_t) (eol - p) : strlen((const char *) p);
		size_t		column = 0;

		for (size_t i = 0; i < line_len; i++)
		{
			unsigned char c = p[i];
			bool		last = (i + 1 == line_len);
			bool		encode;

			encode = (c == '=' || c > 126 || (c < 32 && c != '\t') ||
					  ((c == ' ' || c == '\t') && last));
			if (column + (encode ? 3 : 1) > 75)
			{
				sb_append(out, "=\r\n");
				column = 0;
			}
			if (column == 0 &&
				(c == '.' ||
				 (c == 'F' && line_len - i >= 5 && memcmp(p + i, "From ", 5) == 0)))
				encode = true;
			if (encode)
			{
				sb_appendf(out, "=%02X", c);
				column += 3;
			}
			else
			{
				sb_append_char(out, (char) c);
				column++;
			}
		}
		sb_append(out, "\r\n");
		p += line_len;
		if (*p == '\n')
			p++;
	}
}

/*
 * Whether tz names a time zone file: letters, digits, "_", "+", "-" and
 * "/" only, no "..", and present under $TZDIR or /usr/share/zoneinfo.  An
 * unknown name would otherwise silently turn into UTC in glibc.
 */
static bool
timezone_is_valid(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char		path[512];
	struct stat st;

	if (tz == NULL || *tz == '\0' || strlen(tz) > 64 || tz[0] == '/' ||
		strstr(tz, "..") != NULL)
		return false;
	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char) *p) && strchr("_+-/", *p) == NULL)
			return false;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Format epoch in time zone tz when known, else in UTC, always labelled */
static void
format_time(double epoch, const char *tz, char *buf, size_t size)
{
	time_t		t;
	struct tm	tm;
	char		local[64];

	/* an infinite login time (ts = 'infinity') has no calendar date */
	if (!isfinite(epoch) || fabs(epoch) > 1e15)
	{
		snprintf(buf, size, "unknown time");
		return;
	}
	t = (time_t) floor(epoch);

	if (timezone_is_valid(tz))
	{
		bool		ok;

		/* The process runs in UTC; switch TZ only around localtime_r */
		setenv("TZ", tz, 1);
		tzset();
		ok = localtime_r(&t, &tm) != NULL;
		if (ok)
			strftime(local, sizeof(local), "%Y-%m-%d %H:%M:%S %Z (UTC%z", &tm);
		setenv("TZ", "UTC", 1);
		tzset();
		if (ok)
			snprintf(buf, size, "%s, %s)", local, tz);
		else
			snprintf(buf, size, "unknown time");
	}
	else if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, size, "unknown time");
}

char *
message_id_for(const MailerConfig *cfg, long long alert_id)
{
	char		host[256];
	const char *domain = cfg->message_id_domain;

	if (domain == NULL)
	{
		size_t		j = 0;

		if (gethostname(host, sizeof(host)) != 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		/* Keep only characters that are valid in a dot-atom */
		for (size_t i = 0; host[i]; i++)
			if (isalnum((unsigned char) host[i]) || host[i] == '.' || host[i] == '-')
				host[j++] = host[i];
		host[j] = '\0';
		domain = j > 0 ? host : "localhost";
	}
	return xasprintf("<login-anomaly-alert-%lld@%s>", alert_id, domain);
}

/* "Paris, Île-de-France, FR" from the non-empty location fields */
static char *
place_of(const Alert *alert)
{
	const char *parts[3] = {alert->city, alert->region, alert->country};
	StrBuf		place;

	sb_init(&place);
	for (int i = 0; i < 3; i++)
	{
		char	   *clean = sanitize_text(parts[i], 100);

		if (*clean)
		{
			if (place.len > 0)
				sb_append(&place, ", ");
			sb_append(&place, clean);
		}
		free(clean);
	}
	if (place.len == 0)
		sb_append(&place, "unknown location");
	return place.data;
}

static char *
device_of(const Alert *alert)
{
	char	   *browser = sanitize_text(alert->browser, 60);
	char	   *os = sanitize_text(alert->os, 60);
	char	   *device = sanitize_text(alert->device, 30);
	StrBuf		out;

	sb_init(&out);
	sb_append(&out, *browser ? browser : "unknown browser");
	sb_append(&out, " on ");
	sb_append(&out, *os ? os : "unknown OS");
	if (*device)
		sb_appendf(&out, " (%s)", device);
	if (!*browser && !*os && alert->user_agent)
	{
		char	   *ua = sanitize_text(alert->user_agent, 200);

		sb_appendf(&out, "; user agent \"%s\"", ua);
		free(ua);
	}
	free(browser);
	free(os);
	free(device);
	return out.data;
}

/* Append the When/Where/Network/Device lines of one alert */
static void
append_alert_facts(StrBuf *body, const Alert *alert, const char *tz,
				   const char *indent)
{
	char		when[128];
	char	   *place = place_of(alert);
	char	   *device = device_of(alert);
	char	   *ip = sanitize_text(alert->ip, 64);
	char	   *network = sanitize_text(alert->network, 64);

	format_time(alert->has_login_ts ? alert->login_ts : alert->created_at,
				tz, when, sizeof(when));
	sb_appendf(body, "%sWhen:     %s%s\n", indent, when,
			   alert->has_login_ts ? "" : " (time the alert was raised)");
	sb_appendf(body, "%sWhere:    %s\n", indent, place);
	if (*ip)
		sb_appendf(body, "%sNetwork:  IP address %s in network %s\n",
				   indent, ip, *network ? network : ip);
	else
		sb_appendf(body, "%sNetwork:  unknown\n", indent);
	sb_appendf(body, "%sDevice:   %s\n", indent, device);
	free(place);
	free(device);
	free(ip);
	free(network);
}

/*
 * Append the reasons as a list.  Returns true when one of them gives a
 * time in UTC, as the extension's "hour 03:00 UTC unusual" does, while
 * the When line may be in the user's time zone.
 */
static bool
append_reasons(StrBuf *body, const Alert *alert, const char *indent)
{
	bool		mentions_utc = false;

	if (alert->n_reasons == 0)
	{
		sb_appendf(body, "%s- no reason was recorded\n", indent);
		return false;
	}
	for (int i = 0; i < alert->n_reasons; i++)
	{
		char	   *reason = sanitize_text(alert->reasons[i], 300);

		if (*reason)
			sb_appendf(body, "%s- %s\n", indent, reason);
		if (strstr(reason, " UTC") != NULL)
			mentions_utc = true;
		free(reason);
	}
	return mentions_utc;
}

static void
append_risk(StrBuf *body, const Alert *alert, const char *indent)
{
	char	   *risk = sanitize_text(alert->risk, 20);
	char	   *score = sanitize_text(alert->score, 32);
	char	   *threshold = sanitize_text(alert->threshold, 32);

	if (*risk || *score)
	{
		sb_appendf(body, "%sRisk:     %s", indent, *risk ? risk : "unknown");
		if (*score)
			sb_appendf(body, " (score %s%s%s)", score,
					   *threshold ? ", threshold " : "", threshold);
		sb_append(body, "\n");
	}
	free(risk);
	free(score);
	free(threshold);
}

static void
append_next_steps(StrBuf *body, bool to_user, const char *user_id,
				  long long alert_id, int n_alerts)
{
	const char *sign_ins = n_alerts == 1 ? "this sign-in" : "these sign-ins";

	if (to_user)
		sb_appendf(body,
				   "Was this you?\n"
				   "  If yes, you do not need to do anything.\n"
				   "  If not, change your password now, sign out of all other sessions\n"
				   "  and tell your security team. Quote alert %lld so they can find\n"
				   "  %s.\n",
				   alert_id, sign_ins);
	else
		sb_appendf(body,
				   "What to do next:\n"
				   "  Ask user \"%s\" whether %s %s theirs. If not, reset the\n"
				   "  password, end the user's sessions and review what the account did\n"
				   "  after %s.\n",
				   user_id, sign_ins, n_alerts == 1 ? "was" : "were", sign_ins);
}

/* Order alerts by login time, as ORDER BY login_ts, alert_id does with NULLs last */
static int
compare_login_time(const void *a, const void *b)
{
	const Alert *x = *(const Alert *const *) a;
	const Alert *y = *(const Alert *const *) b;

	if (x->has_login_ts != y->has_login_ts)
		return x->has_login_ts ? -1 : 1;
	if (x->has_login_ts && x->login_ts != y->login_ts)
		return x->login_ts < y->login_ts ? -1 : 1;
	return (x->alert_id > y->alert_id) - (x->alert_id < y->alert_id);
}

/*
 * The alerts of batch in the order a digest lists them, oldest login
 * first.  The carrier keeps its place as alerts[0] for the Message-ID and
 * is listed where its login time puts it.  The caller frees the array.
 */
static const Alert **
alerts_by_login_time(const AlertBatch *batch)
{
	const Alert **order = xmalloc(sizeof(Alert *) * batch->n_alerts);

	for (int i = 0; i < batch->n_alerts; i++)
		order[i] = &batch->alerts[i];
	qsort(order, batch->n_alerts, sizeof(Alert *), compare_login_time);
	return order;
}

static void
compose_anomaly(StrBuf *body, char **subject, const AlertBatch *batch,
				bool to_user, const char *user_id)
{
	const Alert *first = &batch->alerts[0];
	const char *tz = batch->user_timezone;

	if (batch->n_alerts == 1)
	{
		char	   *place = place_of(first);

		*subject = to_user
			? xasprintf("Unusual sign-in to your account from %s", place)
			: xasprintf("Unusual sign-in of user %s from %s", user_id, place);
		free(place);

		sb_appendf(body,
				   "A sign-in to the account \"%s\" does not match how this account\n"
				   "usually signs in.\n\n", user_id);
		append_alert_facts(body, first, tz, "");
		append_risk(body, first, "");
		sb_append(body, "\nWhy this sign-in looks unusual:\n");
		if (append_reasons(body, first, "  "))
			sb_append(body, "  (Hours in these reasons are in UTC.)\n");
		sb_append(body, "\n");
	}
	else
	{
		const Alert **order = alerts_by_login_time(batch);
		bool		mentions_utc = false;

		*subject = to_user
			? xasprintf("%d unusual sign-ins to your account", batch->n_alerts)
			: xasprintf("%d unusual sign-ins of user %s", batch->n_alerts, user_id);

		sb_appendf(body,
				   "%d sign-ins to the account \"%s\" do not match how this account\n"
				   "usually signs in. They came close together, so they are listed in\n"
				   "this one e-mail instead of one e-mail each.\n\n",
				   batch->n_alerts, user_id);
		for (int i = 0; i < batch->n_alerts; i++)
		{
			const Alert *alert = order[i];

			sb_appendf(body, "%d. Alert %lld\n", i + 1, alert->alert_id);
			append_alert_facts(body, alert, tz, "   ");
			append_risk(body, alert, "   ");
			sb_append(body, "   Why:\n");
			if (append_reasons(body, alert, "     "))
				mentions_utc = true;
			sb_append(body, "\n");
		}
		if (mentions_utc)
			sb_append(body, "(Hours in the reasons above are in UTC.)\n\n");
		free(order);
	}
	append_next_steps(body, to_user, user_id, first->alert_id, batch->n_alerts);
}

static void
compose_scoring_failed(StrBuf *body, char **subject, const AlertBatch *batch,
					   const char *user_id)
{
	const Alert **order = alerts_by_login_time(batch);

	if (batch->n_alerts == 1)
		*subject = xasprintf("Login anomaly scoring failed for user %s", user_id);
	else
		*subject = xasprintf("Login anomaly scoring failed %d times for user %s",
							 batch->n_alerts, user_id);

	sb_appendf(body,
			   "The login_anomaly extension could not score %s of user \"%s\",\n"
			   "so %s not checked for anomalies.\n\n",
			   batch->n_alerts == 1 ? "a sign-in" : "several sign-ins",
			   user_id,
			   batch->n_alerts == 1 ? "this sign-in was" : "these sign-ins were");
	for (int i = 0; i < batch->n_alerts; i++)
	{
		const Alert *alert = order[i];
		char	   *error = sanitize_text(alert->error, 500);
		const char *indent = batch->n_alerts == 1 ? "" : "   ";

		if (batch->n_alerts > 1)
			sb_appendf(body, "%d. Alert %lld\n", i + 1, alert->alert_id);
		sb_appendf(body, "%sError:    %s\n", indent, *error ? error : "not recorded");
		append_alert_facts(body, alert, NULL, indent);
		sb_append(body, "\n");
		free(error);
	}
	free(order);
	sb_append(body,
			  "What to do next:\n"
			  "  Look at the user's model in login_anomaly.models and at the PostgreSQL\n"
			  "  server log around the time above. Until the error is fixed, sign-ins\n"
			  "  of this user are recorded but not scored.\n");
}

static void
add_recipient(MailMessage *msg, const char *address)
{
	for (int i = 0; i < msg->n_recipients; i++)
		if (strcasecmp(msg->recipients[i], address) == 0)
			return;
	msg->recipients = xrealloc(msg->recipients,
							   sizeof(char *) * (msg->n_recipients + 1));
	msg->recipients[msg->n_recipients++] = xstrdup(address);
}

/*
 * Compose the e-mail for batch.  An anomaly goes to the user's own address
 * (To) when it is known and valid, and the fixed recipients get blind
 * copies.  Without a user address the fixed recipients are in To.  A scoring_failed alert
 * goes to the fixed recipients only.  Returns false with *error set when
 * nobody can receive the e-mail.
 */
bool
message_compose(const MailerConfig *cfg, const AlertBatch *batch,
				MailMessage *msg, char **error)
{
	const Alert *first = &batch->alerts[0];
	bool		is_anomaly = strcmp(first->kind, "scoring_failed") != 0;
	bool		to_user = false;
	char	   *user_id = sanitize_text(first->user_id, 100);
	char	   *subject = NULL;
	char	   *clean_subject;
	StrBuf		body;
	StrBuf		to_header;
	char		date[64];
	time_t		now = time(NULL);
	struct tm	tm;

	memset(msg, 0, sizeof(*msg));
	*error = NULL;

	if (is_anomaly && batch->user_address != NULL)
	{
		if (address_is_valid(batch->user_address))
		{
			add_recipient(msg, batch->user_address);
			to_user = true;
		}
		else
		{
			char	   *shown = sanitize_text(batch->user_address, 100);

			log_msg(LOG_LEVEL_WARNING,
					"alert %lld: invalid address \"%s\" for user \"%s\"; not mailing the user",
					first->alert_id, shown, user_id);
			free(shown);
		}
	}
	for (int i = 0; i < cfg->n_to; i++)
		add_recipient(msg, cfg->to[i]);
	if (msg->n_recipients == 0)
	{
		*error = xstrdup(is_anomaly
						 ? "no recipient: the user has no valid address and --to is not set"
						 : "no recipient for a scoring_failed alert: --to is not set");
		free(user_id);
		message_free(msg);
		return false;
	}

	sb_init(&body);
	if (is_anomaly)
		compose_anomaly(&body, &subject, batch, to_user, user_id);
	else
		compose_scoring_failed(&body, &subject, batch, user_id);
	sb_appendf(&body,
			   "\n-- \nSent by %s for alert %lld of the login_anomaly outbox.\n",
			   MAILER_NAME, first->alert_id);

	/* The To header names the user, or else the fixed recipients */
	sb_init(&to_header);
	if (to_user)
		sb_append(&to_header, msg->recipients[0]);
	else
		for (int i = 0; i < msg->n_recipients; i++)
			sb_appendf(&to_header, "%s%s", i ? ",\r\n " : "", msg->recipients[i]);

	msg->message_id = message_id_for(cfg, first->alert_id);
	msg->envelope_from = xstrdup(cfg->from_address);

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

	sb_init(&msg->text);
	sb_appendf(&msg->text, "Date: %s\r\n", date);
	append_from_header(&msg->text, cfg);
	sb_appendf(&msg->text, "To: %s\r\n", to_header.data);
	clean_subject = sanitize_text(subject, 400);
	append_text_header(&msg->text, "Subject", clean_subject);
	sb_appendf(&msg->text, "Message-ID: %s\r\n", msg->message_id);
	sb_append(&msg->text,
			  "MIME-Version: 1.0\r\n"
			  "Content-Type: text/plain; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n"
			  "Auto-Submitted: auto-generated\r\n");
	sb_appendf(&msg->text, "X-Login-Anomaly-Alert-Id: %lld\r\n", first->alert_id);
	if (batch->n_alerts > 1)
		sb_appendf(&msg->text, "X-Login-Anomaly-Alert-Count: %d\r\n", batch->n_alerts);
	sb_append(&msg->text, "\r\n");
	append_quoted_printable(&msg->text, body.data);

	/* Kept for --dry-run, which prints them as plain text */
	msg->subject = clean_subject;
	msg->body = body.data;

	free(subject);
	free(user_id);
	sb_free(&to_header);
	return true;
}

void
message_free(MailMessage *msg)
{
	free(msg->message_id);
	free(msg->envelope_from);
	for (int i = 0; i < msg->n_recipients; i++)
		free(msg->recipients[i]);
	free(msg->recipients);
	if (msg->text.data)
		sb_free(&msg->text);
	free(msg->subject);
	free(msg->body);
	memset(msg, 0, sizeof(*msg));
}

/*
 * fuzz_mailer_message.c
 *		libFuzzer harness for the mailer's message building
 *		(src/mailer/message.c): message_compose on alert rows whose text
 *		fields are arbitrary bytes, and sanitize_text alone.
 *
 * The bytes become a fixed header (alert id, login time, creation time,
 * which alert kind, how many alerts in the batch, how many reasons), then
 * NUL-separated strings: the alert's text columns, the reasons, the user's
 * address and time zone and the From display name.  Times are what
 * PostgreSQL's date_part('epoch', timestamptz) can return: a finite value
 * in the timestamptz range, or plus or minus Infinity.
 *
 * With FUZZ_MAILER_SKIP_KNOWN=1 in the environment the harness avoids the
 * two bugs that regressions/fuzz_mailer_message/ records: it makes finite
 * times only and keeps the From display name plain ASCII without "=", so
 * that it is never sent as encoded words.  run.sh sets it
 * while one of those regression inputs still fails, so that fuzzing can
 * look for other bugs.
 *
 * Every composed message must be one a mail system reads as intended:
 * 7-bit ASCII, CRLF line ends only, exactly the expected header fields
 * once each, header lines within 998 characters (76 where an encoded word
 * is), quoted-printable body lines within 76 characters, no body line that
 * starts with "." or "From ", and a decoded subject and body that are
 * valid UTF-8 without control characters other than the body's line ends.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailer.h"
#include "fuzz_util.h"

#define MAX_ALERTS 3
#define MAX_REASONS 3

/* timestamptz's range, in seconds since the Unix epoch */
#define EPOCH_MIN (-211813488000.0)
#define EPOCH_MAX (9224318015999.0)

enum
{
	S_USER_ID, S_IP, S_NETWORK, S_COUNTRY, S_REGION, S_CITY, S_USER_AGENT,
	S_BROWSER, S_OS, S_DEVICE, S_SCORE, S_THRESHOLD, S_RISK, S_ERROR,
	S_REASON0, S_REASON1, S_REASON2, S_USER_ADDRESS, S_TIMEZONE, S_FROM_NAME,
	S_COUNT
};

static const char *const header_names[] = {
	"Date", "From", "To", "Subject", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Auto-Submitted",
	"X-Login-Anomaly-Alert-Id", "X-Login-Anomaly-Alert-Count", NULL
};

static bool skip_known_bugs = false;

/* A time as the mailer can read it from the database */
static double
epoch_from(double raw, uint8_t selector)
{
	if (selector % 16 == 0 && !skip_known_bugs)
		return INFINITY;
	if (selector % 16 == 1 && !skip_known_bugs)
		return -INFINITY;
	if (!isfinite(raw))
		return 0;
	return EPOCH_MIN + fmod(fabs(raw), EPOCH_MAX - EPOCH_MIN);
}

static int
base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode the encoded words of an unfolded header value into out */
static void
decode_header_value(const char *value, StrBuf *out)
{
	const char *p = value;

	while (*p)
	{
		const char *start = strstr(p, "=?UTF-8?B?");
		const char *end;
		unsigned int acc = 0;
		int			bits = 0;

		if (start == NULL)
		{
			sb_append(out, p);
			return;
		}
		/* plain text between encoded words is only the folding white space */
		for (const char *q = p; q < start; q++)
			if (out->len == 0 || *q != ' ')
				sb_append_char(out, *q);
		start += strlen("=?UTF-8?B?");
		end = strstr(start, "?=");
		FUZZ_CHECK(end != NULL, "unterminated encoded word in \"%s\"", value);
		FUZZ_CHECK((end - start) % 4 == 0, "encoded word of bad length");
		for (const char *q = start; q < end; q++)
		{
			int			v;

			if (*q == '=')
				continue;
			v = base64_value(*q);
			FUZZ_CHECK(v >= 0, "invalid base64 character %02x", (unsigned char) *q);
			acc = (acc << 6) | (unsigned int) v;
			bits += 6;
			if (bits >= 8)
			{
				bits -= 8;
				sb_append_char(out, (char) ((acc >> bits) & 0xFF));
			}
		}
		p = end + 2;
		while (*p == ' ')
			p++;
	}
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Check decoded text: valid UTF-8, no controls except newline when allowed */
static void
check_decoded(const char *what, const StrBuf *text, bool newlines_allowed)
{
	FUZZ_CHECK(fuzz_valid_utf8((const uint8_t *) text->data, text->len),
			   "%s is not valid UTF-8", what);
	for (size_t i = 0; i < text->len; i++)
	{
		unsigned char c = (unsigned char) text->data[i];

		if (c == '\n' && newlines_allowed)
			continue;
		FUZZ_CHECK(c >= 0x20 && c != 0x7F, "%s contains control byte %02x", what, c);
		/* C1 controls are U+0080..U+009F, encoded C2 80..C2 9F */
		if (c == 0xC2 && i + 1 < text->len)
			FUZZ_CHECK((unsigned char) text->data[i + 1] > 0x9F,
					   "%s contains a C1 control", what);
	}
}

static void
check_message(const MailMessage *msg, int n_alerts)
{
	const char *text = msg->text.data;
	size_t		len = msg->text.len;
	const char *body;
	int			seen[sizeof(header_names) / sizeof(header_names[0])] = {0};
	StrBuf		subject;
	StrBuf		decoded_body;
	char	   *headers;
	char	   *line;
	char	   *save = NULL;
	bool		in_subject = false;
	bool		in_to = false;

	FUZZ_CHECK(strlen(text) == len, "message contains a NUL byte");
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) text[i];

		FUZZ_CHECK(c < 0x80, "non-ASCII byte %02x at %zu", c, i);
		if (c == '\r')
			FUZZ_CHECK(i + 1 < len && text[i + 1] == '\n', "bare CR at %zu", i);
		if (c == '\n')
			FUZZ_CHECK(i > 0 && text[i - 1] == '\r', "bare LF at %zu", i);
	}

	body = strstr(text, "\r\n\r\n");
	FUZZ_CHECK(body != NULL, "no end of the header section");
	headers = strndup(text, (size_t) (body - text) + 2);
	body += 4;

	sb_init(&subject);
	for (line = strtok_r(headers, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
	{
		size_t		line_len = strlen(line);
		int			h;

		FUZZ_CHECK(line_len <= 998, "header line of %zu characters", line_len);
		if (line[0] != ' ' && line[0] != '\t')
			in_to = strncmp(line, "To:", 3) == 0;

		/*
		 * The To header contains bare addresses, never encoded words, and "=?" is allowed
		 * in a local part
		 */
		if (strstr(line, "=?") != NULL && !in_to)
			FUZZ_CHECK(line_len <= 76, "encoded-word line of %zu characters: %s", line_len, line);
		if (line[0] == ' ' || line[0] == '\t')
		{
			if (in_subject)
				sb_append(&subject, line);
			continue;
		}
		in_subject = false;
		for (h = 0; header_names[h]; h++)
		{
			size_t		name_len = strlen(header_names[h]);

			if (strncmp(line, header_names[h], name_len) == 0 && line[name_len] == ':')
				break;
		}
		FUZZ_CHECK(header_names[h] != NULL, "unexpected header line \"%.80s\"", line);
		seen[h]++;
		if (strcmp(header_names[h], "Subject") == 0)
		{
			in_subject = true;
			sb_append(&subject, line + strlen("Subject: "));
		}
	}
	for (int h = 0; header_names[h]; h++)
	{
		bool		optional = strcmp(header_names[h], "X-Login-Anomaly-Alert-Count") == 0;

		FUZZ_CHECK(seen[h] == (optional ? (n_alerts > 1) : 1),
				   "header %s appears %d times", header_names[h], seen[h]);
	}
	free(headers);

	{
		StrBuf		decoded_subject;

		sb_init(&decoded_subject);
		decode_header_value(subject.data, &decoded_subject);
		check_decoded("subject", &decoded_subject, false);
		sb_free(&decoded_subject);
	}
	sb_free(&subject);

	/* Body: quoted-printable lines, each at most 76 characters */
	sb_init(&decoded_body);
	while (*body)
	{
		const char *eol = strstr(body, "\r\n");
		size_t		line_len;

		FUZZ_CHECK(eol != NULL, "body does not end with CRLF");
		line_len = (size_t) (eol - body);
		FUZZ_CHECK(line_len <= 76, "body line of %zu characters", line_len);
		FUZZ_CHECK(body[0] != '.', "body line starts with a dot");
		FUZZ_CHECK(strncmp(body, "From ", 5) != 0, "body line starts with From");
		for (size_t i = 0; i < line_len; i++)
		{
			if (body[i] == '=')
			{
				if (i + 1 == line_len)
					break;		/* soft line break */
				FUZZ_CHECK(i + 2 < line_len && hex_value(body[i + 1]) >= 0 &&
						   hex_value(body[i + 2]) >= 0, "invalid quoted-printable escape");
				sb_append_char(&decoded_body,
							   (char) (hex_value(body[i + 1]) * 16 + hex_value(body[i + 2])));
				i += 2;
			}
			else
				sb_append_char(&decoded_body, body[i]);
		}
		if (line_len == 0 || body[line_len - 1] != '=')
			sb_append_char(&decoded_body, '\n');
		body = eol + 2;
	}
	check_decoded("body", &decoded_body, true);
	sb_free(&decoded_body);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The mailer runs in UTC and switches TZ only around localtime_r */
	const char *skip = getenv("FUZZ_MAILER_SKIP_KNOWN");

	setenv("TZ", "UTC", 1);
	skip_known_bugs = skip != NULL && strcmp(skip, "1") == 0;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzCursor	c = {data, size};
	int64_t		alert_id = fuzz_i64(&c);
	double		login_ts = fuzz_f8(&c);
	double		created_at = fuzz_f8(&c);
	uint8_t		time_selector = fuzz_u8(&c);
	uint8_t		shape = fuzz_u8(&c);
	char	   *strings[S_COUNT] = {0};
	char	   *copy;
	char	   *p;
	char	   *end;
	MailerConfig cfg;
	AlertBatch	batch;
	Alert		alerts[MAX_ALERTS];
	MailMessage msg;
	char	   *error = NULL;
	char	   *to[] = {"security-team@example.com", "soc@example.org"};
	int			n_alerts = 1 + shape % MAX_ALERTS;
	int			n_reasons = (shape / MAX_ALERTS) % (MAX_REASONS + 1);
	bool		scoring_failed = (shape & 0x40) != 0;

	/* The remaining bytes, split at NUL; a missing string is SQL NULL */
	copy = malloc(c.size + 1);
	memcpy(copy, c.data, c.size);
	copy[c.size] = '\0';
	p = copy;
	end = copy + c.size;
	for (int i = 0; i < S_COUNT && p < end; i++)
	{
		strings[i] = p;
		p += strlen(p) + 1;
	}

	/* sanitize_text alone: output is valid UTF-8 of bounded size */
	for (int i = 0; i < S_COUNT; i++)
	{
		char	   *clean = sanitize_text(strings[i], 100);
		StrBuf		view = {clean, strlen(clean), strlen(clean) + 1};

		FUZZ_CHECK(strlen(clean) <= 103, "sanitize_text returned %zu bytes", strlen(clean));
		check_decoded("sanitized text", &view, false);
		free(clean);
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.from_address = "security-alerts@example.com";
	cfg.from_name = strings[S_FROM_NAME] ? sanitize_text(strings[S_FROM_NAME], 200) : NULL;
	if (cfg.from_name && skip_known_bugs)
	{
		for (char *q = cfg.from_name; *q; q++)
			if ((unsigned char) *q >= 0x80 || *q == '=')
				*q = '-';
	}
	if (cfg.from_name && cfg.from_name[0] == '\0')
	{
		free(cfg.from_name);
		cfg.from_name = NULL;
	}
	cfg.to = to;
	cfg.n_to = (shape & 0x80) ? 2 : 0;
	cfg.message_id_domain = "db1.example.com";

	/* a digest contains consecutive alert ids, and no id passes INT64_MAX */
	if (alert_id > INT64_MAX - n_alerts)
		alert_id = INT64_MAX - n_alerts;
	for (int a = 0; a < n_alerts; a++)
	{
		Alert	   *alert = &alerts[a];

		memset(alert, 0, sizeof(*alert));
		alert->alert_id = alert_id + a;
		alert->kind = scoring_failed ? "scoring_failed" : "anomaly";
		alert->user_id = strings[S_USER_ID] ? strings[S_USER_ID] : "";
		alert->has_login_ts = (time_selector & 0x80) == 0;
		alert->login_ts = epoch_from(login_ts, time_selector);
		alert->created_at = epoch_from(created_at, time_selector >> 4);
		alert->ip = strings[S_IP];
		alert->network = strings[S_NETWORK];
		alert->country = strings[S_COUNTRY];
		alert->region = strings[S_REGION];
		alert->city = strings[S_CITY];
		alert->user_agent = strings[S_USER_AGENT];
		alert->browser = strings[S_BROWSER];
		alert->os = strings[S_OS];
		alert->device = strings[S_DEVICE];
		alert->score = strings[S_SCORE];
		alert->threshold = strings[S_THRESHOLD];
		alert->risk = strings[S_RISK];
		alert->error = strings[S_ERROR];
		alert->reasons = &strings[S_REASON0];
		alert->n_reasons = n_reasons;
		for (int r = 0; r < n_reasons; r++)
			if (strings[S_REASON0 + r] == NULL)
				strings[S_REASON0 + r] = "";
	}
	batch.alerts = alerts;
	batch.n_alerts = n_alerts;
	batch.user_address = strings[S_USER_ADDRESS];
	batch.user_timezone = strings[S_TIMEZONE];

	if (message_compose(&cfg, &batch, &msg, &error))
	{
		FUZZ_CHECK(msg.n_recipients >= 1, "a message without recipients");
		for (int i = 0; i < msg.n_recipients; i++)
			FUZZ_CHECK(address_is_valid(msg.recipients[i]), "invalid recipient %s",
					   msg.recipients[i]);
		check_message(&msg, n_alerts);
		message_free(&msg);
	}
	else
	{
		FUZZ_CHECK(error != NULL, "message_compose failed without a reason");
		FUZZ_CHECK(cfg.n_to == 0, "message_compose failed with fixed recipients: %s", error);
		free(error);
	}
	free(cfg.from_name);
	free(copy);
	return 0;
}

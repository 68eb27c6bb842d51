/*
 * uap_match.c
 *		Apply the compiled uap-core rules to a user agent and fill a
 *		UapResult, with $1..$9 in replacement strings standing for capture
 *		groups.
 *
 * regexes.yaml has three lists of rules (user_agent_parsers, os_parsers,
 * device_parsers).  For each list the first rule whose regex matches and
 * yields a non-empty family wins, and its replacement strings, with $1..$9
 * standing for capture groups, override the captured values.  Where the
 * specification leaves a detail open (empty captures, which group counts
 * as "present", trimming), this file does what python3-ua-parser 0.16 does,
 * because that parser passes uap-core's test files and the specification
 * alone does not settle them:
 *
 * - user agent: family_replacement and v1..v3_replacement are expanded but
 *   not trimmed.  A version comes from group N only when Python's
 *   match.lastindex is at least N, and an empty version becomes NULL.
 * - OS: replacements are expanded, trimmed, and NULL when empty.  Versions
 *   from groups are returned as captured, so an empty capture stays "".
 * - device: replacements as for OS.  Without model_replacement the model is
 *   group 1, and without brand_replacement the brand is NULL.
 *
 * The rules come from uap_load.c, and uap_prefilter.c marks beforehand the
 * rules that cannot match.  uap_cache.c keeps recent results of uap_parse.
 */
#include "uap_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The first output field that each list fills, and how many */
static const int first_field[UAP_NKINDS] = {UAP_UA_FAMILY, UAP_OS_FAMILY, UAP_DEVICE_FAMILY};
static const int nfields[UAP_NKINDS] = {4, 5, 3};

const char *const uap_field_names[UAP_NFIELDS] = {
	"ua_family", "ua_major", "ua_minor", "ua_patch",
	"os_family", "os_major", "os_minor", "os_patch", "os_patch_minor",
	"device_family", "device_brand", "device_model"
};

/* A successful match, as the replacement code reads it */
typedef struct UapMatch
{
	const char *subject;
	const PCRE2_SIZE *ovector;
	int			nset;			/* pcre2_match's return: highest set group + 1 */
	uint32_t	ncaptures;		/* capture groups in the pattern */
	int			lastindex;		/* Python's match.lastindex, 0 for None */
} UapMatch;

/* ---------------------------------------------------------------------
 * Results
 * ---------------------------------------------------------------------
 */

void
uap_result_init(UapResult *result)
{
	memset(result, 0, sizeof(UapResult));
	for (int i = 0; i < UAP_NFIELDS; i++)
		result->offset[i] = -1;
}

void
uap_result_free(UapResult *result)
{
	free(result->data);
	uap_result_init(result);
}

static void
result_reset(UapResult *result)
{
	result->data_len = 0;
	for (int i = 0; i < UAP_NFIELDS; i++)
		result->offset[i] = -1;
}

/* Make room for extra more bytes, returning false when memory runs out */
static bool
result_reserve(UapResult *result, size_t extra)
{
	size_t		cap;
	char	   *data;

	if (result->data_len + extra <= result->data_cap)
		return true;
	cap = result->data_cap ? result->data_cap : 256;
	while (cap < result->data_len + extra)
		cap *= 2;
	data = realloc(result->data, cap);
	if (data == NULL)
		return false;
	result->data = data;
	result->data_cap = cap;
	return true;
}

/* Set a field to len bytes of s, or to NULL when s is NULL */
static bool
result_set(UapResult *result, int field, const char *s, size_t len)
{
	if (s == NULL)
	{
		result->offset[field] = -1;
		return true;
	}
	if (!result_reserve(result, len + 1))
		return false;
	memcpy(result->data + result->data_len, s, len);
	result->data[result->data_len + len] = '\0';
	result->offset[field] = (int) result->data_len;
	result->data_len += len + 1;
	return true;
}

/* ---------------------------------------------------------------------
 * Matching and replacement
 * ---------------------------------------------------------------------
 */

/* Group i of a match: false when the group did not take part */
static bool
match_group(const UapMatch *m, uint32_t i, const char **start, size_t *len)
{
	if (i > m->ncaptures || (int) i >= m->nset ||
		m->ovector[2 * i] == PCRE2_UNSET)
		return false;
	*start = m->subject + m->ovector[2 * i];
	*len = m->ovector[2 * i + 1] - m->ovector[2 * i];
	return true;
}

/*
 * Compute Python's match.lastindex, the group closed last in the match.
 * That is the group with the greatest end offset.  Of two groups ending at
 * the same offset, an enclosing group closes after the group inside it,
 * and an empty group starting where the other ends closes after it.
 */
static int
python_lastindex(const UapMatch *m)
{
	int			best = 0;
	PCRE2_SIZE	best_start = 0;
	PCRE2_SIZE	best_end = 0;

	for (int i = 1; i < m->nset; i++)
	{
		PCRE2_SIZE	start = m->ovector[2 * i];
		PCRE2_SIZE	end = m->ovector[2 * i + 1];

		if (start == PCRE2_UNSET)
			continue;
		if (best == 0 || end > best_end ||
			(end == best_end && start >= best_end && start > best_start))
		{
			best = i;
			best_start = start;
			best_end = end;
		}
	}
	return best;
}

/*
 * Expand $1..$9 in template into the end of result->data and point field
 * at it.  A group that did not take part expands to nothing.  With trim,
 * leading and trailing whitespace is removed and an empty value becomes
 * NULL, as the specification requires for device fields and Python does
 * for OS fields.
 */
static bool
result_expand(UapResult *result, int field, const char *template,
			  const UapMatch *m, bool trim)
{
	size_t		start = result->data_len;
	size_t		end;
	size_t		first;

	for (const char *p = template; *p; p++)
	{
		const char *piece = p;
		size_t		piece_len = 1;

		if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
		{
			if (!match_group(m, (uint32_t) (p[1] - '0'), &piece, &piece_len) || p[1] == '0')
				piece_len = 0;
			p++;
		}
		if (!result_reserve(result, piece_len + 1))
			return false;
		memcpy(result->data + result->data_len, piece, piece_len);
		result->data_len += piece_len;
	}
	if (!result_reserve(result, 1))
		return false;

	end = result->data_len;
	first = start;
	if (trim)
	{
		while (first < end && isspace((unsigned char) result->data[first]))
			first++;
		while (end > first && isspace((unsigned char) result->data[end - 1]))
			end--;
		if (end == first)
		{
			result->data_len = start;
			result->offset[field] = -1;
			return true;
		}
	}
	result->data[end] = '\0';
	result->data_len = end + 1;
	result->offset[field] = (int) first;
	return true;
}

/* Set field to group i, or NULL when it did not take part (or empty_is_null) */
static bool
result_group(UapResult *result, int field, const UapMatch *m, uint32_t i,
			 bool empty_is_null)
{
	const char *s;
	size_t		len;

	if (!match_group(m, i, &s, &len) || (empty_is_null && len == 0))
		return result_set(result, field, NULL, 0);
	return result_set(result, field, s, len);
}

/*
 * Fill the fields of one list from a matching rule.  Returns false when
 * memory runs out.  *accepted is set when the rule gave a non-empty family,
 * because a rule that matches with an empty family does not end the search.
 */
static bool
apply_rule(UapKind kind, const UapRule *rule, const UapMatch *m,
		   UapResult *result, bool *accepted)
{
	int			base = first_field[kind];
	bool		ok = true;

	*accepted = false;
	if (kind == UAP_KIND_UA)
	{
		if (rule->replacement[0])
			ok = result_expand(result, base, rule->replacement[0], m, false);
		else
			ok = result_group(result, base, m, 1, true);
		if (!ok || result->offset[base] < 0 || result->data[result->offset[base]] == '\0')
			return ok;
		for (int v = 1; v < 4 && ok; v++)
		{
			if (rule->replacement[v])
			{
				ok = result_expand(result, base + v, rule->replacement[v], m, false);
				if (ok && result->offset[base + v] >= 0 &&
					result->data[result->offset[base + v]] == '\0')
					result->offset[base + v] = -1;
			}
			else if (m->lastindex >= v + 1)
				ok = result_group(result, base + v, m, v + 1, true);
		}
	}
	else if (kind == UAP_KIND_OS)
	{
		if (rule->replacement[0])
			ok = result_expand(result, base, rule->replacement[0], m, true);
		else if (m->lastindex > 0)
			ok = result_group(result, base, m, 1, false);
		if (!ok || result->offset[base] < 0 || result->data[result->offset[base]] == '\0')
			return ok;
		for (int v = 1; v < 5 && ok; v++)
		{
			if (rule->replacement[v])
				ok = result_expand(result, base + v, rule->replacement[v], m, true);
			else if (m->lastindex >= v + 1)
				ok = result_group(result, base + v, m, v + 1, false);
		}
	}
	else
	{
		if (rule->replacement[0])
			ok = result_expand(result, base, rule->replacement[0], m, true);
		else
			ok = result_group(result, base, m, 1, false);
		if (!ok || result->offset[base] < 0 || result->data[result->offset[base]] == '\0')
			return ok;
		if (ok && rule->replacement[1])
			ok = result_expand(result, base + 1, rule->replacement[1], m, true);
		if (ok && rule->replacement[2])
			ok = result_expand(result, base + 2, rule->replacement[2], m, true);
		else if (ok && m->ncaptures > 0)
			ok = result_group(result, base + 2, m, 1, false);
	}
	*accepted = ok;
	return ok;
}

/* Run one list of rules over the subject and fill its fields */
static bool
parse_kind(UapParser *parser, UapKind kind, const char *subject, size_t len,
		   UapResult *result, char *errbuf, size_t errlen)
{
	int			base = first_field[kind];

	for (int i = 0; i < parser->nrules[kind]; i++)
	{
		UapRule    *rule = &parser->rules[kind][i];
		UapMatch	m;
		size_t		mark = result->data_len;
		bool		accepted;
		int			rc;

		if (parser->pf_rule_ok != NULL && !parser->pf_rule_ok[rule->pf_id])
			continue;
		if (rule->code == NULL && !uap_compile_rule(parser, rule, errbuf, errlen))
			return false;

		rc = pcre2_match(rule->code, (PCRE2_SPTR) subject, len, 0, 0,
						 parser->match_data, parser->match_context);
		if (rc <= 0)
		{
			/* a limit or JIT stack error counts as no match */
			if (rc != PCRE2_ERROR_NOMATCH)
				parser->nlimit_hits++;
			continue;
		}

		m.subject = subject;
		m.ovector = pcre2_get_ovector_pointer(parser->match_data);
		m.nset = rc;
		m.ncaptures = rule->ncaptures;
		m.lastindex = python_lastindex(&m);

		if (!apply_rule(kind, rule, &m, result, &accepted))
		{
			uap_set_error(errbuf, errlen, "out of memory");
			return false;
		}
		if (accepted)
			return true;

		/* discard what the rejected rule wrote and try the next one */
		result->data_len = mark;
		for (int f = base; f < base + nfields[kind]; f++)
			result->offset[f] = -1;
	}

	/* no rule matched: the family is "Other" and the rest is missing */
	if (!result_set(result, base, "Other", 5))
	{
		uap_set_error(errbuf, errlen, "out of memory");
		return false;
	}
	return true;
}

/* Cut len to at most max bytes without splitting a UTF-8 character */
size_t
uap_clip_length(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	/* back up over continuation bytes (at most three) */
	for (int i = 0; i < 3 && len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80; i++)
		len--;
	return len;
}

bool
uap_parse(UapParser *parser, const char *ua, size_t len,
		  UapResult *result, char *errbuf, size_t errlen)
{
	result_reset(result);
	if (ua == NULL)
		ua = "";
	len = uap_clip_length(ua, len, UAP_MAX_INPUT_LEN);
	if (parser->pf_rule_ok != NULL)
		uap_prefilter_scan(parser, ua, len);

	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		if (!parse_kind(parser, kind, ua, len, result, errbuf, errlen))
			return false;
	}
	return true;
}

/*
 * uap_prefilter.c
 *		The literal prefilter of the uap-core user-agent parser: skip the
 *		rules whose required strings are absent from the user agent.
 *
 * Most rules can only match a user agent that contains one of a few
 * literal strings ("Googlebot", "Kindle", "build/"): a rule's required set.
 * At load, the pattern text is walked once to find such a set.  At parse
 * time, one pass over the lowercased user agent finds which literals
 * occur, and a rule none of whose literals occurs is skipped without
 * calling PCRE2.  A rule for which no set is found (or
 * whose best literal is shorter than three bytes) is always run.
 *
 * Literals are compared in ASCII lowercase, which is necessary for a
 * case-sensitive match and for a caseless one.  Patterns with non-ASCII
 * bytes, \Q...\E or the x flag get no set.  NOTE: in caseless UTF mode
 * PCRE2 also matches "k" against U+212A and "s" against U+017F; a caseless
 * rule is therefore always run on a user agent with non-ASCII bytes.
 *
 * uap_load.c builds the prefilter after reading the rules, and uap_parse
 * (uap_match.c) scans each user agent with it before running the rules.
 * On uap-core's test corpus it makes a cold parse about 9 times faster.
 */
#include "uap_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PF_MAX_SET 400			/* more literals than this: no set */
#define PF_MIN_LEN 3			/* shortest literal worth a lookup */

/* A required set: every match contains one of lits, unless any is set */
typedef struct PfSet
{
	bool		any;
	int			n;
	char	  **lits;
} PfSet;

typedef struct PfCursor
{
	const char *p;
	const char *end;
	bool		give_up;		/* the pattern uses syntax the walk skips */
} PfCursor;

static void
pf_set_free(PfSet *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->lits[i]);
	free(s->lits);
	s->lits = NULL;
	s->n = 0;
}

static PfSet
pf_any(void)
{
	PfSet		s = {true, 0, NULL};

	return s;
}

static PfSet
pf_literal(const char *buf, size_t len)
{
	PfSet		s = {false, 1, NULL};

	s.lits = malloc(sizeof(char *));
	if (s.lits == NULL || (s.lits[0] = uap_dup_bytes(buf, len)) == NULL)
	{
		free(s.lits);
		return pf_any();
	}
	return s;
}

static size_t
pf_min_len(const PfSet *s)
{
	size_t		m = SIZE_MAX;

	for (int i = 0; i < s->n; i++)
	{
		size_t		l = strlen(s->lits[i]);

		if (l < m)
			m = l;
	}
	return s->n ? m : 0;
}

/* Keep the better of two candidate sets for a sequence, freeing the other */
static PfSet
pf_better(PfSet a, PfSet b)
{
	size_t		la,
				lb;

	if (a.any)
		return b;
	if (b.any)
		return a;
	la = pf_min_len(&a);
	lb = pf_min_len(&b);
	if (lb > la || (lb == la && b.n < a.n))
	{
		pf_set_free(&a);
		return b;
	}
	pf_set_free(&b);
	return a;
}

/* Union of two alternatives' sets: unknown if either is unknown */
static PfSet
pf_union(PfSet a, PfSet b)
{
	char	  **lits;

	if (a.any || b.any || a.n + b.n > PF_MAX_SET)
	{
		pf_set_free(&a);
		pf_set_free(&b);
		return pf_any();
	}
	lits = realloc(a.lits, (a.n + b.n) * sizeof(char *));
	if (lits == NULL)
	{
		pf_set_free(&a);
		pf_set_free(&b);
		return pf_any();
	}
	memcpy(lits + a.n, b.lits, b.n * sizeof(char *));
	a.lits = lits;
	a.n += b.n;
	free(b.lits);
	return a;
}

/*
 * Read a quantifier at the cursor, if any, and return its minimum count,
 * or -1 when there is none.
 */
static int
pf_quantifier(PfCursor *c)
{
	int			min = 1;

	if (c->p >= c->end)
		return -1;
	if (*c->p == '?' || *c->p == '*')
	{
		min = 0;
		c->p++;
	}
	else if (*c->p == '+')
	{
		min = 1;
		c->p++;
	}
	else if (*c->p == '{')
	{
		const char *q = c->p + 1;
		int			n = 0;

		if (q >= c->end || !isdigit((unsigned char) *q))
			return -1;			/* "{" that is not a quantifier is literal */
		while (q < c->end && isdigit((unsigned char) *q))
			n = n * 10 + (*q++ - '0');
		if (q < c->end && *q == ',')
		{
			q++;
			while (q < c->end && isdigit((unsigned char) *q))
				q++;
		}
		if (q >= c->end || *q != '}')
			return -1;
		c->p = q + 1;
		min = n;
	}
	else
		return -1;
	/* lazy or possessive suffix */
	if (c->p < c->end && (*c->p == '?' || *c->p == '+'))
		c->p++;
	return min;
}

/*
 * Skip a character class starting at '['.  Returns the lowercase letter it
 * stands for when it only lists case variants of one letter ([Bb]), else 0.
 */
static char
pf_class(PfCursor *c)
{
	char		letter = 0;
	bool		single = true;

	c->p++;						/* '[' */
	if (c->p < c->end && *c->p == '^')
	{
		single = false;
		c->p++;
	}
	if (c->p < c->end && *c->p == ']')
	{
		single = false;
		c->p++;
	}
	while (c->p < c->end && *c->p != ']')
	{
		if (*c->p == '[' && c->p + 1 < c->end && c->p[1] == ':')
		{
			const char *close = strstr(c->p + 2, ":]");

			single = false;
			if (close == NULL || close >= c->end)
			{
				c->give_up = true;
				return 0;
			}
			c->p = close + 2;
			continue;
		}
		if (*c->p == '\\')
		{
			single = false;
			c->p += 2;
			continue;
		}
		if (isalpha((unsigned char) *c->p))
		{
			char		l = (char) tolower((unsigned char) *c->p);

			if (letter != 0 && letter != l)
				single = false;
			letter = l;
		}
		else
			single = false;
		c->p++;
	}
	if (c->p >= c->end)
	{
		c->give_up = true;
		return 0;
	}
	c->p++;						/* ']' */
	return single ? letter : 0;
}

static PfSet pf_alternation(PfCursor *c);

/*
 * Walk a group starting at '(' and return the required set it adds to the
 * enclosing sequence.  A lookaround, an optional group and a group that only
 * sets flags, such as (?i), add none (the set is any), and neither does a
 * group on which the walk gives up.
 */
static PfSet
pf_group(PfCursor *c)
{
	PfSet		inner;
	bool		lookaround = false;

	c->p++;
	if (c->p < c->end && *c->p == '?')
	{
		const char *q = c->p + 1;

		if (q < c->end && (*q == ':' || *q == '>' || *q == '|'))
			c->p = q + 1;
		else if (q < c->end && (*q == '=' || *q == '!'))
		{
			lookaround = true;
			c->p = q + 1;
		}
		else if (q + 1 < c->end && *q == '<' && (q[1] == '=' || q[1] == '!'))
		{
			lookaround = true;
			c->p = q + 2;
		}
		else
		{
			/* inline flags such as (?i) or (?i:...); x changes the syntax */
			while (q < c->end && (isalpha((unsigned char) *q) || *q == '-'))
			{
				if (*q == 'x')
					c->give_up = true;
				q++;
			}
			if (q >= c->end || c->give_up || (*q != ')' && *q != ':'))
			{
				c->give_up = true;
				return pf_any();
			}
			c->p = q + 1;
			if (*q == ')')
				return pf_any();
		}
	}
	inner = pf_alternation(c);
	if (c->p >= c->end || *c->p != ')')
	{
		pf_set_free(&inner);
		c->give_up = true;
		return pf_any();
	}
	c->p++;
	if (pf_quantifier(c) == 0 || lookaround)
	{
		pf_set_free(&inner);
		return pf_any();
	}
	return inner;
}

/*
 * Read an escape starting at '\' and return the literal character it
 * matches, lowercased, or 0 when it is not one literal character.
 * *zero_width is set for an assertion such as \b.
 */
static char
pf_escape(PfCursor *c, bool *zero_width)
{
	char		e;

	if (c->p + 1 >= c->end)
	{
		c->give_up = true;
		return 0;
	}
	e = c->p[1];
	c->p += 2;
	if (e == 'Q' || e == 'x' || e == 'c' || e == 'o' || e == 'p' ||
		e == 'P' || e == 'g' || e == 'k' || e == 'N')
	{
		/* escapes with arguments are not walked */
		c->give_up = true;
		return 0;
	}
	if (!isalnum((unsigned char) e))
		return (char) tolower((unsigned char) e);
	if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'Z' || e == 'G')
		*zero_width = true;
	return 0;
}

/* State of the walk over one alternative */
typedef struct PfSequence
{
	PfSet		best;			/* best required set found so far */
	char		run[256];		/* consecutive literal characters just read */
	size_t		runlen;
} PfSequence;

/* End the current run of literals, keeping it when it beats the best set */
static void
pf_flush_run(PfSequence *seq)
{
	if (seq->runlen > 0)
		seq->best = pf_better(seq->best, pf_literal(seq->run, seq->runlen));
	seq->runlen = 0;
}

/*
 * Add an item to the run: lit is its literal character (0 for none) and
 * min_count the minimum count of its quantifier (-1 for none).  A repeated
 * literal ends the run, because "ab+c" only guarantees "ab" and "c".
 */
static void
pf_add_item(PfSequence *seq, char lit, int min_count)
{
	if (lit != 0 && min_count != 0 && seq->runlen < sizeof(seq->run))
	{
		seq->run[seq->runlen++] = lit;
		if (min_count > 0)
			pf_flush_run(seq);
	}
	else
		pf_flush_run(seq);
}

/* Walk one alternative (up to '|', ')' or the end) */
static PfSet
pf_sequence(PfCursor *c)
{
	PfSequence	seq;

	seq.best = pf_any();
	seq.runlen = 0;

	while (c->p < c->end && !c->give_up && *c->p != '|' && *c->p != ')')
	{
		unsigned char ch = (unsigned char) *c->p;
		char		lit = 0;	/* the literal character of this item, if any */

		if (ch >= 0x80)
		{
			c->give_up = true;
			break;
		}
		if (ch == '(')
		{
			pf_flush_run(&seq);
			seq.best = pf_better(seq.best, pf_group(c));
			continue;
		}
		else if (ch == '[')
		{
			lit = pf_class(c);
			if (c->give_up)
				break;
		}
		else if (ch == '\\')
		{
			bool		zero_width = false;

			lit = pf_escape(c, &zero_width);
			if (c->give_up)
				break;
			/* the run of literals around an assertion stays joined */
			if (zero_width)
				continue;
		}
		else if (ch == '^' || ch == '$')
		{
			c->p++;
			continue;
		}
		else if (ch == '.')
			c->p++;
		else
		{
			lit = (char) tolower(ch);
			c->p++;
		}

		/* the item just read may carry a quantifier */
		pf_add_item(&seq, lit, pf_quantifier(c));
	}
	pf_flush_run(&seq);
	return seq.best;
}

static PfSet
pf_alternation(PfCursor *c)
{
	PfSet		all = pf_sequence(c);

	while (!c->give_up && c->p < c->end && *c->p == '|')
	{
		c->p++;
		all = pf_union(all, pf_sequence(c));
	}
	return all;
}

/* Find the required set of a pattern; any when none is known */
static PfSet
pf_required_set(const char *pattern, size_t len)
{
	PfCursor	c = {pattern, pattern + len, false};
	PfSet		s = pf_alternation(&c);

	if (c.give_up || c.p != c.end || s.any || pf_min_len(&s) < PF_MIN_LEN)
	{
		pf_set_free(&s);
		return pf_any();
	}
	return s;
}

/* One (literal, rule) pair while the table is built */
typedef struct PfPair
{
	char	   *lit;
	int			rule;
} PfPair;

static int
pf_pair_cmp(const void *a, const void *b)
{
	const PfPair *x = a;
	const PfPair *y = b;
	int			c = strcmp(x->lit, y->lit);

	return c ? c : (x->rule > y->rule) - (x->rule < y->rule);
}

#define PF_NBUCKETS 4096

static uint32_t
pf_trigram_bucket(const char *s)
{
	uint32_t	t = ((uint32_t) (unsigned char) s[0] << 16) |
		((uint32_t) (unsigned char) s[1] << 8) | (unsigned char) s[2];

	return (t * 2654435761u) >> 20;
}

/*
 * Build the prefilter over all rules.  Returns false only when memory runs
 * out; a rule without a required set is simply always run.
 */
bool
uap_prefilter_build(UapParser *parser)
{
	PfPair	   *pairs = NULL;
	int			npairs = 0;
	int			cap = 0;
	int			nrules = 0;
	int			nlits = 0;
	bool		ok = false;

	for (int kind = 0; kind < UAP_NKINDS; kind++)
		nrules += parser->nrules[kind];
	parser->pf_nrules = nrules;
	parser->pf_template = calloc(nrules ? nrules : 1, 1);
	parser->pf_rule_ok = calloc(nrules ? nrules : 1, 1);
	parser->pf_caseless = calloc(nrules ? nrules : 1, 1);
	if (!parser->pf_template || !parser->pf_rule_ok || !parser->pf_caseless)
		return false;

	for (int kind = 0, id = 0; kind < UAP_NKINDS; kind++)
	{
		for (int i = 0; i < parser->nrules[kind]; i++, id++)
		{
			UapRule    *rule = &parser->rules[kind][i];
			PfSet		set = pf_required_set(rule->pattern, rule->pattern_len);

			rule->pf_id = id;
			parser->pf_caseless[id] = (rule->compile_options & PCRE2_CASELESS) != 0 ||
				strstr(rule->pattern, "(?i") != NULL;
			if (set.any)
			{
				parser->pf_template[id] = 1;
				continue;
			}
			parser->pf_nfiltered++;
			for (int l = 0; l < set.n; l++)
			{
				if (npairs == cap)
				{
					PfPair	   *grown;

					cap = cap ? cap * 2 : 1024;
					grown = realloc(pairs, cap * sizeof(PfPair));
					if (grown == NULL)
					{
						pf_set_free(&set);
						goto done;
					}
					pairs = grown;
				}
				pairs[npairs].lit = set.lits[l];
				pairs[npairs].rule = id;
				set.lits[l] = NULL;
				npairs++;
			}
			free(set.lits);
		}
	}

	qsort(pairs, npairs, sizeof(PfPair), pf_pair_cmp);

	/* distinct literals, each with the rules that need it */
	parser->pf_lits = calloc(npairs ? npairs : 1, sizeof(char *));
	parser->pf_lit_len = calloc(npairs ? npairs : 1, sizeof(int));
	parser->pf_lit_rules_start = calloc(npairs + 1, sizeof(int));
	parser->pf_lit_rules = calloc(npairs ? npairs : 1, sizeof(int));
	parser->pf_bucket_start = calloc(PF_NBUCKETS + 1, sizeof(int));
	parser->pf_bucket_lits = calloc(npairs ? npairs : 1, sizeof(int));
	if (!parser->pf_lits || !parser->pf_lit_len || !parser->pf_lit_rules_start ||
		!parser->pf_lit_rules || !parser->pf_bucket_start || !parser->pf_bucket_lits)
		goto done;
	for (int i = 0; i < npairs; i++)
	{
		if (nlits == 0 || strcmp(parser->pf_lits[nlits - 1], pairs[i].lit) != 0)
		{
			parser->pf_lits[nlits] = pairs[i].lit;
			parser->pf_lit_len[nlits] = (int) strlen(pairs[i].lit);
			parser->pf_lit_rules_start[nlits] = i;
			nlits++;
		}
		else
			free(pairs[i].lit);
		pairs[i].lit = NULL;
		parser->pf_lit_rules[i] = pairs[i].rule;
	}
	parser->pf_lit_rules_start[nlits] = npairs;
	parser->pf_nlits = nlits;
	parser->pf_lit_seen = calloc(nlits ? nlits : 1, 1);
	if (parser->pf_lit_seen == NULL)
		goto done;

	/* bucket the literals by the hash of their first three bytes */
	for (int l = 0; l < nlits; l++)
		parser->pf_bucket_start[pf_trigram_bucket(parser->pf_lits[l]) + 1]++;
	for (int b = 0; b < PF_NBUCKETS; b++)
		parser->pf_bucket_start[b + 1] += parser->pf_bucket_start[b];
	{
		int		   *fill = calloc(PF_NBUCKETS, sizeof(int));

		if (fill == NULL)
			goto done;
		for (int l = 0; l < nlits; l++)
		{
			uint32_t	b = pf_trigram_bucket(parser->pf_lits[l]);

			parser->pf_bucket_lits[parser->pf_bucket_start[b] + fill[b]++] = l;
		}
		free(fill);
	}
	ok = true;

done:
	if (pairs != NULL)
	{
		for (int i = 0; i < npairs; i++)
			free(pairs[i].lit);
		free(pairs);
	}
	return ok;
}

void
uap_prefilter_free(UapParser *parser)
{
	for (int l = 0; l < parser->pf_nlits; l++)
		free(parser->pf_lits[l]);
	free(parser->pf_lits);
	free(parser->pf_lit_len);
	free(parser->pf_lit_rules_start);
	free(parser->pf_lit_rules);
	free(parser->pf_bucket_start);
	free(parser->pf_bucket_lits);
	free(parser->pf_lit_seen);
	free(parser->pf_template);
	free(parser->pf_rule_ok);
	free(parser->pf_caseless);
}

/* Mark in pf_rule_ok the rules that may match this subject */
void
uap_prefilter_scan(UapParser *parser, const char *subject, size_t len)
{
	char		lower[UAP_MAX_INPUT_LEN];
	bool		non_ascii = false;

	memcpy(parser->pf_rule_ok, parser->pf_template, parser->pf_nrules);
	memset(parser->pf_lit_seen, 0, parser->pf_nlits);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) subject[i];

		if (ch >= 0x80)
			non_ascii = true;
		lower[i] = (char) ((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
	}

	for (size_t p = 0; p + PF_MIN_LEN <= len; p++)
	{
		uint32_t	b = pf_trigram_bucket(lower + p);

		for (int k = parser->pf_bucket_start[b]; k < parser->pf_bucket_start[b + 1]; k++)
		{
			int			l = parser->pf_bucket_lits[k];
			int			ll = parser->pf_lit_len[l];

			if (parser->pf_lit_seen[l] || (size_t) ll > len - p ||
				memcmp(lower + p, parser->pf_lits[l], ll) != 0)
				continue;
			parser->pf_lit_seen[l] = 1;
			for (int r = parser->pf_lit_rules_start[l]; r < parser->pf_lit_rules_start[l + 1]; r++)
				parser->pf_rule_ok[parser->pf_lit_rules[r]] = 1;
		}
	}

	if (non_ascii)
	{
		for (int r = 0; r < parser->pf_nrules; r++)
		{
			if (parser->pf_caseless[r])
				parser->pf_rule_ok[r] = 1;
		}
	}
}

/*
 * Count the rules that the prefilter would skip on this user agent but
 * whose regex matches it; any such rule is a prefilter bug.  For tests and
 * fuzzing: it runs every regex, so it is slow.  Returns -1 on error.
 */
int
uap_prefilter_misses(UapParser *parser, const char *ua, size_t len)
{
	int			misses = 0;
	char		errbuf[256];

	if (parser->pf_rule_ok == NULL)
		return 0;
	if (ua == NULL)
		ua = "";
	len = uap_clip_length(ua, len, UAP_MAX_INPUT_LEN);
	uap_prefilter_scan(parser, ua, len);

	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		for (int i = 0; i < parser->nrules[kind]; i++)
		{
			UapRule    *rule = &parser->rules[kind][i];

			if (parser->pf_rule_ok[rule->pf_id])
				continue;
			if (rule->code == NULL && !uap_compile_rule(parser, rule, errbuf, sizeof(errbuf)))
				return -1;
			if (pcre2_match(rule->code, (PCRE2_SPTR) ua, len, 0, 0,
							parser->match_data, parser->match_context) > 0)
				misses++;
		}
	}
	return misses;
}

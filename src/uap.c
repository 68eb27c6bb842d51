/*
 * uap.c
 *		The uap-core user-agent parser: load regexes.yaml with libyaml,
 *		compile its rules with PCRE2 and apply them to a user agent.
 *
 * The file has three lists of rules (user_agent_parsers, os_parsers,
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
 * Regexes are compiled with PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, so any
 * byte string can be matched and invalid sequences simply never match.
 * NOTE: PCRE2_UCP is not set, so \d, \w and \s match ASCII only, where
 * Python's re matches any Unicode digit, word or space character.  No
 * test case depends on that.
 *
 * A literal prefilter (see "Literal prefilter" below) skips the rules whose
 * required strings are absent from the user agent, which makes a cold parse
 * about 9 times faster on uap-core's test corpus.  A bounded LRU cache
 * (UapCache) keeps recent results.
 *
 * Memory is malloc'd and owned by the UapParser.  One match data block and
 * one JIT stack are reused by every match, so a parser must be used by one
 * thread at a time.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "uap.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>
#include <yaml.h>

/* The three rule lists of regexes.yaml */
typedef enum UapKind
{
	UAP_KIND_UA = 0,
	UAP_KIND_OS,
	UAP_KIND_DEVICE,
	UAP_NKINDS
} UapKind;

#define UAP_MAX_REPLACEMENTS 5

static const char *const list_names[UAP_NKINDS] = {
	"user_agent_parsers", "os_parsers", "device_parsers"
};

/* Replacement keys of each list, in the order of the fields they fill */
static const char *const replacement_keys[UAP_NKINDS][UAP_MAX_REPLACEMENTS] = {
	{"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", NULL},
	{"os_replacement", "os_v1_replacement", "os_v2_replacement",
	"os_v3_replacement", "os_v4_replacement"},
	{"device_replacement", "brand_replacement", "model_replacement", NULL, NULL}
};

/* The first output field that each list fills, and how many */
static const int first_field[UAP_NKINDS] = {UAP_UA_FAMILY, UAP_OS_FAMILY, UAP_DEVICE_FAMILY};
static const int nfields[UAP_NKINDS] = {4, 5, 3};

const char *const uap_field_names[UAP_NFIELDS] = {
	"ua_family", "ua_major", "ua_minor", "ua_patch",
	"os_family", "os_major", "os_minor", "os_patch", "os_patch_minor",
	"device_family", "device_brand", "device_model"
};

typedef struct UapRule
{
	char	   *pattern;
	size_t		pattern_len;
	uint32_t	compile_options;
	pcre2_code *code;			/* NULL until compiled */
	uint32_t	ncaptures;
	char	   *replacement[UAP_MAX_REPLACEMENTS];	/* NULL when absent or "" */
	int			pf_id;			/* index in the prefilter's rule arrays */
} UapRule;

struct UapParser
{
	UapRule    *rules[UAP_NKINDS];
	int			nrules[UAP_NKINDS];
	UapOptions	options;
	pcre2_match_context *match_context;
	pcre2_jit_stack *jit_stack;
	pcre2_match_data *match_data;
	uint32_t	match_pairs;	/* ovector pairs in match_data */
	int			ncompiled;
	int			njit;
	long		nlimit_hits;

	/* literal prefilter, see pf_build; all NULL when not used */
	int			pf_nrules;
	int			pf_nfiltered;	/* rules with a required set */
	int			pf_nlits;
	char	  **pf_lits;		/* distinct lowercase literals, sorted */
	int		   *pf_lit_len;
	int		   *pf_lit_rules_start;	/* rules of literal l: [start[l], start[l+1]) */
	int		   *pf_lit_rules;
	int		   *pf_bucket_start;	/* literals by trigram hash, same layout */
	int		   *pf_bucket_lits;
	unsigned char *pf_lit_seen;	/* per parse: literal found */
	unsigned char *pf_template;	/* 1 for rules always run */
	unsigned char *pf_rule_ok;	/* per parse: rule may match */
	unsigned char *pf_caseless;	/* rule matches caselessly */
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

static void set_error(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static void
set_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		args;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(args, fmt);
	vsnprintf(errbuf, errlen, fmt, args);
	va_end(args);
}

static char *
dup_bytes(const char *s, size_t len)
{
	char	   *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* ---------------------------------------------------------------------
 * Loading regexes.yaml
 * ---------------------------------------------------------------------
 */

static yaml_node_t *
mapping_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
		 pair < map->data.mapping.pairs.top; pair++)
	{
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);

		if (k != NULL && k->type == YAML_SCALAR_NODE &&
			k->data.scalar.length == strlen(key) &&
			memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

/* Fill one rule from its YAML mapping; false with a message on bad input */
static bool
load_rule(yaml_document_t *doc, yaml_node_t *node, UapKind kind, int index,
		  UapRule *rule, char *errbuf, size_t errlen)
{
	yaml_node_t *value;

	if (node == NULL || node->type != YAML_MAPPING_NODE)
	{
		set_error(errbuf, errlen, "entry %d of %s is not a mapping",
				  index + 1, list_names[kind]);
		return false;
	}

	value = mapping_get(doc, node, "regex");
	if (value == NULL || value->type != YAML_SCALAR_NODE)
	{
		set_error(errbuf, errlen, "entry %d of %s has no regex",
				  index + 1, list_names[kind]);
		return false;
	}
	rule->pattern_len = value->data.scalar.length;
	rule->pattern = dup_bytes((const char *) value->data.scalar.value,
							  rule->pattern_len);
	if (rule->pattern == NULL)
	{
		set_error(errbuf, errlen, "out of memory");
		return false;
	}
	rule->compile_options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	value = mapping_get(doc, node, "regex_flag");
	if (value != NULL)
	{
		if (value->type != YAML_SCALAR_NODE ||
			value->data.scalar.length != 1 || value->data.scalar.value[0] != 'i')
		{
			set_error(errbuf, errlen,
					  "entry %d of %s has an unsupported regex_flag (only 'i' is known)",
					  index + 1, list_names[kind]);
			return false;
		}
		rule->compile_options |= PCRE2_CASELESS;
	}

	for (int i = 0; i < UAP_MAX_REPLACEMENTS && replacement_keys[kind][i]; i++)
	{
		value = mapping_get(doc, node, replacement_keys[kind][i]);
		if (value == NULL)
			continue;
		if (value->type != YAML_SCALAR_NODE)
		{
			set_error(errbuf, errlen, "entry %d of %s: %s is not a string",
					  index + 1, list_names[kind], replacement_keys[kind][i]);
			return false;
		}
		/* An empty replacement counts as absent, as in python3-ua-parser */
		if (value->data.scalar.length == 0)
			continue;
		rule->replacement[i] = dup_bytes((const char *) value->data.scalar.value,
										 value->data.scalar.length);
		if (rule->replacement[i] == NULL)
		{
			set_error(errbuf, errlen, "out of memory");
			return false;
		}
	}
	return true;
}

static bool
compile_rule(UapParser *parser, UapRule *rule, char *errbuf, size_t errlen)
{
	int			errcode;
	PCRE2_SIZE	erroffset;

	rule->code = pcre2_compile((PCRE2_SPTR) rule->pattern, rule->pattern_len,
							   rule->compile_options, &errcode, &erroffset, NULL);
	if (rule->code == NULL)
	{
		PCRE2_UCHAR message[256];

		pcre2_get_error_message(errcode, message, sizeof(message));
		set_error(errbuf, errlen, "invalid regex \"%.200s\" at offset %zu: %s",
				  rule->pattern, (size_t) erroffset, (const char *) message);
		return false;
	}
	pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &rule->ncaptures);

	/* A pattern the JIT cannot handle still runs in the interpreter */
	if (parser->options.use_jit &&
		pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE) == 0)
		parser->njit++;
	parser->ncompiled++;

	/* Grow the shared match data when a pattern has more groups than seen */
	if (rule->ncaptures + 1 > parser->match_pairs)
	{
		pcre2_match_data *md = pcre2_match_data_create(rule->ncaptures + 1, NULL);

		if (md == NULL)
		{
			set_error(errbuf, errlen, "out of memory");
			return false;
		}
		pcre2_match_data_free(parser->match_data);
		parser->match_data = md;
		parser->match_pairs = rule->ncaptures + 1;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Literal prefilter
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
 * ---------------------------------------------------------------------
 */

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
	if (s.lits == NULL || (s.lits[0] = dup_bytes(buf, len)) == NULL)
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
		min = 0, c->p++;
	else if (*c->p == '+')
		min = 1, c->p++;
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

/* Walk one alternative (up to '|', ')' or the end) */
static PfSet
pf_sequence(PfCursor *c)
{
	PfSet		best = pf_any();
	char		run[256];
	size_t		runlen = 0;

#define PF_FLUSH() \
	do { \
		if (runlen > 0) \
			best = pf_better(best, pf_literal(run, runlen)); \
		runlen = 0; \
	} while (0)

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
			PfSet		inner;
			bool		lookaround = false;

			PF_FLUSH();
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
						break;
					}
					if (*q == ')')
					{
						c->p = q + 1;
						continue;
					}
					c->p = q + 1;
				}
			}
			inner = pf_alternation(c);
			if (c->p >= c->end || *c->p != ')')
			{
				pf_set_free(&inner);
				c->give_up = true;
				break;
			}
			c->p++;
			if (pf_quantifier(c) == 0 || lookaround)
				pf_set_free(&inner);
			else
				best = pf_better(best, inner);
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
			char		e;

			if (c->p + 1 >= c->end)
			{
				c->give_up = true;
				break;
			}
			e = c->p[1];
			c->p += 2;
			if (e == 'Q' || e == 'x' || e == 'c' || e == 'o' || e == 'p' ||
				e == 'P' || e == 'g' || e == 'k' || e == 'N')
			{
				/* escapes with arguments are not walked */
				c->give_up = true;
				break;
			}
			if (!isalnum((unsigned char) e))
				lit = (char) tolower((unsigned char) e);
			else if (e == 'b' || e == 'B' || e == 'A' || e == 'z' ||
					 e == 'Z' || e == 'G')
			{
				/* zero-width: the run of literals around it stays joined */
				continue;
			}
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

		/*
		 * The item just read may carry a quantifier.  A repeated literal
		 * ends the run, because "ab+c" only guarantees "ab" and "c".
		 */
		{
			int			min = pf_quantifier(c);

			if (lit != 0 && min != 0 && runlen < sizeof(run))
			{
				run[runlen++] = lit;
				if (min > 0)
					PF_FLUSH();
			}
			else
				PF_FLUSH();
		}
	}
	PF_FLUSH();
#undef PF_FLUSH
	return best;
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
static bool
pf_build(UapParser *parser)
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

static void
pf_free(UapParser *parser)
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
static void
pf_scan(UapParser *parser, const char *subject, size_t len)
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

static bool
load_document(UapParser *parser, yaml_document_t *doc, const char *path,
			  char *errbuf, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (root == NULL || root->type != YAML_MAPPING_NODE)
	{
		set_error(errbuf, errlen, "file \"%s\" does not contain a YAML mapping", path);
		return false;
	}

	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		yaml_node_t *list = mapping_get(doc, root, list_names[kind]);
		int			n;

		if (list == NULL || list->type != YAML_SEQUENCE_NODE)
		{
			set_error(errbuf, errlen, "file \"%s\" has no %s list", path, list_names[kind]);
			return false;
		}
		n = list->data.sequence.items.top - list->data.sequence.items.start;
		parser->rules[kind] = calloc(n > 0 ? n : 1, sizeof(UapRule));
		if (parser->rules[kind] == NULL)
		{
			set_error(errbuf, errlen, "out of memory");
			return false;
		}
		for (int i = 0; i < n; i++)
		{
			yaml_node_t *item = yaml_document_get_node(doc, list->data.sequence.items.start[i]);

			/* count the rule before filling it, so a partial rule is freed */
			parser->nrules[kind] = i + 1;
			if (!load_rule(doc, item, kind, i, &parser->rules[kind][i], errbuf, errlen))
				return false;
			if (!parser->options.lazy_compile &&
				!compile_rule(parser, &parser->rules[kind][i], errbuf, errlen))
				return false;
		}
	}
	return true;
}

UapParser *
uap_parser_load(const char *path, const UapOptions *options,
				char *errbuf, size_t errlen)
{
	FILE	   *file;
	yaml_parser_t yparser;
	yaml_document_t doc;
	UapParser  *parser;
	bool		ok;

	file = fopen(path, "rb");
	if (file == NULL)
	{
		set_error(errbuf, errlen, "could not open file \"%s\": %s", path, strerror(errno));
		return NULL;
	}

	parser = calloc(1, sizeof(UapParser));
	if (parser == NULL)
	{
		fclose(file);
		set_error(errbuf, errlen, "out of memory");
		return NULL;
	}
	parser->options = *options;

	if (!yaml_parser_initialize(&yparser))
	{
		fclose(file);
		free(parser);
		set_error(errbuf, errlen, "could not initialize the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_file(&yparser, file);
	if (!yaml_parser_load(&yparser, &doc))
	{
		set_error(errbuf, errlen, "could not parse YAML file \"%s\": %s at line %zu, column %zu",
				  path, yparser.problem ? yparser.problem : "unknown error",
				  (size_t) yparser.problem_mark.line + 1,
				  (size_t) yparser.problem_mark.column + 1);
		yaml_parser_delete(&yparser);
		fclose(file);
		free(parser);
		return NULL;
	}
	yaml_parser_delete(&yparser);
	fclose(file);

	parser->match_context = pcre2_match_context_create(NULL);
	parser->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	parser->match_data = pcre2_match_data_create(16, NULL);
	parser->match_pairs = 16;
	if (parser->match_context == NULL || parser->jit_stack == NULL ||
		parser->match_data == NULL)
	{
		set_error(errbuf, errlen, "out of memory");
		ok = false;
	}
	else
	{
		pcre2_set_match_limit(parser->match_context, UAP_MATCH_LIMIT);
		pcre2_set_depth_limit(parser->match_context, UAP_DEPTH_LIMIT);
		pcre2_jit_stack_assign(parser->match_context, NULL, parser->jit_stack);
		ok = load_document(parser, &doc, path, errbuf, errlen);
		if (ok && options->use_prefilter && !pf_build(parser))
		{
			set_error(errbuf, errlen, "out of memory");
			ok = false;
		}
	}
	yaml_document_delete(&doc);

	if (!ok)
	{
		uap_parser_free(parser);
		return NULL;
	}
	return parser;
}

void
uap_parser_free(UapParser *parser)
{
	if (parser == NULL)
		return;
	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		for (int i = 0; i < parser->nrules[kind]; i++)
		{
			UapRule    *rule = &parser->rules[kind][i];

			free(rule->pattern);
			pcre2_code_free(rule->code);
			for (int r = 0; r < UAP_MAX_REPLACEMENTS; r++)
				free(rule->replacement[r]);
		}
		free(parser->rules[kind]);
	}
	pf_free(parser);
	pcre2_match_data_free(parser->match_data);
	pcre2_jit_stack_free(parser->jit_stack);
	pcre2_match_context_free(parser->match_context);
	free(parser);
}

void
uap_parser_stats(const UapParser *parser, UapStats *stats)
{
	for (int kind = 0; kind < UAP_NKINDS; kind++)
		stats->nrules[kind] = parser->nrules[kind];
	stats->ncompiled = parser->ncompiled;
	stats->njit = parser->njit;
	stats->nlimit_hits = parser->nlimit_hits;
	stats->nprefiltered = parser->pf_nfiltered;
	stats->nliterals = parser->pf_nlits;
}

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
		if (rule->code == NULL && !compile_rule(parser, rule, errbuf, errlen))
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
			set_error(errbuf, errlen, "out of memory");
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
		set_error(errbuf, errlen, "out of memory");
		return false;
	}
	return true;
}

/* Cut len to at most max bytes without splitting a UTF-8 character */
static size_t
clip_length(const char *s, size_t len, size_t max)
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
	len = clip_length(ua, len, UAP_MAX_INPUT_LEN);
	if (parser->pf_rule_ok != NULL)
		pf_scan(parser, ua, len);

	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		if (!parse_kind(parser, kind, ua, len, result, errbuf, errlen))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * LRU cache of results
 * ---------------------------------------------------------------------
 */

/* One cached result; key bytes and result data follow in the same block */
typedef struct UapCacheEntry
{
	struct UapCacheEntry *chain;	/* next entry in the same hash bucket */
	struct UapCacheEntry *newer;	/* LRU list, toward the most recent */
	struct UapCacheEntry *older;
	uint64_t	hash;
	size_t		key_len;
	UapResult	result;			/* result.data points into this block */
	char		key[];
} UapCacheEntry;

struct UapCache
{
	int			capacity;
	int			count;
	uint32_t	nbuckets;		/* a power of two, at least 2 * capacity */
	UapCacheEntry **buckets;
	UapCacheEntry *newest;
	UapCacheEntry *oldest;
	UapResult	scratch;		/* result of an uncached parse */
	long		hits;
	long		misses;
};

/* Hash a key with 64-bit FNV-1a, which is cheap next to a regex match */
static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

UapCache *
uap_cache_create(int capacity)
{
	UapCache   *cache = calloc(1, sizeof(UapCache));

	if (cache == NULL)
		return NULL;
	if (capacity < 0)
		capacity = 0;
	cache->capacity = capacity;
	cache->nbuckets = 16;
	while (cache->nbuckets < (uint32_t) capacity * 2 && cache->nbuckets < (1u << 30))
		cache->nbuckets *= 2;
	cache->buckets = calloc(cache->nbuckets, sizeof(UapCacheEntry *));
	if (cache->buckets == NULL)
	{
		free(cache);
		return NULL;
	}
	uap_result_init(&cache->scratch);
	return cache;
}

void
uap_cache_free(UapCache *cache)
{
	UapCacheEntry *e;

	if (cache == NULL)
		return;
	e = cache->newest;
	while (e != NULL)
	{
		UapCacheEntry *next = e->older;

		free(e);
		e = next;
	}
	free(cache->buckets);
	uap_result_free(&cache->scratch);
	free(cache);
}

int
uap_cache_capacity(const UapCache *cache)
{
	return cache->capacity;
}

void
uap_cache_counts(const UapCache *cache, long *hits, long *misses)
{
	*hits = cache->hits;
	*misses = cache->misses;
}

static void
lru_unlink(UapCache *cache, UapCacheEntry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		cache->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		cache->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push_newest(UapCache *cache, UapCacheEntry *e)
{
	e->newer = NULL;
	e->older = cache->newest;
	if (cache->newest)
		cache->newest->newer = e;
	cache->newest = e;
	if (cache->oldest == NULL)
		cache->oldest = e;
}

static void
cache_evict_oldest(UapCache *cache)
{
	UapCacheEntry *victim = cache->oldest;
	UapCacheEntry **link = &cache->buckets[victim->hash & (cache->nbuckets - 1)];

	while (*link != victim)
		link = &(*link)->chain;
	*link = victim->chain;
	lru_unlink(cache, victim);
	free(victim);
	cache->count--;
}

/* Copy the scratch result into a new entry, unless memory runs out */
static void
cache_insert(UapCache *cache, uint64_t hash, const char *key, size_t key_len)
{
	const UapResult *src = &cache->scratch;
	UapCacheEntry *e;
	UapCacheEntry **bucket;

	if (cache->count >= cache->capacity)
		cache_evict_oldest(cache);
	e = malloc(sizeof(UapCacheEntry) + key_len + src->data_len);
	if (e == NULL)
		return;
	e->hash = hash;
	e->key_len = key_len;
	memcpy(e->key, key, key_len);
	memcpy(e->key + key_len, src->data, src->data_len);
	memcpy(e->result.offset, src->offset, sizeof(src->offset));
	e->result.data = e->key + key_len;
	e->result.data_len = src->data_len;
	e->result.data_cap = 0;		/* not separately allocated */

	bucket = &cache->buckets[hash & (cache->nbuckets - 1)];
	e->chain = *bucket;
	*bucket = e;
	lru_push_newest(cache, e);
	cache->count++;
}

const UapResult *
uap_cache_parse(UapCache *cache, UapParser *parser, const char *ua, size_t len,
				char *errbuf, size_t errlen)
{
	uint64_t	hash;

	if (ua == NULL)
		ua = "";
	len = clip_length(ua, len, UAP_MAX_INPUT_LEN);

	if (cache->capacity == 0)
	{
		cache->misses++;
		return uap_parse(parser, ua, len, &cache->scratch, errbuf, errlen) ?
			&cache->scratch : NULL;
	}

	hash = hash_bytes(ua, len);
	for (UapCacheEntry *e = cache->buckets[hash & (cache->nbuckets - 1)]; e; e = e->chain)
	{
		if (e->hash == hash && e->key_len == len && memcmp(e->key, ua, len) == 0)
		{
			cache->hits++;
			if (cache->newest != e)
			{
				lru_unlink(cache, e);
				lru_push_newest(cache, e);
			}
			return &e->result;
		}
	}

	cache->misses++;
	if (!uap_parse(parser, ua, len, &cache->scratch, errbuf, errlen))
		return NULL;
	cache_insert(cache, hash, ua, len);
	return &cache->scratch;
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
	len = clip_length(ua, len, UAP_MAX_INPUT_LEN);
	pf_scan(parser, ua, len);

	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		for (int i = 0; i < parser->nrules[kind]; i++)
		{
			UapRule    *rule = &parser->rules[kind][i];

			if (parser->pf_rule_ok[rule->pf_id])
				continue;
			if (rule->code == NULL && !compile_rule(parser, rule, errbuf, sizeof(errbuf)))
				return -1;
			if (pcre2_match(rule->code, (PCRE2_SPTR) ua, len, 0, 0,
							parser->match_data, parser->match_context) > 0)
				misses++;
		}
	}
	return misses;
}

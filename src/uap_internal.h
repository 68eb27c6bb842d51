/*
 * uap_internal.h
 *		Definitions shared by the files of the uap-core user-agent parser.
 *		Callers outside the parser include uap.h instead.
 *
 * The parser is split by idea, and none of its files depends on PostgreSQL:
 *
 * - uap_load.c reads regexes.yaml with libyaml and compiles its rules with
 *   PCRE2 (UapParser's life cycle).
 * - uap_prefilter.c finds each rule's required literals at load and, per
 *   user agent, the rules that cannot match and so are skipped.
 * - uap_match.c applies the rules to a user agent and fills a UapResult,
 *   with $1..$9 substitution into the replacement strings.
 * - uap_cache.c keeps recent results in a bounded LRU cache (UapCache).
 *
 * Memory is malloc'd and owned by the UapParser.  One match data block and
 * one JIT stack are reused by every match, so a parser must be used by one
 * thread at a time.
 */
#ifndef LA_UAP_INTERNAL_H
#define LA_UAP_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include "uap.h"

#include <stdint.h>

#include <pcre2.h>

/* The three rule lists of regexes.yaml */
typedef enum UapKind
{
	UAP_KIND_UA = 0,
	UAP_KIND_OS,
	UAP_KIND_DEVICE,
	UAP_NKINDS
} UapKind;

#define UAP_MAX_REPLACEMENTS 5

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

	/* literal prefilter, see uap_prefilter_build; all NULL when not used */
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

/* uap_load.c */
extern void uap_set_error(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern char *uap_dup_bytes(const char *s, size_t len);
extern bool uap_compile_rule(UapParser *parser, UapRule *rule,
							 char *errbuf, size_t errlen);

/* uap_prefilter.c */
extern bool uap_prefilter_build(UapParser *parser);
extern void uap_prefilter_free(UapParser *parser);
extern void uap_prefilter_scan(UapParser *parser, const char *subject,
							   size_t len);

/* uap_match.c */
extern size_t uap_clip_length(const char *s, size_t len, size_t max);

#endif							/* LA_UAP_INTERNAL_H */

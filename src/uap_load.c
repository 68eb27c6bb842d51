/*
 * uap_load.c
 *		Load uap-core's regexes.yaml with libyaml and compile its rules with
 *		PCRE2: the UapParser's life cycle.
 *
 * Matching the rules is in uap_match.c and the literal prefilter, built
 * here after the rules are read, in uap_prefilter.c.  uap_internal.h
 * describes how the parser's files fit together.
 *
 * Regexes are compiled with PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, so any
 * byte string can be matched and invalid sequences simply never match.
 * NOTE: PCRE2_UCP is not set, so \d, \w and \s match ASCII only, where
 * Python's re matches any Unicode digit, word or space character.  No
 * test case depends on that.
 */
#include "uap_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

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

/* Format a message into errbuf, unless the caller passed none */
void
uap_set_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		args;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(args, fmt);
	vsnprintf(errbuf, errlen, fmt, args);
	va_end(args);
}

/* Copy len bytes of s into a new NUL-terminated string */
char *
uap_dup_bytes(const char *s, size_t len)
{
	char	   *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

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
		uap_set_error(errbuf, errlen, "entry %d of %s is not a mapping",
					  index + 1, list_names[kind]);
		return false;
	}

	value = mapping_get(doc, node, "regex");
	if (value == NULL || value->type != YAML_SCALAR_NODE)
	{
		uap_set_error(errbuf, errlen, "entry %d of %s has no regex",
					  index + 1, list_names[kind]);
		return false;
	}
	rule->pattern_len = value->data.scalar.length;
	rule->pattern = uap_dup_bytes((const char *) value->data.scalar.value,
								  rule->pattern_len);
	if (rule->pattern == NULL)
	{
		uap_set_error(errbuf, errlen, "out of memory");
		return false;
	}
	rule->compile_options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	value = mapping_get(doc, node, "regex_flag");
	if (value != NULL)
	{
		if (value->type != YAML_SCALAR_NODE ||
			value->data.scalar.length != 1 || value->data.scalar.value[0] != 'i')
		{
			uap_set_error(errbuf, errlen,
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
			uap_set_error(errbuf, errlen, "entry %d of %s: %s is not a string",
						  index + 1, list_names[kind], replacement_keys[kind][i]);
			return false;
		}
		/* An empty replacement counts as absent, as in python3-ua-parser */
		if (value->data.scalar.length == 0)
			continue;
		rule->replacement[i] = uap_dup_bytes((const char *) value->data.scalar.value,
											 value->data.scalar.length);
		if (rule->replacement[i] == NULL)
		{
			uap_set_error(errbuf, errlen, "out of memory");
			return false;
		}
	}
	return true;
}

/*
 * Compile a rule's regex, at load or, with lazy_compile, before its first
 * match.  Also grows the parser's shared match data to fit its groups.
 */
bool
uap_compile_rule(UapParser *parser, UapRule *rule, char *errbuf, size_t errlen)
{
	int			errcode;
	PCRE2_SIZE	erroffset;

	rule->code = pcre2_compile((PCRE2_SPTR) rule->pattern, rule->pattern_len,
							   rule->compile_options, &errcode, &erroffset, NULL);
	if (rule->code == NULL)
	{
		PCRE2_UCHAR message[256];

		pcre2_get_error_message(errcode, message, sizeof(message));
		uap_set_error(errbuf, errlen, "invalid regex \"%.200s\" at offset %zu: %s",
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
			uap_set_error(errbuf, errlen, "out of memory");
			return false;
		}
		pcre2_match_data_free(parser->match_data);
		parser->match_data = md;
		parser->match_pairs = rule->ncaptures + 1;
	}
	return true;
}

static bool
load_document(UapParser *parser, yaml_document_t *doc, const char *path,
			  char *errbuf, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (root == NULL || root->type != YAML_MAPPING_NODE)
	{
		uap_set_error(errbuf, errlen, "file \"%s\" does not contain a YAML mapping", path);
		return false;
	}

	for (int kind = 0; kind < UAP_NKINDS; kind++)
	{
		yaml_node_t *list = mapping_get(doc, root, list_names[kind]);
		int			n;

		if (list == NULL || list->type != YAML_SEQUENCE_NODE)
		{
			uap_set_error(errbuf, errlen, "file \"%s\" has no %s list", path, list_names[kind]);
			return false;
		}
		n = list->data.sequence.items.top - list->data.sequence.items.start;
		parser->rules[kind] = calloc(n > 0 ? n : 1, sizeof(UapRule));
		if (parser->rules[kind] == NULL)
		{
			uap_set_error(errbuf, errlen, "out of memory");
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
				!uap_compile_rule(parser, &parser->rules[kind][i], errbuf, errlen))
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
		uap_set_error(errbuf, errlen, "could not open file \"%s\": %s", path, strerror(errno));
		return NULL;
	}

	parser = calloc(1, sizeof(UapParser));
	if (parser == NULL)
	{
		fclose(file);
		uap_set_error(errbuf, errlen, "out of memory");
		return NULL;
	}
	parser->options = *options;

	if (!yaml_parser_initialize(&yparser))
	{
		fclose(file);
		free(parser);
		uap_set_error(errbuf, errlen, "could not initialize the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_file(&yparser, file);
	if (!yaml_parser_load(&yparser, &doc))
	{
		uap_set_error(errbuf, errlen, "could not parse YAML file \"%s\": %s at line %zu, column %zu",
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
		uap_set_error(errbuf, errlen, "out of memory");
		ok = false;
	}
	else
	{
		pcre2_set_match_limit(parser->match_context, UAP_MATCH_LIMIT);
		pcre2_set_depth_limit(parser->match_context, UAP_DEPTH_LIMIT);
		pcre2_jit_stack_assign(parser->match_context, NULL, parser->jit_stack);
		ok = load_document(parser, &doc, path, errbuf, errlen);
		if (ok && options->use_prefilter && !uap_prefilter_build(parser))
		{
			uap_set_error(errbuf, errlen, "out of memory");
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
	uap_prefilter_free(parser);
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

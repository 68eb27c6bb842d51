/*
 * uap_testfile.h
 *		Read uap-core's test files (test_ua.yaml, test_os.yaml,
 *		test_device.yaml) into memory with libyaml, for the standalone
 *		conformance test and the benchmark.
 *
 * Each file is a mapping with a test_cases list; each case has a
 * user_agent_string and the expected fields of one parser.  A plain empty
 * scalar (or ~, null) is YAML null, which the test files use for a missing
 * value; a quoted '' is the empty string.
 */
#ifndef UAP_TESTFILE_H
#define UAP_TESTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define TESTCASE_MAX_FIELDS 5

typedef struct TestCase
{
	char	   *user_agent;
	size_t		user_agent_len;
	char	   *expected[TESTCASE_MAX_FIELDS];	/* NULL for YAML null */
} TestCase;

typedef struct TestFile
{
	TestCase   *cases;
	int			ncases;
} TestFile;

static bool
testfile_scalar_is_null(const yaml_node_t *node)
{
	const char *v = (const char *) node->data.scalar.value;

	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return node->data.scalar.length == 0 || strcmp(v, "~") == 0 ||
		strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Load the cases of one test file; keys names the expected fields to read
 * (nkeys of them).  Exits the program on a malformed file.
 */
static TestFile
testfile_load(const char *path, const char *const *keys, int nkeys)
{
	FILE	   *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_t *list = NULL;
	TestFile	tf = {NULL, 0};

	if (f == NULL)
	{
		fprintf(stderr, "could not open %s\n", path);
		exit(2);
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc))
	{
		fprintf(stderr, "could not parse %s: %s\n", path, parser.problem);
		exit(2);
	}
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		 p < root->data.mapping.pairs.top; p++)
	{
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);

		if (strcmp((char *) k->data.scalar.value, "test_cases") == 0)
			list = yaml_document_get_node(&doc, p->value);
	}
	if (list == NULL || list->type != YAML_SEQUENCE_NODE)
	{
		fprintf(stderr, "%s has no test_cases list\n", path);
		exit(2);
	}

	tf.ncases = list->data.sequence.items.top - list->data.sequence.items.start;
	tf.cases = calloc(tf.ncases, sizeof(TestCase));
	for (int i = 0; i < tf.ncases; i++)
	{
		yaml_node_t *item = yaml_document_get_node(&doc, list->data.sequence.items.start[i]);

		for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
			 p < item->data.mapping.pairs.top; p++)
		{
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			yaml_node_t *v = yaml_document_get_node(&doc, p->value);
			const char *key = (const char *) k->data.scalar.value;

			if (v->type != YAML_SCALAR_NODE)
				continue;
			if (strcmp(key, "user_agent_string") == 0)
			{
				tf.cases[i].user_agent_len = v->data.scalar.length;
				tf.cases[i].user_agent = malloc(v->data.scalar.length + 1);
				memcpy(tf.cases[i].user_agent, v->data.scalar.value, v->data.scalar.length + 1);
				continue;
			}
			for (int j = 0; j < nkeys; j++)
			{
				if (strcmp(key, keys[j]) == 0 && !testfile_scalar_is_null(v))
					tf.cases[i].expected[j] = strdup((const char *) v->data.scalar.value);
			}
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return tf;
}

static void
testfile_free(TestFile *tf)
{
	for (int i = 0; i < tf->ncases; i++)
	{
		free(tf->cases[i].user_agent);
		for (int j = 0; j < TESTCASE_MAX_FIELDS; j++)
			free(tf->cases[i].expected[j]);
	}
	free(tf->cases);
	tf->cases = NULL;
	tf->ncases = 0;
}

#endif							/* UAP_TESTFILE_H */

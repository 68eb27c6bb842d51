/*
 * pg_stubs.c
 *		Backend functions that the product's files reference but that no
 *		fuzzed path calls: the JSON text forms, tuple building and date
 *		formatting.
 *
 * Each stub aborts, so a harness that reaches one fails loudly instead of
 * testing a fake.  The text forms are fuzzed through a real server
 * (text_inputs.py) because jsonb parsing is too large to provide here.  The
 * stubs are declared without prototypes on purpose: the linker matches
 * names only, and no stub ever returns.
 */
#include <stdio.h>
#include <stdlib.h>

#define STUB(name) \
void name(void); \
void \
name(void) \
{ \
	fprintf(stderr, "pg_stubs.c: %s called; this path is not fuzzed here\n", #name); \
	abort(); \
}

STUB(BlessTupleDesc)
STUB(DirectFunctionCall1Coll)
STUB(DirectFunctionCall3Coll)
STUB(EncodeDateTime)
STUB(HeapTupleHeaderGetDatum)
STUB(JsonbIteratorInit)
STUB(JsonbIteratorNext)
STUB(construct_array)
STUB(cstring_to_text)
STUB(escape_json)
STUB(getIthJsonbValueFromContainer)
STUB(getKeyJsonValueFromContainer)
STUB(get_call_result_type)
STUB(heap_form_tuple)
STUB(jsonb_in)
STUB(numeric_float8_no_overflow)
STUB(timestamp2tm)
STUB(timestamptz_in)
STUB(double_to_shortest_decimal_buf)
STUB(pg_detoast_datum_slice)

/* the table of decoded models of score(model, features) and explain(...) */
STUB(hash_create)
STUB(hash_search)
STUB(hash_get_num_entries)
STUB(AllocSetContextCreateInternal)
STUB(MemoryContextReset)
STUB(MemoryContextSetParent)
STUB(MemoryContextAlloc)
STUB(MemoryContextAllocZero)
STUB(text_to_cstring)
STUB(inet_in)

/* the memory contexts the table would use, never used here */
void	   *CurrentMemoryContext = NULL;
void	   *TopMemoryContext = NULL;

/* the harnesses encode as a UTF-8 database does (PG_UTF8 is 6) */
int			GetDatabaseEncoding(void);

int
GetDatabaseEncoding(void)
{
	return 6;
}

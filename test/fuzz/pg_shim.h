/*
 * pg_shim.h
 *		The few PostgreSQL backend services that the server-side decoders
 *		need, provided outside the server so that libFuzzer can call the
 *		decoders directly.
 *
 * pg_shim.c implements palloc and friends on malloc, with every block
 * linked into one arena that shim_arena_reset() frees after each input, so
 * LeakSanitizer sees only leaks of plain malloc.  ereport(ERROR) longjmps
 * back to the harness through shim_run(); lower levels are dropped.
 */
#ifndef LA_FUZZ_PG_SHIM_H
#define LA_FUZZ_PG_SHIM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Run fn(arg) with ereport(ERROR) caught.  Returns true when fn returned,
 * false when it raised an error; the error's message is then in
 * shim_last_error().  Every palloc'd block is freed before returning, so
 * fn must copy out anything it wants to keep with malloc.
 */
extern bool shim_run(void (*fn) (void *arg), void *arg);

/* The message of the last error caught by shim_run */
extern const char *shim_last_error(void);

/* Blocks currently allocated with palloc, for leak checks in harnesses */
extern size_t shim_arena_blocks(void);

#endif							/* LA_FUZZ_PG_SHIM_H */

/*
 * uap_cache.c
 *		A bounded LRU cache of uap-core parse results (UapCache), keyed by
 *		the user agent's bytes.
 *
 * A miss calls uap_parse (uap_match.c) and copies the result, with its
 * key, into one malloc'd entry.  Entries sit in a chained hash table and on
 * a list ordered by last use, and the least recently used entry is evicted
 * when the cache is full.  A cache of capacity 0 stores nothing.
 */
#include "uap_internal.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * Hash a key eight bytes at a time.  A byte-at-a-time hash such as FNV-1a
 * took most of a cache hit's time for a typical 130-byte user agent.  The
 * hash only places entries in buckets and is never persisted, so it can
 * change freely.
 */
#define HASH_K1 UINT64_C(0x9e3779b97f4a7c15)
#define HASH_K2 UINT64_C(0xbf58476d1ce4e5b9)

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	h = (uint64_t) len * HASH_K1;
	uint64_t	w;

	for (; len >= 8; s += 8, len -= 8)
	{
		memcpy(&w, s, 8);
		h = (h ^ (w * HASH_K2)) * HASH_K1;
		h ^= h >> 29;
	}
	if (len > 0)
	{
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ (w * HASH_K2)) * HASH_K1;
	}
	/* the bucket is taken from the low bits, so mix the high ones down */
	h ^= h >> 32;
	h *= HASH_K2;
	h ^= h >> 29;
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
	len = uap_clip_length(ua, len, UAP_MAX_INPUT_LEN);

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

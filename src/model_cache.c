/*
 * model_cache.c
 *		A per-backend cache of decoded models, keyed by user id, and the
 *		functions that score a login by user id through it.
 *
 * A statement trigger on login_anomaly.models calls models_changed(), which
 * registers a relcache invalidation of that table.  Every backend receives
 * it when the changing transaction commits (and the changing backend at its
 * next command), and its relcache callback marks the whole cache stale; the
 * next lookup then empties it.  Users without a model are cached too, so a
 * new user costs one index probe per invalidation, not one per login.
 *
 * Each model is decoded into its own small memory context, so a model that
 * fails to decode leaves nothing behind, and eviction frees exactly it.
 *
 * The cache is an open-addressing table of small entries that keep the
 * key's hash and length, so that a lookup, once per login in the trigger,
 * mostly touches one entry and compares one key.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "login_anomaly.h"
#include "model_cache.h"

/* User ids up to this many bytes are cached; longer ones are looked up */
#define CACHE_KEY_MAX 128

/* Past this many users the cache is emptied and starts again */
#define CACHE_MAX_USERS 50000

/* Slots of a new table.  The table doubles when it is half full. */
#define CACHE_INITIAL_SLOTS 1024

typedef struct CacheEntry
{
	char	   *key;			/* NULL: a free slot */
	uint32		hash;
	int			len;
	LaModel    *model;			/* NULL: the user has no model */
	MemoryContext context;		/* holds model; NULL when model is NULL */
} CacheEntry;

/* The table, its size (a power of 2) and its entries, in cache_context */
static CacheEntry *model_cache = NULL;
static uint32 cache_slots = 0;
static uint32 cache_used = 0;
static MemoryContext cache_context = NULL;
static bool cache_stale = false;
static Oid	models_relid = InvalidOid;
static SPIPlanPtr lookup_plan = NULL;

PG_FUNCTION_INFO_V1(la_models_changed);

static void
relcache_callback(Datum arg, Oid relid)
{
	/* the table may have been dropped and created again: look it up anew */
	if (relid == InvalidOid || relid == models_relid)
	{
		cache_stale = true;
		models_relid = InvalidOid;
	}
}

void
la_model_cache_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

static void
reset_cache(void)
{
	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext,
											  "login_anomaly model cache",
											  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache_context);

	/* NULL if the allocation fails, so that the next lookup tries again */
	model_cache = NULL;
	model_cache = MemoryContextAllocZero(cache_context,
										 CACHE_INITIAL_SLOTS * sizeof(CacheEntry));
	cache_slots = CACHE_INITIAL_SLOTS;
	cache_used = 0;
	cache_stale = false;
}

/* Return the slot that contains the key, or the free slot for it */
static CacheEntry *
find_slot(CacheEntry *table, uint32 slots, const char *key, int len, uint32 hash)
{
	uint32		mask = slots - 1;
	uint32		i = hash & mask;

	for (;;)
	{
		CacheEntry *entry = &table[i];

		if (entry->key == NULL ||
			(entry->hash == hash && entry->len == len &&
			 memcmp(entry->key, key, len) == 0))
			return entry;
		i = (i + 1) & mask;
	}
}

/* Add an entry for a key known to be absent, growing the table first */
static void
add_entry(const char *key, int len, uint32 hash, LaModel *model,
		  MemoryContext context)
{
	CacheEntry *entry;

	if ((cache_used + 1) * 2 > cache_slots)
	{
		uint32		slots = cache_slots * 2;
		CacheEntry *table = MemoryContextAllocZero(cache_context,
												   slots * sizeof(CacheEntry));

		for (uint32 i = 0; i < cache_slots; i++)
		{
			CacheEntry *old = &model_cache[i];

			if (old->key != NULL)
				*find_slot(table, slots, old->key, old->len, old->hash) = *old;
		}
		pfree(model_cache);
		model_cache = table;
		cache_slots = slots;
	}
	entry = find_slot(model_cache, cache_slots, key, len, hash);
	Assert(entry->key == NULL);
	entry->key = MemoryContextStrdup(cache_context, key);
	entry->hash = hash;
	entry->len = len;
	entry->model = model;
	entry->context = context;
	cache_used++;
}

/* The OID of login_anomaly.models, looked up by qualified name */
static Oid
get_models_relid(void)
{
	if (!OidIsValid(models_relid))
	{
		Oid			nsp = get_namespace_oid("login_anomaly", false);

		models_relid = get_relname_relid("models", nsp);
		if (!OidIsValid(models_relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table login_anomaly.models does not exist"),
					 errhint("Reinstall the extension with CREATE EXTENSION login_anomaly.")));
	}
	return models_relid;
}

/*
 * Read and decode a user's model.  Returns NULL when the user has none.
 * The model is allocated in *context, a new child of parent.
 */
static LaModel *
load_model(const char *user_id, MemoryContext parent, MemoryContext *context)
{
	Datum		arg = CStringGetTextDatum(user_id);
	LaModel    *model = NULL;
	int			ret;

	*context = NULL;
	SPI_connect();
	if (lookup_plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT model FROM login_anomaly.models WHERE user_id OPERATOR(pg_catalog.=) $1",
						   1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		lookup_plan = plan;
	}

	ret = SPI_execute_plan(lookup_plan, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext ctx = AllocSetContextCreate(parent, "login_anomaly model",
													  ALLOCSET_SMALL_SIZES);
			MemoryContext old = MemoryContextSwitchTo(ctx);

			PG_TRY();
			{
				model = la_model_decode(PG_DETOAST_DATUM_COPY(d));
			}
			PG_CATCH();
			{
				MemoryContextSwitchTo(old);
				MemoryContextDelete(ctx);
				PG_RE_THROW();
			}
			PG_END_TRY();
			MemoryContextSwitchTo(old);
			*context = ctx;
		}
	}
	SPI_finish();
	return model;
}

/*
 * Return the decoded model of a user, or NULL when the user has none.  The
 * result stays valid until the next call.
 */
const LaModel *
la_cached_model(const char *user_id)
{
	CacheEntry *entry;
	MemoryContext ctx;
	LaModel    *model;
	size_t		len;
	uint32		hash;
	static MemoryContext uncached = NULL;

	(void) get_models_relid();
	if (model_cache == NULL || cache_stale || cache_used >= CACHE_MAX_USERS)
		reset_cache();

	len = strlen(user_id);
	if (len >= CACHE_KEY_MAX)
	{
		/* too long to cache: keep only the latest such model */
		if (uncached != NULL)
			MemoryContextDelete(uncached);
		uncached = NULL;
		return load_model(user_id, TopMemoryContext, &uncached);
	}

	hash = hash_bytes((const unsigned char *) user_id, (int) len);
	entry = find_slot(model_cache, cache_slots, user_id, (int) len, hash);
	if (entry->key != NULL)
		return entry->model;

	/*
	 * Decode first, so that an error leaves no half-built entry.  Loading
	 * may accept an invalidation that marks the cache stale.  The entry
	 * still goes in, and the next lookup empties the cache.
	 */
	model = load_model(user_id, cache_context, &ctx);
	add_entry(user_id, (int) len, hash, model, ctx);
	return model;
}

/*
 * models_changed(): statement trigger on login_anomaly.models that makes
 * every backend drop its cached models.
 */
Datum
la_models_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("models_changed() must be called as a trigger")));

	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/* Encode the login given as arguments 1 to 8 of a by-user function */
static void
login_from_args(FunctionCallInfo fcinfo, LaLogin *login)
{
#define ARG_TEXT(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))
	la_encode_login(login,
					!PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
					PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2),
					ARG_TEXT(3), ARG_TEXT(4), ARG_TEXT(5), ARG_TEXT(6),
					!PG_ARGISNULL(7), PG_ARGISNULL(7) ? 0 : PG_GETARG_FLOAT8(7),
					!PG_ARGISNULL(8), PG_ARGISNULL(8) ? 0 : PG_GETARG_FLOAT8(8));
#undef ARG_TEXT
}

PG_FUNCTION_INFO_V1(la_score_user);
PG_FUNCTION_INFO_V1(la_explain_user);

/*
 * score(user_id, ts, ip, country, region, city, user_agent, lat, lon):
 * NULL when user_id is NULL or the user has no model.
 */
Datum
la_score_user(PG_FUNCTION_ARGS)
{
	const LaModel *model;
	LaLogin		login;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	model = la_cached_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (model == NULL)
		PG_RETURN_NULL();
	login_from_args(fcinfo, &login);
	PG_RETURN_FLOAT8(la_score(model, &login));
}

/* explain(user_id, ...): the reasons, or one item saying there is no model */
Datum
la_explain_user(PG_FUNCTION_ARGS)
{
	const LaModel *model;
	LaLogin		login;
	Datum		item;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	model = la_cached_model(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (model == NULL)
	{
		item = CStringGetTextDatum("no model for this user yet");
		PG_RETURN_DATUM(PointerGetDatum(construct_array(&item, 1, TEXTOID, -1,
														false, TYPALIGN_INT)));
	}
	login_from_args(fcinfo, &login);
	PG_RETURN_DATUM(la_explain(model, &login));
}

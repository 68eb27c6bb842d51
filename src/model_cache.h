/*
 * model_cache.h
 *		Per-backend cache of decoded models, keyed by user id.
 */
#ifndef LA_MODEL_CACHE_H
#define LA_MODEL_CACHE_H

#include "login_anomaly.h"

extern const LaModel *la_cached_model(const char *user_id);

#endif							/* LA_MODEL_CACHE_H */

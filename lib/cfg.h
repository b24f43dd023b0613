/*
 * cfg.h: every setting of toolkata-api and toolkata-relay, from one table
 * (name, environment variable, type, default, bounds, help).  cfg_load()
 * reads and validates the whole table once at start-up; afterwards a
 * `const struct cfg *` is handed to each module.  Only cfg.c reads the
 * environment.  The original service's variable names keep their meaning;
 * new settings carry a SANDBOX_ prefix.
 */
#ifndef CFG_H
#define CFG_H

#include "compat.h"

#include <stdio.h>
#include <netinet/in.h>

#include "err.h"

#define CFG_MAX_ORIGINS 32
#define CFG_MAX_IMAGES 16
#define CFG_MAX_PROXIES 16
#define CFG_ORIGIN_MAX 256
#define CFG_PAIR_MAX 33	 /* tool pair name, 32 chars + NUL */
#define CFG_IMAGE_MAX 129 /* image reference, 128 chars + NUL */
#define CFG_MAX_ENVS 8
#define CFG_ENV_MAX 32	 /* environment name, 31 chars + NUL */

struct cfg_image {
	char pair[CFG_PAIR_MAX];
	char image[CFG_IMAGE_MAX];
};

/*
 * An environment offered to POST /api/v1/sessions ("environment"): a name
 * from the built-in registry (cfg.c: bash, node, python, with description,
 * category and default timeout) that SANDBOX_ENVIRONMENTS lists, and its
 * image.  bash has none of its own: a bash session runs the tool pair's
 * image (SANDBOX_IMAGES), as before environments existed.
 */
struct cfg_env {
	char name[CFG_ENV_MAX];
	char image[CFG_IMAGE_MAX];	/* "" for bash: the tool pair's */
	const char *description;	/* static strings of the registry */
	const char *category;
	long long default_timeout_ms;
	long long proc_memory_mb;	/* address space per process; 0: 3/4
					 * of the container's memory */
	bool pooled;		/* listed in SANDBOX_POOL_ENVIRONMENTS */
	bool missing;		/* image absent at start-up (outside
				 * production): not offered */
};

struct cfg_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

struct cfg {
	/* Straight from the table; strings are owned by the struct. */
	char *api_key;
	char *allowed_origins;
	char *env;
	bool use_gvisor;
	char *gvisor_runtime;
	long long max_ws_message;
	bool disable_rate_limit;
	long long sessions_per_hour;
	long long concurrent_per_ip;
	long long websockets_per_ip;
	long long circuit_max_containers;
	long long circuit_max_memory_percent;
	char *docker_socket;
	char *state_file;
	char *listen;
	long long workers;
	long long idle_timeout;
	long long max_lifetime;
	long long reap_interval;
	char *images;
	char *environments;
	char *pool_environments;
	char *trusted_proxies;
	long long memory_mb;
	long long cpu_percent;
	long long pids_limit;
	long long pids_limit_gvisor;
	long long home_size_mb;
	long long tmp_size_mb;
	long long nofile;
	long long nproc;
	long long pool_size;
	long long pool_max_age;
	long long evict_after;
	long long init_timeout;
	long long engine_timeout;
	long long destroy_timeout;
	long long check_timeout_ms;
	long long check_timeout_max_ms;
	long long check_output_max;
	long long checks_per_minute;
	char *audit_log;
	char *instance;
	char *relay_log;
	char *ws_secret;
	bool verbose;

	/* Derived by cfg_load(). */
	bool production;	/* SANDBOX_ENV or NODE_ENV is "production" */
	bool development;	/* NODE_ENV or SANDBOX_ENV is "development" */
	size_t norigins;
	char origin[CFG_MAX_ORIGINS][CFG_ORIGIN_MAX];
	size_t nimages;
	struct cfg_image image[CFG_MAX_IMAGES];
	size_t nenvs;
	struct cfg_env envs[CFG_MAX_ENVS];
	size_t nproxies;
	struct cfg_cidr proxy[CFG_MAX_PROXIES];
};

/* Looks a variable up; returns NULL when unset.  cfg_load() takes one so
 * that tests can pass a fake environment. */
typedef const char *(*cfg_getenv_fn)(const char *name, void *arg);

/*
 * Fill *cfg from the table, reading variables through get (getenv() when
 * NULL).  Validates types, bounds, lists and the production rules that need
 * no engine (API key, Origin allowlist, gVisor requested).  On error returns
 * ERR_INVAL and sets *errstr to an allocated message that names the
 * variable; the caller frees it.  On success the caller owns *cfg and
 * releases it with cfg_release().
 */
enum err cfg_load(struct cfg *cfg, cfg_getenv_fn get, void *arg,
    char **errstr);

/* Free the strings of a loaded cfg; the struct can be loaded again. */
void cfg_release(struct cfg *cfg);

/* Write every variable the table reads (aliases and NODE_ENV included) as
 * a comma-separated list into buf (truncated to bufsz): websocketd's
 * --passenv.  No name starts with HTTP_: websocketd appends the client's
 * headers as HTTP_* after the passed variables, so such a name could be
 * replaced by a client header (httpoxy); the table has none and this
 * function would leave one out. */
void cfg_env_names(char *buf, size_t bufsz);

/* Print the table (name, variable, type, default, bounds, help) to fp. */
void cfg_print_table(FILE *fp);

/* The image for a tool pair, or NULL when the pair is not configured. */
const char *cfg_image_for(const struct cfg *cfg, const char *pair);

/*
 * The environment called name when it is configured and its image was not
 * found missing at start-up; NULL otherwise.  name NULL or "" is bash.
 */
const struct cfg_env *cfg_env_for(const struct cfg *cfg, const char *name);

/*
 * The image a session of environment env and tool pair pair runs: the
 * environment's own, or the pair's for bash.  NULL when the pair is not
 * configured.
 */
const char *cfg_env_image(const struct cfg *cfg, const struct cfg_env *env,
    const char *pair);

/* True when origin is allowed: the allowlist is empty or holds it exactly. */
bool cfg_origin_allowed(const struct cfg *cfg, const char *origin);

/* PIDs limit for the runtime in use: runsc counts its own host threads. */
long long cfg_pids_limit(const struct cfg *cfg, bool gvisor);

/*
 * Parse a strtonum-style integer: decimal, optional sign, no trailing
 * characters, min <= value <= max.  Returns ERR_OK or ERR_INVAL.
 */
enum err cfg_parse_int(const char *s, long long min, long long max,
    long long *out);

/* Parse "a.b.c.d[/n]" or an IPv6 "x::y[/n]" into *out. */
enum err cfg_parse_cidr(const char *s, struct cfg_cidr *out);

#endif /* CFG_H */

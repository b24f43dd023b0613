/*
 * check_cfg.c: the configuration table and loader (lib/cfg.c) through a fake
 * environment: defaults, integer/bool/list parsing and bounds, the
 * DOCKER_HOST alias, the production and development rules, the Origin
 * allowlist, CIDR parsing, cfg_parse_int() edge cases and the help table.
 */
#include "compat.h"

#include <limits.h>
#include <sys/socket.h>

#include "cfg.h"
#include "log.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------- */

static void
fe_set(struct fakeenv *fe, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < 63 && fe->kv[i][0] != NULL; i++)
		if (strcmp(fe->kv[i][0], name) == 0)
			break;
	ck_assert_uint_lt(i, 63);
	fe->kv[i][0] = name;
	fe->kv[i][1] = value;
}

/* Load and expect failure; returns the error message (caller frees). */
static char *
load_fail(struct fakeenv *fe)
{
	struct cfg cfg;
	char *errstr = NULL;
	enum err r;

	r = cfg_load(&cfg, fakeenv_get, fe, &errstr);
	ck_assert_int_eq(r, ERR_INVAL);
	ck_assert_ptr_nonnull(errstr);
	return errstr;
}

static void
expect_fail_naming(struct fakeenv *fe, const char *var)
{
	char *errstr = load_fail(fe);

	ck_assert_msg(strstr(errstr, var) != NULL,
	    "error '%s' does not name %s", errstr, var);
	free(errstr);
}

/* A production environment that passes every rule. */
static void
fe_production(struct fakeenv *fe, const char *envvar)
{
	memset(fe, 0, sizeof(*fe));
	fe_set(fe, envvar, "production");
	fe_set(fe, "SANDBOX_API_KEY", "k3y-of-sufficient-length");
	fe_set(fe, "SANDBOX_ALLOWED_ORIGINS", "https://toolkata.example");
	fe_set(fe, "SANDBOX_USE_GVISOR", "true");
	fe_set(fe, "SANDBOX_WS_SECRET", "0123456789abcdef0123456789abcdef");
}

/* ---- environments -------------------------------------------------- */

START_TEST(test_environments_default)
{
	struct fakeenv fe;
	struct cfg cfg;
	const struct cfg_env *b, *n, *p;

	memset(&fe, 0, sizeof(fe));
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.nenvs, 3);
	b = cfg_env_for(&cfg, "bash");
	n = cfg_env_for(&cfg, "node");
	p = cfg_env_for(&cfg, "python");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(cfg_env_for(&cfg, NULL), b);
	ck_assert_ptr_eq(cfg_env_for(&cfg, ""), b);
	ck_assert_ptr_null(cfg_env_for(&cfg, "scala"));
	ck_assert_ptr_null(cfg_env_for(&cfg, "Bash"));
	ck_assert_str_eq(b->image, "");
	ck_assert_str_eq(b->category, "shell");
	ck_assert_int_eq(b->default_timeout_ms, 60000);
	ck_assert_str_eq(n->image, "toolkata-env-node:latest");
	ck_assert_str_eq(n->category, "runtime");
	ck_assert_int_eq(n->default_timeout_ms, 120000);
	ck_assert_str_eq(p->image, "toolkata-env-python:latest");
	/* bash runs the tool pair's image, the others their own. */
	ck_assert_str_eq(cfg_env_image(&cfg, b, "jj-git"),
	    "toolkata-sandbox:latest");
	ck_assert_str_eq(cfg_env_image(&cfg, n, "jj-git"),
	    "toolkata-env-node:latest");
	ck_assert_ptr_null(cfg_env_image(&cfg, n, "hg-git"));
	ck_assert_ptr_null(cfg_env_image(&cfg, NULL, "jj-git"));
	/* Only bash is pooled unless configured. */
	ck_assert(b->pooled);
	ck_assert(!n->pooled);
	ck_assert(!p->pooled);
	/* A missing image takes the environment out. */
	cfg.envs[1].missing = true;
	ck_assert_ptr_null(cfg_env_for(&cfg, "node"));
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_environments_parsed)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_ENVIRONMENTS", " python=reg.example/py:3@sha256:ab ,"
	    "bash");
	fe_set(&fe, "SANDBOX_POOL_ENVIRONMENTS", "python, bash");
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.nenvs, 2);
	ck_assert_str_eq(cfg.envs[0].name, "python");
	ck_assert_str_eq(cfg.envs[0].image, "reg.example/py:3@sha256:ab");
	ck_assert(cfg.envs[0].pooled);
	ck_assert_str_eq(cfg.envs[1].name, "bash");
	ck_assert(cfg.envs[1].pooled);
	ck_assert_ptr_null(cfg_env_for(&cfg, "node"));
	cfg_release(&cfg);
	fe_set(&fe, "SANDBOX_POOL_ENVIRONMENTS", "");
	util_cfg(&cfg, &fe);
	ck_assert(!cfg.envs[0].pooled);
	ck_assert(!cfg.envs[1].pooled);
	cfg_release(&cfg);
}
END_TEST

static const char *const bad_envs[][2] = {
	{ "SANDBOX_ENVIRONMENTS", "node=toolkata-env-node:latest" }, /* no bash */
	{ "SANDBOX_ENVIRONMENTS", "bash,scala=x:1" },	/* not in registry */
	{ "SANDBOX_ENVIRONMENTS", "bash,node" },	/* node needs an image */
	{ "SANDBOX_ENVIRONMENTS", "bash=toolkata-sandbox:2" }, /* pair's image */
	{ "SANDBOX_ENVIRONMENTS", "bash,bash" },
	{ "SANDBOX_ENVIRONMENTS", "bash,node=a:1,node=b:1" },
	{ "SANDBOX_ENVIRONMENTS", "bash,node=../x" },
	{ "SANDBOX_ENVIRONMENTS", "bash,node=a b" },
	{ "SANDBOX_ENVIRONMENTS", "bash,node=" },
	{ "SANDBOX_ENVIRONMENTS", "bash,nodejs=a:1" },
	{ "SANDBOX_ENVIRONMENTS", "" },
	{ "SANDBOX_POOL_ENVIRONMENTS", "ruby" },
};

START_TEST(test_environments_rejected)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	if (strcmp(bad_envs[_i][0], "SANDBOX_POOL_ENVIRONMENTS") == 0)
		fe_set(&fe, "SANDBOX_ENVIRONMENTS", "bash,python=py:1");
	fe_set(&fe, bad_envs[_i][0], bad_envs[_i][1]);
	expect_fail_naming(&fe, bad_envs[_i][0]);
}
END_TEST

/* ---- defaults ------------------------------------------------------ */

START_TEST(test_defaults)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.sessions_per_hour, 50);
	ck_assert_int_eq(cfg.concurrent_per_ip, 2);
	ck_assert_int_eq(cfg.websockets_per_ip, 3);
	ck_assert_int_eq(cfg.idle_timeout, 300);
	ck_assert_int_eq(cfg.max_lifetime, 1800);
	ck_assert_int_eq(cfg.memory_mb, 128);
	ck_assert_int_eq(cfg.cpu_percent, 50);
	ck_assert_int_eq(cfg.nofile, 64);
	ck_assert_int_eq(cfg.max_ws_message, 1024);
	ck_assert_int_eq(cfg.circuit_max_containers, 15);
	ck_assert_int_eq(cfg.circuit_max_memory_percent, 85);
	ck_assert(cfg.use_gvisor);
	ck_assert(!cfg.disable_rate_limit);
	ck_assert(!cfg.verbose);
	ck_assert(!cfg.production);
	ck_assert(!cfg.development);
	ck_assert_str_eq(cfg.api_key, "");
	ck_assert_str_eq(cfg.gvisor_runtime, "runsc");
	ck_assert_str_eq(cfg.docker_socket, "/var/run/docker.sock");
	ck_assert_str_eq(cfg.state_file, "/var/lib/toolkata/state.db");
	ck_assert_str_eq(cfg.audit_log, "-");
	ck_assert_uint_eq(cfg.nimages, 1);
	ck_assert_str_eq(cfg.image[0].pair, "jj-git");
	ck_assert_str_eq(cfg.image[0].image, "toolkata-sandbox:latest");
	ck_assert_str_eq(cfg_image_for(&cfg, "jj-git"),
	    "toolkata-sandbox:latest");
	ck_assert_ptr_null(cfg_image_for(&cfg, "jj"));
	ck_assert_ptr_null(cfg_image_for(&cfg, "jj-git "));
	ck_assert_uint_eq(cfg.norigins, 0);
	ck_assert_uint_eq(cfg.nproxies, 2);
	ck_assert_int_eq(cfg.proxy[0].family, AF_INET);
	ck_assert_int_eq(cfg.proxy[0].prefix, 32);
	ck_assert_int_eq(cfg.proxy[1].family, AF_INET6);
	ck_assert_int_eq(cfg.proxy[1].prefix, 128);
	cfg_release(&cfg);
	ck_assert_ptr_null(cfg.api_key);
	cfg_release(&cfg);	/* releasing twice is harmless */
}
END_TEST

START_TEST(test_reload_after_release)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "MAX_SESSIONS_PER_HOUR", "7");
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.sessions_per_hour, 7);
	cfg_release(&cfg);
	fe_set(&fe, "MAX_SESSIONS_PER_HOUR", "9");
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.sessions_per_hour, 9);
	cfg_release(&cfg);
}
END_TEST

/* A NULL errstr is allowed: the message is simply dropped. */
START_TEST(test_null_errstr)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "MAX_CONCURRENT_PER_IP", "0");
	ck_assert_int_eq(cfg_load(&cfg, fakeenv_get, &fe, NULL), ERR_INVAL);
}
END_TEST

/* ---- integers ------------------------------------------------------ */

static const struct {
	const char *var, *value;
} bad_ints[] = {
	{ "MAX_SESSIONS_PER_HOUR", "0" },
	{ "MAX_SESSIONS_PER_HOUR", "1000001" },
	{ "MAX_SESSIONS_PER_HOUR", "-1" },
	{ "MAX_SESSIONS_PER_HOUR", "abc" },
	{ "MAX_SESSIONS_PER_HOUR", "" },
	{ "MAX_SESSIONS_PER_HOUR", " 5" },
	{ "MAX_SESSIONS_PER_HOUR", "5 " },
	{ "MAX_SESSIONS_PER_HOUR", "5x" },
	{ "MAX_SESSIONS_PER_HOUR", "0x10" },
	{ "MAX_SESSIONS_PER_HOUR", "99999999999999999999999" },
	{ "MAX_CONCURRENT_PER_IP", "0" },
	{ "MAX_WEBSOCKETS_PER_IP", "1e3" },
	{ "SANDBOX_IDLE_TIMEOUT", "9" },
	{ "SANDBOX_MAX_LIFETIME", "86401" },
	{ "SANDBOX_MEMORY_MB", "15" },
	{ "SANDBOX_MEMORY_MB", "8193" },
	{ "SANDBOX_CPU_PERCENT", "801" },
	{ "SANDBOX_PIDS_LIMIT", "7" },
	{ "SANDBOX_PIDS_LIMIT_GVISOR", "127" },
	{ "SANDBOX_WORKERS", "65" },
	{ "SANDBOX_NOFILE", "15" },
	{ "SANDBOX_ENGINE_TIMEOUT", "601" },
	{ "SANDBOX_DESTROY_TIMEOUT", "0" },
	{ "SANDBOX_REAP_INTERVAL", "3601" },
	{ "SANDBOX_MAX_WS_MESSAGE_SIZE", "65537" },
	{ "CIRCUIT_MAX_CONTAINERS", "100001" },
	{ "CIRCUIT_MAX_MEMORY_PERCENT", "101" },
	{ "SANDBOX_HOME_SIZE_MB", "4097" },
	{ "SANDBOX_TMP_SIZE_MB", "0" },
};

START_TEST(test_int_rejected)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, bad_ints[_i].var, bad_ints[_i].value);
	expect_fail_naming(&fe, bad_ints[_i].var);
}
END_TEST

START_TEST(test_int_bounds_inclusive)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "MAX_SESSIONS_PER_HOUR", "1000000");
	fe_set(&fe, "MAX_CONCURRENT_PER_IP", "1");
	fe_set(&fe, "SANDBOX_MEMORY_MB", "16");
	fe_set(&fe, "SANDBOX_CPU_PERCENT", "800");
	fe_set(&fe, "SANDBOX_NOFILE", "+16");
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.sessions_per_hour, 1000000);
	ck_assert_int_eq(cfg.concurrent_per_ip, 1);
	ck_assert_int_eq(cfg.memory_mb, 16);
	ck_assert_int_eq(cfg.cpu_percent, 800);
	ck_assert_int_eq(cfg.nofile, 16);
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_parse_int)
{
	long long v = 12345;

	ck_assert_int_eq(cfg_parse_int("42", 0, 100, &v), ERR_OK);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(cfg_parse_int("-5", -10, 10, &v), ERR_OK);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(cfg_parse_int("+7", 0, 10, &v), ERR_OK);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(cfg_parse_int("0", 0, 0, &v), ERR_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(cfg_parse_int("9223372036854775807", 0, LLONG_MAX,
	    &v), ERR_OK);
	ck_assert(v == LLONG_MAX);
	ck_assert_int_eq(cfg_parse_int("-9223372036854775808", LLONG_MIN, 0,
	    &v), ERR_OK);
	ck_assert(v == LLONG_MIN);

	v = 12345;
	ck_assert_int_eq(cfg_parse_int(" 5", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("\t5", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("\n5", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("5 ", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("5x", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("x5", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int(NULL, 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("-", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("+", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("1.5", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("0x1", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("11", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("-1", 0, 10, &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("9223372036854775808", 0, LLONG_MAX,
	    &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("-9223372036854775809", LLONG_MIN, 0,
	    &v), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_int("99999999999999999999999999", LLONG_MIN,
	    LLONG_MAX, &v), ERR_INVAL);
	/* A failed parse leaves *out alone. */
	ck_assert_int_eq(v, 12345);
}
END_TEST

/* ---- booleans ------------------------------------------------------ */

static const struct {
	const char *text;
	bool value;
} good_bools[] = {
	{ "true", true }, { "false", false }, { "1", true }, { "0", false },
	{ "yes", true }, { "no", false }, { "on", true }, { "off", false },
	{ "TRUE", true }, { "No", false },
};

START_TEST(test_bool_parsed)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_VERBOSE", good_bools[_i].text);
	util_cfg(&cfg, &fe);
	ck_assert_msg(cfg.verbose == good_bools[_i].value, "'%s'",
	    good_bools[_i].text);
	cfg_release(&cfg);
}
END_TEST

static const char *const bad_bools[] = { "maybe", "", "2", "truee", " true",
	"y", "-1", "tru" };

START_TEST(test_bool_rejected)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_VERBOSE", bad_bools[_i]);
	expect_fail_naming(&fe, "SANDBOX_VERBOSE");
	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "DISABLE_RATE_LIMIT", bad_bools[_i]);
	expect_fail_naming(&fe, "DISABLE_RATE_LIMIT");
}
END_TEST

/* ---- strings ------------------------------------------------------- */

START_TEST(test_string_too_long)
{
	struct fakeenv fe;
	char *big = xmalloc(5000);

	memset(big, 'a', 4999);
	big[4999] = '\0';
	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_API_KEY", big);
	expect_fail_naming(&fe, "SANDBOX_API_KEY");
	free(big);
}
END_TEST

START_TEST(test_state_file_empty)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_STATE_FILE", "");
	expect_fail_naming(&fe, "SANDBOX_STATE_FILE");
}
END_TEST

START_TEST(test_gvisor_runtime_chars)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_GVISOR_RUNTIME", "runsc;rm");
	expect_fail_naming(&fe, "SANDBOX_GVISOR_RUNTIME");
	fe_set(&fe, "SANDBOX_GVISOR_RUNTIME", "");
	expect_fail_naming(&fe, "SANDBOX_GVISOR_RUNTIME");
	fe_set(&fe, "SANDBOX_GVISOR_RUNTIME", "runsc-kvm_2.x");
	util_cfg(&cfg, &fe);
	ck_assert_str_eq(cfg.gvisor_runtime, "runsc-kvm_2.x");
	cfg_release(&cfg);
}
END_TEST

/* ---- Docker socket ------------------------------------------------- */

START_TEST(test_docker_host_alias)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "DOCKER_HOST", "unix:///run/alt/docker.sock");
	util_cfg(&cfg, &fe);
	ck_assert_str_eq(cfg.docker_socket, "/run/alt/docker.sock");
	cfg_release(&cfg);

	/* SANDBOX_DOCKER_SOCKET wins over the alias. */
	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "/run/mine.sock");
	util_cfg(&cfg, &fe);
	ck_assert_str_eq(cfg.docker_socket, "/run/mine.sock");
	cfg_release(&cfg);

	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "unix:///run/p.sock");
	util_cfg(&cfg, &fe);
	ck_assert_str_eq(cfg.docker_socket, "/run/p.sock");
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_docker_socket_rejected)
{
	struct fakeenv fe;
	char *errstr;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "DOCKER_HOST", "tcp://10.0.0.1:2375");
	errstr = load_fail(&fe);
	ck_assert_ptr_nonnull(strstr(errstr, "DOCKER_SOCKET"));
	ck_assert_ptr_nonnull(strstr(errstr, "tcp://10.0.0.1:2375"));
	free(errstr);

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "tcp://127.0.0.1:2375");
	expect_fail_naming(&fe, "SANDBOX_DOCKER_SOCKET");
	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "docker.sock");
	expect_fail_naming(&fe, "SANDBOX_DOCKER_SOCKET");
	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "unix://");
	expect_fail_naming(&fe, "SANDBOX_DOCKER_SOCKET");
	fe_set(&fe, "SANDBOX_DOCKER_SOCKET", "");
	expect_fail_naming(&fe, "SANDBOX_DOCKER_SOCKET");
}
END_TEST

/* ---- SANDBOX_IMAGES ------------------------------------------------ */

START_TEST(test_images_parsed)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_IMAGES", " jj-git=toolkata-sandbox:1 ,  "
	    "git_hg.2=registry.example:5000/tk/hg:2.0 ,,x=img@sha256:abcdef, ");
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.nimages, 3);
	ck_assert_str_eq(cfg_image_for(&cfg, "jj-git"), "toolkata-sandbox:1");
	ck_assert_str_eq(cfg_image_for(&cfg, "git_hg.2"),
	    "registry.example:5000/tk/hg:2.0");
	ck_assert_str_eq(cfg_image_for(&cfg, "x"), "img@sha256:abcdef");
	ck_assert_ptr_null(cfg_image_for(&cfg, "toolkata-sandbox:1"));
	cfg_release(&cfg);
}
END_TEST

static const char *const bad_images[] = {
	"jj-git=a,jj-git=b",		/* duplicate pair */
	"jj-git=a,x=b,jj-git=a",	/* duplicate pair and image */
	"jj-git=img;rm -rf",		/* bad characters in the image */
	"jj git=img",			/* space inside the pair */
	"jj-git=img name",		/* space inside the image */
	"jj/git=img",			/* '/' not allowed in a pair */
	"jj-git",			/* no '=' */
	"jj-git:img",			/* no '=' */
	"=img",				/* empty pair */
	"jj-git=",			/* empty image */
	"",				/* nothing configured */
	" , ,",				/* nothing configured */
	"jj-git=a=b",			/* '=' in the image */
	"abcdefghijabcdefghijabcdefghijabc=img",	/* 33-char pair */
};

START_TEST(test_images_rejected)
{
	struct fakeenv fe;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_IMAGES", bad_images[_i]);
	expect_fail_naming(&fe, "SANDBOX_IMAGES");
}
END_TEST

START_TEST(test_images_limits)
{
	struct fakeenv fe;
	struct cfg cfg;
	char list[1024], img[160];
	size_t off = 0;

	/* A 32-character pair and a 128-character image are the maxima. */
	memset(img, 'i', 128);
	img[128] = '\0';
	(void)snprintf(list, sizeof(list),
	    "abcdefghijabcdefghijabcdefghijab=%s", img);
	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_IMAGES", list);
	util_cfg(&cfg, &fe);
	ck_assert_str_eq(cfg_image_for(&cfg,
	    "abcdefghijabcdefghijabcdefghijab"), img);
	cfg_release(&cfg);

	(void)snprintf(list, sizeof(list), "a=%si", img);
	fe_set(&fe, "SANDBOX_IMAGES", list);
	expect_fail_naming(&fe, "SANDBOX_IMAGES");

	/* 16 pairs fit, 17 do not. */
	for (int i = 0; i < 16; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%sp%d=img%d", i > 0 ? "," : "", i, i);
	fe_set(&fe, "SANDBOX_IMAGES", list);
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.nimages, 16);
	ck_assert_str_eq(cfg_image_for(&cfg, "p15"), "img15");
	cfg_release(&cfg);
	(void)snprintf(list + off, sizeof(list) - off, ",p16=img16");
	fe_set(&fe, "SANDBOX_IMAGES", list);
	expect_fail_naming(&fe, "SANDBOX_IMAGES");
}
END_TEST

/* ---- Origins ------------------------------------------------------- */

START_TEST(test_origins_trimmed)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_ALLOWED_ORIGINS",
	    "  https://a.example ,, ,\thttps://b.example:8443\t,");
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.norigins, 2);
	ck_assert_str_eq(cfg.origin[0], "https://a.example");
	ck_assert_str_eq(cfg.origin[1], "https://b.example:8443");
	ck_assert(cfg_origin_allowed(&cfg, "https://a.example"));
	ck_assert(cfg_origin_allowed(&cfg, "https://b.example:8443"));
	ck_assert(!cfg_origin_allowed(&cfg, "https://a.example/"));
	ck_assert(!cfg_origin_allowed(&cfg, "https://a.exampl"));
	ck_assert(!cfg_origin_allowed(&cfg, "https://a.example.evil"));
	ck_assert(!cfg_origin_allowed(&cfg, "HTTPS://A.EXAMPLE"));
	ck_assert(!cfg_origin_allowed(&cfg, " https://a.example"));
	ck_assert(!cfg_origin_allowed(&cfg, "https://b.example"));
	ck_assert(!cfg_origin_allowed(&cfg, ""));
	ck_assert(!cfg_origin_allowed(&cfg, NULL));
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_origins_empty_allows_all)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_ALLOWED_ORIGINS", " , ,, ");
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.norigins, 0);
	ck_assert(cfg_origin_allowed(&cfg, "https://anything.example"));
	ck_assert(cfg_origin_allowed(&cfg, ""));
	ck_assert(cfg_origin_allowed(&cfg, NULL));
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_origins_limits)
{
	struct fakeenv fe;
	char *list = xmalloc(4096);
	char origin[300];
	size_t off = 0;

	/* 33 origins: one too many. */
	for (int i = 0; i < 33; i++)
		off += (size_t)snprintf(list + off, 4096 - off,
		    "%shttps://o%d.example", i > 0 ? "," : "", i);
	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_ALLOWED_ORIGINS", list);
	expect_fail_naming(&fe, "SANDBOX_ALLOWED_ORIGINS");

	/* An origin of 256 characters does not fit CFG_ORIGIN_MAX. */
	memset(origin, 'o', 256);
	origin[256] = '\0';
	fe_set(&fe, "SANDBOX_ALLOWED_ORIGINS", origin);
	expect_fail_naming(&fe, "SANDBOX_ALLOWED_ORIGINS");
	free(list);
}
END_TEST

/*
 * cfg.h: every error message "names the variable".  A list item of 512
 * bytes or more is refused before it reaches the per-list code; that
 * message must still say which list it came from.
 */
static const char *const list_vars[] = { "SANDBOX_ALLOWED_ORIGINS",
	"SANDBOX_IMAGES", "SANDBOX_TRUSTED_PROXIES" };

START_TEST(test_list_item_too_long_named)
{
	struct fakeenv fe;
	char *item = xmalloc(601);

	memset(item, 'x', 600);
	item[600] = '\0';
	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, list_vars[_i], item);
	expect_fail_naming(&fe, list_vars[_i]);
	free(item);
}
END_TEST

/* ---- trusted proxies ----------------------------------------------- */

START_TEST(test_parse_cidr)
{
	struct cfg_cidr c;

	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/8", &c), ERR_OK);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 8);
	ck_assert_int_eq(c.addr[0], 10);
	ck_assert_int_eq(cfg_parse_cidr("192.168.1.7", &c), ERR_OK);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 32);
	ck_assert_int_eq(c.addr[3], 7);
	ck_assert_int_eq(cfg_parse_cidr("0.0.0.0/0", &c), ERR_OK);
	ck_assert_int_eq(c.prefix, 0);
	ck_assert_int_eq(cfg_parse_cidr("::1", &c), ERR_OK);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 128);
	ck_assert_int_eq(c.addr[15], 1);
	ck_assert_int_eq(cfg_parse_cidr("fd00:1:2::/64", &c), ERR_OK);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 64);
	ck_assert_int_eq(c.addr[0], 0xfd);
	ck_assert_int_eq(cfg_parse_cidr("::/0", &c), ERR_OK);
	ck_assert_int_eq(c.prefix, 0);

	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/33", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/-1", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/8x", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/ 8", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("10.0.0.0/8/8", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("::/129", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("10.0.0/8", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("256.0.0.1", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("localhost", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr("/8", &c), ERR_INVAL);
	ck_assert_int_eq(cfg_parse_cidr(
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", &c), ERR_INVAL);
}
END_TEST

START_TEST(test_proxies_list)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_TRUSTED_PROXIES", " 10.0.0.0/8 ,, fd00::/64,"
	    "192.0.2.1 ");
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.nproxies, 3);
	ck_assert_int_eq(cfg.proxy[0].prefix, 8);
	ck_assert_int_eq(cfg.proxy[1].family, AF_INET6);
	ck_assert_int_eq(cfg.proxy[1].prefix, 64);
	ck_assert_int_eq(cfg.proxy[2].prefix, 32);
	cfg_release(&cfg);

	fe_set(&fe, "SANDBOX_TRUSTED_PROXIES", "");
	util_cfg(&cfg, &fe);
	ck_assert_uint_eq(cfg.nproxies, 0);
	cfg_release(&cfg);

	fe_set(&fe, "SANDBOX_TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.0/40");
	expect_fail_naming(&fe, "SANDBOX_TRUSTED_PROXIES");
	fe_set(&fe, "SANDBOX_TRUSTED_PROXIES", "proxy.example");
	expect_fail_naming(&fe, "SANDBOX_TRUSTED_PROXIES");
}
END_TEST

/* ---- production and development rules ------------------------------ */

static const char *const prod_vars[] = { "SANDBOX_ENV", "NODE_ENV" };

START_TEST(test_production_ok)
{
	struct fakeenv fe;
	struct cfg cfg;

	fe_production(&fe, prod_vars[_i]);
	util_cfg(&cfg, &fe);
	ck_assert(cfg.production);
	ck_assert(!cfg.development);
	ck_assert_int_eq(cfg.sessions_per_hour, 50);
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_production_requires_key)
{
	struct fakeenv fe;

	fe_production(&fe, prod_vars[_i]);
	fe_set(&fe, "SANDBOX_API_KEY", "");
	expect_fail_naming(&fe, "SANDBOX_API_KEY");
}
END_TEST

START_TEST(test_production_requires_origins)
{
	struct fakeenv fe;

	fe_production(&fe, prod_vars[_i]);
	fe_set(&fe, "SANDBOX_ALLOWED_ORIGINS", "");
	expect_fail_naming(&fe, "SANDBOX_ALLOWED_ORIGINS");
	fe_set(&fe, "SANDBOX_ALLOWED_ORIGINS", " , ");
	expect_fail_naming(&fe, "SANDBOX_ALLOWED_ORIGINS");
}
END_TEST

START_TEST(test_production_requires_gvisor)
{
	struct fakeenv fe;

	fe_production(&fe, prod_vars[_i]);
	fe_set(&fe, "SANDBOX_USE_GVISOR", "false");
	expect_fail_naming(&fe, "SANDBOX_USE_GVISOR");
}
END_TEST

START_TEST(test_production_no_rate_limit_off)
{
	struct fakeenv fe;

	fe_production(&fe, prod_vars[_i]);
	fe_set(&fe, "DISABLE_RATE_LIMIT", "true");
	expect_fail_naming(&fe, "DISABLE_RATE_LIMIT");
}
END_TEST

/* Without the relay's secret anyone on the host could name a client IP. */
START_TEST(test_production_requires_ws_secret)
{
	struct fakeenv fe;

	fe_production(&fe, prod_vars[_i]);
	fe_set(&fe, "SANDBOX_WS_SECRET", "");
	expect_fail_naming(&fe, "SANDBOX_WS_SECRET");
}
END_TEST

START_TEST(test_ws_secret_checked)
{
	static const char *const bad[] = { "short", "0123456789abcde",
		"0123456789abcdef 0123", "0123456789abcdef\r\nX: y",
		"0123456789abcdef\"" };
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	for (size_t i = 0; i < nitems(bad); i++) {
		fe_set(&fe, "SANDBOX_WS_SECRET", bad[i]);
		expect_fail_naming(&fe, "SANDBOX_WS_SECRET");
	}
	fe_set(&fe, "SANDBOX_WS_SECRET", "aZ09._~+/=-aZ09._~+/=-");
	util_cfg(&cfg, &fe);
	ck_assert_str_eq(cfg.ws_secret, "aZ09._~+/=-aZ09._~+/=-");
	cfg_release(&cfg);
}
END_TEST

/* websocketd --passenv: the secret is passed, and no name a client header
 * could replace (HTTP_*, httpoxy; mechanics.md H3). */
START_TEST(test_passenv_names)
{
	char names[4096], *p, *item;

	cfg_env_names(names, sizeof(names));
	ck_assert_ptr_nonnull(strstr(names, "SANDBOX_WS_SECRET"));
	ck_assert_ptr_nonnull(strstr(names, "SANDBOX_STATE_FILE"));
	p = names;
	while ((item = strsep(&p, ",")) != NULL) {
		ck_assert_msg(*item != '\0', "empty passenv item");
		ck_assert_msg(strncmp(item, "HTTP_", 5) != 0,
		    "passenv has %s", item);
	}
}
END_TEST

/* NODE_ENV=production counts even when SANDBOX_ENV says something else. */
START_TEST(test_production_node_env_beside_sandbox_env)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_ENV", "staging");
	fe_set(&fe, "NODE_ENV", "production");
	expect_fail_naming(&fe, "SANDBOX_API_KEY");
	fe_production(&fe, "NODE_ENV");
	fe_set(&fe, "SANDBOX_ENV", "development");
	util_cfg(&cfg, &fe);
	ck_assert(cfg.production);
	ck_assert(!cfg.development);
	ck_assert_int_eq(cfg.concurrent_per_ip, 2);
	cfg_release(&cfg);
}
END_TEST

static const char *const dev_env[][2] = {
	{ "NODE_ENV", "development" },
	{ "SANDBOX_ENV", "development" },
	{ "DISABLE_RATE_LIMIT", "true" },
	{ "DISABLE_RATE_LIMIT", "1" },
};

START_TEST(test_limits_raised)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "MAX_SESSIONS_PER_HOUR", "5");
	fe_set(&fe, dev_env[_i][0], dev_env[_i][1]);
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.sessions_per_hour, 999999);
	ck_assert_int_eq(cfg.concurrent_per_ip, 999999);
	ck_assert_int_eq(cfg.websockets_per_ip, 999999);
	ck_assert(!cfg.production);
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_limits_kept)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "MAX_SESSIONS_PER_HOUR", "5");
	fe_set(&fe, "DISABLE_RATE_LIMIT", "false");
	fe_set(&fe, "NODE_ENV", "test");
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.sessions_per_hour, 5);
	ck_assert_int_eq(cfg.concurrent_per_ip, 2);
	ck_assert(!cfg.development);
	ck_assert(!cfg.production);
	cfg_release(&cfg);
}
END_TEST

/* ---- cross-field rules --------------------------------------------- */

START_TEST(test_idle_longer_than_lifetime)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	fe_set(&fe, "SANDBOX_IDLE_TIMEOUT", "600");
	fe_set(&fe, "SANDBOX_MAX_LIFETIME", "300");
	expect_fail_naming(&fe, "SANDBOX_IDLE_TIMEOUT");
	fe_set(&fe, "SANDBOX_IDLE_TIMEOUT", "300");
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg.idle_timeout, 300);
	ck_assert_int_eq(cfg.max_lifetime, 300);
	cfg_release(&cfg);
}
END_TEST

START_TEST(test_pids_limit)
{
	struct fakeenv fe;
	struct cfg cfg;

	memset(&fe, 0, sizeof(fe));
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg_pids_limit(&cfg, false), 50);
	ck_assert_int_eq(cfg_pids_limit(&cfg, true), 2048);
	cfg_release(&cfg);
	fe_set(&fe, "SANDBOX_PIDS_LIMIT", "100");
	fe_set(&fe, "SANDBOX_PIDS_LIMIT_GVISOR", "512");
	util_cfg(&cfg, &fe);
	ck_assert_int_eq(cfg_pids_limit(&cfg, false), 100);
	ck_assert_int_eq(cfg_pids_limit(&cfg, true), 512);
	cfg_release(&cfg);
}
END_TEST

/* ---- the help table ------------------------------------------------ */

struct asked {
	char names[64][48];
	size_t n;
};

/* A getenv that records every name cfg_load() looks up. */
static const char *
record_get(const char *name, void *arg)
{
	struct asked *a = arg;

	if (a->n < nitems(a->names))
		(void)strlcpy_ok(a->names[a->n++], name, sizeof(a->names[0]));
	return NULL;
}

START_TEST(test_print_table)
{
	struct asked asked;
	struct cfg cfg;
	char *errstr = NULL;
	char *text = NULL;
	size_t len = 0, lines = 0;
	FILE *fp;

	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	cfg_print_table(fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';

	ck_assert_ptr_nonnull(strstr(text, "SANDBOX_API_KEY"));
	ck_assert_ptr_nonnull(strstr(text, "MAX_SESSIONS_PER_HOUR"));
	ck_assert_ptr_nonnull(strstr(text, "1..1000000"));
	ck_assert_ptr_nonnull(strstr(text, "jj-git=toolkata-sandbox:latest"));
	ck_assert_ptr_nonnull(strstr(text, "DOCKER_HOST"));
	ck_assert_ptr_nonnull(strstr(text, "SANDBOX_VERBOSE"));

	/* Every variable cfg_load() reads appears in the table. */
	memset(&asked, 0, sizeof(asked));
	ck_assert_int_eq(cfg_load(&cfg, record_get, &asked, &errstr), ERR_OK);
	cfg_release(&cfg);
	ck_assert_uint_gt(asked.n, 30);
	for (size_t i = 0; i < asked.n; i++)
		ck_assert_msg(strstr(text, asked.names[i]) != NULL,
		    "%s missing from the table", asked.names[i]);
	/* One header line, then at least one line per primary variable. */
	ck_assert_uint_ge(lines, 1 + 30);
	free(text);
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_reload_after_release);
	tcase_add_test(tc, test_null_errstr);
	tcase_add_loop_test(tc, test_int_rejected, 0, (int)nitems(bad_ints));
	tcase_add_test(tc, test_int_bounds_inclusive);
	tcase_add_test(tc, test_parse_int);
	tcase_add_loop_test(tc, test_bool_parsed, 0, (int)nitems(good_bools));
	tcase_add_loop_test(tc, test_bool_rejected, 0, (int)nitems(bad_bools));
	tcase_add_test(tc, test_string_too_long);
	tcase_add_test(tc, test_state_file_empty);
	tcase_add_test(tc, test_gvisor_runtime_chars);
	suite_add_tcase(s, tc);

	tc = tcase_create("lists");
	tcase_add_test(tc, test_docker_host_alias);
	tcase_add_test(tc, test_docker_socket_rejected);
	tcase_add_test(tc, test_images_parsed);
	tcase_add_loop_test(tc, test_images_rejected, 0,
	    (int)nitems(bad_images));
	tcase_add_test(tc, test_images_limits);
	tcase_add_test(tc, test_origins_trimmed);
	tcase_add_test(tc, test_origins_empty_allows_all);
	tcase_add_test(tc, test_origins_limits);
	tcase_add_loop_test(tc, test_list_item_too_long_named, 0,
	    (int)nitems(list_vars));
	tcase_add_test(tc, test_parse_cidr);
	tcase_add_test(tc, test_proxies_list);
	tcase_add_test(tc, test_environments_default);
	tcase_add_test(tc, test_environments_parsed);
	tcase_add_loop_test(tc, test_environments_rejected, 0,
	    (int)nitems(bad_envs));
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_production_ok, 0, (int)nitems(prod_vars));
	tcase_add_loop_test(tc, test_production_requires_key, 0,
	    (int)nitems(prod_vars));
	tcase_add_loop_test(tc, test_production_requires_origins, 0,
	    (int)nitems(prod_vars));
	tcase_add_loop_test(tc, test_production_requires_gvisor, 0,
	    (int)nitems(prod_vars));
	tcase_add_loop_test(tc, test_production_no_rate_limit_off, 0,
	    (int)nitems(prod_vars));
	tcase_add_loop_test(tc, test_production_requires_ws_secret, 0,
	    (int)nitems(prod_vars));
	tcase_add_test(tc, test_ws_secret_checked);
	tcase_add_test(tc, test_passenv_names);
	tcase_add_test(tc, test_production_node_env_beside_sandbox_env);
	tcase_add_loop_test(tc, test_limits_raised, 0, (int)nitems(dev_env));
	tcase_add_test(tc, test_limits_kept);
	tcase_add_test(tc, test_idle_longer_than_lifetime);
	tcase_add_test(tc, test_pids_limit);
	tcase_add_test(tc, test_print_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(cfg_suite());
}

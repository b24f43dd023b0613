/*
 * util.h: helpers shared by the Check suites: a fake environment for
 * cfg_load(), a loaded default cfg, temporary paths, and the main() every
 * suite uses.  Header-only; each suite is its own program.
 */
#ifndef CHECK_UTIL_H
#define CHECK_UTIL_H

#include "compat.h"

#include <check.h>
#include <dirent.h>
#include <unistd.h>

#include <jansson.h>

#include "cfg.h"

/* A fake environment: NULL-terminated {name, value} pairs. */
struct fakeenv {
	const char *kv[64][2];
};

static inline const char *
fakeenv_get(const char *name, void *arg)
{
	const struct fakeenv *fe = arg;

	for (size_t i = 0; i < 64 && fe->kv[i][0] != NULL; i++)
		if (strcmp(fe->kv[i][0], name) == 0)
			return fe->kv[i][1];
	return NULL;
}

/* Load cfg from a fake environment; fails the test on error. */
static inline void
util_cfg(struct cfg *cfg, struct fakeenv *fe)
{
	char *errstr = NULL;
	enum err r = cfg_load(cfg, fakeenv_get, fe, &errstr);

	ck_assert_msg(r == ERR_OK, "cfg_load: %s", errstr ? errstr : "?");
	free(errstr);
}

/* A fresh temporary directory path (created) in buf. */
static inline void
util_tmpdir(char *buf, size_t sz)
{
	(void)snprintf(buf, sz, "/tmp/toolkata-check.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Remove a flat temporary directory made by util_tmpdir() and the files in
 * it (unchecked teardowns call it, so it runs even after a failed test). */
static inline void
util_rmdir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char *p;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			continue;
		(void)unlink(p);
		free(p);
	}
	if (d != NULL)
		(void)closedir(d);
	(void)rmdir(dir);
}

/* A string member of a JSON object; fails the test when it is not one. */
static inline const char *
jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	ck_assert_msg(v != NULL, "%s is not a string", key);
	return v;
}

/* An integer member of a JSON object; fails the test when it is not one. */
static inline json_int_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

/* Remove an SQLite file with its -wal and -shm companions. */
static inline void
util_unlink_db(const char *path)
{
	char *p;

	(void)unlink(path);
	if (asprintf(&p, "%s-wal", path) > 0) {
		(void)unlink(p);
		free(p);
	}
	if (asprintf(&p, "%s-shm", path) > 0) {
		(void)unlink(p);
		free(p);
	}
}

/* Run one suite and exit with its status. */
static inline int
util_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif /* CHECK_UTIL_H */

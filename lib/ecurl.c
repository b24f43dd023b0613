/*
 * ecurl.c: the libcurl transport of lib/engine.c, and engine_new().  The
 * only file that uses libcurl; toolkata-api links it, the relay does not
 * (it uses ehttp.c).
 */
#include "compat.h"

#include <curl/curl.h>

#include "engine.h"
#include "log.h"

struct engine_curl {
	CURL *curl;
	char *socket_path;
};

struct engine_sink {
	char *buf;
	size_t cap, len;
	bool over;
};

static size_t
engine_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct engine_sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->cap - 1 - s->len) {
		s->over = true;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return n;
}

static enum err
engine_curl_call(void *ctx, const char *method, const char *path,
    const char *body, long timeout_ms, long *status, char *reply, size_t cap,
    size_t *len)
{
	struct engine_curl *ec = ctx;
	struct engine_sink sink = { reply, cap, 0, false };
	struct curl_slist *hdr = NULL;
	char url[512];
	CURLcode rc;
	enum err r = ERR_UPSTREAM;

	if (snprintf(url, sizeof(url), "http://localhost%s%s", ENGINE_API,
		path) >= (int)sizeof(url))
		return ERR_INVAL;
	curl_easy_reset(ec->curl);
	(void)curl_easy_setopt(ec->curl, CURLOPT_UNIX_SOCKET_PATH,
	    ec->socket_path);
	(void)curl_easy_setopt(ec->curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(ec->curl, CURLOPT_CUSTOMREQUEST, method);
	(void)curl_easy_setopt(ec->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	(void)curl_easy_setopt(ec->curl, CURLOPT_NOSIGNAL, 1L);
	/* The path is ours, built from checked fields: send it as it is. */
	(void)curl_easy_setopt(ec->curl, CURLOPT_PATH_AS_IS, 1L);
	(void)curl_easy_setopt(ec->curl, CURLOPT_WRITEFUNCTION,
	    engine_write_cb);
	(void)curl_easy_setopt(ec->curl, CURLOPT_WRITEDATA, &sink);
	if (body != NULL) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		if (hdr == NULL)
			return ERR_NOMEM;
		(void)curl_easy_setopt(ec->curl, CURLOPT_HTTPHEADER, hdr);
		(void)curl_easy_setopt(ec->curl, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(ec->curl);
	reply[sink.len] = '\0';
	*len = sink.len;
	if (sink.over)
		r = ERR_TOOBIG;
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		r = ERR_TIMEOUT;
	else if (rc == CURLE_OK) {
		(void)curl_easy_getinfo(ec->curl, CURLINFO_RESPONSE_CODE, status);
		r = ERR_OK;
	} else
		log_warnx("engine: %s %s: %s", method, path,
		    curl_easy_strerror(rc));
	curl_slist_free_all(hdr);
	return r;
}

static void
engine_curl_free(void *ctx)
{
	struct engine_curl *ec = ctx;

	curl_easy_cleanup(ec->curl);
	free(ec->socket_path);
	free(ec);
}

struct engine *
engine_new(const char *socket_path, long timeout_ms)
{
	struct engine_curl *ec = xcalloc(1, sizeof(*ec));
	struct engine_transport t = { engine_curl_call, engine_curl_free, ec };

	ec->curl = curl_easy_init();
	if (ec->curl == NULL)
		fatalx("engine: curl_easy_init failed");
	ec->socket_path = xstrdup(socket_path);
	return engine_new_transport(&t, timeout_ms);
}


# toolkata-sandbox: the one, non-recursive Makefile.
#   make            build bin/toolkata-api, bin/toolkata-relay, lib/libcore.a
#   make deps       install every Debian package the project needs (root)
#   make image      build the sandbox image offline (debootstrap base, cached)
#   make run        build, image, dockerd, and the local stack on :8080
#   make check      unit + integration tests (SANITIZE=address,undefined ok)
#   make lint       cppcheck, clang-tidy, shellcheck
#   make fuzz       build the libFuzzer targets (clang)

CC ?= cc
WERROR ?= -Werror
SANITIZE ?=

PKGS := libfcgi-dev libfcgi-bin libjansson-dev libcurl4-openssl-dev \
	libsqlite3-dev check libsubunit-dev pkg-config docker.io runsc caddy \
	websocketd debootstrap clang libclang-rt-14-dev wrk shellcheck \
	cppcheck clang-tidy curl jq sqlite3 procps iproute2 python3 \
	gcc make chromium

WARN := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) -Wformat=2 -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	-Wold-style-definition -Wpointer-arith -Wcast-qual -Wwrite-strings \
	-Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough \
	-Wredundant-decls -Wdeclaration-after-statement -fno-common
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1)),)
WARN += -Wlogical-op -Wduplicated-cond -Wduplicated-branches \
	-Wformat-truncation=2 -Wjump-misses-init
else
WARN += -Wcomma -Wshorten-64-to-32
endif

ifeq ($(SANITIZE),)
HARDEN := -O2 -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	-fstack-clash-protection -fcf-protection -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
else
HARDEN := -O1 -g -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -fPIE
HARDEN_LD := -pie -fsanitize=$(SANITIZE)
endif

CFLAGS ?= -g
ALL_CFLAGS := $(WARN) $(HARDEN) $(CFLAGS) -pthread -Ilib
LDFLAGS ?=
ALL_LDFLAGS := $(HARDEN_LD) $(LDFLAGS) -pthread
LIBS := -lcurl -ljansson -lsqlite3
# The relay speaks to the Engine without libcurl (lib/ehttp.c).
RELAY_LIBS := -ljansson -lsqlite3
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS = $(shell pkg-config --libs check)

LIB_SRC := lib/log.c lib/clock.c lib/filter.c lib/cfg.c lib/id.c lib/access.c lib/ratelimit.c \
	lib/store.c lib/audit.c lib/engine.c lib/ecurl.c lib/ehttp.c lib/metrics.c \
	lib/session.c lib/ofilter.c lib/stepcheck.c lib/tkmsg.c
LIB_OBJ := $(LIB_SRC:.c=.o)

API_SRC := fcgi/main.c fcgi/api.c fcgi/req.c fcgi/reply.c fcgi/route.c fcgi/body.c \
	fcgi/h_health.c fcgi/h_sessions.c fcgi/h_metrics.c fcgi/h_wsauth.c \
	fcgi/h_check.c fcgi/h_environments.c fcgi/reaper.c fcgi/pool.c
API_OBJ := $(API_SRC:.c=.o)

UNIT := check/check_cfg check/check_id check/check_access \
	check/check_ratelimit check/check_store check/check_audit \
	check/check_engine check/check_metrics check/check_req \
	check/check_frame check/check_filter check/check_pump check/check_body \
	check/check_session check/check_ofilter
ITEST := check/check_api check/check_relay check/check_init check/check_pool check/check_abuse \
	check/check_fault check/check_lesson check/check_env

RELAY_SRC := relay/main.c relay/frame.c relay/pump.c
RELAY_OBJ := $(RELAY_SRC:.c=.o)

BINS := bin/toolkata-api bin/toolkata-relay

.PHONY: FORCE all deps image run stop check unit itest lint fuzz fuzz-regress \
	bench clean format-check
all: $(BINS) lib/libcore.a

deps:
	@./deploy/deps.sh $(PKGS)

lib/libcore.a: $(LIB_OBJ)
	ar rcs $@ $(LIB_OBJ)

# Rebuild everything when the flags change (e.g. SANITIZE=...).
.flags: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' >$@
FORCE:

%.o: %.c lib/*.h fcgi/*.h relay/*.h Makefile .flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

bin/toolkata-api: $(API_OBJ) lib/libcore.a
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(API_OBJ) lib/libcore.a -lfcgi $(LIBS)

bin/toolkata-relay: $(RELAY_OBJ) lib/libcore.a
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(RELAY_OBJ) lib/libcore.a $(RELAY_LIBS)

check/%: check/%.c check/*.h .flags lib/libcore.a \
    $(filter-out fcgi/main.o,$(API_OBJ)) relay/frame.o relay/pump.o
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Ifcgi -Irelay -o $@ $< \
	    $(filter-out fcgi/main.o,$(API_OBJ)) relay/frame.o relay/pump.o \
	    lib/libcore.a -lfcgi $(LIBS) $(CHECK_LIBS)

# libFuzzer targets: clang, sanitizers, the whole core compiled in.
FUZZ := fuzz/fuzz_req fuzz/fuzz_cfg fuzz/fuzz_access fuzz/fuzz_engine \
	fuzz/fuzz_body fuzz/fuzz_frame fuzz/fuzz_ofilter fuzz/fuzz_ehttp \
	fuzz/fuzz_check
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -Ilib -Ifcgi -Irelay
FUZZ_SRC := $(LIB_SRC) $(filter-out fcgi/main.c,$(API_SRC)) relay/frame.c \
	relay/pump.c

fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SRC) lib/*.h fcgi/*.h relay/*.h
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC) -lfcgi $(LIBS)

# `make fuzz`: each target for FUZZ_TIME seconds from its seed corpus.
fuzz: $(FUZZ)
	@for f in $(FUZZ); do n=$${f#fuzz/fuzz_}; mkdir -p fuzz/out/$$n; \
	    ./$$f -max_total_time=$(FUZZ_TIME) -dict=fuzz/$$n.dict \
	    fuzz/out/$$n fuzz/corpus/$$n >fuzz/out/$$n.log 2>&1 || \
	    { tail -30 fuzz/out/$$n.log; exit 1; }; \
	    sed -n "s|^Done \([0-9]*\) runs in \([0-9]*\) second.*|fuzz: $$n: \1 runs in \2 s|p" \
	    fuzz/out/$$n.log; done

# `make fuzz-regress` (part of make check): replay the seed corpora.
fuzz-regress: $(FUZZ)
	@for f in $(FUZZ); do n=$${f#fuzz/fuzz_}; \
	    ./$$f -runs=0 fuzz/corpus/$$n >/dev/null 2>&1 || \
	    { echo "fuzz: $$f fails on its corpus"; exit 1; }; done; \
	    echo "fuzz: seed corpora replayed clean"

# `make bench`: the harness against private stacks (or BENCH_URL/BENCH_KEY);
# BENCH_QUICK=1 for the smoke run.
bench: all image
	@./caddy/vendor.sh >/dev/null
	@./bench/run.sh

image:
	@./docker/build.sh

run: deps all image
	@./caddy/vendor.sh
	@./deploy/run-local.sh

stop:
	@./deploy/stop-local.sh

check: deps all image $(UNIT) $(ITEST) fuzz-regress
	@for f in caddy/Caddyfile caddy/Caddyfile.local; do \
	    XDG_DATA_HOME=/tmp/toolkata-caddy XDG_CONFIG_HOME=/tmp/toolkata-caddy \
	    caddy validate --config $$f --adapter caddyfile >/dev/null 2>&1 || \
	    { echo "caddy validate $$f failed"; exit 1; }; \
	    echo "caddy validate $$f: ok"; done
	@./check/run.sh $(UNIT) -- $(ITEST)
	@./check/browser/run.sh
	@BENCH_QUICK=1 ./bench/run.sh >/tmp/toolkata-bench-smoke.log 2>&1 || \
	    { tail -20 /tmp/toolkata-bench-smoke.log; echo "bench smoke failed"; \
	    exit 1; }; echo "bench smoke: every scenario ran (make bench for numbers)"

unit: all $(UNIT)
	@./check/run.sh $(UNIT)

lint:
	cppcheck --quiet --enable=warning,portability,performance --std=c11 \
	    --inline-suppr --error-exitcode=1 -D_GNU_SOURCE -Ilib \
	    --suppress=missingIncludeSystem lib fcgi relay docker/init
	clang-tidy --quiet $(LIB_SRC) $(API_SRC) $(RELAY_SRC) docker/init/init.c docker/init/check.c \
	    -- -std=c11 \
	    -D_GNU_SOURCE -Ilib -Ifcgi -Irelay
	shellcheck -S warning $$(git ls-files '*.sh') .ci/run

clean:
	rm -f lib/*.o lib/*.a fcgi/*.o relay/*.o bin/* $(UNIT) $(ITEST) $(FUZZ) .flags

# --- deployment (issue 9): make install / uninstall / check-deploy --------
# `make install PREFIX=/usr/local DESTDIR=` installs the binaries, the
# websocketd wrapper, the systemd units (and Caddy's drop-in) under
# $(UNITDIR), the Caddyfile, the image files (docker/), logrotate and the
# environment template.  Never touches /etc/toolkata/sandbox.env or state.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/toolkata
DATADIR ?= $(PREFIX)/share/toolkata
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	-e 's|@DATADIR@|$(DATADIR)|g'
UNITS := toolkata-api.service toolkata-ws.service

.PHONY: install uninstall check-deploy check-plans
install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(DATADIR) $(DESTDIR)$(UNITDIR)/caddy.service.d \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	$(SUBST) deploy/toolkata-ws.in >$(DESTDIR)$(LIBEXECDIR)/toolkata-ws
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/toolkata-ws
	for u in $(UNITS); do $(SUBST) deploy/systemd/$$u.in \
	    >$(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	$(SUBST) deploy/systemd/caddy-toolkata.conf.in \
	    >$(DESTDIR)$(UNITDIR)/caddy.service.d/toolkata.conf
	chmod 0644 $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(UNITDIR)/caddy.service.d/toolkata.conf
	install -m 0644 caddy/Caddyfile deploy/sandbox.env.example README.md \
	    $(DESTDIR)$(DATADIR)/
	rm -rf $(DESTDIR)$(DATADIR)/docker
	cp -R docker $(DESTDIR)$(DATADIR)/docker
	$(SUBST) deploy/logrotate.in >$(DESTDIR)$(SYSCONFDIR)/logrotate.d/toolkata
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/toolkata

uninstall:
	rm -f $(BINS:bin/%=$(DESTDIR)$(BINDIR)/%) \
	    $(DESTDIR)$(LIBEXECDIR)/toolkata-ws \
	    $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(UNITDIR)/caddy.service.d/toolkata.conf \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/toolkata
	rm -rf $(DESTDIR)$(DATADIR)
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)/caddy.service.d \
	    2>/dev/null

# The cloud scripts' dry-run plans (stubbed CLIs), inside `make check`.
check: check-plans
check-plans: bin/toolkata-api
	@./deploy/deps.sh hcloud-cli
	@./check/deploy/plans.sh

# The real deployment suite: a systemd-nspawn Debian 12 guest (cached root),
# setup-server.sh and deploy over ssh, twice (~2 min with the root cached,
# +4 min to build it).  Ships the existing toolkata-sandbox:latest (`make
# check` or `make image` builds it) and never rebuilds it.
check-deploy: deps all
	@./deploy/deps.sh systemd-container openssh-client
	@./check/deploy/nspawn.sh
# --- end deployment --------------------------------------------------------

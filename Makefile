# cpssl — build, test, demo, install.
#   make          build ./cpcmd (LINK=curl: the first build fetches Debian's
#                 curl source and builds a small libcurl into build/deps)
#   make deps     install every build and test dependency (apt-get)
#   make check    deps + build + unit tests (plain and ASan+UBSan) + integration tests
#   make demo     the main job end to end on a throw-away CPSSL_HOME
#   make install  install cpcmd, cpssl-acmems, config and scripts under PREFIX / CPSSL_HOME
#   make deb      the Debian package (build/deb/), checked by lintian
#   make bench    figures beside certbot, lego and uacme (bench-acmems: the service's alone)
#   make clean    remove the builds but keep build/deps; distclean removes all

PKGS     := openssl libcurl sqlite3 json-c yaml-0.1 inih ldns libpsl
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Wno-unknown-warning-option -D_GNU_SOURCE

PREFIX     ?= /usr/local
CPSSL_HOME ?= /usr/local/cpssl

# VARIANT selects an object tree: plain (default) or asan.
VARIANT  ?= plain
# LINK=curl (the default for plain): cpcmd carries a small static libcurl
# (HTTP and HTTPS over OpenSSL, built from Debian's curl source by
# scripts/build-libcurl into build/deps/curl) and links the system's shared
# OpenSSL, SQLite, json-c, libyaml, inih and ldns, so that apt's security
# updates of those apply without a rebuild (curl's need one: cpcmd --version
# and the housekeeping pass say when). LINK=shared links the system's shared
# libcurl as well. The ASan+UBSan build always links shared.
LINK     ?= curl
ifeq ($(VARIANT),asan)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DCPSSL_FAULTS
CFLAGS   := -O1 -g
override LINK := shared
else
SAN      :=
endif
DEPS_DIR := build/deps
CURL_DIR := $(DEPS_DIR)/curl
CURL_LIB := $(CURL_DIR)/lib/libcurl.a
SYS_PKGS := $(filter-out libcurl,$(PKGS))
ifeq ($(LINK),curl)
OUT        := build/$(VARIANT)
PKG_CFLAGS  = -I$(CURL_DIR)/include -I$(OUT) $(shell pkg-config --cflags $(SYS_PKGS)) -DCPS_CURL_STATIC
PKG_LIBS    = $(CURL_LIB) $(shell pkg-config --libs $(SYS_PKGS)) -lpthread
LINK_DEPS  := $(CURL_LIB)
else ifeq ($(LINK),shared)
OUT        := build/$(VARIANT)$(if $(filter plain,$(VARIANT)),-shared)
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    = $(shell pkg-config --libs $(PKGS)) -lpthread
LINK_DEPS  :=
else
$(error LINK must be curl or shared, not '$(LINK)')
endif
# LAYOUT=fhs (the Debian package's build): without CPSSL_HOME, cpcmd uses
# /etc/cpssl/config.ini and /var/lib/cpssl/storage instead of
# /usr/local/cpssl; its objects go to a tree of their own.
LAYOUT   ?= home
ifeq ($(LAYOUT),fhs)
OUT      := $(OUT)-fhs
LAYOUT_FLAG := -DCPS_LAYOUT_FHS
else ifneq ($(LAYOUT),home)
$(error LAYOUT must be home or fhs, not '$(LAYOUT)')
endif
ALL_CFLAGS = $(WARN) $(CFLAGS) $(CPPFLAGS) $(SAN) $(LAYOUT_FLAG) -I. $(PKG_CFLAGS)

LIB_SRC  := $(sort $(wildcard cpssl/*/*.c))
MOD_SRC  := $(sort $(wildcard modules/*.c))
# cpssl-acmems: a layer above the library like modules/; only it links
# libmicrohttpd
AM_SRC   := $(sort $(filter-out acmems/main.c,$(wildcard acmems/*.c)))
AM_OBJ   := $(AM_SRC:%.c=$(OUT)/%.o)
AM_LIBS   = $(shell pkg-config --libs libmicrohttpd)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(OUT)/%.o)
MOD_OBJ  := $(MOD_SRC:%.c=$(OUT)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
# C programs driven by integration scripts against real servers
ITEST_SRC := $(sort $(wildcard tests/integration/c/itest_*.c))
ITEST_BIN := $(ITEST_SRC:tests/integration/c/%.c=$(OUT)/itests/%)

.PHONY: all deps check unit-bins fuzz-bins demo install clean distclean bench bench-acmems config-template man deb

all: $(OUT)/cpcmd $(OUT)/cpssl-acmems
ifeq ($(VARIANT)$(LAYOUT),plainhome)
all: cpcmd
cpcmd: $(OUT)/cpcmd
	cp $< $@
endif

$(OUT)/%.o: %.c | $(LINK_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(OUT)/libcpssl.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(OUT)/libcpmod.a: $(MOD_OBJ)
	rm -f $@ && ar rcs $@ $^

$(OUT)/cpcmd: $(OUT)/cpcmd.o $(OUT)/libcpmod.a $(OUT)/libcpssl.a $(LINK_DEPS)
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(OUT)/cpcmd.o $(OUT)/libcpmod.a $(OUT)/libcpssl.a $(PKG_LIBS)

$(OUT)/libacmems.a: $(AM_OBJ)
	rm -f $@ && ar rcs $@ $^

$(OUT)/cpssl-acmems: $(OUT)/acmems/main.o $(OUT)/libacmems.a $(OUT)/libcpssl.a $(LINK_DEPS)
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(OUT)/acmems/main.o $(OUT)/libacmems.a $(OUT)/libcpssl.a $(PKG_LIBS) $(AM_LIBS)

# the small static libcurl (fetches Debian's curl source once)
$(CURL_LIB):
	scripts/build-libcurl $(CURL_DIR)

# the Debian version of the curl source cpcmd carries, for the housekeeping
# pass to compare with the libcurl4 dpkg has installed later
$(OUT)/cps_built.h: $(LINK_DEPS)
	@mkdir -p $(dir $@)
	printf '#define CPS_BUILT_CURL "%s"\n' "$$(cat $(CURL_DIR)/VERSION)" >$@.tmp && mv $@.tmp $@

ifeq ($(LINK),curl)
$(OUT)/cpssl/core/buildinfo.o: $(OUT)/cps_built.h
endif

$(OUT)/tests/%: tests/unit/%.c tests/unit/unit.h $(OUT)/libcpmod.a $(OUT)/libcpssl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(OUT)/libcpmod.a $(OUT)/libcpssl.a $(PKG_LIBS)

AM_UNIT_BIN := $(filter $(OUT)/tests/test_acmems%,$(UNIT_BIN))
$(AM_UNIT_BIN): $(OUT)/tests/%: tests/unit/%.c tests/unit/unit.h $(OUT)/libacmems.a $(OUT)/libcpssl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(OUT)/libacmems.a $(OUT)/libcpssl.a $(PKG_LIBS) $(AM_LIBS)

$(OUT)/itests/%: tests/integration/c/%.c tests/unit/unit.h $(OUT)/libcpmod.a $(OUT)/libcpssl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(OUT)/libcpmod.a $(OUT)/libcpssl.a $(PKG_LIBS)

unit-bins: $(UNIT_BIN) $(ITEST_BIN) $(OUT)/cpcmd $(OUT)/cpssl-acmems

deps:
	@scripts/install-deps

# The README's test command. Deps first, then everything in a fresh make so
# pkg-config runs after the libraries exist.
check: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory VARIANT=plain unit-bins
	$(MAKE) --no-print-directory VARIANT=asan unit-bins
	$(MAKE) --no-print-directory LINK=shared build/plain-shared/cpcmd
	$(MAKE) --no-print-directory fuzz-bins
	scripts/fetch-pebble
	tests/run.sh

fuzz-bins:
	$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

demo: deps
	$(MAKE) --no-print-directory all
	scripts/demo

# Side by side with certbot, lego and uacme (installs them); writes
# tests/bench/RESULTS.md. Not part of check.
bench: deps
	$(MAKE) --no-print-directory all
	tests/bench/run

# cpssl-acmems's figures alone (make bench includes them)
bench-acmems: deps
	$(MAKE) --no-print-directory all
	tests/bench/acmems

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(CPSSL_HOME)/etc/apache \
	           $(DESTDIR)$(CPSSL_HOME)/etc/systemd $(DESTDIR)$(CPSSL_HOME)/scripts
	install -d -m 0700 $(DESTDIR)$(CPSSL_HOME)/storage
	install -m 0755 cpcmd $(DESTDIR)$(PREFIX)/bin/cpcmd
	install -m 0755 $(OUT)/cpssl-acmems $(DESTDIR)$(PREFIX)/bin/cpssl-acmems
	test -e $(DESTDIR)$(CPSSL_HOME)/etc/config.ini || \
	  install -m 0600 etc/config.ini $(DESTDIR)$(CPSSL_HOME)/etc/config.ini
	install -m 0644 etc/apache/*.conf etc/apache/*.example $(DESTDIR)$(CPSSL_HOME)/etc/apache/
	install -m 0644 etc/systemd/* $(DESTDIR)$(CPSSL_HOME)/etc/systemd/
	install -m 0644 etc/acmems.ini.example $(DESTDIR)$(CPSSL_HOME)/etc/
	install -m 0755 scripts/housekeeping scripts/reissueAllCertificates \
	  $(DESTDIR)$(CPSSL_HOME)/scripts/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	           $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 man/cpcmd.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/cpssl.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/reissueAllCertificates.8 man/cpssl-acmems.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 etc/bash-completion/cpcmd $(DESTDIR)$(PREFIX)/share/bash-completion/completions/

# etc/config.ini is the key table rendered; a unit test keeps them equal.
config-template: cpcmd
	./cpcmd --default-config > etc/config.ini

# man/*.[15] are the command and key tables rendered; 58_man_completion
# keeps them equal.
man: cpcmd
	./cpcmd --man cpcmd > man/cpcmd.1
	./cpcmd --man cpssl.ini > man/cpssl.ini.5

# The Debian package (debian/): build/deb/cpssl_VERSION_ARCH.deb, checked
# by lintian. Installs debhelper and lintian when missing.
deb:
	scripts/build-deb

# keeps build/deps (the libcurl build) so that a rebuild needs no network
clean:
	rm -rf build/plain build/plain-shared build/plain-shared-fhs build/asan build/fuzz build/deb cpcmd

distclean: clean
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(MOD_OBJ:.o=.d) $(AM_OBJ:.o=.d) $(OUT)/cpcmd.d $(OUT)/acmems/main.d

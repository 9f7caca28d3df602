# Maekin: a private VM cloud in small C services on a ZeroMQ bus.
#
#   make            build every program into build/
#   make web        build the dashboard into build/web (npm ci in web/, then esbuild)
#   make run        start a whole cloud on this machine (deploy/run.sh)
#   make check      install what is missing, build under ASan+UBSan, run every test
#   make bench      build optimised and run the benchmarks (tests/bench/)
#   make install    install the programs (PREFIX, DESTDIR)
#   make dist       build/maekin.tar.gz, which the kickstarts' %post fetch (install/)
#   make deps       install the Debian packages Maekin needs
#
# VARIANT=asan builds into build/asan/ with the sanitizers; the default is build/.

.SUFFIXES:
.DELETE_ON_ERROR:

PREFIX  ?= /usr/local
DESTDIR ?=
VARIANT ?= release
PKGS    := libczmq libzmq libvirt libprotobuf-c sqlite3 libxml-2.0 libsodium mysqlclient json-c

ifeq ($(VARIANT),asan)
  OUT := build/asan
  OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -ffunction-sections \
         -fno-sanitize-recover=undefined
else
  OUT := build
  OPT := -O2 -g -ffunction-sections
endif
OBJ := $(OUT)/obj
GEN := build/gen

# Recursive (=) so pkg-config runs only when something is compiled, after `make deps`.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS     = -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wshadow \
             -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
             -MMD -MP -Icommon -I$(GEN) $(INC) $(PKG_CFLAGS)
LDLIBS     = $(PKG_LIBS) -lpthread -lm

PROTOS  := $(wildcard proto/*.proto)
GEN_C   := $(PROTOS:proto/%.proto=$(GEN)/%.pb-c.c)
GEN_H   := $(GEN_C:.c=.h)
LIB     := $(OBJ)/libmaekin.a
TLS_COMPAT := libmaekin-tls-compat.so
TESTLIB := $(OBJ)/libmaekin-test.a

# Each program is a directory: <main>.c holds main(), the other files are its classes.
PROGRAMS      := maekin-broker maekin-controller maekin-agent maekin-monitor maekin-gateway maekin-dhcp \
                 maekinsh
DIR_maekin-broker     := broker
DIR_maekin-controller := services/controller
DIR_maekin-agent      := services/agent
DIR_maekin-monitor    := services/monitor
DIR_maekin-gateway    := services/gateway
DIR_maekin-dhcp       := services/dhcp
DIR_maekinsh          := services/maekinsh
# Libraries one program alone needs (Debian's civetweb has no pkg-config file).
LIBS_maekin-gateway   := -lcivetweb
main_of   = $(DIR_$(1))/$(notdir $(DIR_$(1))).c
# A program's classes; the self-tests (*_test.c) go into mk_selftest only.
classes_of = $(filter-out $(call main_of,$(1)) %_test.c,$(wildcard $(DIR_$(1))/*.c))
tests_of   = $(filter %_test.c,$(wildcard $(DIR_$(1))/*.c))
CLASS_SRC := $(foreach p,$(PROGRAMS),$(call classes_of,$(p)))
CLASS_TEST_SRC := $(foreach p,$(PROGRAMS),$(call tests_of,$(p)))
LIB_SRC := $(filter-out %_test.c,$(wildcard common/*.c)) $(GEN_C)
# What the self-tests need besides the classes they test: common's own self-tests, the
# broker's classes (a test agent or controller needs a real broker to talk to), and the
# fake peers of tests/support (a fake cloud for the agent, a fake agent for the controller).
TESTLIB_SRC := $(filter %_test.c,$(wildcard common/*.c)) $(call classes_of,maekin-broker) \
               $(wildcard tests/support/*.c)
PROGRAMS  := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call main_of,$(p))),$(p)))


obj = $(patsubst %.c,$(OBJ)/%.o,$(patsubst $(GEN)/%,gen/%,$(1)))

# Each program's files see common/ and their own folder only; a self-test also sees the
# broker's, to start one, and tests/support's fake peers.
$(foreach p,$(PROGRAMS),$(eval $(OBJ)/$(DIR_$(p))/%.o: INC := -I$(DIR_$(p))))
$(OBJ)/tests/support/%.o: INC := -Ibroker
$(foreach f,$(CLASS_TEST_SRC),$(eval $(call obj,$(f)): INC := -I$(dir $(f)) -Ibroker \
                                                              -Itests/support))

# `make` on a fresh machine installs what it lacks first, as `make run` and `make check`
# do (or, not as root, says in one line what to run); then builds in a make of its own,
# so pkg-config and protoc-c are asked only once they are there.
all: build/.deps
	@$(MAKE) --no-print-directory programs
programs: $(PROGRAMS:%=$(OUT)/%) $(OUT)/mk_selftest $(OUT)/mk_raw $(OUT)/$(TLS_COMPAT)

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(OBJ)/gen/%.o: $(GEN)/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(OBJ)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC)) Makefile
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(TESTLIB): $(call obj,$(TESTLIB_SRC)) Makefile
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

define program_rule
$(OUT)/$(1): $(call obj,$(call main_of,$(1)) $(call classes_of,$(1))) $(LIB)
	$$(CC) $(OPT) -Wl,--gc-sections -o $$@ $$^ $$(LDLIBS) $(LIBS_$(1))
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# One test program runs every class's self-test (common/ and each service's classes).
# The list is generated from the definitions `void x_test (bool verbose)` in the sources.
TEST_SRC := $(wildcard common/*.c) $(CLASS_SRC) $(CLASS_TEST_SRC)
$(GEN)/selftests.h: $(TEST_SRC) Makefile
	@mkdir -p $(GEN)
	@{ echo '/* generated by the Makefile from the class sources */'; \
	   for f in $(TEST_SRC); do \
	     sed -n 's/^\([a-z0-9_]*\)_test (bool verbose)$$/MK_SELFTEST (\1)/p' $$f; \
	   done; } > $@.tmp && mv $@.tmp $@
$(OBJ)/tests/selftest.o: $(GEN)/selftests.h

# Every message of the protocol, for mk_codec's self-test, which round-trips each one.
$(GEN)/messages.h: $(GEN_H)
	@{ echo '/* generated by the Makefile from the protobuf-c headers */'; \
	   sed -n 's/^extern const ProtobufCMessageDescriptor \([a-z0-9_]*\);$$/MK_MESSAGE (\1)/p' \
	     $(GEN_H); } > $@.tmp && mv $@.tmp $@
$(OBJ)/common/mk_codec_test.o: $(GEN)/messages.h
$(OUT)/mk_selftest: $(call obj,tests/selftest.c $(CLASS_SRC) $(CLASS_TEST_SRC)) $(TESTLIB) $(LIB)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS) $(foreach p,$(PROGRAMS),$(LIBS_$(p)))

# What lets Debian 12's civetweb find TLS in OpenSSL 3 (services/gateway/tls/): a shared
# object the gateway loads beside itself, without the sanitizers.
$(OUT)/$(TLS_COMPAT): services/gateway/tls/libssl_compat.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -Wl,-soname,libssl.so -o $@ $< -l:libssl.so.3

# A test tool: sends hand-made (malformed) frames to the real programs.
$(OUT)/mk_raw: $(call obj,tests/integration/mk_raw.c) $(LIB)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
include tests/bench/bench.mk

deps:
	@deploy/deps.sh

# The dashboard (web/): its npm packages from the lockfile, then bundled by esbuild into
# build/web, which the gateway finds beside itself (and make install puts in
# PREFIX/share/maekin/web). Node.js and npm come from Debian when the machine has none.
WEB_SRC := $(wildcard web/src/*) web/build.mjs web/index.html
web: build/web/index.html
web/node_modules/.package-lock.json: web/package-lock.json
	@command -v npm >/dev/null || deploy/deps.sh tests/node-packages.txt
	cd web && NODE_EXTRA_CA_CERTS=$$([ -r /etc/ssl/certs/ca-certificates.crt ] && echo /etc/ssl/certs/ca-certificates.crt) npm ci --no-audit --no-fund --loglevel=error
build/web/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && node build.mjs ../build/web

# build/.deps is refreshed whenever the package list changes, so check and run
# install what a fresh machine lacks without asking apt each time.
build/.deps: deploy/packages.txt deploy/deps.sh
	@mkdir -p build
	@deploy/deps.sh
	@touch $@

run: build/.deps
	@$(MAKE) --no-print-directory programs web
	@deploy/run.sh

check: build/.deps
	@$(MAKE) --no-print-directory VARIANT=asan programs
	@tests/run.sh build/asan

bench: build/.deps
	@$(MAKE) --no-print-directory programs web
	@tests/bench/run.sh build

SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install: all web
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/maekin \
		$(DESTDIR)$(PREFIX)/share/doc/maekin
	install -m 755 $(PROGRAMS:%=$(OUT)/%) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/lib/maekin
	install -m 644 $(OUT)/$(TLS_COMPAT) $(DESTDIR)$(PREFIX)/lib/maekin/
	install -m 644 deploy/systemd/*.service $(DESTDIR)$(UNITDIR)/
	install -m 644 proto/BUS.md proto/maekin.proto README.md $(DESTDIR)$(PREFIX)/share/doc/maekin/
	install -d $(DESTDIR)$(PREFIX)/share/maekin/web/assets
	install -m 644 build/web/index.html* $(DESTDIR)$(PREFIX)/share/maekin/web/
	install -m 644 build/web/assets/* $(DESTDIR)$(PREFIX)/share/maekin/web/assets/
	for f in deploy/etc/*.cfg; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/maekin/$$(basename $$f) ] || \
			install -m 644 $$f $(DESTDIR)$(SYSCONFDIR)/maekin/; \
	done

# The tarball a master serves to its kickstarts (install/kickstart: @REPO@/maekin.tar.gz):
# install/ and deploy/, and the programs of $(OUT), the gateway's TLS library and the
# dashboard under build/, where install/maekin-install.sh finds them beside itself.
DIST_FILES = install deploy $(PROGRAMS:%=$(OUT)/%) $(OUT)/$(TLS_COMPAT) build/web
dist: build/.deps
	@$(MAKE) --no-print-directory programs web
	@$(MAKE) --no-print-directory $(OUT)/maekin.tar.gz
$(OUT)/maekin.tar.gz: $(PROGRAMS:%=$(OUT)/%) $(OUT)/$(TLS_COMPAT) build/web/index.html \
		$(shell find install deploy -type f 2>/dev/null)
	tar -czf $@.new --owner=0 --group=0 --sort=name --transform='s|^$(OUT)/|build/|' $(DIST_FILES)
	mv -f $@.new $@

clean:
	rm -rf build

.PHONY: all programs deps web run check bench install dist clean

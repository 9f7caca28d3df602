# Maekin: a private VM cloud in small C services on a ZeroMQ bus.
#
#   make            build every program into build/
#   make run        start a whole cloud on this machine (deploy/run.sh)
#   make check      install what is missing, build under ASan+UBSan, run every test
#   make bench      build optimised and run the benchmarks (tests/bench/)
#   make install    install the programs (PREFIX, DESTDIR)
#   make deps       install the Debian packages Maekin needs
#
# VARIANT=asan builds into build/asan/ with the sanitizers; the default is build/.

.SUFFIXES:
.DELETE_ON_ERROR:

PREFIX  ?= /usr/local
DESTDIR ?=
VARIANT ?= release
PKGS    := libczmq libzmq libvirt libprotobuf-c sqlite3 libxml-2.0 libsodium

ifeq ($(VARIANT),asan)
  OUT := build/asan
  OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
         -fno-sanitize-recover=undefined
else
  OUT := build
  OPT := -O2 -g
endif
OBJ := $(OUT)/obj
GEN := build/gen

# Recursive (=) so pkg-config runs only when something is compiled, after `make deps`.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS     = -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wshadow \
             -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
             -MMD -MP -Icommon -I$(GEN) $(PKG_CFLAGS)
LDLIBS     = $(PKG_LIBS) -lpthread -lm

PROTOS  := $(wildcard proto/*.proto)
GEN_C   := $(PROTOS:proto/%.proto=$(GEN)/%.pb-c.c)
GEN_H   := $(GEN_C:.c=.h)
LIB_SRC := $(wildcard common/*.c) $(GEN_C)
LIB     := $(OBJ)/libmaekin.a

# Each program is a directory: <main>.c holds main(), the other files are its classes.
PROGRAMS      := maekin-broker maekin-controller maekin-agent maekinsh
DIR_maekin-broker     := broker
DIR_maekin-controller := services/controller
DIR_maekin-agent      := services/agent
DIR_maekinsh          := services/maekinsh
main_of   = $(DIR_$(1))/$(notdir $(DIR_$(1))).c
classes_of = $(filter-out $(call main_of,$(1)),$(wildcard $(DIR_$(1))/*.c))
PROGRAMS  := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call main_of,$(p))),$(p)))
CLASS_SRC := $(foreach p,$(PROGRAMS),$(call classes_of,$(p)))

obj = $(patsubst %.c,$(OBJ)/%.o,$(patsubst $(GEN)/%,gen/%,$(1)))

all: $(PROGRAMS:%=$(OUT)/%) $(OUT)/mk_selftest

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(OBJ)/gen/%.o: $(GEN)/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(OBJ)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

define program_rule
$(OUT)/$(1): $(call obj,$(call main_of,$(1)) $(call classes_of,$(1))) $(LIB)
	$$(CC) $(OPT) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# One test program runs every class's self-test (common/ and each service's classes).
$(OUT)/mk_selftest: $(call obj,tests/selftest.c $(CLASS_SRC)) $(LIB)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

deps:
	@deploy/deps.sh

# build/.deps is refreshed whenever the package list changes, so check and run
# install what a fresh machine lacks without asking apt each time.
build/.deps: deploy/packages.txt deploy/deps.sh
	@mkdir -p build
	@deploy/deps.sh
	@touch $@

run: build/.deps
	@$(MAKE) --no-print-directory all
	@deploy/run.sh

check: build/.deps
	@$(MAKE) --no-print-directory VARIANT=asan all
	@tests/run.sh build/asan

bench: build/.deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run.sh build

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PROGRAMS:%=$(OUT)/%) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build

.PHONY: all deps run check bench install clean

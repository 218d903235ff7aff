# hookline: the one build. Non-recursive; objects in build/, programs in bin/.
#
#   make                 build every program
#   make test            build with ASan+UBSan (SANITIZE=address,undefined) and
#                        run tests/run.sh (ends with "N passed, N failed")
#   make run             dev stack (scripts/run.sh)
#   make bench           benchmarks (bench/run.sh); prints figures, never fails
#   make chaos           bin/chaos: CHAOS_SECONDS (180) of signed events while
#                        workers are SIGKILLed and Redis restarted, then the
#                        G3/G4/G5 checks (make test runs a 35 s one)
#   make soak            bin/chaos --soak: SOAK_SECONDS (1800) of steady load,
#                        worker kills, VmRSS judged after the warm-up
#   make test-cluster    bin/chaos --cluster --reshard, then --sentinel, for
#                        CHAOS_SECONDS (here 120) each: a primary SIGKILLed,
#                        its replica promoted, the 503 window reported (make
#                        test runs 18 s ones: test_chaos_cluster/_sentinel)
#   make valgrind        every integration test with every program it starts
#                        under valgrind (make test runs a subset of them)
#   make fuzz            libFuzzer targets (clang), FUZZ_SECONDS (120) each;
#                        make test runs them too (10 s; FUZZ_SECONDS=50 in CI)
#   make clean
#
# SANITIZE=address,undefined switches sanitizers on; V=1 shows commands.

CC       ?= cc
PKGS     := libevent hiredis libcurl json-c openssl
OPT      ?= -O2
CFLAGS   ?=
WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wwrite-strings \
            -Wshadow -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -Icommon -Ibuild -Iworker -Itests/lib \
            $(shell pkg-config --cflags $(PKGS)) $(CFLAGS) -MMD -MP
LIBS     := $(shell pkg-config --libs $(PKGS)) -levent_pthreads -lm

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
LDFLAGS    += -fsanitize=$(SANITIZE)
# Sanitized objects and programs live apart so a plain build is never
# mixed with them: tests run build/san/bin/*, `make run` runs bin/*.
B := build/san
BIN := build/san/bin
else
B := build/plain
BIN := bin
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o) $(B)/hl_lua_gen.o
LUA_SRC    := $(wildcard common/lua/*.lua)

INGEST_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard ingest/*.c))
WORKER_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard worker/*.c))
CTL_OBJ    := $(patsubst %.c,$(B)/%.o,$(wildcard hookctl/*.c))
FAKEGRAPH_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard tests/fakegraph/*.c))

TESTLIB_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard tests/lib/*.c))
CHAOS_OBJ   := $(patsubst %.c,$(B)/%.o,$(wildcard tests/chaos/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
INTEG_SRC   := $(wildcard tests/integration/test_*.c)
TEST_BINS   := $(UNIT_SRC:%.c=$(B)/%) $(INTEG_SRC:%.c=$(B)/%)
BENCH_SRC   := $(wildcard bench/*.c)
BENCH_BINS  := $(BENCH_SRC:bench/%.c=bin/bench-%)

PROGS := $(BIN)/hookline-ingest
ifneq ($(wildcard worker/main.c),)
PROGS += $(BIN)/hookline-worker
endif
ifneq ($(wildcard hookctl/main.c),)
PROGS += $(BIN)/hookctl
endif
ifneq ($(wildcard tests/fakegraph/main.c),)
PROGS += $(BIN)/hookline-fakegraph
endif

.PHONY: all test tests run bench valgrind clean deps chaos soak test-cluster
# keep test objects between builds (they are intermediates of the links)
.SECONDARY:
all: $(PROGS)

$(B)/libhl.a: $(COMMON_OBJ)
	$(Q)ar rcs $@ $^

# Program code minus main(), so unit tests can link a program's pure
# modules (rules, classify, fault matching, hookctl's checks). Archives
# pull only what a test uses.
$(B)/libworker.a: $(filter-out $(B)/worker/main.o,$(WORKER_OBJ))
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/libfakegraph.a: $(filter-out $(B)/tests/fakegraph/main.o,$(FAKEGRAPH_OBJ))
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/libctl.a: $(filter-out $(B)/hookctl/main.o,$(CTL_OBJ))
	$(Q)rm -f $@ && ar rcs $@ $^

# The chaos driver and checker, for bin/chaos and tests/integration.
$(B)/libchaos.a: $(filter-out $(B)/tests/chaos/main.o,$(CHAOS_OBJ))
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/hookline-ingest: $(INGEST_OBJ) $(B)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/hookline-worker: $(WORKER_OBJ) $(B)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/hookctl: $(CTL_OBJ) $(B)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/hookline-fakegraph: $(FAKEGRAPH_OBJ) $(B)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/chaos: $(B)/tests/chaos/main.o $(B)/libchaos.a $(TESTLIB_OBJ) \
              $(B)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -pthread

bin/bench-%: $(B)/bench/%.o $(B)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/tests/%.o $(B)/libchaos.a $(TESTLIB_OBJ) \
              $(B)/libworker.a $(B)/libfakegraph.a $(B)/libctl.a $(B)/libhl.a
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Lua scripts are embedded as C strings so the programs need no files at
# run time; the generator is plain sh + od (no xxd dependency).
build/hl_lua_gen.c: $(LUA_SRC) scripts/embed-lua.sh
	@mkdir -p build
	@echo "  GEN   $@"
	$(Q)sh scripts/embed-lua.sh $(LUA_SRC) > $@.tmp && mv $@.tmp $@

$(B)/hl_lua_gen.o: build/hl_lua_gen.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

deps:
	@bash scripts/deps.sh

tests: $(PROGS) $(TEST_BINS)

# `make test` is the README's test command: it installs what is missing,
# builds everything under ASan+UBSan and runs every tier.
test: deps
	@$(MAKE) --no-print-directory SANITIZE=address,undefined tests
	@$(MAKE) --no-print-directory all $(VG_TESTS)
	@$(MAKE) --no-print-directory fuzz-build || \
	    echo "make test: fuzz targets not built; the fuzz tier fails"
	@HL_BUILD=build/san HL_BIN=build/san/bin \
	    HL_FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) bash tests/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/run.sh

CHAOS_SECONDS ?= 180
SOAK_SECONDS ?= 1800

chaos: deps
	@$(MAKE) --no-print-directory all bin/chaos
	@HL_BIN=bin bin/chaos --seconds $(CHAOS_SECONDS)

soak: deps
	@$(MAKE) --no-print-directory all bin/chaos
	@HL_BIN=bin bin/chaos --soak --seconds $(SOAK_SECONDS)

# CHAOS_SECONDS from the command line or the environment, else 120.
CLUSTER_SECONDS = $(if $(filter command% environment%,\
                    $(origin CHAOS_SECONDS)),$(CHAOS_SECONDS),120)

test-cluster: deps
	@$(MAKE) --no-print-directory all bin/chaos
	@rc=0; \
	HL_BIN=bin bin/chaos --cluster --reshard \
	    --seconds $(CLUSTER_SECONDS) || rc=1; \
	HL_BIN=bin bin/chaos --sentinel --seconds $(CLUSTER_SECONDS) || rc=1; \
	exit $$rc

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@bash bench/run.sh

valgrind: deps
	@$(MAKE) --no-print-directory all $(VG_TESTS)
	@HL_VG_TESTS=all bash tests/run.sh valgrind

# The valgrind tier runs plain (unsanitized) programs and tests.
VG_TESTS := $(INTEG_SRC:%.c=build/plain/%)
# make test fuzzes 10 s per target unless FUZZ_SECONDS is given (CI: 50).
TEST_FUZZ_SECONDS := $(strip $(if $(filter undefined file,\
                       $(origin FUZZ_SECONDS)),10,$(FUZZ_SECONDS)))
include tests/fuzz/fuzz.mk

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

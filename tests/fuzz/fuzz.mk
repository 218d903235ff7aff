# tests/fuzz/fuzz.mk - the libFuzzer build, included by the Makefile.
#
#   make fuzz            build every tests/fuzz/fuzz_*.c target with clang
#                        -fsanitize=fuzzer,address,undefined and run each
#                        for FUZZ_SECONDS (120) through tests/run.sh fuzz
#   make fuzz-build      only build them (build/fuzz/bin/fuzz_*)
#
# Objects live in build/fuzz/obj/, apart from the plain and sanitized
# builds: common/ and worker/ (minus main.c) are recompiled with coverage
# instrumentation (fuzzer-no-link) and linked from their own archives.
# Seeds are copied from tests/fixtures into build/fuzz/corpus/<target>/
# by tests/fuzz/seeds.sh at run time; nothing large is committed.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 120
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
                $(WARN) -Icommon -Ibuild -Iworker -Itests/fuzz \
                $(shell pkg-config --cflags $(PKGS)) \
                -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)
FUZZ_HL_OBJ  := $(COMMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
                $(FUZZ_DIR)/obj/build/hl_lua_gen.o
FUZZ_WK_OBJ  := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o, \
                  $(filter-out worker/main.c,$(wildcard worker/*.c)))

.PHONY: fuzz fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@HL_FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/run.sh fuzz

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libhl.a: $(FUZZ_HL_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/libworker.a: $(FUZZ_WK_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/bin/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_DIR)/libworker.a \
                   $(FUZZ_DIR)/libhl.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

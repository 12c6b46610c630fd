# libFuzzer targets, built with clang (-fsanitize=fuzzer,address,undefined)
# from the library sources. Included by the top-level Makefile (fuzz-bins).
FUZZ_CC   ?= clang
FUZZ_OUT  := build/fuzz
FUZZ_PKGS := openssl libcurl sqlite3 json-c yaml-0.1 inih ldns libpsl
FUZZ_FLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -g -O1 -I. -MMD -MP $(shell pkg-config --cflags $(FUZZ_PKGS)) \
              -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIBS := $(shell pkg-config --libs $(FUZZ_PKGS)) -lpthread
FUZZ_LIB_SRC := $(sort $(wildcard cpssl/*/*.c))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))

all: $(FUZZ_TARGETS)

# keep the objects between runs
.SECONDARY: $(FUZZ_LIB_OBJ)

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

# objects are rebuilt when a header they include changes
-include $(FUZZ_LIB_OBJ:.o=.d)

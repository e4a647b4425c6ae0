# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# profiling-bpf build. Products go to $(OUTPUT); V=1 shows the commands.
#   make            build the CLI (build/profiling-bpf)
#   make check      build with -Werror, run unit, sanitizer and integration tests
#   make SAN=1      build user space with ASan+UBSan (into build/san)
#   make install PREFIX=/usr/local   (also the agent's systemd unit, SYSTEMD_UNIT_DIR)

OUTPUT ?= build
ifeq ($(SAN),1)
OUTPUT := $(OUTPUT)/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
BPF_OUT := $(OUTPUT)/bpf
# <bpf/usdt.bpf.h> includes <linux/errno.h>, whose <asm/errno.h> is multiarch
BPF_SYS_INCLUDES := -idirafter /usr/include/$(shell $(CC) -dumpmachine)
PREFIX ?= /usr/local
SYSTEMD_UNIT_DIR ?= /etc/systemd/system
VERSION := 0.1.0

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
PROTOC_C ?= protoc-c
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -g -O2
ALL_CFLAGS := $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wno-missing-field-initializers -fno-omit-frame-pointer \
	-DPB_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(OUTPUT) -I$(BPF_OUT) $(SANFLAGS)
# libcurl (--push) and libdebuginfod (DEBUGINFOD_URLS) are loaded when first
# needed (user/dynlib.c): linked, they cost every run ~5 ms of dynamic linking.
LIBS := -lbpf -lelf -ldw -liberty -lz -lprotobuf-c -ljson-c -lm -lpthread -ldl
LDFLAGS += $(SANFLAGS)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.skel.h,$(BPF_SRCS))
PROTOS := $(wildcard user/*.proto)
PROTO_C := $(patsubst user/%.proto,$(OUTPUT)/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS)) $(PROTO_C:.c=.o)
LIB := $(OUTPUT)/libprofiling.a
BIN := $(OUTPUT)/profiling-bpf

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(WORKLOAD_SRCS))
CXX_WORKLOAD_SRCS := $(wildcard tests/workloads/*.cc)
WORKLOADS += $(patsubst tests/workloads/%.cc,$(OUTPUT)/workloads/%,$(CXX_WORKLOAD_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all check unit-tests workloads fuzz install clean style demo bench
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BIN)

$(OUTPUT) $(BPF_OUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/workloads $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(BPF_OUT)/vmlinux.h: | $(BPF_OUT)
	$(call msg,GEN,$@)
	$(Q)test -r /sys/kernel/btf/vmlinux || \
		{ echo "profiling-bpf needs a kernel with BTF (/sys/kernel/btf/vmlinux)" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_OUT)/vmlinux.h $(wildcard include/*.h bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Iinclude -I$(BPF_OUT) $(BPF_SYS_INCLUDES) $(BPF_EXTRA_CFLAGS) -c $< -o $@
	@# DWARF out, BTF kept: the skeleton embeds a 4x smaller object to parse and hash
	$(Q)$(LLVM_STRIP) -g $@

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUTPUT)/%.pb-c.c $(OUTPUT)/%.pb-c.h: user/%.proto | $(OUTPUT)
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --proto_path=user --c_out=$(OUTPUT) $<

$(OUTPUT)/%.pb-c.o: $(OUTPUT)/%.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT) $(SANFLAGS) -c $< -o $@

$(OUTPUT)/user/%.o: user/%.c $(wildcard user/*.h include/*.h) $(SKELS) $(PROTO_H) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(USER_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(OUTPUT)/user/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

# Unit tests: one cmocka binary per tests/unit/test_*.c, linked with the library.
$(OUTPUT)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) $< $(LIB) $(LIBS) -lcmocka -o $@

unit-tests: $(UNIT_BINS) $(OUTPUT)/tests/symtest $(OUTPUT)/tests/symtest.z

# An ELF test binary with known symbols for the symbolizer tests.
$(OUTPUT)/tests/symtest: tests/unit/data/symtest.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O0 -fno-omit-frame-pointer -fPIE -pie $< -o $@

# The same with compressed debug sections, as Debian ships its debug files.
$(OUTPUT)/tests/symtest.z: $(OUTPUT)/tests/symtest
	$(call msg,OBJCOPY,$@)
	$(Q)objcopy --compress-debug-sections=zlib $< $@

# Bundled workloads: frame pointers, no inlining of the functions tests look for.
$(OUTPUT)/workloads/%: tests/workloads/%.c $(wildcard include/*.h) | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-inline \
		-fno-optimize-sibling-calls -Iinclude -Wall -Wextra -Werror $< -o $@ -lpthread -lm

# Built as distributions build: -O2, no frame pointers (the unwinding tests).
$(OUTPUT)/workloads/nofp: tests/workloads/nofp.c | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -fomit-frame-pointer -Wall -Wextra -Werror $< -o $@ -lpthread
# C++ workloads: optimized with DWARF, to be demangled and to have inlined code.
$(OUTPUT)/workloads/%: tests/workloads/%.cc | $(OUTPUT)/workloads
	$(call msg,CXX,$@)
	$(Q)$(CXX) -g -O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-shrink-wrap \
		-Wall -Wextra \
		-Werror $< -o $@

# A C program embedding Debian's libpython3.11 (python3.11-dev's embed flags).
PY_EMBED_CONFIG ?= /usr/bin/python3.11-config
$(OUTPUT)/workloads/py_embed: tests/workloads/python/embed.c | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror \
		$(shell $(PY_EMBED_CONFIG) --includes) $< -o $@ \
		$(shell $(PY_EMBED_CONFIG) --ldflags --embed)

# A C library whose own threads (no Python thread state) a Python workload runs.
$(OUTPUT)/workloads/libpy_cthread.so: tests/workloads/python/cthread.c | $(OUTPUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fno-omit-frame-pointer -fPIC -shared -Wall -Wextra -Werror $< -o $@ -lpthread

workloads: $(WORKLOADS) $(OUTPUT)/workloads/py_embed $(OUTPUT)/workloads/libpy_cthread.so

# libFuzzer targets, one per parser of untrusted input. The user-space sources
# are compiled once, instrumented (coverage, ASan, UBSan), into one library that
# every target links.
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser -I$(OUTPUT) -I$(BPF_OUT) \
	-DPB_VERSION='"$(VERSION)"'
FUZZ_OBJS := $(patsubst user/%.c,$(OUTPUT)/fuzzobj/%.o,$(USER_SRCS)) \
	$(patsubst $(OUTPUT)/%.c,$(OUTPUT)/fuzzobj/%.o,$(PROTO_C))
FUZZ_LIB := $(OUTPUT)/libprofiling-fuzz.a

$(OUTPUT)/fuzzobj:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzzobj/%.o: user/%.c $(wildcard user/*.h include/*.h) $(SKELS) $(PROTO_H) | $(OUTPUT)/fuzzobj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzzobj/%.pb-c.o: $(OUTPUT)/%.pb-c.c | $(OUTPUT)/fuzzobj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) $(LIBS) -o $@

fuzz: $(FUZZERS)

# Benchmark tools (tools/bench/*.c): the self-timing workload and the floor loader.
BENCH_SRCS := $(wildcard tools/bench/*.c)
BENCH_BINS := $(patsubst tools/bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/%: tools/bench/%.c $(LIB) $(SKELS) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LIBS) -o $@

# libdw against libunwind on the same captured stacks (libunwind-dev: bench only).
$(OUTPUT)/bench/unwbench: tools/bench/unwbench.c $(LIB) $(SKELS) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIB) $(LIBS) -lunwind-x86_64 -lunwind -o $@

bench: $(BIN) $(BENCH_BINS)

# The mechanical formatting rules (tools/check-style.sh); the rest is by hand.
style:
	$(Q)tools/check-style.sh

# `make check` builds with one job per CPU unless -j was given; the tests run
# one after another.
CHECK_JOBS = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc))

check: style
	$(Q)$(MAKE) --no-print-directory $(CHECK_JOBS) all unit-tests workloads
	$(Q)$(MAKE) --no-print-directory $(CHECK_JOBS) SAN=1 all unit-tests
	$(Q)$(MAKE) --no-print-directory $(CHECK_JOBS) fuzz
	$(Q)OUTPUT=$(OUTPUT) tests/run.sh

# Profile the bundled demo workload: top functions on stderr, and
# $(OUTPUT)/demo.svg, demo.pb.gz, demo.folded.
demo: $(BIN) $(OUTPUT)/workloads/demo
	$(BIN) -F 999 -o $(OUTPUT)/demo.svg -o $(OUTPUT)/demo.pb.gz -o $(OUTPUT)/demo.folded \
		-- $(OUTPUT)/workloads/demo

# The binary, include/profiling.h, the man page and the bash completion.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MANDIR ?= $(PREFIX)/share/man

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/profiling-bpf
	install -m 0644 include/profiling.h $(DESTDIR)$(PREFIX)/include/profiling.h
	install -m 0644 man/profiling-bpf.1 $(DESTDIR)$(MANDIR)/man1/profiling-bpf.1
	install -m 0644 completions/profiling-bpf.bash $(DESTDIR)$(BASHCOMPDIR)/profiling-bpf
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' tools/profiling-bpf-agent.service > \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/profiling-bpf-agent.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/profiling-bpf-agent.service

clean:
	rm -rf $(OUTPUT)

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the writer tests (folded, SVG, JSON, top): a small profile built
 * in code, writing a format to memory, and golden files.
 *
 * Golden files live in tests/golden/ (or $PB_GOLDEN_DIR); the tests run from
 * the repository root, as tests/run.sh does. After an intended change of a
 * format, regenerate them with:
 *   PB_UPDATE_GOLDEN=1 build/tests/test_folded   (and test_json, test_top)
 * and review the diff before committing.
 */
#ifndef PB_WRITER_FIXTURE_H
#define PB_WRITER_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "profile.h"

/* Frames of the fixture, by index. */
enum fixture_frame {
	FX_ROOT,	/* synthetic per-thread root */
	FX_START,
	FX_MAIN,
	FX_COMPUTE_A,	/* compute at one address ... */
	FX_COMPUTE_B,	/* ... and another: they merge into one "compute" */
	FX_RECURSE,
	FX_WRITE,	/* libc */
	FX_K_ENTRY,	/* kernel */
	FX_K_SYSCALL,
	FX_K_WRITE,
	FX_UNRESOLVED,	/* workload+0x2f00 */
	FX_CXX,		/* needs XML escaping */
	FX_ODD,		/* ';', newline, tab in the name */
	FX_BADUTF8,	/* an invalid UTF-8 byte */
	FX_LOST,	/* synthetic "[lost samples]" */
	FX_NFRAMES,
};

static const struct pframe fixture_frames[FX_NFRAMES] = {
	[FX_ROOT] = { .name = "workload/4242", .kind = PFRAME_SYNTH },
	[FX_START] = { .name = "_start", .module = "/usr/bin/workload", .addr = 0x401000,
		       .module_offset = 0x1000, .resolved = 1 },
	[FX_MAIN] = { .name = "main", .module = "/usr/bin/workload", .addr = 0x401100,
		      .module_offset = 0x1100, .file = "workload.c", .line = 42, .resolved = 1 },
	[FX_COMPUTE_A] = { .name = "compute", .module = "/usr/bin/workload", .addr = 0x401200,
			   .module_offset = 0x1200, .resolved = 1 },
	[FX_COMPUTE_B] = { .name = "compute", .module = "/usr/bin/workload", .addr = 0x401208,
			   .module_offset = 0x1208, .resolved = 1 },
	[FX_RECURSE] = { .name = "recurse", .module = "/usr/bin/workload", .addr = 0x401300,
			 .module_offset = 0x1300, .resolved = 1 },
	[FX_WRITE] = { .name = "write", .module = "/lib/x86_64-linux-gnu/libc.so.6",
		       .addr = 0x7f0000011000, .module_offset = 0x11000, .resolved = 1 },
	[FX_K_ENTRY] = { .name = "entry_SYSCALL_64", .module = "[kernel.kallsyms]",
			 .addr = 0xffffffff81000080ULL, .kind = PFRAME_KERNEL, .resolved = 1 },
	[FX_K_SYSCALL] = { .name = "do_syscall_64", .module = "[kernel.kallsyms]",
			   .addr = 0xffffffff81001000ULL, .kind = PFRAME_KERNEL, .resolved = 1 },
	[FX_K_WRITE] = { .name = "ksys_write", .module = "[kernel.kallsyms]",
			 .addr = 0xffffffff81200000ULL, .kind = PFRAME_KERNEL, .resolved = 1 },
	[FX_UNRESOLVED] = { .name = "workload+0x2f00", .module = "/usr/bin/workload",
			    .addr = 0x402f00, .module_offset = 0x2f00 },
	[FX_CXX] = { .name = "operator<<(std::ostream&, char const*) \"'",
		     .module = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", .addr = 0x7f0000022000,
		     .module_offset = 0x22000, .resolved = 1 },
	[FX_ODD] = { .name = "odd;name\nwith\ttabs", .module = "/usr/bin/workload",
		     .addr = 0x401400, .module_offset = 0x1400, .resolved = 1 },
	[FX_BADUTF8] = { .name = "bad\xff" "utf8_\xc3\xa9t\xc3\xa9", .module = "/usr/bin/workload",
			 .addr = 0x401500, .module_offset = 0x1500, .resolved = 1 },
	[FX_LOST] = { .name = "[lost samples]", .kind = PFRAME_SYNTH },
};

#define FX_END 0xffffffffu
#define FX_PERIOD 10101010ULL

/* Stacks of the fixture, leaf first, ended by FX_END; then the count and tid. */
static const struct {
	uint32_t frames[12];
	uint64_t count;
	uint32_t tid;
} fixture_stacks[] = {
	{ { FX_COMPUTE_A, FX_MAIN, FX_START, FX_ROOT, FX_END }, 40, 4242 },
	{ { FX_COMPUTE_B, FX_MAIN, FX_START, FX_ROOT, FX_END }, 20, 4243 },
	{ { FX_RECURSE, FX_RECURSE, FX_RECURSE, FX_MAIN, FX_START, FX_ROOT, FX_END }, 15, 4242 },
	{ { FX_K_WRITE, FX_K_SYSCALL, FX_K_ENTRY, FX_WRITE, FX_MAIN, FX_START, FX_ROOT, FX_END },
	  10, 4242 },
	{ { FX_CXX, FX_MAIN, FX_START, FX_ROOT, FX_END }, 5, 4242 },
	{ { FX_UNRESOLVED, FX_START, FX_ROOT, FX_END }, 4, 4242 },
	{ { FX_ODD, FX_MAIN, FX_START, FX_ROOT, FX_END }, 3, 4242 },
	{ { FX_BADUTF8, FX_MAIN, FX_START, FX_ROOT, FX_END }, 2, 4242 },
	{ { FX_LOST, FX_END }, 1, 0 },
};

/* The fixture: 100 samples, 1 lost. Aborts the test on failure. */
static inline struct profile *fixture_profile(void)
{
	struct profile *p = profile_new();
	uint32_t idx[FX_NFRAMES], stack[12], depth;

	if (!p)
		abort();
	for (int i = 0; i < FX_NFRAMES; i++) {
		int r = profile_add_frame(p, &fixture_frames[i]);

		if (r < 0)
			abort();
		idx[i] = (uint32_t)r;
	}
	for (size_t s = 0; s < sizeof(fixture_stacks) / sizeof(fixture_stacks[0]); s++) {
		for (depth = 0; fixture_stacks[s].frames[depth] != FX_END; depth++)
			stack[depth] = idx[fixture_stacks[s].frames[depth]];
		if (profile_add_sample(p, stack, depth, fixture_stacks[s].count,
				       fixture_stacks[s].count * FX_PERIOD,
				       fixture_stacks[s].tid ? 4242 : 0, fixture_stacks[s].tid))
			abort();
	}
	p->freq_hz = 99;
	p->period_ns = FX_PERIOD;
	p->duration_ns = 1010000000ULL;
	p->start_unix_ns = 1700000000000000000ULL;
	if (profile_set_counter(p, "lost_ringbuf_full", 1) ||
	    profile_set_counter(p, "lost_ustack", 0) || profile_set_counter(p, "samples_seen", 101))
		abort();
	return p;
}

/* Run @fn into memory; returns a malloc'd NUL-terminated buffer. Aborts on failure. */
static inline char *write_mem(int (*fn)(FILE *f, const struct profile *p),
			      const struct profile *p, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	*err = fn(f, p);
	if (fclose(f))
		abort();
	return buf;
}

static inline int top_print10(FILE *f, const struct profile *p)
{
	top_print(f, p, 10);
	return 0;
}

static inline char *read_text_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = calloc(1, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/*
 * Compare @got with tests/golden/@name; with PB_UPDATE_GOLDEN=1 write it
 * instead. Returns 0 when equal (or updated), -1 with a message otherwise.
 */
static inline int golden_check(const char *name, const char *got)
{
	const char *dir = getenv("PB_GOLDEN_DIR") ? getenv("PB_GOLDEN_DIR") : "tests/golden";
	const char *update = getenv("PB_UPDATE_GOLDEN");
	char path[512], *want;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (update && !strcmp(update, "1")) {
		f = fopen(path, "w");
		if (!f || fputs(got, f) < 0 || fclose(f)) {
			fprintf(stderr, "cannot write golden file %s\n", path);
			return -1;
		}
		fprintf(stderr, "updated golden file %s\n", path);
		return 0;
	}
	want = read_text_file(path);
	if (!want) {
		fprintf(stderr, "cannot read golden file %s (run from the repository root)\n", path);
		return -1;
	}
	ret = strcmp(want, got) ? -1 : 0;
	if (ret)
		fprintf(stderr, "output differs from %s:\n--- want\n%s--- got\n%s---\n", path, want,
			got);
	free(want);
	return ret;
}

/* 1 when @cmd (e.g. "xmllint") is on the PATH. */
static inline int have_command(const char *cmd)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "command -v %s >/dev/null 2>&1", cmd);
	return system(buf) == 0;
}

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The unwinder on a recorded stack: a thread of this test, on a stack of its
 * own, records its registers and copies its live stack as the BPF program
 * does; the copy is then unwound with this process's CFI and must come out
 * as the known call chain up to the thread's start.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "procmaps.h"
#include "unwind.h"
#include "unwind_rules.h"
#include "bpf_walk_sim.h"

#define STACK_BYTES (256 * 1024)

struct capture {
	uint64_t ip, sp, bp;
	uint8_t *copy;		/* the stack from sp & ~7 to the top of the thread's stack */
	size_t len;
};

/* The chain is built without frame pointers: only CFI can walk it. */
#define NOFP __attribute__((noinline, noipa, optimize("omit-frame-pointer")))

static struct capture cap;
static uint8_t *thread_stack;
static volatile int sink;

/* Record registers and copy the live stack, as the BPF program does. */
NOFP void uw_leaf(void)
{
	uint64_t ip, sp, bp, base;

	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(ip), "=r"(sp), "=r"(bp));
	base = sp & ~7ULL;
	cap.ip = ip;
	cap.sp = sp;
	cap.bp = bp;
	cap.len = (size_t)((uintptr_t)thread_stack + STACK_BYTES - base);
	cap.copy = malloc(cap.len);
	if (cap.copy)
		memcpy(cap.copy, (void *)(uintptr_t)base, cap.len);
	sink++;
}

NOFP void uw_mid(int depth)
{
	if (depth > 0)
		uw_mid(depth - 1);
	else
		uw_leaf();
	sink++;	/* no tail call */
}

/*
 * A leaf stopped in its epilogue: rbx is popped, yet its CFI still says it is
 * saved at cfa-16, below sp now (gcc's CFI often leaves a popped register's
 * rule in place). Records ip, sp, bp and the return address at sp.
 */
struct { uint64_t ip, sp, bp, ra; } uw_epi;
void uw_epilogue_leaf(void);
__asm__(".text\n"
	".globl uw_epilogue_leaf\n"
	".type uw_epilogue_leaf, @function\n"
	"uw_epilogue_leaf:\n"
	".cfi_startproc\n"
	"	push %rbx\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset rbx, -16\n"
	"	pop %rbx\n"
	".cfi_def_cfa_offset 8\n"
	"1:	lea 1b(%rip), %rax\n"
	"	mov %rax, uw_epi(%rip)\n"
	"	mov %rsp, uw_epi+8(%rip)\n"
	"	mov %rbp, uw_epi+16(%rip)\n"
	"	mov (%rsp), %rax\n"
	"	mov %rax, uw_epi+24(%rip)\n"
	"	ret\n"
	".cfi_endproc\n"
	".size uw_epilogue_leaf, .-uw_epilogue_leaf\n");

static struct capture ecap;

/*
 * A function whose CFI remembers and restores state around an early return
 * (as gcc emits for a return in the middle of a function): the rows are
 * [push, pop) CFA = rsp+16, [pop, 2:) rsp+8 (uw_rs_ret), [2:, end) rsp+16
 * again (uw_rs_body). libdw reports the row of uw_rs_body as starting at the
 * push (the row remembered): a cache that trusted it would unwind uw_rs_ret
 * with rsp+16. Never called: the tests unwind made-up stacks at these pcs.
 */
void uw_rs_fn(void);
extern const char uw_rs_ret[], uw_rs_body[];
__asm__(".text\n"
	".globl uw_rs_fn, uw_rs_ret, uw_rs_body\n"
	".type uw_rs_fn, @function\n"
	"uw_rs_fn:\n"
	".cfi_startproc\n"
	"	push %rbx\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset rbx, -16\n"
	"	test %rdi, %rdi\n"
	"	jz uw_rs_body\n"
	".cfi_remember_state\n"
	"	pop %rbx\n"
	".cfi_def_cfa_offset 8\n"
	".cfi_restore rbx\n"
	"uw_rs_ret:\n"
	"	ret\n"
	".cfi_restore_state\n"
	"uw_rs_body:\n"
	"	xor %eax, %eax\n"
	"	pop %rbx\n"
	".cfi_def_cfa_offset 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".size uw_rs_fn, .-uw_rs_fn\n");

/* The capture of uw_epilogue_leaf, taken by its caller once it returned: the
 * stack above its sp is unchanged but for the return address slot, which the
 * calls since overwrote (put back from what the leaf saw). */
NOFP void uw_epi_mid(void)
{
	uint64_t base;

	uw_epilogue_leaf();
	base = uw_epi.sp & ~7ULL;
	ecap.ip = uw_epi.ip;
	ecap.sp = uw_epi.sp;
	ecap.bp = uw_epi.bp;
	ecap.len = (size_t)((uintptr_t)thread_stack + STACK_BYTES - base);
	ecap.copy = malloc(ecap.len);
	if (ecap.copy) {
		memcpy(ecap.copy, (void *)(uintptr_t)base, ecap.len);
		memcpy(ecap.copy, &uw_epi.ra, sizeof(uw_epi.ra));
	}
	sink++;
}

NOFP void *uw_thread(void *arg)
{
	uw_mid((int)(intptr_t)arg);
	uw_epi_mid();
	sink++;
	return NULL;
}

/* Run uw_thread on a stack we know the top of, recording the capture. */
static int record_setup(void **state)
{
	pthread_attr_t attr;
	pthread_t t;

	(void)state;
	thread_stack = aligned_alloc(4096, STACK_BYTES);
	if (!thread_stack || pthread_attr_init(&attr) ||
	    pthread_attr_setstack(&attr, thread_stack, STACK_BYTES) ||
	    pthread_create(&t, &attr, uw_thread, (void *)(intptr_t)3) || pthread_join(t, NULL))
		return -1;
	pthread_attr_destroy(&attr);
	return cap.copy && ecap.copy ? 0 : -1;
}

static int record_teardown(void **state)
{
	(void)state;
	free(cap.copy);
	free(ecap.copy);
	free(thread_stack);
	return 0;
}

static bool in_function(uint64_t ip, void *fn)
{
	return ip >= (uintptr_t)fn && ip - (uintptr_t)fn < 512;
}

static struct unwind_input input_of(const struct capture *c, size_t len, bool truncated)
{
	struct unwind_input in = {
		.pid = (uint32_t)getpid(),
		.ip = c->ip,
		.sp = c->sp,
		.bp = c->bp,
		.stack = c->copy,
		.stack_len = len,
		.truncated = truncated,
	};

	return in;
}

static void test_unwinds_to_thread_start(void **state)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64], files;
	size_t n;

	(void)state;
	assert_non_null(u);
	n = unwinder_unwind(u, &in, ips, 64, &why);
	assert_int_equal(why, UNWIND_END);
	/* uw_leaf, uw_mid x4, uw_thread, then libc's thread start */
	assert_true(n >= 7);
	assert_true(in_function(ips[0], uw_leaf));
	for (int i = 1; i <= 4; i++)
		assert_true(in_function(ips[i], uw_mid));
	assert_true(in_function(ips[5], uw_thread));
	/* the Dwfl is reused: a second walk reads no maps */
	assert_int_equal(unwinder_unwind(u, &in, ips, 64, &why), n);
	assert_int_equal(unwinder_stats(u)->dwfl_builds, 1);
	assert_int_equal(unwinder_stats(u)->walks, 2);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_END], 2);
	/* too little room: counted as too deep, the frames that fit are kept */
	assert_int_equal(unwinder_unwind(u, &in, ips, 3, &why), 3);
	assert_int_equal(why, UNWIND_TOO_DEEP);
	/* a new exec generation reads the maps again, not the binaries */
	files = unwinder_stats(u)->files_opened;
	assert_true(files >= 2);	/* this test, libc */
	in.gen = 1;
	assert_int_equal(unwinder_unwind(u, &in, ips, 64, &why), n);
	assert_int_equal(unwinder_stats(u)->dwfl_builds, 2);
	/* nor does a process seen anew (the old Dwfl freed, the files kept) */
	unwinder_forget(u, in.pid);
	assert_int_equal(unwinder_unwind(u, &in, ips, 64, &why), n);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_stats(u)->dwfl_builds, 3);
	assert_int_equal(unwinder_stats(u)->files_opened, files);
	unwinder_forget(u, in.pid);
	unwinder_free(u);
}

/* The unwound frames as build ID + file offset: the offsets the maps give. */
static void test_build_ids(void **state)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	struct pb_build_id_frame bf[64];
	const struct procmap *m;
	struct procmaps maps = { 0 };
	enum unwind_reason why;
	uint64_t ips[64];
	size_t n;

	(void)state;
	assert_non_null(u);
	/* no walk yet: nothing is known of the process */
	assert_int_equal(unwinder_build_ids(u, in.pid, &cap.ip, 1, bf), 0);
	assert_int_equal(bf[0].status, 0);
	n = unwinder_unwind(u, &in, ips, 64, &why);
	assert_true(n >= 7);
	assert_int_equal(unwinder_build_ids(u, in.pid, ips, n, bf), n);
	assert_int_equal(procmaps_read(&maps, getpid()), 0);
	for (size_t i = 0; i < n; i++) {
		m = procmaps_find(&maps, ips[i]);
		assert_non_null(m);
		assert_int_equal(bf[i].status, PB_BUILD_ID_VALID);
		assert_int_equal(bf[i].offset, ips[i] - m->start + m->pgoff);
	}
	/* the leaf and its callers up to the thread are in this program */
	assert_memory_equal(bf[0].build_id, bf[5].build_id, sizeof(bf[0].build_id));
	procmaps_release(&maps);
	unwinder_free(u);
}

/* The same with the maps read from their text (a kernel without PROCMAP_QUERY). */
static void test_build_ids_text_maps(void **state)
{
	procmaps_set_query(0);
	test_build_ids(state);
	procmaps_set_query(1);
}

static void test_short_copy_is_counted(void **state)
{
	struct unwind_input cut = input_of(&cap, 16, true), bad = input_of(&cap, 16, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64];
	size_t n;

	(void)state;
	assert_non_null(u);
	/* the copy limit cut the stack: copy exhausted */
	n = unwinder_unwind(u, &cut, ips, 64, &why);
	assert_int_equal(why, UNWIND_COPY_EXHAUSTED);
	assert_true(n >= 1 && n < 7);
	assert_true(in_function(ips[0], uw_leaf));
	/* the same copy said complete: the read outside it is a bad read */
	unwinder_unwind(u, &bad, ips, 64, &why);
	assert_int_equal(why, UNWIND_BAD_READ);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_COPY_EXHAUSTED], 1);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_BAD_READ], 1);
	unwinder_free(u);
}

static void test_no_regs_no_process(void **state)
{
	struct unwind_input none = input_of(&cap, 0, false);
	struct unwind_input gone = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[8];

	(void)state;
	assert_non_null(u);
	none.ip = 0;
	assert_int_equal(unwinder_unwind(u, &none, ips, 8, &why), 0);
	assert_int_equal(why, UNWIND_NO_REGS);
	/* a process whose maps cannot be read: the leaf is kept */
	gone.pid = 0x3ffffff0;
	assert_int_equal(unwinder_unwind(u, &gone, ips, 8, &why), 1);
	assert_int_equal(why, UNWIND_NO_MAPS);
	assert_int_equal(ips[0], cap.ip);
	assert_int_equal(unwinder_stats(u)->fp_fallback, 0);
	assert_string_equal(unwind_reason_name(UNWIND_COPY_EXHAUSTED), "copy_exhausted");
	assert_string_equal(unwind_reason_name(UNWIND_NO_MAPS), "no_maps");
	unwinder_free(u);
}

/* This process's file mappings as the sampler sends them at exit; NULL paths
 * when @no_paths (found by device and inode only). *@n set. */
static struct unwind_mapping *exit_maps_of_self(size_t *n, bool no_paths)
{
	struct procmaps pm = { 0 };
	struct unwind_mapping *m;
	size_t k = 0;

	if (procmaps_read(&pm, getpid()))
		return NULL;
	m = calloc(pm.n + 1, sizeof(*m));
	for (size_t i = 0; m && i < pm.n; i++) {
		const struct procmap *p = &pm.maps[i];

		if (!p->inode || p->path[0] != '/' || (!(p->prot & PROCMAP_X) && p->pgoff))
			continue;
		m[k] = (struct unwind_mapping){
			.start = p->start, .end = p->end, .pgoff = p->pgoff, .ino = p->inode,
			.dev = makedev(p->dev_major, p->dev_minor), .exec = p->prot & PROCMAP_X,
			.path = no_paths ? NULL : strdup(p->path),
		};
		k++;
	}
	procmaps_release(&pm);
	*n = k;
	return m;
}

static void exit_maps_free(struct unwind_mapping *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)m[i].path);
	free(m);
}

/*
 * A process gone before its maps were read: the walk waits (counted as
 * deferred, not as a walk), then, given its mappings as captured at exit,
 * comes out as the live walk does.
 */
static void test_exit_maps(void **state)
{
	struct unwind_input live = input_of(&cap, cap.len, false);
	struct unwind_input gone = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	uint64_t ips[64], want[64];
	enum unwind_reason why;
	struct unwind_mapping *m;
	size_t n, nm;

	(void)state;
	assert_non_null(u);
	n = unwinder_unwind(u, &live, want, 64, &why);
	assert_int_equal(why, UNWIND_END);
	gone.pid = 0x3ffffff0;
	gone.may_defer = true;
	assert_int_equal(unwinder_unwind(u, &gone, ips, 64, &why), 0);
	assert_int_equal(unwinder_stats(u)->deferred, 1);
	assert_int_equal(unwinder_stats(u)->walks, 1);
	/* its time is read on the clock it started on: seconds, not years */
	assert_true(unwinder_stats(u)->cpu_ns < 10000000000ULL);
	m = exit_maps_of_self(&nm, false);
	assert_non_null(m);
	assert_int_equal(unwinder_exit_maps(u, gone.pid, 0, m, nm), 0);
	assert_int_equal(unwinder_unwind(u, &gone, ips, 64, &why), n);
	assert_int_equal(why, UNWIND_END);
	assert_memory_equal(ips, want, n * sizeof(*ips));
	assert_int_equal(unwinder_stats(u)->exit_maps, 1);
	assert_int_equal(unwinder_stats(u)->exit_files_unopened, 0);
	exit_maps_free(m, nm);
	unwinder_free(u);
}

/* Without paths, files come from the cache by device and inode; a file the
 * cache lacks cannot be opened (counted), and the walk stops there. */
static void test_exit_maps_by_inode(void **state)
{
	struct unwind_input gone = input_of(&cap, cap.len, false);
	struct unwind_input live = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	struct unwind_mapping *m;
	uint64_t ips[64];
	size_t n, nm;

	(void)state;
	assert_non_null(u);
	m = exit_maps_of_self(&nm, true);
	assert_non_null(m);
	gone.pid = 0x3ffffff0;
	/* no file at all: nothing to unwind with */
	assert_int_equal(unwinder_exit_maps(u, gone.pid, 0, m, nm), -EINVAL);
	assert_true(unwinder_stats(u)->exit_files_unopened >= 2);	/* this test, libc */
	unwinder_unwind(u, &gone, ips, 64, &why);
	assert_int_not_equal(why, UNWIND_END);
	/* the live walk caches the files: the same mappings now unwind */
	n = unwinder_unwind(u, &live, ips, 64, &why);
	assert_int_equal(why, UNWIND_END);
	unwinder_forget(u, gone.pid);
	assert_int_equal(unwinder_exit_maps(u, gone.pid, 0, m, nm), 0);
	assert_int_equal(unwinder_unwind(u, &gone, ips, 64, &why), n);
	assert_int_equal(why, UNWIND_END);
	exit_maps_free(m, nm);
	unwinder_free(u);
}

/* A relocatable object mapped executable (seen under -a): not a binary to
 * unwind with, counted as not opened, and nothing asks for its sections. */
static void test_exit_maps_relocatable(void **state)
{
	char exe[4096], obj[4200];
	struct unwinder *u = unwinder_new();
	struct unwind_mapping m = { .start = 0x10000, .end = 0x11000, .exec = true, .path = obj };
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)state;
	assert_non_null(u);
	assert_true(n > 0);
	exe[n] = '\0';
	/* build/tests/test_unwind -> build/user/unwind.o (an ET_REL file) */
	snprintf(obj, sizeof(obj), "%s/../user/unwind.o", dirname(exe));
	assert_int_equal(stat(obj, &st), 0);
	m.dev = st.st_dev;
	m.ino = st.st_ino;
	assert_int_not_equal(unwinder_exit_maps(u, 0x3ffffff0, 0, &m, 1), 0);
	assert_int_equal(unwinder_stats(u)->exit_files_unopened, 1);
	unwinder_free(u);
}

/* The frame-pointer stack stands in when the copy cannot be unwound. */
static void test_fp_fallback(void **state)
{
	static const uint64_t fp[3] = { 0x1000, 0x2000, 0x3000 };
	struct unwind_input gone = input_of(&cap, cap.len, false);
	struct unwind_input none = input_of(&cap, 0, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[8];

	(void)state;
	assert_non_null(u);
	gone.pid = 0x3ffffff0;	/* no such process: no maps */
	gone.fp_ips = fp;
	gone.nfp = 3;
	assert_int_equal(unwinder_unwind(u, &gone, ips, 8, &why), 3);
	assert_int_equal(why, UNWIND_NO_MAPS);
	assert_memory_equal(ips, fp, sizeof(fp));
	/* no room for all of it: cut at the caller's bound */
	assert_int_equal(unwinder_unwind(u, &gone, ips, 2, &why), 2);
	/* no registers, yet frame pointers */
	none.ip = 0;
	none.fp_ips = fp;
	none.nfp = 3;
	assert_int_equal(unwinder_unwind(u, &none, ips, 8, &why), 3);
	assert_int_equal(why, UNWIND_NO_REGS);
	assert_int_equal(unwinder_stats(u)->fp_fallback, 3);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_NO_MAPS], 2);
	unwinder_free(u);
}

/* A CFI walk that gets past the leaf is kept whatever the frame pointers say. */
static void test_cfi_walk_wins(void **state)
{
	static const uint64_t fp[3] = { 0x1000, 0x2000, 0x3000 };
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64];

	(void)state;
	assert_non_null(u);
	in.fp_ips = fp;
	in.nfp = 3;
	assert_true(unwinder_unwind(u, &in, ips, 64, &why) > 3);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(ips[0], cap.ip);
	assert_int_equal(unwinder_stats(u)->fp_fallback, 0);
	unwinder_free(u);
}

/* A register the leaf's CFI saved below sp (popped already) cannot be read
 * from the copy; the walk still reaches the thread's start: complete, not
 * cut by a bad read. */
static void test_popped_register_below_sp(void **state)
{
	struct unwind_input in = input_of(&ecap, ecap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64];
	size_t n;

	(void)state;
	assert_non_null(u);
	n = unwinder_unwind(u, &in, ips, 64, &why);
	assert_true(n >= 4);
	assert_int_equal(ips[0], ecap.ip);
	assert_true(in_function(ips[1], uw_epi_mid));
	assert_true(in_function(ips[2], uw_thread));
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_BAD_READ], 0);
	unwinder_free(u);
}

/* The run-time address of this test's .plt section, 0 when it has none. */
static uint64_t plt_address(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t strndx;
	uint64_t addr = 0;
	const char *name;
	Dl_info info;

	elf_version(EV_CURRENT);
	elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	if (!elf || elf_getshdrstrndx(elf, &strndx) || !dladdr((void *)uw_leaf, &info))
		goto out;
	while (!addr && (scn = elf_nextscn(elf, scn))) {
		name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, strndx, sh.sh_name) : NULL;
		if (name && !strcmp(name, ".plt"))
			addr = (uintptr_t)info.dli_fbase + sh.sh_addr;
	}
out:
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return addr;
}

/* A sample in a PLT stub (a call into a library caught before the jump):
 * the stub's CFI computes the CFA from rip (DW_OP_breg16), which must be
 * set, or the walk ends at the leaf. The stack is the recorded one with the
 * call's return address (into uw_leaf) pushed on it. */
static void test_plt_leaf(void **state)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	uint64_t plt = plt_address(), ips[64], ra = cap.ip;
	uint8_t *stack = malloc(cap.len + 8);
	enum unwind_reason why;
	size_t n;

	(void)state;
	assert_non_null(u);
	assert_non_null(stack);
	if (!plt) {
		unwinder_free(u);
		free(stack);
		skip();
	}
	memcpy(stack, &ra, 8);
	memcpy(stack + 8, cap.copy, cap.len);
	in.ip = plt + 16;	/* the first instruction of the first stub */
	in.sp = (cap.sp & ~7ULL) - 8;
	in.stack = stack;
	in.stack_len = cap.len + 8;
	n = unwinder_unwind(u, &in, ips, 64, &why);
	assert_int_equal(why, UNWIND_END);
	assert_true(n >= 8);
	assert_int_equal(ips[1], ra);
	for (int i = 2; i <= 5; i++)
		assert_true(in_function(ips[i], uw_mid));
	unwinder_free(u);
	free(stack);
}

/* Walk @in with the fast path and without: the same frames, the same reason. */
static size_t assert_fast_same(struct unwinder *fast, struct unwinder *slow,
			       const struct unwind_input *in, size_t max, enum unwind_reason *why)
{
	uint64_t a[64], b[64];
	enum unwind_reason wa, wb;
	size_t na = unwinder_unwind(fast, in, a, max, &wa);
	size_t nb = unwinder_unwind(slow, in, b, max, &wb);

	assert_int_equal(na, nb);
	assert_int_equal(wa, wb);
	assert_memory_equal(a, b, na * sizeof(a[0]));
	if (why)
		*why = wa;
	return na;
}

static struct unwinder *unwinder_fast(bool on)
{
	struct unwinder *u = unwinder_new();

	if (u)
		unwinder_set_fast(u, on);
	return u;
}

/*
 * The fast path gives libdw's frames and stop reasons on every fixture:
 * whole, cut at every length (copy exhausted, or a bad read when the copy
 * says it is whole), too little room, a register popped below sp.
 */
static void test_fast_same_as_libdw(void **state)
{
	struct unwinder *fast = unwinder_fast(true), *slow = unwinder_fast(false);
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwind_input epi = input_of(&ecap, ecap.len, false);
	enum unwind_reason why;
	uint64_t walks;

	(void)state;
	assert_non_null(fast);
	assert_non_null(slow);
	assert_true(assert_fast_same(fast, slow, &in, 64, &why) >= 7);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_stats(fast)->fast, 1);
	assert_int_equal(unwinder_stats(fast)->fast_handoff, 0);
	assert_int_equal(unwinder_stats(slow)->fast, 0);
	assert_int_equal(unwinder_stats(slow)->fast_handoff, 0);
	for (size_t max = 1; max < 8; max++)
		assert_fast_same(fast, slow, &in, max, NULL);
	for (size_t len = 0; len <= 1024 && len <= cap.len; len += 8) {
		struct unwind_input cut = input_of(&cap, len, true), bad = input_of(&cap, len, false);

		assert_fast_same(fast, slow, &cut, 64, NULL);
		assert_fast_same(fast, slow, &bad, 64, NULL);
	}
	assert_fast_same(fast, slow, &epi, 64, &why);
	assert_int_equal(why, UNWIND_END);
	/* all of them simple: none handed over */
	walks = unwinder_stats(fast)->walks;
	assert_int_equal(unwinder_stats(fast)->fast, walks);
	assert_int_equal(unwinder_stats(fast)->fast_handoff, 0);
	unwinder_free(fast);
	unwinder_free(slow);
}

/* A made-up sample at @ip whose stack holds @nwords words, then the return
 * address into uw_leaf and the recorded stack below it. */
static struct unwind_input input_above(uint64_t ip, const uint64_t *words, size_t nwords,
				       uint8_t **stack)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	size_t top = (nwords + 1) * 8;

	*stack = malloc(cap.len + top);
	assert_non_null(*stack);
	if (nwords)
		memcpy(*stack, words, nwords * 8);
	memcpy(*stack + nwords * 8, &cap.ip, 8);
	memcpy(*stack + top, cap.copy, cap.len);
	in.ip = ip;
	in.sp = (cap.sp & ~7ULL) - top;
	in.stack = *stack;
	in.stack_len = cap.len + top;
	return in;
}

/* A rule found past DW_CFA_restore_state does not stand for the epilogue
 * before it: uw_rs_body first (cached), then uw_rs_ret. */
static void test_fast_restore_state_rows(void **state)
{
	struct unwinder *fast = unwinder_fast(true), *slow = unwinder_fast(false);
	uint64_t rbx = 0x1234;
	uint8_t *s1, *s2;
	struct unwind_input body = input_above((uintptr_t)uw_rs_body, &rbx, 1, &s1);
	struct unwind_input ret = input_above((uintptr_t)uw_rs_ret, NULL, 0, &s2);
	uint64_t ips[64];
	enum unwind_reason why;
	size_t n;

	(void)state;
	assert_non_null(fast);
	assert_non_null(slow);
	assert_true(assert_fast_same(fast, slow, &body, 64, &why) >= 8);
	assert_int_equal(why, UNWIND_END);
	n = assert_fast_same(fast, slow, &ret, 64, &why);
	assert_true(n >= 8);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_unwind(fast, &ret, ips, 64, &why), n);
	assert_int_equal(ips[1], cap.ip);
	assert_true(in_function(ips[2], uw_mid));
	assert_int_equal(unwinder_stats(fast)->fast, 3);
	unwinder_free(fast);
	unwinder_free(slow);
	free(s1);
	free(s2);
}

/* A frame whose rule is not simple (a PLT stub: CFA from an expression of
 * rsp and rip) hands the whole walk to libdw, which gives the same stack. */
static void test_fast_hands_over(void **state)
{
	struct unwinder *fast = unwinder_fast(true), *slow = unwinder_fast(false);
	struct unwind_input in;
	uint64_t plt = plt_address();
	uint8_t *stack;
	enum unwind_reason why;

	(void)state;
	assert_non_null(fast);
	assert_non_null(slow);
	if (!plt) {
		unwinder_free(fast);
		unwinder_free(slow);
		skip();
	}
	in = input_above(plt + 16, NULL, 0, &stack);
	assert_true(assert_fast_same(fast, slow, &in, 64, &why) >= 8);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_stats(fast)->fast, 0);
	assert_int_equal(unwinder_stats(fast)->fast_handoff, 1);
	/* a pc in no binary: handed over too (libdw says why it stopped) */
	in.ip = 0x10;
	assert_fast_same(fast, slow, &in, 64, NULL);
	assert_int_equal(unwinder_stats(fast)->fast_handoff, 2);
	unwinder_free(fast);
	unwinder_free(slow);
	free(stack);
}

/* PROFILING_BPF_DEBUG_NO_FAST_UNWIND: libdw alone. */
static void test_fast_off_by_env(void **state)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u;
	enum unwind_reason why;
	uint64_t ips[64];

	(void)state;
	setenv("PROFILING_BPF_DEBUG_NO_FAST_UNWIND", "1", 1);
	u = unwinder_new();
	unsetenv("PROFILING_BPF_DEBUG_NO_FAST_UNWIND");
	assert_non_null(u);
	assert_true(unwinder_unwind(u, &in, ips, 64, &why) >= 7);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_stats(u)->fast, 0);
	assert_int_equal(unwinder_stats(u)->fast_handoff, 0);
	unwinder_free(u);
}

/* --- the rules handed to BPF (unwinder_walk_rules, uw_rule_to_bpf) --- */

/*
 * A complete fast walk hands over one rule per frame, looked up at the leaf's
 * pc and at pc - 1 above it; the BPF walk with them gives the same frames.
 * A walk that is not complete hands over none, and with a copy cut short the
 * BPF walk with the whole walk's rules misses rather than walk on.
 */
static void test_walk_rules_for_bpf(void **state)
{
	struct unwinder *u = unwinder_fast(true);
	struct unwind_input in = input_of(&cap, cap.len, false);
	const struct pb_unwind_rule *rules;
	struct pb_unwind_rule saved[PB_MAX_STACK];
	uint64_t ips[PB_MAX_STACK], sim[PB_MAX_STACK], at_saved[PB_MAX_STACK];
	enum unwind_reason why;
	const uint64_t *at;
	size_t n, nr;

	(void)state;
	assert_non_null(u);
	n = unwinder_unwind(u, &in, ips, PB_MAX_STACK, &why);
	assert_int_equal(why, UNWIND_END);
	nr = unwinder_walk_rules(u, &at, &rules);
	assert_int_equal(nr, n);
	assert_int_equal(at[0], ips[0]);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(at[i], ips[i] - 1);
	memcpy(saved, rules, nr * sizeof(*rules));
	memcpy(at_saved, at, nr * sizeof(*at));
	assert_int_equal(sim_bpf_walk(&in, at_saved, saved, nr, sim, PB_MAX_STACK), n);
	assert_memory_equal(sim, ips, n * sizeof(*ips));
	/* cut copies: the reader's walk is not complete, BPF's misses */
	for (size_t len = 8; len + 8 < cap.len && len <= 1024; len += 8) {
		struct unwind_input cut = input_of(&cap, len, true);

		unwinder_unwind(u, &cut, ips, PB_MAX_STACK, &why);
		if (why != UNWIND_END) {
			assert_int_equal(unwinder_walk_rules(u, &at, &rules), 0);
			assert_int_equal(sim_bpf_walk(&cut, at_saved, saved, nr, sim, PB_MAX_STACK), 0);
		}
	}
	/* too little room: not complete either */
	unwinder_unwind(u, &in, ips, 2, &why);
	assert_int_equal(why, UNWIND_TOO_DEEP);
	assert_int_equal(unwinder_walk_rules(u, &at, &rules), 0);
	unwinder_free(u);
}

/* uw_rule_to_bpf keeps what the rules mean, and refuses what BPF cannot take. */
static void test_rule_to_bpf(void **state)
{
	struct uw_rule r = {
		.simple = true, .cfa_reg = 7, .cfa_off = 16, .ra = UW_REG_MEM, .ra_off = -8,
		.rbp = UW_REG_SAME, .rbp_off = 99, .rsp = UW_REG_VAL, .rsp_off = 0,
		.nsaved = 2, .saved_off = { -24, -16 },
	};
	struct pb_unwind_rule b;

	(void)state;
	assert_true(uw_rule_to_bpf(&r, &b));
	assert_int_equal(b.cfa_reg, PB_UW_CFA_RSP);
	assert_int_equal(b.cfa_off, 16);
	assert_int_equal(b.ra, PB_UW_MEM);
	assert_int_equal(b.ra_off, -8);
	assert_int_equal(b.rbp, PB_UW_SAME);
	assert_int_equal(b.rbp_off, 0);	/* an offset that means nothing is zero */
	assert_int_equal(b.rsp, PB_UW_VAL);
	assert_int_equal(b.saved_min, -24);
	assert_int_equal(b.saved_max, -16);
	r.cfa_reg = 6;
	r.rbp = UW_REG_MEM;
	r.rbp_off = -16;
	r.nsaved = 0;
	r.ra = UW_REG_UNDEF;
	assert_true(uw_rule_to_bpf(&r, &b));
	assert_int_equal(b.cfa_reg, PB_UW_CFA_RBP);
	assert_int_equal(b.rbp, PB_UW_MEM);
	assert_int_equal(b.rbp_off, -16);
	assert_int_equal(b.ra, PB_UW_UNDEF);
	assert_int_equal(b.saved_min, PB_UW_NO_SAVED);
	assert_int_equal(b.saved_max, PB_UW_NO_SAVED);
	r.cfa_off = 1LL << 33;	/* beyond 32 bits */
	assert_false(uw_rule_to_bpf(&r, &b));
	r.cfa_off = 16;
	r.cfa_reg = 3;		/* rbx: not a CFA register the walk knows */
	assert_false(uw_rule_to_bpf(&r, &b));
	r.cfa_reg = 7;
	r.simple = false;
	assert_false(uw_rule_to_bpf(&r, &b));
	r.simple = true;
	r.ra = UW_REG_SAME;
	assert_false(uw_rule_to_bpf(&r, &b));
}

static void test_forget_unknown(void **state)
{
	struct unwinder *u = unwinder_new();

	(void)state;
	assert_non_null(u);
	unwinder_forget(u, 12345);	/* unknown pid: nothing */
	unwinder_free(u);
	unwinder_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwinds_to_thread_start),
		cmocka_unit_test(test_exit_maps),
		cmocka_unit_test(test_exit_maps_by_inode),
		cmocka_unit_test(test_exit_maps_relocatable),
		cmocka_unit_test(test_short_copy_is_counted),
		cmocka_unit_test(test_no_regs_no_process),
		cmocka_unit_test(test_fp_fallback),
		cmocka_unit_test(test_build_ids),
		cmocka_unit_test(test_build_ids_text_maps),
		cmocka_unit_test(test_cfi_walk_wins),
		cmocka_unit_test(test_popped_register_below_sp),
		cmocka_unit_test(test_plt_leaf),
		cmocka_unit_test(test_fast_same_as_libdw),
		cmocka_unit_test(test_fast_restore_state_rows),
		cmocka_unit_test(test_fast_hands_over),
		cmocka_unit_test(test_fast_off_by_env),
		cmocka_unit_test(test_forget_unknown),
		cmocka_unit_test(test_walk_rules_for_bpf),
		cmocka_unit_test(test_rule_to_bpf),
	};

	return cmocka_run_group_tests(tests, record_setup, record_teardown);
}

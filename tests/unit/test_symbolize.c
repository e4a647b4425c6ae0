// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolizer tests on real processes: the symtest ELF binary run as a child
 * (alive, exited, deleted from disk), libc and a dlopen'ed library in this
 * process, a fake JIT region with a perf map, the vDSO, and the kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "binary.h"
#include "demangle.h"
#include "elfsyms.h"
#include "procmaps.h"
#include "symbolize.h"

#define NFUNCS 3
static const char *const func_names[NFUNCS] = {
	"symtest_alpha", "symtest_beta", "symtest_static_gamma",
};

/* A running symtest: blocked on its stdin until we close in_fd. */
struct child {
	pid_t pid;
	int in_fd;
	uint64_t addr[NFUNCS];
};

/* build/tests/symtest, beside this test binary. */
static void symtest_path(char *buf, size_t size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(buf, size, "%s/symtest", dirname(exe));
}

static void exec_child(const char *exe, int in[2], int out[2])
{
	dup2(in[0], 0);
	dup2(out[1], 1);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	execl(exe, exe, "--wait", (char *)NULL);
	_exit(127);
}

static void read_addresses(int fd, struct child *c)
{
	FILE *f = fdopen(fd, "r");
	char name[64];
	unsigned long long addr;
	int i;

	assert_non_null(f);
	for (i = 0; i < NFUNCS; i++) {
		assert_int_equal(fscanf(f, "%63s %llx", name, &addr), 2);
		assert_string_equal(name, func_names[i]);
		c->addr[i] = addr;
	}
	fclose(f);
}

static void start_child(const char *exe, struct child *c)
{
	int in[2], out[2];

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (!c->pid)
		exec_child(exe, in, out);
	close(in[0]);
	close(out[1]);
	c->in_fd = in[1];
	read_addresses(out[0], c);
}

static void stop_child(struct child *c)
{
	int status;

	close(c->in_fd);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Resolve each function's address and 3 bytes into it; check names and the module. */
static void check_child_symbols(struct symbolizer *s, const struct child *c, const char *module)
{
	uint64_t addrs[2 * NFUNCS + 1];
	struct sym_info out[2 * NFUNCS + 1];
	uint32_t prev_line = 0;
	int i;

	for (i = 0; i < NFUNCS; i++) {
		addrs[2 * i] = c->addr[i];
		addrs[2 * i + 1] = c->addr[i] + 3;
	}
	addrs[2 * NFUNCS] = 0x10;	/* mapped nowhere */
	assert_int_equal(symbolizer_resolve_user(s, c->pid, addrs, 2 * NFUNCS + 1, out), 0);
	for (i = 0; i < 2 * NFUNCS; i++) {
		assert_int_equal(out[i].reason, SYM_OK);
		assert_string_equal(out[i].name, func_names[i / 2]);
		assert_int_equal(out[i].sym_offset, i % 2 ? 3 : 0);
		assert_true(ends_with(out[i].module, module));
		assert_true(addrs[i] >= out[i].map_start && addrs[i] < out[i].map_end);
		/* PIE: the ELF virtual address is far below the load address */
		assert_true(out[i].module_offset < addrs[i]);
		/* built with -g: DWARF gives the source position */
		assert_non_null(out[i].file);
		assert_true(ends_with(out[i].file, "symtest.c"));
		assert_true(out[i].line > 0);
		/* the functions are defined in this order in symtest.c */
		assert_true(i % 2 ? out[i].line == prev_line : out[i].line > prev_line);
		prev_line = out[i].line;
		print_message("%s+%llu at %s:%u\n", out[i].name,
			      (unsigned long long)out[i].sym_offset, out[i].file, out[i].line);
	}
	assert_int_equal(out[2 * NFUNCS].reason, SYM_NO_MAPPING);
	assert_null(out[2 * NFUNCS].name);
}

static void test_child_alive_then_exited(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct child c;
	char exe[4200];

	(void)state;
	assert_non_null(s);
	symtest_path(exe, sizeof(exe));
	start_child(exe, &c);
	assert_int_equal(symbolizer_snapshot(s, c.pid), 0);
	check_child_symbols(s, &c, "/symtest");
	stop_child(&c);
	check_child_symbols(s, &c, "/symtest");
	assert_int_equal(symbolizer_snapshot(s, c.pid), -ESRCH);
	check_child_symbols(s, &c, "/symtest");
	symbolizer_free(s);
}

/*
 * A second read of the same maps: through PROCMAP_QUERY the kernel gives each
 * executable file's build ID, and a parsed file of that build ID, device and
 * inode is taken without a stat(); read from the text, every file is stat'ed.
 * Either way the names are the same.
 */
static void snapshot_twice(int query, struct symbolizer_stats *st)
{
	struct symbolizer *s = symbolizer_new();
	struct child c;
	char exe[4200];

	assert_non_null(s);
	procmaps_set_query(query);
	symtest_path(exe, sizeof(exe));
	start_child(exe, &c);
	assert_int_equal(symbolizer_snapshot(s, c.pid), 0);
	check_child_symbols(s, &c, "/symtest");
	symbolizer_get_stats(s, st);
	assert_int_equal(st->files_by_build_id, 0);	/* nothing parsed before */
	assert_int_equal(symbolizer_snapshot(s, c.pid), 0);
	check_child_symbols(s, &c, "/symtest");
	stop_child(&c);
	symbolizer_get_stats(s, st);
	procmaps_set_query(1);
	symbolizer_free(s);
}

static void test_files_by_build_id(void **state)
{
	struct procmaps ms = { 0 };
	struct symbolizer_stats st;
	int queried;

	(void)state;
	assert_int_equal(procmaps_read_flags(&ms, getpid(), PROCMAPS_EXEC), 0);
	queried = ms.queried;
	procmaps_release(&ms);
	snapshot_twice(1, &st);
	assert_int_equal(st.snapshots, 2);
	if (queried) {
		assert_int_equal(st.snapshots_queried, 2);
		/* symtest, libc, ld.so: all known by build ID the second time */
		assert_true(st.files_by_build_id >= 3);
	}
	snapshot_twice(0, &st);
	assert_int_equal(st.snapshots, 2);
	assert_int_equal(st.snapshots_queried, 0);
	assert_int_equal(st.files_by_build_id, 0);
}

/*
 * Churn: images of children that come and go, half with samples. The ones
 * without are freed at their exit; the others by the second release after it,
 * once their samples were resolved (still named until then).
 */
static void test_release_exited(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct symbolizer_stats st;
	struct child c[8];
	char exe[4200];

	(void)state;
	symtest_path(exe, sizeof(exe));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 8; i++) {
			start_child(exe, &c[i]);
			assert_int_equal(symbolizer_image_new(s, c[i].pid, 1, 0, "symtest"), 0);
			assert_int_equal(symbolizer_image_request(s, c[i].pid, 1), 0);
		}
		assert_int_equal(symbolizer_flush(s, NULL, NULL), 8);
		for (int i = 0; i < 8; i++) {
			stop_child(&c[i]);
			symbolizer_image_exit(s, c[i].pid, 1, i % 2);
		}
		symbolizer_get_stats(s, &st);
		assert_int_equal(st.images, 4);
		assert_int_equal(symbolizer_release_exited(s), 0);	/* samples pending */
		for (int i = 1; i < 8; i += 2)
			assert_string_equal(symbolizer_image_name(s, c[i].pid, 1), "symtest");
		assert_int_equal(symbolizer_release_exited(s), 4);
		symbolizer_get_stats(s, &st);
		assert_int_equal(st.images, 0);
		assert_null(symbolizer_image_name(s, c[1].pid, 1));
	}
	assert_int_equal(st.released_images, 24);
	symbolizer_free(s);
}

/*
 * Over the DWARF budget, a release drops the DWARF of a file not looked up
 * since the release before; lines are still found after.
 */
static void test_dwarf_budget(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct symbolizer_stats st;
	struct sym_info out;
	struct child c;
	char exe[4200];
	uint64_t addr;

	(void)state;
	symtest_path(exe, sizeof(exe));
	start_child(exe, &c);
	assert_int_equal(symbolizer_snapshot(s, c.pid), 0);
	symbolizer_set_dwarf_budget(s, 1);
	check_child_symbols(s, &c, "/symtest");	/* reads the DWARF */
	symbolizer_get_stats(s, &st);
	assert_true(st.dwarf_bytes > 0);
	symbolizer_release_exited(s);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.dwarf_trims, 0);	/* looked up since the last release: in use */
	symbolizer_release_exited(s);
	symbolizer_get_stats(s, &st);
	assert_int_equal(st.dwarf_trims, 1);
	assert_int_equal(st.dwarf_bytes, 0);
	addr = c.addr[0] + 1;	/* not cached: the DWARF is read again */
	assert_int_equal(symbolizer_resolve_user(s, c.pid, &addr, 1, &out), 0);
	assert_int_equal(out.reason, SYM_OK);
	assert_true(out.file && ends_with(out.file, "symtest.c") && out.line > 0);
	stop_child(&c);
	symbolizer_free(s);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	assert_int_equal(close(out), 0);
}

static void test_deleted_binary(void **state)
{
	struct symbolizer *s = symbolizer_new();
	char exe[4200], copy[4300];
	struct child c;

	(void)state;
	symtest_path(exe, sizeof(exe));
	snprintf(copy, sizeof(copy), "%s-deleted-%d", exe, (int)getpid());
	copy_file(exe, copy, 0755);
	start_child(copy, &c);
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(symbolizer_snapshot(s, c.pid), 0);
	stop_child(&c);
	check_child_symbols(s, &c, copy + strlen(copy) - 20);
	symbolizer_free(s);
}

static void test_forget_and_unknown_pid(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct sym_info out[1];
	struct child c;
	char exe[4200];

	(void)state;
	symtest_path(exe, sizeof(exe));
	start_child(exe, &c);
	assert_int_equal(symbolizer_snapshot(s, c.pid), 0);
	symbolizer_forget(s, c.pid);
	stop_child(&c);
	assert_int_equal(symbolizer_resolve_user(s, c.pid, &c.addr[0], 1, out), 0);
	assert_int_equal(out[0].reason, SYM_NO_PROCESS);
	assert_null(out[0].name);
	assert_null(out[0].module);
	symbolizer_forget(s, 0x7ffffff1);
	symbolizer_forget(NULL, 1);
	symbolizer_free(s);
	symbolizer_free(NULL);
}

/*
 * Resolve @fn in this process; check its name is @name, or when @name is NULL
 * that dlsym() of the name in @lib finds @fn again (aliases share an address).
 */
static void check_own_function(struct symbolizer *s, void *lib, void *fn, const char *name,
			       const char *module_part)
{
	uint64_t addr = (uint64_t)(uintptr_t)fn;
	struct sym_info out;

	assert_non_null(fn);
	assert_int_equal(symbolizer_resolve_user(s, getpid(), &addr, 1, &out), 0);
	assert_int_equal(out.reason, SYM_OK);
	assert_int_equal(out.sym_offset, 0);
	print_message("%#llx -> %s in %s\n", (unsigned long long)addr, out.name, out.module);
	if (name)
		assert_string_equal(out.name, name);
	else
		assert_ptr_equal(dlsym(lib, out.name), fn);
	assert_non_null(strstr(out.module, module_part));
}

/* Functions looked up in libc itself: ASan interposes some (qsort) in the test binary. */
static void test_libc_function(void **state)
{
	struct symbolizer *s = symbolizer_new();
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	(void)state;
	assert_non_null(libc);
	check_own_function(s, libc, dlsym(libc, "getpid"), NULL, "libc.so");
	check_own_function(s, libc, dlsym(libc, "qsort"), "qsort", "libc.so");
	dlclose(libc);
	symbolizer_free(s);
}

static void test_dlopen_after_snapshot(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct timespec wait = { 0, 20 * 1000 * 1000 };
	void *lib;

	(void)state;
	assert_int_equal(symbolizer_snapshot(s, getpid()), 0);
	lib = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		symbolizer_free(s);
		skip();
	}
	nanosleep(&wait, NULL);	/* the symbolizer re-reads maps at most every 10 ms */
	check_own_function(s, lib, dlsym(lib, "crypt"), "crypt", "libcrypt");
	dlclose(lib);
	symbolizer_free(s);
}

/*
 * A frame outside every mapping (a junk frame-pointer value) in every sample:
 * the maps are re-read less and less often while nothing changes in them.
 */
static void test_resnap_backoff(void **state)
{
	struct symbolizer *s = symbolizer_new();
	struct timespec wait = { 0, 10 * 1000 * 1000 };
	uint64_t ips[2] = { (uint64_t)(uintptr_t)test_resnap_backoff, 0x10 };
	struct symbolizer_stats st;

	(void)state;
	assert_int_equal(symbolizer_snapshot(s, getpid()), 0);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(symbolizer_image_check(s, getpid(), 0, &ips[1], 1), 0);
		symbolizer_flush(s, NULL, NULL);
		nanosleep(&wait, NULL);
	}
	symbolizer_get_stats(s, &st);
	print_message("%llu maps read, %llu unchanged, %llu held back\n",
		      (unsigned long long)st.snapshots, (unsigned long long)st.resnaps_unchanged,
		      (unsigned long long)st.resnaps_skipped);
	/* every 10 ms, 50 would be read; doubling waits: about log2(elapsed / 10 ms) */
	assert_true(st.snapshots >= 2 && st.snapshots <= 12);
	assert_int_equal(st.resnaps_unchanged, st.snapshots - 1);
	assert_true(st.resnaps_skipped >= 50 - st.snapshots);
	/* a junk outermost frame after a re-read asks for nothing */
	st.snapshots = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(symbolizer_image_check(s, getpid(), 0, ips, 2), 0);
		st.snapshots += symbolizer_flush(s, NULL, NULL);
	}
	assert_int_equal(st.snapshots, 0);
	symbolizer_free(s);
}

static void write_perf_map(const char *text)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_jit_perf_map(void **state)
{
	struct symbolizer *s = symbolizer_new();
	size_t len = 2 * 4096;
	char *code = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t base = (uint64_t)(uintptr_t)code, addrs[3] = { base + 8, base + 0x1010, base + 0x1800 };
	char text[256], path[64];
	struct sym_info out[3];

	(void)state;
	assert_true(code != MAP_FAILED);
	snprintf(text, sizeof(text), "%llx 40 jit_fn_one\nnot a line\n%llx 100 JIT two [x]\n",
		 (unsigned long long)base, (unsigned long long)base + 0x1000);
	write_perf_map(text);
	assert_int_equal(symbolizer_snapshot(s, getpid()), 0);
	assert_int_equal(symbolizer_resolve_user(s, getpid(), addrs, 3, out), 0);
	assert_int_equal(out[0].reason, SYM_OK);
	assert_string_equal(out[0].name, "jit_fn_one");
	assert_int_equal(out[0].sym_offset, 8);
	assert_string_equal(out[0].module, "[anon]");
	assert_int_equal(out[1].reason, SYM_OK);
	assert_string_equal(out[1].name, "JIT two [x]");
	assert_int_equal(out[2].reason, SYM_NO_SYMBOL);
	assert_string_equal(out[2].module, "[anon]");
	assert_int_equal(out[2].module_offset, addrs[2] - out[2].map_start);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	unlink(path);
	munmap(code, len);
	symbolizer_free(s);
}

static void test_vdso(void **state)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t base = getauxval(AT_SYSINFO_EHDR), addr;
	struct procmaps ms = { 0 };
	const struct procmap *m;
	struct sym_info out;
	int found = 0;

	(void)state;
	if (!base)
		skip();
	assert_int_equal(procmaps_read(&ms, getpid()), 0);
	m = procmaps_find(&ms, base);
	assert_non_null(m);
	assert_string_equal(m->path, "[vdso]");
	for (addr = m->start; addr < m->end; addr += 4) {
		assert_int_equal(symbolizer_resolve_user(s, getpid(), &addr, 1, &out), 0);
		assert_string_equal(out.module, "[vdso]");
		found += out.reason == SYM_OK && strstr(out.name, "clock_gettime");
	}
	assert_true(found > 0);
	procmaps_release(&ms);
	symbolizer_free(s);
}

/* Address of text symbol @name in /proc/kallsyms, 0 when hidden or absent. */
static uint64_t kallsyms_addr(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256], type;
	unsigned long long addr;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 &&
		    (type == 'T' || type == 't') && !strcmp(sym, name)) {
			fclose(f);
			return addr;
		}
	}
	fclose(f);
	return 0;
}

static void test_kernel_symbol(void **state)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t addrs[2] = { kallsyms_addr("vfs_read"), 1 };
	struct sym_info out[2];

	(void)state;
	if (!addrs[0]) {
		print_message("/proc/kallsyms shows no address for vfs_read (not root?)\n");
		symbolizer_free(s);
		skip();
	}
	addrs[0] += 5;
	assert_int_equal(symbolizer_resolve_kernel(s, addrs, 2, out), 0);
	assert_int_equal(out[0].reason, SYM_OK);
	assert_string_equal(out[0].name, "vfs_read");
	assert_int_equal(out[0].sym_offset, 5);
	assert_string_equal(out[0].module, "[kernel.kallsyms]");
	assert_int_equal(out[1].reason, SYM_NO_SYMBOL);
	assert_string_equal(out[1].module, "[kernel.kallsyms]");
	symbolizer_free(s);
}

static const struct symtab_sym *find_by_name(const struct elfsyms *es, const char *name)
{
	size_t i;

	for (i = 0; i < es->tab.n; i++) {
		if (!strcmp(symtab_str(&es->tab, es->tab.syms[i].name), name))
			return &es->tab.syms[i];
	}
	return NULL;
}

/* @path opened as a binary whose debug root is @debug_root (NULL: none). */
static struct binary *read_elf(const char *path, const char *debug_root)
{
	static const struct binary_opts opts = { .no_debuginfod = true };
	struct binary *b;

	setenv(BINARY_DEBUG_ROOT_ENV, debug_root ? debug_root : "/nonexistent", 1);
	b = binary_open(path, &opts);
	unsetenv(BINARY_DEBUG_ROOT_ENV);
	assert_non_null(b);
	return b;
}

static void test_elf_symbols(void **state)
{
	const struct symtab_sym *sym;
	struct binary *b;
	char exe[4200];
	int i;

	(void)state;
	symtest_path(exe, sizeof(exe));
	b = read_elf(exe, NULL);
#define es (b->syms)
	assert_true(es.has_symtab);
	assert_int_equal(es.build_id_len, 20);
	assert_true(es.nsegs >= 2);
	for (i = 0; i < NFUNCS; i++) {
		sym = find_by_name(&es, func_names[i]);
		assert_non_null(sym);
		assert_true(sym->size > 0);
		assert_ptr_equal(elfsyms_find(&es, sym->addr + sym->size - 1), sym);
		assert_ptr_not_equal(elfsyms_find(&es, sym->addr + sym->size), sym);
	}
#undef es
	binary_free(b);
	binary_free(NULL);
}

struct vaddr_case {
	uint64_t offset;
	int ok;
	uint64_t vaddr;
};

/* File offset -> ELF virtual address for the layouts of ld.bfd output. */
static void test_offset_to_vaddr(void **state)
{
	static const struct elfsyms_segment nonpie[] = {
		{ 0x400000, 0x518, 0, 0x518, PF_R },
		{ 0x401000, 0x1a5, 0x1000, 0x1a5, PF_R | PF_X },
		{ 0x403df0, 0x238, 0x2df0, 0x228, PF_R | PF_W },
	};
	static const struct vaddr_case cases[] = {
		{ 0x1000, 1, 0x401000 }, { 0x10ff, 1, 0x4010ff }, { 0x11a5, 0, 0 },
		{ 0x0, 1, 0x400000 }, { 0x2df8, 1, 0x403df8 }, { 0x3018, 0, 0 },
	};
	struct elfsyms es = { 0 };
	uint64_t vaddr;
	size_t i;

	(void)state;
	memcpy(es.segs, nonpie, sizeof(nonpie));
	es.nsegs = 3;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vaddr = 0;
		assert_int_equal(elfsyms_offset_to_vaddr(&es, cases[i].offset, &vaddr),
				 cases[i].ok ? 0 : -ENOENT);
		assert_int_equal(vaddr, cases[i].vaddr);
	}
}

/* Run a shell command; 0 when it worked. */
static int run(const char *fmt, const char *a, const char *b)
{
	char cmd[9000];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

/* Put @exe's debug file under @dir by build-id, as Debian's dbgsym packages do. */
static void install_debuginfo(const struct elfsyms *es, const char *exe, const char *dir,
			      char *debug, size_t size)
{
	char sub[4200];
	size_t i, n;

	snprintf(sub, sizeof(sub), "%s/.build-id", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/.build-id/%02x", dir, es->build_id[0]);
	assert_int_equal(mkdir(sub, 0700), 0);
	n = (size_t)snprintf(debug, size, "%s/", sub);
	for (i = 1; i < es->build_id_len; i++)
		n += (size_t)snprintf(debug + n, size - n, "%02x", es->build_id[i]);
	snprintf(debug + n, size - n, ".debug");
	assert_int_equal(run("objcopy --only-keep-debug '%s' '%s'", exe, debug), 0);
}

static void test_stripped_uses_debuginfo(void **state)
{
	char exe[4200], dir[] = "/tmp/pb-debug-XXXXXX", stripped[4300], debug[4400];
	struct binary *full, *bare, *dbg;

	(void)state;
	if (system("command -v objcopy >/dev/null 2>&1"))
		skip();
	symtest_path(exe, sizeof(exe));
	assert_non_null(mkdtemp(dir));
	snprintf(stripped, sizeof(stripped), "%s/symtest.stripped", dir);
	assert_int_equal(run("objcopy --strip-all '%s' '%s'", exe, stripped), 0);
	full = read_elf(exe, NULL);
	bare = read_elf(stripped, NULL);
	assert_false(bare->syms.has_symtab);
	assert_null(find_by_name(&bare->syms, "symtest_static_gamma"));
	install_debuginfo(&full->syms, exe, dir, debug, sizeof(debug));
	dbg = read_elf(stripped, dir);
	assert_true(dbg->syms.from_debuginfo);
	assert_string_equal(dbg->debug_file, debug);
	assert_int_equal(find_by_name(&dbg->syms, "symtest_static_gamma")->addr,
			 find_by_name(&full->syms, "symtest_static_gamma")->addr);
	binary_free(full);
	binary_free(bare);
	binary_free(dbg);
	assert_int_equal(run("rm -rf '%s'%s", dir, ""), 0);
}

/* Names as binutils' c++filt prints them; a suffix after '@' kept; plain C left alone. */
static void test_demangle(void **state)
{
	static const char *const cases[][2] = {
		{ "_ZN6holdns3fooEi", "holdns::foo(int)" },
		{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
		  "std::vector<int, std::allocator<int> >::push_back(int const&)" },
		{ "_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write" },
		{ "_RNvCs1234_7mycrate3foo", "mycrate::foo" },
		{ "_Z3barv@plt", "bar()@plt" },
	};
	char *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = demangle(cases[i][0]);
		assert_non_null(r);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
	r = demangle_bare("_ZN6holdns4spinImEET_S1_l");
	assert_non_null(r);
	assert_string_equal(r, "holdns::spin<unsigned long>");
	free(r);
	assert_null(demangle("main"));
	assert_null(demangle("memcpy@plt"));
	assert_null(demangle("_Znot_a_name"));
}

/* The PLT stubs of the symtest binary, named after what they call. */
static void test_plt_stubs(void **state)
{
	char exe[4200];
	struct binary *b;

	(void)state;
	symtest_path(exe, sizeof(exe));
	b = read_elf(exe, NULL);
	assert_true(binary_match(b, "*@plt", NULL, NULL) > 0);
	assert_int_equal(binary_match(b, "*", NULL, NULL) + binary_match(b, "*@plt", NULL, NULL),
			 (int)b->syms.nall);
	binary_free(b);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 100k addresses over two processes, in batches of 100, with some misses. */
static void test_many_addresses_fast(void **state)
{
	struct symbolizer *s = symbolizer_new();
	uint64_t libc = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "getpid");
	uint64_t addrs[100];
	struct sym_info out[100];
	struct timespec t0;
	struct child c;
	char exe[4200];
	int i, j, ok = 0;

	(void)state;
	symtest_path(exe, sizeof(exe));
	start_child(exe, &c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000; i++) {
		for (j = 0; j < 100; j++)
			addrs[j] = j % 10 == 9 ? 0x100 + (uint64_t)j
				 : i % 2 ? c.addr[j % NFUNCS] + (uint64_t)(j % 8) : libc + (uint64_t)(j % 4);
		assert_int_equal(symbolizer_resolve_user(s, i % 2 ? c.pid : getpid(), addrs, 100, out), 0);
		for (j = 0; j < 100; j++)
			ok += out[j].reason == SYM_OK;
	}
	print_message("100k addresses in %.3f s\n", seconds_since(&t0));
	assert_true(seconds_since(&t0) < 1.0);
	assert_int_equal(ok, 90000);
	stop_child(&c);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_alive_then_exited),
		cmocka_unit_test(test_files_by_build_id),
		cmocka_unit_test(test_deleted_binary),
		cmocka_unit_test(test_release_exited),
		cmocka_unit_test(test_dwarf_budget),
		cmocka_unit_test(test_forget_and_unknown_pid),
		cmocka_unit_test(test_libc_function),
		cmocka_unit_test(test_dlopen_after_snapshot),
		cmocka_unit_test(test_resnap_backoff),
		cmocka_unit_test(test_jit_perf_map),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_kernel_symbol),
		cmocka_unit_test(test_elf_symbols),
		cmocka_unit_test(test_offset_to_vaddr),
		cmocka_unit_test(test_stripped_uses_debuginfo),
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_plt_stubs),
		cmocka_unit_test(test_many_addresses_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

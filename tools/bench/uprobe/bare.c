// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark floors: attach bare.bpf.o's programs to FUNC in BINARY (all
 * processes), run CMD, detach. MODE:
 *   perf     empty uprobe + uretprobe, perf-event uprobes (bpftrace's way)
 *   clock    the same pair reading the clock, nothing else
 *   multi    empty uprobe + uretprobe through uprobe_multi links (6.6+)
 *   session  one empty uprobe session program (6.10+)
 * uprobe_multi and session links are created with the bpf() system call
 * (libbpf 1.1 has no API for them), at FUNC's file offset.
 * Usage: bare BPF_OBJECT MODE BINARY FUNC -- CMD [ARGS...]
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#define TRACE_UPROBE_MULTI	48	/* enum bpf_attach_type (uapi, 6.6+) */
#define TRACE_UPROBE_SESSION	57	/* (6.10+) */

/* union bpf_attr for BPF_LINK_CREATE of uprobe_multi / session links */
struct link_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, umulti_flags, pid, pad;
};

/* File offset of symbol @func in ELF @path, or 0. */
static uint64_t func_offset(const char *path, const char *func)
{
	uint64_t off = 0, vaddr = 0;
	Elf_Scn *scn = NULL;
	size_t n, i;
	GElf_Shdr sh;
	GElf_Phdr ph;
	GElf_Sym sym;
	Elf *e;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	e = fd >= 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	while (e && !vaddr && (scn = elf_nextscn(e, scn))) {
		Elf_Data *d = gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB ?
			      elf_getdata(scn, NULL) : NULL;

		for (i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			if (gelf_getsym(d, (int)i, &sym) && sym.st_value &&
			    !strcmp(elf_strptr(e, sh.sh_link, sym.st_name), func))
				vaddr = sym.st_value;
		}
	}
	if (e && vaddr && !elf_getphdrnum(e, &n)) {
		for (i = 0; i < n; i++) {
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz)
				off = vaddr - ph.p_vaddr + ph.p_offset;
		}
	}
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	return off;
}

static int raw_link(struct bpf_object *obj, const char *prog, int type, const char *path,
		    uint64_t off, int ret)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	uint64_t cookie = 0;
	struct link_attr a;

	if (!p || !off)
		return -1;
	memset(&a, 0, sizeof(a));
	a.prog_fd = (uint32_t)bpf_program__fd(p);
	a.attach_type = (uint32_t)type;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)&off;
	a.cookies = (uint64_t)(uintptr_t)&cookie;
	a.cnt = 1;
	a.umulti_flags = ret ? 1 : 0;	/* BPF_F_UPROBE_MULTI_RETURN */
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}

static int perf_link(struct bpf_object *obj, const char *prog, const char *bin,
		     const char *func, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = func, .retprobe = ret);
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);

	return p && bpf_program__attach_uprobe_opts(p, -1, bin, 0, &o) ? 0 : -1;
}

/* Attach in @mode; 0 or -1. Links stay until the process exits. */
static int attach(struct bpf_object *obj, const char *mode, const char *bin, const char *func)
{
	uint64_t off = func_offset(bin, func);

	if (!strcmp(mode, "perf"))
		return perf_link(obj, "bare_entry", bin, func, 0) ||
		       perf_link(obj, "bare_return", bin, func, 1) ? -1 : 0;
	if (!strcmp(mode, "clock"))
		return perf_link(obj, "clock_entry", bin, func, 0) ||
		       perf_link(obj, "clock_return", bin, func, 1) ? -1 : 0;
	if (!strcmp(mode, "multi"))
		return raw_link(obj, "bare_entry", TRACE_UPROBE_MULTI, bin, off, 0) < 0 ||
		       raw_link(obj, "bare_return", TRACE_UPROBE_MULTI, bin, off, 1) < 0 ? -1 : 0;
	if (!strcmp(mode, "session"))
		return raw_link(obj, "bare_session", TRACE_UPROBE_SESSION, bin, off, 0) < 0 ? -1 : 0;
	return -1;
}

/* Programs of links made with the bpf() system call need their attach type at load. */
static void set_types(struct bpf_object *obj, const char *mode)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		const char *n = bpf_program__name(p);

		if (!strcmp(mode, "session") && !strcmp(n, "bare_session"))
			bpf_program__set_expected_attach_type(p, TRACE_UPROBE_SESSION);
		else if (!strcmp(mode, "multi") && strncmp(n, "bare_", 5) == 0)
			bpf_program__set_expected_attach_type(p, TRACE_UPROBE_MULTI);
		else if (strcmp(mode, "perf") && strcmp(mode, "clock"))
			bpf_program__set_autoload(p, false);
	}
	if (!strcmp(mode, "multi"))
		bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "bare_session"),
					  false);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	int st = 1;
	pid_t pid;

	if (argc < 7 || strcmp(argv[5], "--")) {
		fprintf(stderr, "usage: bare BPF_OBJECT perf|clock|multi|session BINARY FUNC -- CMD...\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (obj)
		set_types(obj, argv[2]);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bare: cannot load %s\n", argv[1]);
		return 1;
	}
	if (attach(obj, argv[2], argv[3], argv[4])) {
		fprintf(stderr, "bare: cannot attach (%s) to %s in %s\n", argv[2], argv[4], argv[3]);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[6], argv + 6);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	bpf_object__close(obj);
	return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

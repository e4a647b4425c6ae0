// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark floor: attach bare.bpf.o's empty programs to FUNC in BINARY
 * (uprobe + uretprobe, all processes), run CMD, detach.
 * Usage: bare BPF_OBJECT BINARY FUNC -- CMD [ARGS...]
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static struct bpf_link *attach(struct bpf_object *obj, const char *prog, const char *bin,
			       const char *func, int ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = func, .retprobe = ret);
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);

	return p ? bpf_program__attach_uprobe_opts(p, -1, bin, 0, &o) : NULL;
}

int main(int argc, char **argv)
{
	struct bpf_link *a, *b;
	struct bpf_object *obj;
	int st = 1;
	pid_t pid;

	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr, "usage: bare BPF_OBJECT BINARY FUNC -- CMD [ARGS...]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bare: cannot load %s\n", argv[1]);
		return 1;
	}
	a = attach(obj, "bare_entry", argv[2], argv[3], 0);
	b = attach(obj, "bare_return", argv[2], argv[3], 1);
	if (!a || !b) {
		fprintf(stderr, "bare: cannot attach to %s in %s\n", argv[3], argv[2]);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	bpf_link__destroy(a);
	bpf_link__destroy(b);
	bpf_object__close(obj);
	return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

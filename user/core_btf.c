// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The minimal BTF of a BPF object's CO-RE relocations, cached (core_btf.h).
 * The file: a header with the key (the boot ID: another kernel means a
 * reboot; and a hash of the object) and the BTF that bpftool made. Read
 * without following symlinks, only when owned by us and 0600, and checked
 * (header, key, every reference of the BTF in range, chains of references
 * that end) before libbpf sees it, through a memory file holding exactly the
 * bytes checked.
 */
#include <bpf/btf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "core-btf"
#include "cache_dir.h"
#include "core_btf.h"
#include "hashmap.h"
#include "log.h"
#include "output.h"
#include "profiling_bpf.h"
#include "textio.h"

#define CACHE_MAGIC	"PBCOREB"
#define CACHE_VERSION	2
#define MAX_TYPES	65536	/* the minimal BTF of our objects has ~50 */
#define MAX_CHAIN	64	/* modifiers, typedefs, pointers and arrays in a row */
#define VMLINUX_BTF	"/sys/kernel/btf/vmlinux"
#define PRUNE_SECS	(7 * 24 * 3600)	/* files of other builds unused this long go */

extern char **environ;

struct cache_hdr {
	char magic[8];
	uint32_t version;
	uint32_t btf_len;
	uint32_t kfuncs[PB_KFUNC_MAX];	/* vmlinux BTF IDs, 0: unknown */
	char key[CORE_BTF_KEY_LEN];
};

/* Is @id a type of @b (0: void)? */
static bool id_ok(const struct btf *b, __u32 id)
{
	return id < btf__type_cnt(b);
}

static bool name_ok(const struct btf *b, __u32 off)
{
	return btf__str_by_offset(b, off) != NULL;
}

/* The one type @t refers to by a chain (modifier, typedef, pointer, array
 * element, variable...), 0 for none. */
static __u32 chain_next(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return t->type;
	case BTF_KIND_ARRAY:
		return btf_array(t)->type;
	default:
		return 0;
	}
}

/* The member, parameter and value lists of @t: their names and types in range. */
static int check_lists(const struct btf *b, const struct btf_type *t)
{
	__u16 n = btf_vlen(t);

	for (__u16 i = 0; i < n; i++) {
		switch (btf_kind(t)) {
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			if (!name_ok(b, btf_members(t)[i].name_off) ||
			    !id_ok(b, btf_members(t)[i].type))
				return -EINVAL;
			break;
		case BTF_KIND_ENUM:
			if (!name_ok(b, btf_enum(t)[i].name_off))
				return -EINVAL;
			break;
		case BTF_KIND_ENUM64:
			if (!name_ok(b, btf_enum64(t)[i].name_off))
				return -EINVAL;
			break;
		case BTF_KIND_FUNC_PROTO:
			if (!name_ok(b, btf_params(t)[i].name_off) || !id_ok(b, btf_params(t)[i].type))
				return -EINVAL;
			break;
		case BTF_KIND_DATASEC:
			if (!id_ok(b, btf_var_secinfos(t)[i].type))
				return -EINVAL;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Type @id: known kind, names and references in range, a chain that ends. */
static int check_type(const struct btf *b, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(b, id);
	__u32 next;
	int i;

	if (!t || btf_kind(t) == BTF_KIND_UNKN || btf_kind(t) > BTF_KIND_ENUM64 ||
	    !name_ok(b, t->name_off))
		return -EINVAL;
	if (btf_is_array(t) && !id_ok(b, btf_array(t)->index_type))
		return -EINVAL;
	if ((btf_is_func_proto(t) && !id_ok(b, t->type)) || check_lists(b, t))
		return -EINVAL;
	for (i = 0, next = chain_next(t); next && i < MAX_CHAIN; i++) {
		if (!id_ok(b, next))
			return -EINVAL;
		next = chain_next(btf__type_by_id(b, next));
	}
	return next ? -EINVAL : 0;
}

int core_btf_check(const void *data, size_t len)
{
	struct btf *b;
	int err = 0;

	if (len > CORE_BTF_MAX)
		return -EINVAL;
	b = btf__new(data, (__u32)len);	/* header, section bounds, type sizes */
	if (!b)
		return -EINVAL;
	if (btf__type_cnt(b) > MAX_TYPES)
		err = -EINVAL;
	for (__u32 id = 1; !err && id < btf__type_cnt(b); id++)
		err = check_type(b, id);
	btf__free(b);
	return err;
}

int core_btf_parse(const void *data, size_t len, const char *key, size_t *off, size_t *btf_len,
		   __u32 *kfuncs)
{
	const struct cache_hdr *h = data;

	if (len < sizeof(*h) || memcmp(h->magic, CACHE_MAGIC, sizeof(h->magic)) ||
	    h->version != CACHE_VERSION || strncmp(h->key, key, sizeof(h->key)) ||
	    h->btf_len != len - sizeof(*h) ||
	    core_btf_check((const char *)data + sizeof(*h), h->btf_len))
		return -EINVAL;
	for (int i = 0; i < PB_KFUNC_MAX; i++) {
		if (h->kfuncs[i] > CORE_BTF_MAX_ID)
			return -EINVAL;
	}
	*off = sizeof(*h);
	*btf_len = h->btf_len;
	if (kfuncs)
		memcpy(kfuncs, h->kfuncs, sizeof(h->kfuncs));
	return 0;
}

int core_btf_write(FILE *f, const char *key, const void *btf, size_t len, const __u32 *kfuncs)
{
	struct cache_hdr h = { .magic = CACHE_MAGIC, .version = CACHE_VERSION,
			       .btf_len = (uint32_t)len };

	if (len > CORE_BTF_MAX)
		return -EINVAL;
	if (kfuncs)
		memcpy(h.kfuncs, kfuncs, sizeof(h.kfuncs));
	snprintf(h.key, sizeof(h.key), "%s", key);
	if (fwrite(&h, sizeof(h), 1, f) != 1 || fwrite(btf, 1, len, f) != len)
		return -EIO;
	return 0;
}

/* A hash of object @elf, a word at a time: hash_bytes() takes ~1 ms on its ~900 KB. */
static uint64_t object_hash(const void *elf, size_t len)
{
	const unsigned char *p = elf;
	uint64_t h = len, w;
	size_t i;

	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 31;
	}
	return hash_bytes(p + i, len - i, h);
}

/* "<boot id>-<hash of the object @hash>" */
static int cache_key(uint64_t hash, char *key)
{
	char *boot = NULL;
	size_t blen;
	int err = textio_read_path("/proc/sys/kernel/random/boot_id", 64, &boot, &blen);

	if (err)
		return err;
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(key, CORE_BTF_KEY_LEN, "%s-%016llx", boot, (unsigned long long)hash);
	free(boot);
	return 0;
}

/* Remove the files of objects @name other than @keep ("core-NAME-HASH.btf")
 * not written for PRUNE_SECS: builds replaced since. */
static void prune(const char *dir, const char *name, const char *keep)
{
	char prefix[64];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);
	time_t now = time(NULL);

	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), "core-%s-", name);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || !strcmp(e->d_name, keep) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < PRUNE_SECS)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* The whole of file @path when it is ours (see kallsyms_cache.c), and with
 * @private set not readable or writable by others either (bpftool makes its
 * output 0644, in our directory). */
static int read_ours(const char *path, size_t cap, bool private, char **buf, size_t *len)
{
	uint64_t size;
	int fd = cache_file_open(path, private, cap, &size), err;

	if (fd < 0)
		return fd;
	err = textio_read_fd(fd, cap, buf, len);
	close(fd);
	return err;
}

/* Run bpftool gen min_core_btf on object file @obj into @out; 0 when it succeeded. */
static int run_bpftool(const char *obj, const char *out)
{
	char *argv[] = { "bpftool", "gen", "min_core_btf", VMLINUX_BTF, (char *)out, (char *)obj,
			 NULL };
	posix_spawn_file_actions_t fa;
	int err, status;
	pid_t pid;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, "bpftool", &fa, NULL, argv, environ);
	if (err == ENOENT)	/* root's tools, maybe not on the PATH */
		err = posix_spawn(&pid, "/usr/sbin/bpftool", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Object @elf into a new file of @dir: its path into @path. */
static int write_object(const char *dir, const void *elf, size_t len, char *path, size_t plen)
{
	int fd;
	ssize_t n;

	snprintf(path, plen, "%s/.core-obj-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	n = write(fd, elf, len);
	close(fd);
	if (n != (ssize_t)len) {
		unlink(path);
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* Make the minimal BTF of object @elf with bpftool: the checked bytes into *@btf. */
static int make_btf(const char *dir, const void *elf, size_t len, char **btf, size_t *blen)
{
	char obj[4096], out[4200];
	int err = write_object(dir, elf, len, obj, sizeof(obj));

	if (err)
		return err;
	snprintf(out, sizeof(out), "%s.btf", obj);
	err = run_bpftool(obj, out);
	unlink(obj);
	if (!err)
		err = read_ours(out, CORE_BTF_MAX, false, btf, blen);
	unlink(out);
	if (!err && core_btf_check(*btf, *blen)) {
		free(*btf);
		*btf = NULL;
		err = -EINVAL;
	}
	return err;
}

struct store_arg {
	const char *key;
	const char *btf;
	size_t len;
	const __u32 *kfuncs;
};

static int store(FILE *f, const void *arg)
{
	const struct store_arg *a = arg;

	return core_btf_write(f, a->key, a->btf, a->len, a->kfuncs);
}

static const char *const kfunc_names[PB_KFUNC_MAX] = {
	[PB_KFUNC_ITER_VMA_NEW] = "bpf_iter_task_vma_new",
	[PB_KFUNC_ITER_VMA_NEXT] = "bpf_iter_task_vma_next",
	[PB_KFUNC_ITER_VMA_DESTROY] = "bpf_iter_task_vma_destroy",
};

int core_btf_kfuncs(__u32 *kfuncs)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id;

	if (!vmlinux)
		return -errno;
	for (int i = 0; i < PB_KFUNC_MAX; i++) {
		id = btf__find_by_name_kind(vmlinux, kfunc_names[i], BTF_KIND_FUNC);
		kfuncs[i] = id > 0 && id <= (int)CORE_BTF_MAX_ID ? (__u32)id : 0;
	}
	btf__free(vmlinux);
	return 0;
}

/* The checked BTF of the cache file @path under @key into *@btf (0), or made
 * now and cached (1); -errno. */
static int cached_btf(const char *dir, const char *path, const char *key, const void *elf,
		      size_t len, char **btf, size_t *blen, __u32 *kfuncs)
{
	char *data = NULL;
	size_t dlen, off;
	int err;

	if (!read_ours(path, sizeof(struct cache_hdr) + CORE_BTF_MAX, true, &data, &dlen) &&
	    !core_btf_parse(data, dlen, key, &off, blen, kfuncs)) {
		memmove(data, data + off, *blen);
		*btf = data;
		pr_debug("CO-RE relocations against %s", path);
		return 0;
	}
	free(data);
	err = make_btf(dir, elf, len, btf, blen);
	if (err) {
		pr_debug("no minimal BTF for CO-RE (bpftool gen min_core_btf): %s", strerror(-err));
		return err;
	}
	/* the kfuncs from vmlinux BTF, once per boot and build */
	if (kfuncs && core_btf_kfuncs(kfuncs))
		memset(kfuncs, 0, PB_KFUNC_MAX * sizeof(*kfuncs));
	if (output_write_atomic(path, store, &(struct store_arg){ key, *btf, *blen, kfuncs }))
		pr_debug("cannot write %s", path);
	else
		pr_debug("CO-RE relocations against %s, made now", path);
	return 1;
}

/* A memory file holding @btf: its fd, its path into @path. */
static int memory_file(const char *btf, size_t len, char *path)
{
	int fd = memfd_create("core-btf", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, btf, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	snprintf(path, CORE_BTF_PATH_LEN, "/proc/self/fd/%d", fd);
	return fd;
}

int core_btf_open(const char *name, const void *elf, size_t len, char *path, __u32 *kfuncs)
{
	const char *dir = cache_dir_root();
	char key[CORE_BTF_KEY_LEN], base[128], file[4096], *btf = NULL;
	uint64_t hash = object_hash(elf, len);
	size_t blen = 0;
	int err;

	if (!dir || geteuid() != 0 || getenv("PROFILING_BPF_DEBUG_NO_CORE_BTF"))
		return -ENOENT;
	err = cache_key(hash, key);
	err = err ?: cache_dir_make(dir);
	if (err)
		return err;
	/* one file per build: two builds run in turn do not replace each other's */
	snprintf(base, sizeof(base), "core-%s-%016llx.btf", name, (unsigned long long)hash);
	snprintf(file, sizeof(file), "%s/%s", dir, base);
	err = cached_btf(dir, file, key, elf, len, &btf, &blen, kfuncs);
	if (err == 1) {	/* made now */
		prune(dir, name, base);
		err = 0;
	}
	if (!err)
		err = memory_file(btf, blen, path);
	free(btf);
	return err;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A cache of the parsed kernel symbol table, so that a run does not make the
 * kernel format all of /proc/kallsyms as text and parse it again. The file
 * holds the symtab arrays as they are in memory, behind a header with the
 * key: the boot ID (a new kernel or a reboot changes it) and a hash of the
 * loaded modules (names and addresses). Only root uses it, in a directory
 * owned by root and writable by no one else; the file is 0600 and read
 * without following symlinks. Its content is still checked before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "kallsyms"
#include "cache_dir.h"
#include "hashmap.h"
#include "kallsyms.h"
#include "log.h"
#include "output.h"
#include "textio.h"

#define CACHE_MAGIC	"PBKSYMS"
#define CACHE_VERSION	1
#define CACHE_NAME	"kallsyms.bin"

struct cache_hdr {
	char magic[8];
	uint32_t version;
	uint32_t sym_size;	/* sizeof(struct symtab_sym) */
	char key[KALLSYMS_KEY_LEN];
	uint64_t nsyms, strs_len, ntext, nonzero;
};

/* FNV-1a-like mix of the name and address columns of /proc/modules. */
static uint64_t modules_hash(void)
{
	char *text = NULL, *line, *save = NULL, name[64];
	unsigned long long addr;
	uint64_t h = 0;
	size_t len;

	if (textio_read_path("/proc/modules", 16u << 20, &text, &len))
		return 0;	/* no modules (or none can be read): the kernel image alone */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		addr = 0;
		if (sscanf(line, "%63s %*s %*s %*s %*s %llx", name, &addr) < 1)
			continue;
		h = hash_bytes(name, strlen(name), h);
		h = hash_bytes(&addr, sizeof(addr), h);
	}
	free(text);
	return h;
}

int kallsyms_cache_key(char *key, size_t len)
{
	char *boot = NULL;
	size_t blen;
	int err;

	err = textio_read_path("/proc/sys/kernel/random/boot_id", 64, &boot, &blen);
	if (err)
		return err;
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(key, len, "%s-%016llx", boot, (unsigned long long)modules_hash());
	free(boot);
	return 0;
}

/* As symtab_finish() leaves them: sorted, one per address, not overlapping, names in range. */
static int check_syms(const struct symtab_sym *syms, size_t n, size_t strs_len)
{
	for (size_t i = 0; i < n; i++) {
		if (syms[i].name >= strs_len || !syms[i].size ||
		    syms[i].size > UINT64_MAX - syms[i].addr ||
		    (syms[i].module != SYMTAB_NO_STR && syms[i].module >= strs_len) ||
		    (i && syms[i - 1].addr + syms[i - 1].size > syms[i].addr))
			return -EINVAL;
	}
	return 0;
}

int kallsyms_cache_parse(struct kallsyms *ks, const void *data, size_t len, const char *key)
{
	const struct cache_hdr *h = data;
	const char *body = (const char *)data + sizeof(*h);
	size_t syms_bytes;

	if (len < sizeof(*h) || memcmp(h->magic, CACHE_MAGIC, sizeof(h->magic)) ||
	    h->version != CACHE_VERSION || h->sym_size != sizeof(struct symtab_sym) ||
	    strncmp(h->key, key, sizeof(h->key)) || h->nsyms > SYMTAB_MAX_SYMS ||
	    h->strs_len > SYMTAB_MAX_STRS || !h->strs_len || h->ntext < h->nsyms ||
	    h->nonzero > h->ntext || (h->nsyms && !h->nonzero))
		return -EINVAL;
	syms_bytes = (size_t)h->nsyms * sizeof(struct symtab_sym);
	if (len != sizeof(*h) + syms_bytes + h->strs_len || body[syms_bytes + h->strs_len - 1])
		return -EINVAL;
	if (check_syms((const struct symtab_sym *)body, h->nsyms, h->strs_len))
		return -EINVAL;
	memset(ks, 0, sizeof(*ks));
	ks->borrowed = 1;
	ks->tab.syms = (struct symtab_sym *)body;
	ks->tab.strs = (char *)body + syms_bytes;
	ks->tab.n = ks->tab.cap = h->nsyms;
	ks->tab.strs_len = ks->tab.strs_cap = h->strs_len;
	ks->ntext = h->ntext;
	ks->nonzero = h->nonzero;
	ks->last_module = SYMTAB_NO_STR;
	return 0;
}

/* Map the cache file at @path read-only; -errno when missing or not safe. */
static int map_cache(const char *path, void **map, size_t *len)
{
	uint64_t size;
	int fd = cache_file_open(path, true, 256 << 20, &size), err = 0;

	if (fd < 0)
		return fd;
	if (size < sizeof(struct cache_hdr)) {
		err = -EPERM;
	} else {
		*len = (size_t)size;
		*map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (*map == MAP_FAILED)
			err = -errno;
	}
	close(fd);
	return err;
}

struct store_arg {
	const struct kallsyms *ks;
	const char *key;
};

static int write_cache(FILE *f, const void *arg)
{
	const struct store_arg *a = arg;
	const struct symtab *t = &a->ks->tab;
	struct cache_hdr h = { .magic = CACHE_MAGIC, .version = CACHE_VERSION,
			       .sym_size = sizeof(struct symtab_sym) };

	snprintf(h.key, sizeof(h.key), "%s", a->key);
	h.nsyms = t->n;
	h.strs_len = t->strs_len;
	h.ntext = a->ks->ntext;
	h.nonzero = a->ks->nonzero;
	if (fwrite(&h, sizeof(h), 1, f) != 1 ||
	    (t->n && fwrite(t->syms, sizeof(*t->syms), t->n, f) != t->n) ||
	    fwrite(t->strs, 1, t->strs_len, f) != t->strs_len)
		return -EIO;
	return 0;
}

/* Does /proc/kallsyms show us addresses (CAP_SYSLOG, kptr_restrict)? Reads one line. */
static int addresses_shown(void)
{
	char buf[128];
	ssize_t n;
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strspn(buf, "0") != strspn(buf, "0123456789abcdef");
}

int kallsyms_load_cached(struct kallsyms *ks, const char *dir)
{
	char key[KALLSYMS_KEY_LEN], path[4096];
	struct store_arg arg = { .ks = ks, .key = key };
	void *map = NULL;
	size_t len = 0;
	int err;

	/* the cache never shows addresses to whom the kernel would not */
	if (!dir || geteuid() != 0 || !addresses_shown() || kallsyms_cache_key(key, sizeof(key)) ||
	    cache_dir_make(dir))
		return kallsyms_load(ks, NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, CACHE_NAME);
	if (!map_cache(path, &map, &len)) {
		if (!kallsyms_cache_parse(ks, map, len, key)) {
			ks->map = map;
			ks->map_len = len;
			pr_debug("kernel symbols from %s", path);
			return 0;
		}
		munmap(map, len);
	}
	err = kallsyms_load(ks, NULL);
	if (err || kallsyms_hidden(ks) || !ks->tab.strs_len)
		return err;
	if (output_write_atomic(path, write_cache, &arg))
		pr_debug("cannot write the kernel symbol cache %s", path);
	return 0;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel types a BPF object's CO-RE relocations use, as a small BTF
 * ("bpftool gen min_core_btf"), cached per boot and object. libbpf relocates
 * against it (bpf_object_open_opts.btf_custom_path) instead of searching the
 * ~126k types of vmlinux BTF once per relocated type: ~8 ms of every run. The
 * cache file lies in the cache directory (cache_dir.h), is 0600 and is checked
 * before use like any input.
 */
#ifndef PB_CORE_BTF_H
#define PB_CORE_BTF_H

#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>

#define CORE_BTF_KEY_LEN	64
#define CORE_BTF_MAX		(1u << 20)	/* bytes of BTF accepted */
#define CORE_BTF_PATH_LEN	32
#define CORE_BTF_MAX_ID		(1u << 24)	/* BTF type IDs accepted */

/*
 * The minimal BTF of the BPF object @elf (@len bytes, named @name: a file name
 * part) in a memory file whose path goes into @path (CORE_BTF_PATH_LEN bytes),
 * from the cache or made now (and cached) when bpftool is there; with it, when
 * @kfuncs is not NULL, the vmlinux BTF IDs of the kfuncs of enum pb_kfunc into
 * @kfuncs[PB_KFUNC_MAX] (0: not in this kernel). Returns the file's
 * descriptor, to close once the object is loaded, or -errno: then libbpf uses
 * vmlinux BTF as usual, and @kfuncs is left as it was.
 */
int core_btf_open(const char *name, const void *elf, size_t len, char *path, __u32 *kfuncs);

/* The kfunc IDs of enum pb_kfunc from vmlinux BTF, read now (~9 ms), into
 * @kfuncs[PB_KFUNC_MAX] (0: not in this kernel). 0 or -errno. */
int core_btf_kfuncs(__u32 *kfuncs);

/*
 * Check cache file content @data (@len bytes) against @key: 0 and the BTF's
 * offset and length in *@off and *@btf_len, the kfunc IDs into @kfuncs
 * (PB_KFUNC_MAX, may be NULL); or -EINVAL.
 */
int core_btf_parse(const void *data, size_t len, const char *key, size_t *off, size_t *btf_len,
		   __u32 *kfuncs);

/* 0 when @data (@len bytes) is BTF whose every type and name reference lies
 * in range and whose chains of references end; -EINVAL otherwise. */
int core_btf_check(const void *data, size_t len);

/* The cache file of BTF @btf (@len bytes) and kfunc IDs @kfuncs (PB_KFUNC_MAX,
 * may be NULL: none known) under @key, written to @f. */
int core_btf_write(FILE *f, const char *key, const void *btf, size_t len, const __u32 *kfuncs);

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "python"
#include "array.h"
#include "clock.h"
#include "hashmap.h"
#include "log.h"
#include "procmem.h"
#include "python.h"
#include "python_discover.h"
#include "python_lines.h"
#include "python_objects.h"
#include "python_threads.h"

#define MAX_NAME	1024		/* characters of a name or file name kept */
#define MAX_LINETABLE	(64u << 10)	/* bytes of a line table read */
#define MAX_CODES	(1u << 16)	/* code objects named per process */

#define RECHECK_NS	100000000ULL	/* a code object's identity is checked again after 100 ms */
#define NAMES_REFRESH_NS 1000000000ULL	/* a process's thread names are read again after 1 s */
#define NAMES_RETRY_NS	50000000ULL	/* or after 50 ms for a thread not found in them */
#define NAMES_RETRIES	3		/* for its first 3 misses */
#define NAMES_BUDGET	16384		/* memory reads one reading of the names may take */
#define NAMES_DUTY	20		/* readings 20 times their cost apart at least (5% CPU) */

/* What tells one code object at an address from a later one at the same address. */
struct code_ident {
	uint64_t name, filename, linetable;	/* addresses of its str and bytes objects */
	uint64_t co_name;			/* co_name (name is co_qualname from 3.11) */
	int64_t firstlineno;
};

/* One code object of one process, named on first use, checked again now and then. */
struct py_code {
	struct code_ident ident;
	uint64_t checked_ns;		/* sample time of the last check */
	char *qualname, *filename;	/* NULL when unreadable */
	int firstlineno;
	uint8_t *linetable;
	size_t linetable_len;
	uint32_t fn_label;		/* label of the function (its first line) */
	struct hashmap line_labels;	/* line + 1 -> label index + 1 */
};

/* One CPython process. */
struct py_proc {
	struct python_target t;
	struct hashmap codes;	/* code address -> struct py_code * */
	size_t ncodes;
	uint64_t str_type;	/* address of its str type (PyUnicode_Type), 0 before the
				 * first code object is named */
	struct hashmap names;	/* thread ident -> its name (char *), as last read */
	struct pythreads_cache tcache;
	uint64_t names_ns;	/* sample time of the last reading */
	uint64_t names_gen;	/* readings so far */
	uint64_t names_cost_ns;	/* what the last reading took */
	int names_err;		/* outcome of the last one: 0 or -errno */
};

/* One thread of a CPython process: its ident and, once read, its name. */
struct py_thread {
	uint64_t ident;		/* PyThreadState.thread_id */
	char *name;		/* threading.Thread.name, NULL when unknown */
	uint64_t gen;		/* names_gen of its process when last looked up */
	int why;		/* why it has no name: -ENOKEY (not in _active) or names_err */
	unsigned misses;	/* lookups that did not find it */
};

/* One distinct frame: what a tagged address stands for. */
struct py_label {
	char *text;		/* "qualname (file.py:line)" */
	char *name;		/* qualname */
	char *file;		/* co_filename */
	uint32_t line;
	uint32_t start_line;	/* co_firstlineno, 0 when unknown */
};

struct python {
	struct python_opts o;
	struct hashmap procs;	/* pid -> struct py_proc *, or 1 for "no CPython" */
	struct hashmap threads;	/* pid << 32 | tid -> struct py_thread * */
	struct hashmap label_index;	/* text -> label index + 1 */
	struct py_label *labels;
	size_t nlabels, labels_cap;
	struct python_counts counts;
	unsigned warned_versions[8];
	uint32_t unknown_label;	/* label index + 1 of unreadable code objects, 0 unset */
	uint64_t retry_until_ns;	/* a process may still be looked at again until then */
};

/*
 * A process without CPython when last looked at: value NOT_PYTHON |
 * tries << 2 | milliseconds << 8. It is looked at again (its interpreter may
 * not be mapped yet right after exec) after 20, 40, ... 640 ms.
 */
#define NOT_PYTHON	((uintptr_t)2)
#define NEG_TRIES_MAX	6
#define NEG_FIRST_MS	20ULL
#define IS_NEG(v)	((v) & NOT_PYTHON)
#define IS_PROC(v)	((v) && !IS_NEG(v))

struct python *python_new(const struct python_opts *o)
{
	struct python *py = calloc(1, sizeof(*py));

	if (!py)
		return NULL;
	py->o = *o;
	hashmap_init(&py->procs, hash_uint, equal_uint, NULL);
	hashmap_init(&py->threads, hash_uint, equal_uint, NULL);
	hashmap_init(&py->label_index, hash_str, equal_str, NULL);
	return py;
}

static void code_free(struct py_code *c)
{
	if (!c)
		return;
	free(c->qualname);
	free(c->filename);
	free(c->linetable);
	hashmap_release(&c->line_labels);
	free(c);
}

/* Free a table of thread names (ident -> char *). */
static void names_release(struct hashmap *names)
{
	for (size_t i = 0; i < names->cap; i++) {
		if (names->slots[i].key)
			free((char *)names->slots[i].value);
	}
	hashmap_release(names);
}

static void proc_free(struct py_proc *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->codes.cap; i++) {
		if (p->codes.slots[i].key)
			code_free((struct py_code *)p->codes.slots[i].value);
	}
	hashmap_release(&p->codes);
	names_release(&p->names);
	free(p);
}

static void thread_free(struct py_thread *t)
{
	if (t)
		free(t->name);
	free(t);
}

void python_free(struct python *py)
{
	if (!py)
		return;
	for (size_t i = 0; i < py->procs.cap; i++) {
		if (py->procs.slots[i].key && IS_PROC(py->procs.slots[i].value))
			proc_free((struct py_proc *)py->procs.slots[i].value);
	}
	hashmap_release(&py->procs);
	for (size_t i = 0; i < py->threads.cap; i++) {
		if (py->threads.slots[i].key)
			thread_free((struct py_thread *)py->threads.slots[i].value);
	}
	hashmap_release(&py->threads);
	hashmap_release(&py->label_index);
	for (size_t i = 0; i < py->nlabels; i++) {
		free(py->labels[i].text);
		free(py->labels[i].name);
		free(py->labels[i].file);
	}
	free(py->labels);
	free(py);
}

/* --- discovery --- */

/* One line per unsupported version and run. */
static void warn_unsupported(struct python *py, pid_t pid, const struct python_target *t)
{
	unsigned v = t->major << 8 | t->minor;
	size_t i, n = sizeof(py->warned_versions) / sizeof(py->warned_versions[0]);

	for (i = 0; i < n && py->warned_versions[i]; i++) {
		if (py->warned_versions[i] == v)
			return;
	}
	if (i < n)
		py->warned_versions[i] = v;
	pr_warn("process %d runs CPython %u.%u (%s), which is not supported: native frames only",
		(int)pid, t->major, t->minor, t->path);
}

int python_add_target(struct python *py, pid_t pid, const struct python_target *t)
{
	struct py_proc *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->t = *t;
	p->str_type = t->str_type;
	hashmap_init(&p->codes, hash_uint, equal_uint, NULL);
	hashmap_init(&p->names, hash_uint, equal_uint, NULL);
	err = py->o.set_config ? py->o.set_config(py->o.ctx, (uint32_t)pid, &t->cfg) : 0;
	if (!err)
		err = hashmap_set(&py->procs, (void *)(uintptr_t)pid, (uintptr_t)p);
	if (err) {
		proc_free(p);
		return err;
	}
	py->counts.processes++;
	pr_info("process %d: CPython %u.%u in %s", (int)pid, t->major, t->minor, t->path);
	return 1;
}

/* A retry is due NEG_FIRST_MS << tries after the last look; the reader
 * reads the samples that trigger it without delay until this long after. */
#define NEG_RETRY_SLACK_NS	(100 * 1000000ULL)

uint64_t python_retry_until_ns(const struct python *py)
{
	return py ? py->retry_until_ns : 0;
}

/* Look at @pid; remember a negative answer with its @tries and time. */
static int discover(struct python *py, pid_t pid, unsigned tries, uint64_t now_ms)
{
	struct python_target t;
	uintptr_t neg;
	int err;

	err = python_target_find(pid, &t);
	if (err == -ENOTSUP)
		warn_unsupported(py, pid, &t);
	if (err == 1)
		return python_add_target(py, pid, &t);
	if (err == -ENOTSUP)
		tries = NEG_TRIES_MAX;	/* found, but not one we walk: do not look again */
	neg = NOT_PYTHON | (uintptr_t)tries << 2 | (uintptr_t)now_ms << 8;
	if (tries < NEG_TRIES_MAX)
		py->retry_until_ns = clock_ns(CLOCK_MONOTONIC) + NEG_RETRY_SLACK_NS +
				     (NEG_FIRST_MS << tries) * 1000000ULL;
	if (err == 0 || err == -ENOTSUP)
		return hashmap_set(&py->procs, (void *)(uintptr_t)pid, neg) ?: 0;
	return err;
}

int python_discover(struct python *py, pid_t pid)
{
	uintptr_t v;

	if (pid <= 0)
		return -EINVAL;
	if (hashmap_find(&py->procs, (void *)(uintptr_t)pid, &v) && v)
		return IS_PROC(v);
	return discover(py, pid, 0, 0);
}

void python_sample_seen(struct python *py, uint32_t pid, uint64_t now_ns)
{
	uint64_t now_ms = now_ns / 1000000, last_ms;
	unsigned tries;
	uintptr_t v;

	if (!hashmap_find(&py->procs, (void *)(uintptr_t)pid, &v) || !IS_NEG(v))
		return;
	tries = (v >> 2) & 63;
	last_ms = v >> 8;
	if (tries >= NEG_TRIES_MAX || now_ms < last_ms || now_ms - last_ms < NEG_FIRST_MS << tries)
		return;
	discover(py, (pid_t)pid, tries + 1, now_ms);
}

void python_forget(struct python *py, pid_t pid)
{
	uintptr_t v;

	if (!hashmap_find(&py->procs, (void *)(uintptr_t)pid, &v))
		return;
	if (IS_PROC(v)) {
		if (py->o.set_config)
			py->o.set_config(py->o.ctx, (uint32_t)pid, NULL);
		proc_free((struct py_proc *)v);
	}
	/* the hashmap cannot remove: mark the pid unknown again */
	hashmap_set(&py->procs, (void *)(uintptr_t)pid, 0);
}

/* --- threads --- */

static void *thread_key(uint32_t pid, uint32_t tid)
{
	return (void *)(uintptr_t)((uint64_t)pid << 32 | tid);
}

/* The entry of thread @tid of @pid running as @ident, made (or reset: a new ident) here. */
static struct py_thread *thread_get(struct python *py, uint32_t pid, uint32_t tid, uint64_t ident)
{
	struct py_thread *t = NULL;
	uintptr_t v;

	if (hashmap_find(&py->threads, thread_key(pid, tid), &v))
		t = (struct py_thread *)v;
	if (t && t->ident == ident)
		return t;
	if (!t) {
		t = malloc(sizeof(*t));
		if (!t || hashmap_set(&py->threads, thread_key(pid, tid), (uintptr_t)t)) {
			free(t);
			pr_debug("process %u: no memory for thread %u", pid, tid);
			return NULL;
		}
	} else {
		free(t->name);
	}
	*t = (struct py_thread){ .ident = ident, .why = -ENODATA };
	return t;
}

/* Add one name read from the process to the table (ident -> char *) @ctx. */
static void name_found(void *ctx, uint64_t ident, const char *name)
{
	struct hashmap *names = ctx;
	char *s = strdup(name);
	uintptr_t old;

	if (!ident || !s)
		goto drop;
	if (hashmap_find(names, (void *)(uintptr_t)ident, &old))
		free((char *)old);
	if (!hashmap_set(names, (void *)(uintptr_t)ident, (uintptr_t)s))
		return;
drop:
	free(s);
}

/*
 * Read the names of every thread of @p's process again (threading._active).
 * A process gone keeps what was read before.
 */
static void names_read(uint32_t pid, struct py_proc *p, uint64_t now_ns)
{
	pid_t tgid = (pid_t)pid;
	struct timespec t0, t1;
	struct hashmap fresh;
	struct pymem m;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hashmap_init(&fresh, hash_uint, equal_uint, NULL);
	pymem_init_pid(&m, &tgid, &p->t.cfg.off, p->t.minor, NAMES_BUDGET);
	m.str_type = p->t.str_type;
	m.long_type = p->t.long_type;
	m.dict_type = p->t.dict_type;
	m.module_type = p->t.module_type;
	n = pythreads_read(&m, p->t.cfg.runtime, &p->tcache, name_found, &fresh);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	p->names_cost_ns = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec - t0.tv_nsec);
	pr_debug("process %u: %d thread names read in %llu us (%s)", pid, n,
		 (unsigned long long)p->names_cost_ns / 1000, n < 0 ? strerror(-n) : "ok");
	p->names_ns = now_ns ? now_ns : 1;
	if (n == -ESRCH) {
		names_release(&fresh);
		return;
	}
	names_release(&p->names);
	p->names = fresh;
	p->names_err = n < 0 ? n : 0;
	p->names_gen++;
}

/* Take @t's name from its process's table, as last read. */
static void name_lookup(struct py_proc *p, struct py_thread *t)
{
	uintptr_t v;

	t->gen = p->names_gen;
	if (!hashmap_find(&p->names, (void *)(uintptr_t)t->ident, &v)) {
		t->misses++;
		t->why = p->names_err ?: -ENOKEY;
		return;
	}
	t->why = 0;
	if (t->name && !strcmp(t->name, (const char *)v))
		return;
	free(t->name);
	t->name = strdup((const char *)v);
}

/*
 * Whether the names of @p's process are read again for @t: every 1 s, or
 * after 50 ms for a thread not found; never sooner than NAMES_DUTY times
 * what the last reading took (a process of many threads costs at most 5%
 * of a CPU).
 */
static bool names_due(const struct py_proc *p, const struct py_thread *t, uint64_t now_ns)
{
	uint64_t age = now_ns > p->names_ns ? now_ns - p->names_ns : 0;
	uint64_t floor = p->names_cost_ns * NAMES_DUTY;

	if (!p->names_gen)
		return true;
	if (age < floor)
		return false;
	if (age >= NAMES_REFRESH_NS)
		return true;
	return !t->name && t->misses <= NAMES_RETRIES && age >= NAMES_RETRY_NS;
}

void python_thread_seen(struct python *py, uint32_t pid, uint32_t tid, uint64_t ident,
			uint64_t now_ns)
{
	struct py_thread *t;
	uintptr_t v;
	struct py_proc *p;

	if (!ident || !(t = thread_get(py, pid, tid, ident)) || !py->o.thread_names)
		return;
	if (!hashmap_find(&py->procs, (void *)(uintptr_t)pid, &v) || !IS_PROC(v))
		return;
	p = (struct py_proc *)v;
	if (t->gen != p->names_gen)
		name_lookup(p, t);
	if (!names_due(p, t, now_ns))
		return;
	names_read(pid, p, now_ns);
	name_lookup(p, t);
}

uint64_t python_thread_ident(const struct python *py, uint32_t pid, uint32_t tid)
{
	uintptr_t v;

	return hashmap_find(&py->threads, thread_key(pid, tid), &v) ? ((struct py_thread *)v)->ident :
								      0;
}

const char *python_thread_name(const struct python *py, uint32_t pid, uint32_t tid)
{
	uintptr_t v;

	return hashmap_find(&py->threads, thread_key(pid, tid), &v) ? ((struct py_thread *)v)->name :
								      NULL;
}

/* Count the threads by name or by why they have none. */
static void threads_count(const struct python *py, struct python_counts *out)
{
	const struct py_thread *t;

	if (!py->o.thread_names)
		return;
	for (size_t i = 0; i < py->threads.cap; i++) {
		if (!py->threads.slots[i].key)
			continue;
		t = (const struct py_thread *)py->threads.slots[i].value;
		if (t->name)
			out->thread_names++;
		else if (t->why == -ENOENT)
			out->thread_no_threading++;
		else if (t->why == -ENOKEY)
			out->thread_not_found++;
		else
			out->thread_name_unreadable++;
	}
}

/* --- naming code objects from the process's memory --- */

/* A compact str object at @addr of @pid as a new UTF-8 string, or NULL (its type unchecked). */
static char *read_unicode(pid_t pid, const struct pb_py_offsets *o, uint64_t addr)
{
	struct pymem m;

	pymem_init_pid(&m, &pid, o, 0, 4);
	return pymem_str(&m, addr, MAX_NAME);
}

/* The type (ob_type) of the object at @addr of @pid, 0 when unreadable. */
static uint64_t object_type(pid_t pid, const struct pb_py_offsets *o, uint64_t addr)
{
	uint64_t type = 0;

	if (procmem_read(pid, addr + o->object_type, &type, sizeof(type)))
		return 0;
	return type;
}

/* The bytes object at @addr (a line table), bounded; NULL when unreadable. */
static uint8_t *read_bytes(pid_t pid, const struct pb_py_offsets *o, uint64_t addr, size_t *len)
{
	int64_t size;
	uint8_t *data;

	if (procmem_read(pid, addr + o->bytes_size, &size, sizeof(size)) || size < 0)
		return NULL;
	if ((uint64_t)size > MAX_LINETABLE)
		size = MAX_LINETABLE;
	data = malloc((size_t)size + 1);
	if (data && procmem_read(pid, addr + o->bytes_data, data, (size_t)size + 1)) {
		free(data);
		return NULL;
	}
	*len = (size_t)size;
	return data;
}

static uint64_t field_ptr(const uint8_t *buf, uint16_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* The identity of code object @addr; -EFAULT when unreadable, -EINVAL when not a code object. */
static int code_ident_read(pid_t pid, const struct py_proc *p, uint64_t addr,
			   struct code_ident *id)
{
	const struct pb_py_offsets *o = &p->t.cfg.off;
	uint16_t offs[] = { o->code_filename, o->code_name, o->code_qualname, o->code_firstlineno,
			    o->code_linetable, o->object_type };
	uint8_t buf[512];
	size_t size = 0;
	int32_t first;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		size = offs[i] + 8u > size ? offs[i] + 8u : size;
	if (size > sizeof(buf) || procmem_read(pid, addr, buf, size))
		return -EFAULT;
	if (p->t.code_type && field_ptr(buf, o->object_type) != p->t.code_type)
		return -EINVAL;	/* not a code object (any more) */
	memcpy(&first, buf + o->code_firstlineno, sizeof(first));
	id->firstlineno = first;
	id->name = field_ptr(buf, p->t.minor >= 11 ? o->code_qualname : o->code_name);
	id->filename = field_ptr(buf, o->code_filename);
	id->co_name = field_ptr(buf, o->code_name);
	id->linetable = field_ptr(buf, o->code_linetable);
	return 0;
}

/* Name code object @addr of @p's process into @c; -errno when it cannot be named. */
static int code_read(pid_t pid, const struct py_proc *p, uint64_t addr, struct py_code *c)
{
	const struct pb_py_offsets *o = &p->t.cfg.off;
	int err = code_ident_read(pid, p, addr, &c->ident);

	if (err)
		return err;
	c->firstlineno = c->ident.firstlineno > 0 ? (int)c->ident.firstlineno : 0;
	c->qualname = read_unicode(pid, o, c->ident.name);
	c->filename = read_unicode(pid, o, c->ident.filename);
	c->linetable = read_bytes(pid, o, c->ident.linetable, &c->linetable_len);
	return c->qualname && c->filename ? 0 : -EFAULT;
}

/* --- labels: what a tagged address stands for --- */

/*
 * Index + 1 of the label "@name (@file's base name:@line)", or "@name (@file's
 * base name)" when @line is 0, made on first use (the function starting at
 * @start_line); 0 on failure.
 */
static uint32_t label_get(struct python *py, const char *name, const char *file, uint32_t line,
			  uint32_t start_line)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	struct py_label *l;
	uintptr_t v;
	char *text;

	if ((line ? asprintf(&text, "%s (%s:%u)", name, base, line) :
		    asprintf(&text, "%s (%s)", name, base)) < 0)
		return 0;
	if (hashmap_find(&py->label_index, text, &v)) {
		free(text);
		return (uint32_t)v;
	}
	if (py->nlabels >= 0xffffffffu - 1 ||
	    array_grow((void **)&py->labels, &py->labels_cap, py->nlabels + 1, sizeof(*l)))
		goto err;
	l = &py->labels[py->nlabels];
	l->text = text;
	l->line = line;
	l->start_line = start_line;
	l->file = strdup(file);
	l->name = strdup(name);
	if (!l->file || !l->name || hashmap_set(&py->label_index, text, py->nlabels + 1)) {
		free(l->file);
		free(l->name);
		goto err;
	}
	return (uint32_t)++py->nlabels;
err:
	free(text);
	return 0;
}

/* A new entry for code object @addr, named (fn_label set) or not. NULL on allocation failure. */
static struct py_code *code_new(struct python *py, uint32_t pid, struct py_proc *p, uint64_t addr,
				uint64_t now_ns)
{
	struct py_code *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	hashmap_init(&c->line_labels, hash_uint, equal_uint, NULL);
	c->checked_ns = now_ns;
	err = code_read((pid_t)pid, p, addr, c);
	if (!err && !p->str_type)
		p->str_type = object_type((pid_t)pid, &p->t.cfg.off, c->ident.name);
	if (!err && !(c->fn_label = label_get(py, c->qualname, c->filename,
					      (uint32_t)c->firstlineno, (uint32_t)c->firstlineno)))
		err = -ENOMEM;
	if (err) {
		py->counts.code_unreadable++;
		pr_debug("process %u: code object 0x%llx: %s", pid, (unsigned long long)addr,
			 err == -EINVAL ? "not a code object" : strerror(-err));
	}
	return c;
}

/*
 * Whether the entry @c of @addr still names what is there: a code object
 * freed and another one made at its address (the interpreter reuses memory
 * at once) must not keep the old name. Checked at most every RECHECK_NS of
 * sample time; a failed read (the process exited) keeps the entry.
 */
static bool code_still_there(uint32_t pid, struct py_proc *p, uint64_t addr, struct py_code *c,
			     uint64_t now_ns)
{
	struct code_ident id;

	if (now_ns < c->checked_ns + RECHECK_NS)
		return true;
	c->checked_ns = now_ns;
	if (code_ident_read((pid_t)pid, p, addr, &id) == -EFAULT)
		return true;
	return c->fn_label && !memcmp(&id, &c->ident, sizeof(id));
}

/* Whether the walker recorded what frame @f's code object held, and whether @id holds it. */
static bool has_stamp(const struct pb_py_frame *f)
{
	return f->filename || f->name;
}

static bool stamp_matches(const struct code_ident *id, const struct pb_py_frame *f)
{
	return id->filename == f->filename && id->co_name == f->name;
}

/*
 * The entry of the code object of frame @f of @p, named on first use; NULL
 * when it cannot be named, with *@gone set when the code object the frame
 * ran is no longer there (another one holds its address).
 */
static struct py_code *code_get(struct python *py, uint32_t pid, struct py_proc *p,
				const struct pb_py_frame *f, uint64_t now_ns, bool *gone)
{
	uint64_t addr = f->code;
	struct py_code *c = NULL;
	uintptr_t v;

	*gone = false;
	if (!addr)
		return NULL;
	if (hashmap_find(&p->codes, (void *)(uintptr_t)addr, &v) && v) {
		c = (struct py_code *)v;
		if (has_stamp(f) ? c->fn_label && stamp_matches(&c->ident, f) :
				   code_still_there(pid, p, addr, c, now_ns))
			return c->fn_label ? c : NULL;
		code_free(c);	/* replaced below */
		p->ncodes--;
	} else if (p->ncodes >= MAX_CODES) {
		return NULL;
	}
	c = code_new(py, pid, p, addr, now_ns);
	if (!c || hashmap_set(&p->codes, (void *)(uintptr_t)addr, (uintptr_t)c)) {
		code_free(c);
		hashmap_set(&p->codes, (void *)(uintptr_t)addr, 0);
		return NULL;
	}
	p->ncodes++;
	if (has_stamp(f) && (!c->fn_label || !stamp_matches(&c->ident, f))) {
		*gone = true;	/* kept: it names what is there now, for later samples */
		return NULL;
	}
	return c->fn_label ? c : NULL;
}

/*
 * Label of a frame whose code object is gone, from the name and file name
 * it held (strings outlive most code objects: names are interned, a file
 * name is shared by its module), when both are still str objects. No line:
 * the line table went with it.
 */
static uint32_t gone_label(struct python *py, uint32_t pid, struct py_proc *p,
			   const struct pb_py_frame *f)
{
	const struct pb_py_offsets *o = &p->t.cfg.off;
	char *name = NULL, *file = NULL;
	uint32_t l = 0;

	py->counts.code_gone++;
	/* freed too, their memory may hold anything now: str objects only */
	if (p->str_type && object_type((pid_t)pid, o, f->name) == p->str_type &&
	    object_type((pid_t)pid, o, f->filename) == p->str_type) {
		name = read_unicode((pid_t)pid, o, f->name);
		file = name ? read_unicode((pid_t)pid, o, f->filename) : NULL;
	}
	if (name && file)
		l = label_get(py, name, file, 0, 0);
	else
		pr_debug("process %u: code object 0x%llx gone, its strings 0x%llx 0x%llx unreadable", pid,
			 (unsigned long long)f->code, (unsigned long long)f->name,
			 (unsigned long long)f->filename);
	free(name);
	free(file);
	return l;
}

/* Label index + 1 of one Python frame; 0 on failure. */
static uint32_t frame_label(struct python *py, uint32_t pid, struct py_proc *p,
			    const struct pb_py_frame *f, uint64_t now_ns)
{
	bool gone;
	struct py_code *c = code_get(py, pid, p, f, now_ns, &gone);
	int lasti = f->lasti, line;
	uintptr_t v;
	uint32_t l;

	if (!c && gone && (l = gone_label(py, pid, p, f)))
		return l;
	if (!c) {
		if (!py->unknown_label)
			py->unknown_label = label_get(py, "[unknown python code]", "?", 0, 0);
		return py->unknown_label;
	}
	if (!py->o.lines)
		return c->fn_label;
	if (p->t.minor == 10 && p->t.cfg.layout == PB_PY_FRAMEOBJ)
		lasti *= 2;	/* 3.10's f_lasti counts code units */
	line = pylines_find(p->t.lines, c->linetable, c->linetable_len, c->firstlineno, lasti);
	if (line < 0)
		line = c->firstlineno;
	if (hashmap_find(&c->line_labels, (void *)((uintptr_t)line + 1), &v))
		return (uint32_t)v;
	l = label_get(py, c->qualname, c->filename, (uint32_t)line, (uint32_t)c->firstlineno);
	if (l)
		hashmap_set(&c->line_labels, (void *)((uintptr_t)line + 1), l);
	return l;
}

int python_frame(const struct python *py, uint64_t ip, struct python_frame_info *out)
{
	uint64_t idx = ip & ~PYTHON_FRAME_MASK;
	const struct py_label *l;

	if (!python_is_frame(ip) || !idx || idx > py->nlabels)
		return -ENOENT;
	l = &py->labels[idx - 1];
	out->label = l->text;
	out->name = l->name;
	out->file = l->file;
	out->line = l->line;
	out->start_line = l->start_line;
	return 0;
}

void python_counts(const struct python *py, struct python_counts *out)
{
	*out = py->counts;
	threads_count(py, out);
}

/* --- merging --- */

struct merge {
	struct python *py;
	struct py_proc *p;
	uint32_t pid;
	uint64_t now_ns;
	const struct pb_py_stack *ps;
	size_t next;		/* next Python frame to emit */
	uint64_t *out;
	size_t n, cap;
};

static void emit(struct merge *m, uint64_t ip)
{
	if (m->n < m->cap)
		m->out[m->n++] = ip;
}

/* Emit Python frames up to the end of the next activation (@all: every frame left). */
static void emit_segment(struct merge *m, bool all)
{
	const struct pb_py_frame *f;
	uint32_t l;

	while (m->next < m->ps->nframes) {
		f = &m->ps->frames[m->next++];
		l = frame_label(m->py, m->pid, m->p, f, m->now_ns);
		if (l) {
			emit(m, PYTHON_FRAME_TAG | l);
			m->py->counts.frames++;
		}
		if ((f->flags & PB_PY_FRAME_ENTRY) && !all)
			return;
	}
}

static size_t count_entries(const struct pb_py_stack *ps)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->nframes; i++)
		n += !!(ps->frames[i].flags & PB_PY_FRAME_ENTRY);
	/* frames above the last entry (cut stack) form one more activation */
	if (ps->nframes && !(ps->frames[ps->nframes - 1].flags & PB_PY_FRAME_ENTRY))
		n++;
	return n;
}

static bool in_eval(const struct py_proc *p, uint64_t ip)
{
	return ip >= p->t.eval_start && ip < p->t.eval_end;
}

/*
 * Each native eval activation (leaf first) takes the Python frames of one
 * activation. When the native stack shows fewer activations than Python has
 * (no frame pointers in the interpreter cut it short), the last one found
 * takes every Python frame left and the native frames beyond it, which the
 * unwinder reached by skipping activations, are dropped; when it shows none,
 * the Python frames go root-most, above every native frame.
 */
size_t python_merge(struct python *py, uint32_t pid, uint64_t now_ns, const uint64_t *uips,
		    size_t nu, const struct pb_py_stack *ps, uint64_t *out, size_t cap)
{
	struct merge m = { .py = py, .pid = pid, .now_ns = now_ns, .ps = ps, .out = out,
			   .cap = cap };
	size_t nact, nevals = 0, seen = 0;
	uintptr_t v = 0;

	hashmap_find(&py->procs, (void *)(uintptr_t)pid, &v);
	m.p = IS_PROC(v) ? (struct py_proc *)v : NULL;
	if (!m.p || !ps || (ps->status != PB_PY_OK && ps->status != PB_PY_TRUNCATED) ||
	    !ps->nframes || ps->nframes > PB_PY_MAX_FRAMES) {
		for (size_t i = 0; i < nu; i++)
			emit(&m, uips[i]);
		return m.n;
	}
	nact = count_entries(ps);
	for (size_t i = 0; i < nu; i++)
		nevals += in_eval(m.p, uips[i]);
	for (size_t i = 0; i < nu; i++) {
		if (in_eval(m.p, uips[i]) && m.next < ps->nframes) {
			seen++;
			emit_segment(&m, seen == nevals && nevals < nact);
			/* the unwinder lost activations: what lies beyond is not trusted */
			if (seen == nevals && nevals < nact)
				break;
		} else {
			emit(&m, uips[i]);
		}
	}
	emit_segment(&m, true);
	return m.n;
}

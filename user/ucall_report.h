/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The results of a deterministic (uprobe/USDT) profile, as plain C data
 * (no libbpf): traced functions, their statistics (per thread with
 * --per-thread), caller->callee edges, --trace events and drop counters;
 * and the writers of every format made from it. Testable alone.
 */
#ifndef PB_UCALL_REPORT_H
#define PB_UCALL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "options.h"
#include "profile.h"
#include "ucall_bpf.h"

enum uc_fn_kind {
	UC_FN_UPROBE = 0,	/* function timed by uprobe + uretprobe */
	UC_FN_USDT_PAIR,	/* USDT ..__start/__done (or region) pair, timed */
	UC_FN_USDT_POINT,	/* single USDT probe: counted */
};

/*
 * A traced function (its index is its id): one type for the session that
 * resolves and attaches it and for the report that shows it. Strings are
 * owned by the struct that holds it (struct uc_funcs or struct uc_report)
 * and freed by uc_func_release(); the report fills only name, binary,
 * vaddr, kind, file and line.
 */
struct uc_func {
	char *name;		/* symbol, "provider:base" for a USDT pair, "provider:name" for a point */
	char *binary;		/* resolved ELF path */
	uint64_t offset;	/* uprobe: file offset */
	uint64_t vaddr;		/* uprobe: ELF address (0 for USDT) */
	char *file;		/* uprobe: source file from DWARF, or NULL */
	uint32_t line;		/* its line, or 0 */
	uint32_t kind;		/* enum uc_fn_kind */
	char *provider;		/* USDT only */
	char *probe_begin;	/* USDT: the entry (or point) probe name */
	char *probe_end;	/* USDT pair: the exit probe name */
	uint32_t bin_id;	/* uprobe: index of its binary among the uprobe binaries */
	bool bin_first;		/* uprobe: the first function of its binary */
};

/* Free the strings of @f. */
void uc_func_release(struct uc_func *f);

/* Statistics of one function (of one thread with --per-thread). */
struct uc_row {
	uint32_t func;
	uint32_t tid;		/* 0 unless per-thread */
	uint32_t pid;
	char comm[16];		/* thread name with --per-thread */
	struct uc_fstats st;	/* summed over CPUs */
};

/* One caller->callee edge. */
struct uc_edge {
	uint32_t tid, caller, callee;
	struct uc_estats st;
};

/* A traced thread (from the "tinfo" map), for names in the Chrome trace. */
struct uc_thread {
	uint32_t tid, pid;
	char comm[16];
};

/* Everything a run collected. Owns all its memory; uc_report_free() frees it. */
struct uc_report {
	struct uc_func *fns;		/* indexed by function id */
	size_t nfns;
	struct uc_row *rows;
	size_t nrows, rows_cap;
	struct uc_edge *edges;
	size_t nedges, edges_cap;
	struct uc_thread *threads;	/* --trace / --per-thread: names of threads seen */
	size_t nthreads, threads_cap;
	struct uc_event *events;	/* --trace, in arrival order */
	size_t nevents, events_cap;
	size_t max_events;		/* cap on events kept (0: none kept) */
	uint64_t events_dropped;	/* events over the cap or malformed */
	uint64_t counts[UC_CNT_MAX];	/* drop and event counters (enum uc_count) */
	uint64_t duration_ns;
	bool per_thread;
};

/* A report for @nfns function ids. NULL + errno. */
struct uc_report *uc_report_new(size_t nfns);
/* Free it all. Accepts NULL. */
void uc_report_free(struct uc_report *r);
/* Describe function @id (strings copied). Returns 0 or -errno. */
int uc_report_set_fn(struct uc_report *r, uint32_t id, const char *name, const char *binary,
		     uint64_t vaddr, enum uc_fn_kind kind);
/* Set the source @file (copied, may be NULL) and @line of function @id. Returns 0 or -errno. */
int uc_report_set_src(struct uc_report *r, uint32_t id, const char *file, uint32_t line);
/* Add the sum over @ncpus per-CPU values of @func (rows with nothing are skipped). 0 or -errno. */
int uc_report_add_stats(struct uc_report *r, uint32_t func, uint32_t tid, uint32_t pid,
			const char *comm, const struct uc_fstats *percpu, size_t ncpus);
/* Add an edge. Returns 0 or -errno (-EINVAL for an unknown id). */
int uc_report_add_edge(struct uc_report *r, uint32_t tid, uint32_t caller, uint32_t callee,
		       const struct uc_estats *st);
/* Add a thread's pid and name (@comm need not be terminated). Returns 0 or -errno. */
int uc_report_add_thread(struct uc_report *r, uint32_t tid, uint32_t pid, const char comm[16]);
/* Check and keep a --trace record of @len bytes. 0, or -EINVAL for a malformed record (counted). */
int uc_report_add_event(struct uc_report *r, const void *rec, size_t len);
/* Sum of lost events (every counter that is a drop). */
uint64_t uc_report_lost(const struct uc_report *r);
/* Sort rows by @key, descending, ties by name. */
void uc_report_sort(struct uc_report *r, enum sort_key key);

/* cProfile-style table (top @top rows, 0 = all) and the lost counts. */
void uc_report_print(FILE *f, const struct uc_report *r, int top);
/* JSON: functions, edges, lost counts. Returns 0 or -EIO. */
int uc_report_write_json(FILE *f, const struct uc_report *r);
/* Python's cProfile stats dict, marshalled (pstats.Stats loads it). 0 or -EIO (user/pstats.c). */
int pstats_write(FILE *f, const struct uc_report *r);
/* Chrome trace event JSON of the --trace events (user/chrome_trace.c). 0 or -EIO. */
int chrome_trace_write(FILE *f, const struct uc_report *r);
/*
 * The calls profile as a struct profile for the pprof/folded/SVG writers:
 * one sample per caller->callee edge (stack callee <- caller, count = calls,
 * value = the callee's self time under that caller) and one per function
 * for calls from untraced code. NULL + errno. Free with profile_free().
 */
struct profile *uc_report_to_profile(const struct uc_report *r);

/* Names of the drop counters as they appear in outputs ("lost_exit", ...). */
const char *uc_count_name(enum uc_count c);
/* Whether counter @c counts lost events. */
bool uc_count_is_loss(enum uc_count c);

#endif

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's pure parts: options from file, environment and command line
 * (precedence, lists, units, errors), container identity from cgroup paths,
 * the spool (bound, order, drop counting, files surviving a restart), the
 * push query string and output-dir names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "agent_config.h"
#include "drain.h"
#include "profiling_bpf.h"
#include "log.h"
#include "outdir.h"
#include "proc_identity.h"
#include "push.h"
#include "spool.h"

#define MAX_ARGS 32

static int parse_line(struct agent_options *o, const char *line)
{
	static char buf[1024];
	static char *argv[MAX_ARGS + 2];
	int argc = 1;
	char *save = NULL, *tok;

	argv[0] = "agent";
	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc <= MAX_ARGS; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return agent_options_parse(o, argc, argv);
}

static char *write_config(const char *text)
{
	static char path[] = "/tmp/pb-agent-conf.XXXXXX";
	int fd;

	strcpy(path, "/tmp/pb-agent-conf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_defaults_and_units(void **state)
{
	struct agent_options o;

	(void)state;
	assert_int_equal(parse_line(&o, "-a --output-dir /tmp/x -i 5m --retain-size 1G "
				       "--spool-size 512K --retain-age 7d"), 0);
	assert_true(o.all);
	assert_int_equal(o.freq, 99);
	assert_true(o.interval == 300);
	assert_int_equal(o.retain_size, 1ull << 30);
	assert_int_equal(o.spool_size, 512 << 10);
	assert_true(o.retain_age == 7 * 24 * 3600);
	assert_false(o.lines);	/* names only: DWARF costs memory */
	assert_int_equal(agent_symbol_budget(&o), 48 << 20);
	agent_options_release(&o);
	setenv("PROFILING_BPF_LINES", "yes", 1);
	assert_int_equal(parse_line(&o, "-a --output-dir /tmp/x"), 0);
	unsetenv("PROFILING_BPF_LINES");
	assert_true(o.lines);
	assert_int_equal(agent_symbol_budget(&o), 192 << 20);	/* DWARF is big */
	assert_null(o.call_graph);	/* frame pointers */
	agent_options_release(&o);
	assert_int_equal(parse_line(&o, "-a --output-dir /tmp/x --call-graph dwarf"), 0);
	assert_string_equal(o.call_graph, "dwarf");
	agent_options_release(&o);
	assert_int_equal(parse_line(&o, "-a --output-dir /tmp/x --mode wall --min-block 50"), 0);
	assert_string_equal(o.mode, "wall");
	assert_int_equal(o.min_block_us, 50);
	agent_options_release(&o);
	assert_int_equal(parse_line(&o, "-a --output-dir /tmp/x --mode off-cpu"), 0);	/* as record */
	agent_options_release(&o);
	assert_int_equal(parse_line(&o, "-a --output-dir /x --lines --symbol-cache 20M"), 0);
	assert_int_equal(agent_symbol_budget(&o), 20 << 20);	/* given: wins */
	agent_options_release(&o);
}

/* file < environment < command line; a list from a later source replaces the list. */
static void test_precedence(void **state)
{
	char *path = write_config("# comment\n\n  interval = 30 \nfreq=49\nlabel = a=1\n"
				  "label=b=2\npush = http://file\n");
	struct agent_options o;
	char line[256];

	(void)state;
	setenv("PROFILING_BPF_FREQ", "19", 1);
	setenv("PROFILING_BPF_PUSH", "http://env", 1);
	snprintf(line, sizeof(line), "-a --config %s --push http://cli", path);
	assert_int_equal(parse_line(&o, line), 0);
	assert_true(o.interval == 30);		/* file */
	assert_int_equal(o.freq, 19);		/* environment over file */
	assert_string_equal(o.push_url, "http://cli");	/* command line over both */
	assert_int_equal(o.nlabels, 2);
	assert_string_equal(o.labels[1], "b=2");
	agent_options_release(&o);

	setenv("PROFILING_BPF_LABEL", "c=3,d=4", 1);
	assert_int_equal(parse_line(&o, line), 0);
	assert_int_equal(o.nlabels, 2);		/* the environment's list replaced the file's */
	assert_string_equal(o.labels[0], "c=3");
	assert_string_equal(o.labels[1], "d=4");
	agent_options_release(&o);

	snprintf(line, sizeof(line), "-a --config %s --push http://cli -l e=5", path);
	assert_int_equal(parse_line(&o, line), 0);
	assert_int_equal(o.nlabels, 1);
	assert_string_equal(o.labels[0], "e=5");
	agent_options_release(&o);
	unsetenv("PROFILING_BPF_FREQ");
	unsetenv("PROFILING_BPF_PUSH");
	unsetenv("PROFILING_BPF_LABEL");
	unlink(path);
}

static const char *const bad_lines[] = {
	"--output-dir /x",			/* nothing to profile */
	"-a",					/* no sink */
	"-a -p 1 --output-dir /x",		/* two selections */
	"-a --output-dir /x -i 0",
	"-a --output-dir /x -i 2x",
	"-a --output-dir /x -F 0",
	"-a --output-dir /x -F 100001",
	"-a --output-dir /x --spool-size 1",
	"-a --output-dir /x --retain-size 5T",
	"-a --output-dir /x -l novalue",
	"-a --output-dir /x -l =v",
	"-a --output-dir /x -l k-x=v",
	"-a --output-dir /x -p 1,,2",
	"-a --output-dir /x extra",
	"-a --output-dir /x --bogus",
	"-a --output-dir /x --no-kernel --no-user",
	"-p 0 --output-dir /x",
	"-a --output-dir /x -g lbr",
	"-a --output-dir /x --mode offcpu",
	"-a --output-dir /x --mode wall --min-block -1",
};

static void test_bad_lines(void **state)
{
	struct agent_options o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		int err = parse_line(&o, bad_lines[i]);

		if (err != -EINVAL)
			fail_msg("'%s' gave %d, want -EINVAL", bad_lines[i], err);
		agent_options_release(&o);
	}
}

static const char *const bad_texts[] = {
	"interval\n", "nokey = 1\n", "= 3\n", "interval = \n", "per_process = maybe\n",
	"config = /etc/x\n", "interval = 1\0\n",
};

static void test_bad_config_text(void **state)
{
	struct agent_options o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		size_t len = strlen(bad_texts[i]) + (i == 6 ? 3 : 0);

		agent_options_init(&o);
		if (agent_config_parse_text(&o, bad_texts[i], len, "t") != -EINVAL)
			fail_msg("config text %zu accepted", i);
		agent_options_release(&o);
	}
}

static const struct {
	const char *text;
	const char *id, *runtime, *pod;
} identities[] = {
	{ "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker", "" },
	{ "12:cpu:/docker/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\n",
	  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "docker", "" },
	{ "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12345678_abcd_ef01_2345_6789abcdef01.slice/"
	  "cri-containerd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope\n",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "containerd",
	  "12345678-abcd-ef01-2345-6789abcdef01" },
	{ "0::/kubepods/besteffort/pod87654321-dcba-10fe-5432-10fedcba9876/"
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "",
	  "87654321-dcba-10fe-5432-10fedcba9876" },
	{ "0::/user.slice/user-1000.slice/session-2.scope\n", "", "", "" },
	{ "0::/docker-0123.scope\n", "", "", "" },	/* too short an id */
	{ "garbage without colons", "", "", "" },
};

static void test_identity(void **state)
{
	struct proc_identity id;

	(void)state;
	for (size_t i = 0; i < sizeof(identities) / sizeof(identities[0]); i++) {
		proc_identity_parse(identities[i].text, strlen(identities[i].text), &id);
		assert_string_equal(id.container_id, identities[i].id);
		assert_string_equal(id.runtime, identities[i].runtime);
		assert_string_equal(id.pod_uid, identities[i].pod);
	}
}

/* A full spool drops its oldest profiles, counts them, keeps the order. */
static void test_spool_memory(void **state)
{
	struct spool sp;
	char body[100];

	(void)state;
	memset(body, 'x', sizeof(body));
	/* each item: 9 bytes of magic + 6 of meta + '\n' + 100 = 116; 3 fit in 400 */
	assert_int_equal(spool_init(&sp, NULL, 400), 0);
	for (int i = 0; i < 5; i++) {
		char meta[8];

		snprintf(meta, sizeof(meta), "item=%d", i);
		assert_int_equal(spool_put(&sp, meta, body, sizeof(body)), 0);
	}
	assert_int_equal(sp.nitems, 3);
	assert_int_equal(sp.dropped, 2);
	assert_string_equal(sp.head->meta, "item=2");
	assert_true(sp.bytes <= 400);
	sp.head->busy = true;
	spool_pop(&sp, sp.head);
	assert_string_equal(sp.head->meta, "item=3");
	assert_int_equal(spool_put(&sp, "big", body, 500), -EFBIG);
	assert_int_equal(sp.dropped, 3);
	spool_release(&sp);
}

/* What a spool directory holds is queued again, in order, by the next run. */
static void test_spool_dir(void **state)
{
	char dir[] = "/tmp/pb-spool.XXXXXX", cmd[128];
	struct spool sp;
	size_t len;
	void *body;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(spool_init(&sp, dir, 1 << 20), 0);
	assert_int_equal(spool_put(&sp, "a=1", "first", 5), 0);
	assert_int_equal(spool_put(&sp, "a=2", "second", 6), 0);
	spool_release(&sp);
	assert_int_equal(spool_init(&sp, dir, 1 << 20), 0);
	assert_int_equal(sp.nitems, 2);
	assert_string_equal(sp.head->meta, "a=1");
	body = spool_item_body(sp.head, &len);
	assert_non_null(body);
	assert_int_equal(len, 5);
	assert_memory_equal(body, "first", 5);
	free(body);
	spool_pop(&sp, sp.head);
	assert_int_equal(spool_put(&sp, "a=3", "third", 5), 0);
	spool_release(&sp);
	assert_int_equal(spool_init(&sp, dir, 1 << 20), 0);
	assert_int_equal(sp.nitems, 2);
	assert_string_equal(sp.head->meta, "a=2");
	assert_string_equal(sp.tail->meta, "a=3");
	spool_release(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_push_query(void **state)
{
	const char *labels[] = { "hostname=web 1", "env=prod,eu" };
	char *q;

	(void)state;
	q = push_query("my{app}", "cpu", labels, 2, 1700000000123456789ull, 1700000010000000001ull, 99);
	assert_non_null(q);
	/* my_app_.cpu{hostname=web_1,env=prod_eu}, URL-encoded; until rounds up */
	assert_string_equal(q, "name=my_app_.cpu%7Bhostname%3Dweb_1%2Cenv%3Dprod_eu%7D"
			       "&from=1700000000&until=1700000011&sampleRate=99"
			       "&spyName=profiling-bpf&format=pprof");
	free(q);
	q = push_query("app", "off_cpu", NULL, 0, 1000000000ull, 2000000000ull, 49);
	assert_non_null(q);
	assert_string_equal(q, "name=app.off_cpu%7B%7D&from=1&until=2&sampleRate=49"
			       "&spyName=profiling-bpf&format=pprof");
	free(q);
}

static void test_outdir_names(void **state)
{
	(void)state;
	assert_true(outdir_is_ours("20261130T124013.989Z.pb.gz"));
	assert_true(outdir_is_ours("20261130T124013.989Z-123-split.pb.gz"));
	assert_false(outdir_is_ours("notes.txt"));
	assert_false(outdir_is_ours("2026113T124013.989Z.pb.gz"));
	assert_false(outdir_is_ours("20261130T124013.989Z.pb"));
}

static void feed(struct drain *d, uint32_t pid, uint64_t time_ns)
{
	static struct {
		struct pb_sample s;
		__u64 uip;	/* payload: one user ip */
	} r;

	memset(&r, 0, sizeof(r));
	r.s.hdr.kind = PB_REC_SAMPLE;
	r.s.hdr.size = (__u32)pb_sample_size(0, 1, 0, 0);
	r.s.pid = pid;
	r.s.tid = pid;
	r.s.time_ns = time_ns;
	r.s.nuser = 1;
	r.uip = 0x401000;
	drain_record(d, &r, r.s.hdr.size);
}

static bool keep_odd(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid & 1;
}

/*
 * Interval boundaries in the drain: a sample belongs to the interval its
 * time falls in, whatever order the ring buffer hands samples over; one
 * older than the open interval is counted late, never stored twice.
 */
static void test_drain_boundary(void **state)
{
	struct stack_store next, closed;
	struct drain d;

	(void)state;
	drain_init(&d, 100, false, NULL);
	stack_store_init(&next, 100, false);
	d.after = &next;
	d.split_ns = 1000;
	feed(&d, 1, 10);
	feed(&d, 1, 999);
	feed(&d, 1, 1000);	/* the boundary itself opens the next interval */
	feed(&d, 1, 998);	/* committed late, still before the boundary */
	feed(&d, 1, 1500);
	assert_int_equal(d.store.total, 3);
	assert_int_equal(next.total, 2);
	/* close: swap, the next interval's samples are already in place */
	closed = d.store;
	d.store = next;
	stack_store_init(&next, 100, false);
	d.floor_ns = 1000;
	d.split_ns = 2000;
	feed(&d, 1, 999);	/* after its interval was closed: late */
	feed(&d, 1, 1999);
	assert_int_equal(d.late, 1);
	assert_int_equal(d.store.total, 3);
	assert_int_equal(closed.total + d.store.total + next.total + d.late, 7);
	/* pruning keeps the live pids' generations, clears "seen" */
	feed(&d, 2, 1999);
	assert_int_equal(drain_prune(&d, keep_odd, NULL), 0);
	assert_true(d.pids.len == 1);
	stack_store_release(&closed);
	stack_store_release(&next);
	drain_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_units),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bad_config_text),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_spool_memory),
		cmocka_unit_test(test_spool_dir),
		cmocka_unit_test(test_push_query),
		cmocka_unit_test(test_outdir_names),
		cmocka_unit_test(test_drain_boundary),
	};

	log_level = -1;
	unsetenv("PROFILING_BPF_CONFIG");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON of the aggregated stacks: every frame of the profile (not merged) and
 * every stack as frame indices, leaf first. Addresses are hex strings so that
 * readers with double-precision numbers keep them exact. Strings go through
 * json_write_string() (json_str.h): valid UTF-8 whatever the names hold.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json_str.h"
#include "output.h"
#include "writer_util.h"

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case PFRAME_KERNEL:
		return "kernel";
	case PFRAME_SYNTH:
		return "synthetic";
	default:
		return "user";
	}
}

/* "key": "string" or null, after a ", " separator. */
static void json_member(FILE *f, const char *key, const char *value)
{
	fprintf(f, ", \"%s\": ", key);
	if (value)
		json_write_string(f, value);
	else
		fputs("null", f);
}

static void write_header(FILE *f, const struct profile *p)
{
	fputs("{\n  \"version\": 1,\n  \"sample_types\": [{\"type\": ", f);
	json_write_string(f, p->count_type ? p->count_type : "samples");
	fputs(", \"unit\": ", f);
	json_write_string(f, p->count_unit ? p->count_unit : "count");
	fputs("}, {\"type\": ", f);
	json_write_string(f, p->value_type ? p->value_type : "cpu");
	fputs(", \"unit\": ", f);
	json_write_string(f, p->value_unit ? p->value_unit : "nanoseconds");
	fprintf(f, "}],\n  \"period_ns\": %" PRIu64 ",\n  \"freq_hz\": %" PRIu64 ",\n",
		p->period_ns, p->freq_hz);
	fprintf(f, "  \"duration_ns\": %" PRIu64 ",\n  \"start_unix_ns\": %" PRIu64 ",\n",
		p->duration_ns, p->start_unix_ns);
	fprintf(f, "  \"total_samples\": %" PRIu64 ",\n  \"counters\": {", profile_total_count(p));
	for (size_t i = 0; i < p->ncounters; i++) {
		fputs(i ? ", " : "", f);
		json_write_string(f, p->counters[i].name);
		fprintf(f, ": %" PRIu64, p->counters[i].value);
	}
	fputs("},\n", f);
}

static void write_frame(FILE *f, const struct pframe *fr, int last)
{
	fputs("    {\"name\": ", f);
	json_write_string(f, fr->name ? fr->name : "[unknown]");
	json_member(f, "module", fr->module);
	fprintf(f, ", \"addr\": \"0x%" PRIx64 "\"", fr->addr);
	if (fr->module)
		fprintf(f, ", \"module_offset\": \"0x%" PRIx64 "\"", fr->module_offset);
	fprintf(f, ", \"kind\": \"%s\", \"resolved\": %s", kind_name(fr->kind),
		fr->resolved ? "true" : "false");
	if (fr->file)
		json_member(f, "file", fr->file);
	if (fr->line)
		fprintf(f, ", \"line\": %" PRIu32, fr->line);
	if (fr->system_name)
		json_member(f, "system_name", fr->system_name);
	if (fr->function)
		json_member(f, "function", fr->function);
	if (fr->start_line)
		fprintf(f, ", \"start_line\": %" PRIu32, fr->start_line);
	if (fr->inlined)
		fputs(", \"inlined\": true", f);
	fputs(last ? "}\n" : "},\n", f);
}

static void write_stack(FILE *f, const struct psample *s, int last)
{
	fputs("    {\"frames\": [", f);
	for (uint32_t i = 0; i < s->depth; i++)
		fprintf(f, i ? ", %" PRIu32 : "%" PRIu32, s->frames[i]);
	fprintf(f, "], \"count\": %" PRIu64 ", \"value\": %" PRIu64, s->count, s->value);
	fprintf(f, ", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32 "}%s\n", s->pid, s->tid,
		last ? "" : ",");
}

int json_write(FILE *f, const struct profile *p)
{
	write_header(f, p);
	fputs("  \"frames\": [\n", f);
	for (size_t i = 0; i < p->nframes; i++)
		write_frame(f, &p->frames[i], i + 1 == p->nframes);
	fputs("  ],\n  \"stacks\": [\n", f);
	for (size_t i = 0; i < p->nsamples; i++)
		write_stack(f, &p->samples[i], i + 1 == p->nsamples);
	fputs("  ]\n}\n", f);
	return stream_status(f);
}

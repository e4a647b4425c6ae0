// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reader of the JSON that json_write() writes (user/json.c), with json-c.
 * Input is untrusted: every member is type-checked, every frame index
 * bounds-checked, nesting depth is bounded. Frames are interned again, so
 * equal frames written twice become one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define LOG_MODULE "json"
#include "array.h"
#include "log.h"
#include "output.h"

#define JSON_MAX_DEPTH	16
#define json_fail(fmt, ...) profile_read_fail("JSON: " fmt, ##__VA_ARGS__)

/* Member @key of @o when it has type @type, else NULL. */
static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* Optional non-negative integer @key (absent: 0). Returns 0 or -EINVAL. */
static int get_u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return json_fail("\"%s\" is not a non-negative integer", key);
	*out = json_object_get_uint64(v);
	return 0;
}

/* Optional string @key (absent or null: NULL). Returns 0 or -EINVAL. */
static int get_str(json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return json_fail("\"%s\" is not a string", key);
	*out = json_object_get_string(v);
	return 0;
}

/* Optional hex string @key ("0x1f2a"). */
static int get_hex(json_object *o, const char *key, uint64_t *out)
{
	const char *s;
	char *end;

	*out = 0;
	if (get_str(o, key, &s))
		return -EINVAL;
	if (!s)
		return 0;
	errno = 0;
	*out = strtoull(s, &end, 16);
	if (errno || end == s || *end || strncmp(s, "0x", 2))
		return json_fail("\"%s\" is not a hex address", key);
	return 0;
}

static int read_types(struct profile *p, json_object *root)
{
	json_object *types = member(root, "sample_types", json_type_array), *t[2];
	const char *s[4] = { 0 };

	if (!types)
		return 0;
	if (json_object_array_length(types) != 2)
		return json_fail("\"sample_types\" needs two entries");
	t[0] = json_object_array_get_idx(types, 0);
	t[1] = json_object_array_get_idx(types, 1);
	for (int i = 0; i < 2; i++) {
		if (!json_object_is_type(t[i], json_type_object) ||
		    get_str(t[i], "type", &s[2 * i]) || get_str(t[i], "unit", &s[2 * i + 1]))
			return json_fail("bad \"sample_types\"");
	}
	p->count_type = s[0] ? profile_intern(p, s[0]) : p->count_type;
	p->count_unit = s[1] ? profile_intern(p, s[1]) : p->count_unit;
	p->value_type = s[2] ? profile_intern(p, s[2]) : p->value_type;
	p->value_unit = s[3] ? profile_intern(p, s[3]) : p->value_unit;
	return 0;
}

static int read_header(struct profile *p, json_object *root)
{
	json_object *counters = member(root, "counters", json_type_object);
	uint64_t v;
	int err;

	err = read_types(p, root);
	err = err ?: get_u64(root, "period_ns", &p->period_ns);
	err = err ?: get_u64(root, "freq_hz", &p->freq_hz);
	err = err ?: get_u64(root, "duration_ns", &p->duration_ns);
	err = err ?: get_u64(root, "start_unix_ns", &p->start_unix_ns);
	if (err || !counters)
		return err;
	json_object_object_foreach(counters, key, val) {
		(void)val;
		err = get_u64(counters, key, &v);
		err = err ?: profile_set_counter(p, key, v);
		if (err)
			return err;
	}
	return 0;
}

static uint32_t kind_of(const char *s)
{
	if (s && !strcmp(s, "kernel"))
		return PFRAME_KERNEL;
	if (s && !strcmp(s, "synthetic"))
		return PFRAME_SYNTH;
	return PFRAME_USER;
}

/* Frame @i of the JSON into the profile; its index there into @index[i]. */
static int read_frame(struct profile *p, json_object *jf, size_t i, uint32_t *index)
{
	struct pframe f = { 0 };
	json_object *res;
	const char *kind;
	uint64_t line, start;
	int err, idx;

	if (!json_object_is_type(jf, json_type_object))
		return json_fail("frame %zu is not an object", i);
	err = get_str(jf, "name", &f.name);
	err = err ?: get_str(jf, "module", &f.module);
	err = err ?: get_str(jf, "file", &f.file);
	err = err ?: get_str(jf, "kind", &kind);
	err = err ?: get_hex(jf, "addr", &f.addr);
	err = err ?: get_hex(jf, "module_offset", &f.module_offset);
	err = err ?: get_u64(jf, "line", &line);
	err = err ?: get_str(jf, "function", &f.function);
	err = err ?: get_u64(jf, "start_line", &start);
	if (err)
		return err;
	if (!f.name || line > UINT32_MAX || start > UINT32_MAX)
		return json_fail("frame %zu: no name, or a bad line", i);
	f.line = (uint32_t)line;
	f.start_line = (uint32_t)start;
	f.kind = kind_of(kind);
	res = member(jf, "resolved", json_type_boolean);
	f.resolved = res ? json_object_get_boolean(res) : 1;
	res = member(jf, "inlined", json_type_boolean);
	f.inlined = res && json_object_get_boolean(res);
	idx = profile_add_frame(p, &f);
	if (idx < 0)
		return idx;
	index[i] = (uint32_t)idx;
	return 0;
}

/* Stack @i: frame indices of the JSON, mapped through @index. */
static int read_stack(struct profile *p, json_object *js, size_t i, const uint32_t *index,
		      size_t nindex, uint32_t **scratch, size_t *cap)
{
	json_object *frames = member(js, "frames", json_type_array), *e;
	uint64_t count, value, pid, tid;
	size_t depth;
	int64_t fi;
	int err;

	if (!json_object_is_type(js, json_type_object) || !frames)
		return json_fail("stack %zu has no \"frames\" array", i);
	depth = json_object_array_length(frames);
	if (depth > UINT32_MAX)
		return json_fail("stack %zu too deep", i);
	if (depth && array_grow((void **)scratch, cap, depth, sizeof(**scratch)))
		return -ENOMEM;
	for (size_t d = 0; d < depth; d++) {
		e = json_object_array_get_idx(frames, d);
		fi = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
		if (fi < 0 || (uint64_t)fi >= nindex)
			return json_fail("stack %zu: frame index out of range", i);
		(*scratch)[d] = index[fi];
	}
	err = get_u64(js, "count", &count);
	err = err ?: get_u64(js, "value", &value);
	err = err ?: get_u64(js, "pid", &pid);
	err = err ?: get_u64(js, "tid", &tid);
	if (err)
		return err;
	if (pid > UINT32_MAX || tid > UINT32_MAX)
		return json_fail("stack %zu: pid or tid out of range", i);
	return profile_add_sample(p, *scratch, (uint32_t)depth, count, value, (uint32_t)pid,
				  (uint32_t)tid);
}

static int read_body(struct profile *p, json_object *root)
{
	json_object *frames = member(root, "frames", json_type_array);
	json_object *stacks = member(root, "stacks", json_type_array);
	uint32_t *index = NULL, *scratch = NULL;
	size_t nframes, cap = 0;
	int err = 0;

	if (!frames || !stacks)
		return json_fail("no \"frames\" and \"stacks\" (not a sampled profile of "
				 "profiling-bpf)");
	nframes = json_object_array_length(frames);
	index = calloc(nframes ? nframes : 1, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < nframes && !err; i++)
		err = read_frame(p, json_object_array_get_idx(frames, i), i, index);
	for (size_t i = 0; i < json_object_array_length(stacks) && !err; i++)
		err = read_stack(p, json_object_array_get_idx(stacks, i), i, index, nframes,
				 &scratch, &cap);
	free(index);
	free(scratch);
	return err;
}

static json_object *parse(const char *data, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	json_object *root;
	enum json_tokener_error jerr;

	if (!tok)
		return NULL;
	if (len > INT32_MAX) {
		json_tokener_free(tok);
		json_fail("input too large");
		return NULL;
	}
	root = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		/* trailing whitespace is fine */
		size_t end = json_tokener_get_parse_end(tok);

		while (root && jerr == json_tokener_success && end < len &&
		       strchr(" \t\r\n", data[end]) && data[end])
			end++;
		if (!root || jerr != json_tokener_success || end < len) {
			json_fail("invalid at byte %zu: %s", json_tokener_get_parse_end(tok),
					  root && jerr == json_tokener_success ?
						  "data after the end" : json_tokener_error_desc(jerr));
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	return root;
}

struct profile *json_read_mem(const char *data, size_t len)
{
	json_object *root = parse(data, len);
	struct profile *p;
	int err;

	if (!root) {
		errno = EINVAL;
		return NULL;
	}
	p = profile_new();
	if (!p) {
		json_object_put(root);
		return NULL;
	}
	err = json_object_is_type(root, json_type_object) ? 0 :
	      json_fail("not an object");
	err = err ?: read_header(p, root);
	err = err ?: read_body(p, root);
	json_object_put(root);
	if (err) {
		profile_free(p);
		errno = -err;
		return NULL;
	}
	return p;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc_identity.h"

static size_t hex_run(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && isxdigit((unsigned char)s[n]) && !isupper((unsigned char)s[n]))
		n++;
	return n;
}

/* A 64-hex container id right after @prefix somewhere in [s, end), ending the path component. */
static bool find_id(const char *s, const char *end, const char *prefix, char *out)
{
	size_t plen = strlen(prefix);
	const char *p = s;

	while (p + plen + 64 <= end) {
		const char *hit = memmem(p, (size_t)(end - p), prefix, plen);
		const char *id;

		if (!hit || hit + plen + 64 > end)
			return false;
		id = hit + plen;
		if (hex_run(id, end) == 64 && (id + 64 == end || id[64] == '/' || id[64] == '.')) {
			memcpy(out, id, 64);
			out[64] = '\0';
			return true;
		}
		p = hit + 1;
	}
	return false;
}

/* "pod" followed by a UID of 32 hex digits in groups 8-4-4-4-12 joined by '-' or '_'. */
static bool find_pod(const char *s, const char *end, char *out)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	const char *p = memmem(s, (size_t)(end - s), "kubepods", 8);

	char uid[37];

	while (p && (p = memmem(p, (size_t)(end - p), "pod", 3))) {
		const char *u = p + 3;
		size_t n = 0;
		int g;

		for (g = 0; g < 5; g++) {
			if (hex_run(u, end) < (size_t)groups[g])
				break;
			memcpy(uid + n, u, (size_t)groups[g]);
			n += (size_t)groups[g];
			u += groups[g];
			if (g < 4) {
				if (u >= end || (*u != '-' && *u != '_'))
					break;
				uid[n++] = '-';
				u++;
			}
		}
		if (g == 5 && (u == end || *u == '/' || *u == '.')) {
			uid[n] = '\0';
			memcpy(out, uid, n + 1);
			return true;
		}
		p += 3;
	}
	return false;
}

static void parse_path(const char *s, const char *end, struct proc_identity *out)
{
	static const struct {
		const char *prefix, *runtime;
	} ids[] = {
		{ "/docker/", "docker" }, { "docker-", "docker" },
		{ "cri-containerd-", "containerd" }, { "/containerd/", "containerd" },
		{ "crio-", "crio" }, { "/kubepods/", "" },
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]) && !out->container_id[0]; i++) {
		if (find_id(s, end, ids[i].prefix, out->container_id))
			snprintf(out->runtime, sizeof(out->runtime), "%s", ids[i].runtime);
	}
	/* cgroupfs kubepods: ".../pod<uid>/<container id>" */
	if (!out->container_id[0] && memmem(s, (size_t)(end - s), "kubepods", 8) &&
	    end - s > 65 && end[-65] == '/' && hex_run(end - 64, end) == 64) {
		memcpy(out->container_id, end - 64, 64);
		out->container_id[64] = '\0';
	}
	if (!out->pod_uid[0])
		find_pod(s, end, out->pod_uid);
}

void proc_identity_parse(const char *text, size_t len, struct proc_identity *out)
{
	const char *s = text, *end = text + len, *nl, *path;

	memset(out, 0, sizeof(*out));
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		/* "ID:CONTROLLERS:PATH" */
		path = memchr(s, ':', (size_t)(nl - s));
		path = path ? memchr(path + 1, ':', (size_t)(nl - path - 1)) : NULL;
		if (path)
			parse_path(path + 1, nl, out);
		s = nl + 1;
	}
}

void proc_identity_read(pid_t pid, struct proc_identity *out)
{
	char path[64], buf[8192];
	ssize_t n;
	int fd;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0)
		proc_identity_parse(buf, (size_t)n, out);
}

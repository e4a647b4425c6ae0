// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LOG_MODULE "metrics"
#include "log.h"
#include "metrics.h"

struct metrics_server {
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t lock;
	char *text;
};

/* "HOST:PORT" or "[HOST]:PORT" into a loopback socket address. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	unsigned long port;
	size_t hlen;
	char *end;

	if (!colon || colon == s)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535)
		return -EINVAL;
	hlen = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
			return -EPERM;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return -EPERM;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len && (n = write(fd, buf, len)) > 0) {
		buf += n;
		len -= (size_t)n;
	}
}

static void serve(struct metrics_server *m, int c)
{
	struct timeval tv = { .tv_sec = 1 };
	char req[2048], head[256];
	const char *status = "200 OK";
	ssize_t n;
	char *body;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(c, req, sizeof(req) - 1);
	if (n <= 0)
		return;
	req[n] = '\0';
	pthread_mutex_lock(&m->lock);
	body = strdup(m->text ? m->text : "");
	pthread_mutex_unlock(&m->lock);
	if (!body)
		return;
	if (strncmp(req, "GET /metrics ", 13) && strncmp(req, "GET / ", 6)) {
		status = "404 Not Found";
		body[0] = '\0';
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, strlen(body));
	write_all(c, head, strlen(head));
	write_all(c, body, strlen(body));
	free(body);
}

static void *server_main(void *arg)
{
	struct metrics_server *m = arg;
	struct pollfd pfd[2] = { { .fd = m->fd, .events = POLLIN },
				 { .fd = m->stop_pipe[0], .events = POLLIN } };
	int c;

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(m, c);
		close(c);
	}
	return NULL;
}

static int listen_on(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int one = 1, fd, err = parse_addr(addr, &ss, &len);

	if (err) {
		pr_err("--metrics %s: %s", addr, err == -EPERM ? "only a loopback address is allowed" :
						  "expected ADDR:PORT (e.g. 127.0.0.1:9464)");
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		pr_err("--metrics %s: %s", addr, strerror(-err));
		return err;
	}
	return fd;
}

struct metrics_server *metrics_start(const char *addr)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	m->stop_pipe[0] = m->stop_pipe[1] = -1;
	pthread_mutex_init(&m->lock, NULL);
	m->fd = listen_on(addr);
	if (m->fd < 0) {
		err = m->fd;
		goto fail;
	}
	if (pipe2(m->stop_pipe, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&m->thread, NULL, server_main, m);
	if (!err)
		return m;
fail:
	if (m->fd >= 0)
		close(m->fd);
	if (m->stop_pipe[0] >= 0) {
		close(m->stop_pipe[0]);
		close(m->stop_pipe[1]);
	}
	free(m);
	errno = -err;
	return NULL;
}

void metrics_publish(struct metrics_server *m, const char *text)
{
	char *copy;

	if (!m)
		return;
	copy = strdup(text);
	if (!copy)
		return;
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = copy;
	pthread_mutex_unlock(&m->lock);
}

void metrics_stop(struct metrics_server *m)
{
	if (!m)
		return;
	write_all(m->stop_pipe[1], "x", 1);
	pthread_join(m->thread, NULL);
	close(m->fd);
	close(m->stop_pipe[0]);
	close(m->stop_pipe[1]);
	free(m->text);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

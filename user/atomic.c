// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Atomic output files: write a temp file next to the target (0600, O_EXCL,
 * O_NOFOLLOW), fsync it, rename it over the target. Readers see the old file
 * or the whole new one, never a part, and nothing is written through a symlink.
 * A character device or FIFO at the path (/dev/null, a named pipe) is written
 * in place instead of being replaced by a regular file; "-" is stdout.
 */
#define LOG_MODULE NULL
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "output.h"

#define TEMP_TRIES 16

static uint32_t random_suffix(void)
{
	uint32_t r;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

/* Create "<dir>/.<base>.<hex>.tmp" next to @path; returns an fd and fills @tmp, or -errno. */
static int create_temp(const char *path, char *tmp, size_t size)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	int n, fd = -EEXIST;

	for (int i = 0; i < TEMP_TRIES && fd == -EEXIST; i++) {
		n = snprintf(tmp, size, "%.*s.%s.%08x.tmp", dirlen, path, path + dirlen,
			     random_suffix());
		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			fd = -errno;
	}
	return fd;
}

/*
 * What is at @path: 0 for nothing or a regular file (write atomically), 1 for
 * a character device or FIFO such as /dev/null (write in place), or -errno
 * after an error naming @path: a symlink (a dangling one too), a directory...
 */
static int check_target(const char *path)
{
	struct stat st;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		pr_err("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		pr_err("refusing to write %s: it is a symbolic link", path);
		return -ELOOP;
	}
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
		return 1;
	if (S_ISREG(st.st_mode))
		return 0;
	pr_err("cannot write %s: %s", path, S_ISDIR(st.st_mode) ? strerror(EISDIR) :
		"not a regular file");
	return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

static int write_stdout(int (*fn)(FILE *f, const void *arg), const void *arg)
{
	int err = fn(stdout, arg);

	if (!err && fflush(stdout))
		err = -errno;
	if (err)
		pr_err("cannot write to standard output: %s", strerror(-err));
	return err;
}

/* Run @fn on @fd, flush, fsync (when @sync) and close. Returns 0 or -errno; closes @fd. */
static int fill_fd(int fd, int sync, int (*fn)(FILE *f, const void *arg), const void *arg)
{
	FILE *f = fdopen(fd, "w");
	int err;

	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = fn(f, arg);
	if (!err && fflush(f))
		err = -errno;
	if (!err && ferror(f))
		err = -EIO;
	if (!err && sync && fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* A device or FIFO (/dev/null, a named pipe): no temp file, no rename. */
static int write_in_place(const char *path, int (*fn)(FILE *f, const void *arg), const void *arg)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY), err;

	err = fd < 0 ? -errno : fill_fd(fd, 0, fn, arg);
	if (err)
		pr_err("cannot write %s: %s", path, strerror(-err));
	return err;
}

/* Make the rename durable; a failure here loses nothing already visible, so it is ignored. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

int output_write_atomic(const char *path, int (*fn)(FILE *f, const void *arg), const void *arg)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (!strcmp(path, "-"))
		return write_stdout(fn, arg);
	if (!*path) {
		pr_err("cannot write an output with an empty file name");
		return -EINVAL;
	}
	err = check_target(path);
	if (err)
		return err > 0 ? write_in_place(path, fn, arg) : err;
	fd = create_temp(path, tmp, sizeof(tmp));
	if (fd < 0) {
		pr_err("cannot write %s: %s", path, strerror(-fd));
		return fd;
	}
	err = fill_fd(fd, 1, fn, arg);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		pr_err("cannot write %s: %s", path, strerror(-err));
		unlink(tmp);
		return err;
	}
	sync_dir(path);
	return 0;
}

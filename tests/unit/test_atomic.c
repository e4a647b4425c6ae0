// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* output_write_atomic(): mode, replacement, symlinks, failures leave no temp file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "writer_fixture.h"

static char dir[] = "/tmp/pb-test-atomic-XXXXXX";

static int write_text(FILE *f, const void *arg)
{
	return fputs(arg, f) < 0 ? -EIO : 0;
}

static int write_then_fail(FILE *f, const void *arg)
{
	fputs(arg, f);
	return -EIO;
}

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* Names in the test directory that start with '.' but are not . or .. (temp files). */
static int count_temp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	}
	closedir(d);
	return n;
}

static void assert_file(const char *path, const char *want)
{
	char *got = read_text_file(path);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Run output_write_atomic() with stderr captured into @err (one message expected). */
static int write_capturing(const char *path, int (*fn)(FILE *, const void *), const char *text,
			   char *err, size_t size)
{
	char log[64];
	int saved = dup(2), fd, ret;
	ssize_t n;

	snprintf(log, sizeof(log), "%s/.stderr", dir);
	fd = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	ret = output_write_atomic(path, fn, text);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err, size - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(log);
	return ret;
}

static void test_new_file_mode_0600(void **state)
{
	char path[128];
	struct stat st;

	(void)state;
	path_in(path, sizeof(path), "new.folded");
	assert_int_equal(output_write_atomic(path, write_text, "a;b 1\n"), 0);
	assert_file(path, "a;b 1\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_temp_files(), 0);
	unlink(path);
}

static void test_replaces_existing_file(void **state)
{
	char path[128];
	struct stat before, after;
	int fd;

	(void)state;
	path_in(path, sizeof(path), "old.svg");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old contents", 12), 12);
	close(fd);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(output_write_atomic(path, write_text, "new"), 0);
	assert_file(path, "new");
	assert_int_equal(stat(path, &after), 0);
	/* a new inode renamed over the old one, not the old file rewritten */
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_mode & 07777, 0600);
	/* a failing writer leaves the old file as it was, and no temp file */
	log_level = -1;
	assert_int_equal(output_write_atomic(path, write_then_fail, "partial"), -EIO);
	log_level = LOG_WARN;
	assert_file(path, "new");
	assert_int_equal(count_temp_files(), 0);
	unlink(path);
}

static void test_refuses_symlink(void **state)
{
	char target[128], link[128], dangling[128], err[512];
	struct stat st;

	(void)state;
	path_in(target, sizeof(target), "target");
	path_in(link, sizeof(link), "link.json");
	path_in(dangling, sizeof(dangling), "dangling.json");
	assert_int_equal(output_write_atomic(target, write_text, "keep me"), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(symlink("/tmp/pb-test-no-such-file", dangling), 0);
	assert_int_equal(write_capturing(link, write_text, "evil", err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, link));
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(strchr(err, '\n'), err + strlen(err) - 1);
	assert_int_equal(write_capturing(dangling, write_text, "evil", err, sizeof(err)), -ELOOP);
	assert_file(target, "keep me");
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat("/tmp/pb-test-no-such-file", &st), -1);
	assert_int_equal(count_temp_files(), 0);
	unlink(link);
	unlink(dangling);
	unlink(target);
}

static void test_unwritable_places(void **state)
{
	char path[128], sub[128], err[512];
	int ret;

	(void)state;
	/* a directory that does not exist */
	path_in(path, sizeof(path), "no-such-dir/out.folded");
	ret = write_capturing(path, write_text, "x", err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	/* a "directory" that is a file */
	path_in(sub, sizeof(sub), "plain");
	assert_int_equal(output_write_atomic(sub, write_text, "x"), 0);
	path_in(path, sizeof(path), "plain/out.folded");
	assert_int_equal(write_capturing(path, write_text, "x", err, sizeof(err)), -ENOTDIR);
	/* a directory where the file should be */
	path_in(path, sizeof(path), "adir");
	assert_int_equal(mkdir(path, 0700), 0);
	ret = write_capturing(path, write_text, "x", err, sizeof(err));
	assert_int_equal(ret, -EISDIR);
	assert_non_null(strstr(err, path));
	assert_int_equal(count_temp_files(), 0);
	rmdir(path);
	unlink(sub);
	/* a read-only directory: only meaningful when not root (root ignores modes) */
	if (geteuid() != 0) {
		path_in(sub, sizeof(sub), "ro");
		assert_int_equal(mkdir(sub, 0500), 0);
		path_in(path, sizeof(path), "ro/out.folded");
		assert_int_equal(write_capturing(path, write_text, "x", err, sizeof(err)), -EACCES);
		rmdir(sub);
	}
	assert_int_equal(write_capturing("", write_text, "x", err, sizeof(err)), -EINVAL);
}

static void test_dash_is_stdout(void **state)
{
	char log[128];
	int saved = dup(1), fd;

	(void)state;
	path_in(log, sizeof(log), "stdout.txt");
	fd = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	dup2(fd, 1);
	assert_int_equal(output_write_atomic("-", write_text, "to stdout\n"), 0);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	assert_file(log, "to stdout\n");
	assert_int_equal(access("-", F_OK), -1);
	unlink(log);
}

/* A device is written in place, never replaced by a regular file. */
static void test_device_written_in_place(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(output_write_atomic("/dev/null", write_text, "discarded"), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* a full device: the error of the write reaches the caller */
	if (access("/dev/full", W_OK) == 0) {
		char err[512];

		assert_int_equal(write_capturing("/dev/full", write_text, "x", err, sizeof(err)),
				 -ENOSPC);
		assert_non_null(strstr(err, "cannot write /dev/full: "));
	}
}

/* Every profile writer goes through it too: a folded file of the fixture. */
static int write_folded(FILE *f, const void *arg)
{
	return folded_write(f, arg);
}

static void test_with_a_writer(void **state)
{
	struct profile *p = fixture_profile();
	char path[128], *text, *want;
	int err;

	(void)state;
	path_in(path, sizeof(path), "fixture.folded");
	assert_int_equal(output_write_atomic(path, write_folded, p), 0);
	text = read_text_file(path);
	want = write_mem(folded_write, p, &err);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	free(want);
	unlink(path);
	profile_free(p);
}

static int setup(void **state)
{
	(void)state;
	umask(0);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_file_mode_0600),
		cmocka_unit_test(test_replaces_existing_file),
		cmocka_unit_test(test_refuses_symlink),
		cmocka_unit_test(test_unwritable_places),
		cmocka_unit_test(test_dash_is_stdout),
		cmocka_unit_test(test_device_written_in_place),
		cmocka_unit_test(test_with_a_writer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

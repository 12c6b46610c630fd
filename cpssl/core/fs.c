#include "cpssl/core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/clock.h"
#include "cpssl/core/fault.h"

static int dir_of(const char *path, char *out, size_t outlen)
{
	char tmp[PATH_MAX];

	if (strlen(path) >= sizeof(tmp))
		return -1;
	strcpy(tmp, path);
	if (snprintf(out, outlen, "%s", dirname(tmp)) >= (int)outlen)
		return -1;
	return 0;
}

int cps_fs_fsync_dir(const char *dir, cps_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cps_fail(err, CPS_E_IO, "cannot open directory %s: %s",
				dir, strerror(errno));
	if (fsync(fd) != 0 && errno != EINVAL) {
		int e = errno;

		close(fd);
		return cps_fail(err, CPS_E_IO, "cannot sync directory %s: %s",
				dir, strerror(e));
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cps_fs_write_atomic(const char *path, const void *data, size_t len,
			mode_t mode, cps_err *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	bool full = CPS_FAULT_WRITE(path);
	int fd, e;

	if (dir_of(path, dir, sizeof(dir)) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return cps_fail(err, CPS_E_IO, "path too long: %s", path);

	/* mkstemp creates 0600; a wider mode is set by fchmod before any byte
	 * is written, so a key is never readable by others. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return cps_fail(err, CPS_E_IO, "cannot create a file in %s: %s",
				dir, strerror(errno));
	if (fchmod(fd, mode) != 0 || write_all(fd, data, full ? len / 2 : len) != 0 ||
	    (full && (errno = ENOSPC) != 0) || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		return cps_fail(err, CPS_E_IO, "cannot write %s: %s", path,
				strerror(e));
	}
	if (close(fd) != 0) {
		e = errno;
		unlink(tmp);
		return cps_fail(err, CPS_E_IO, "cannot write %s: %s", path,
				strerror(e));
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		return cps_fail(err, CPS_E_IO, "cannot replace %s: %s", path,
				strerror(e));
	}
	return cps_fs_fsync_dir(dir, err);
}

int cps_fs_mkdir_p(const char *path, mode_t mode, cps_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return cps_fail(err, CPS_E_IO, "invalid directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == 0) {
			/* mkdir honours the umask; set the mode we asked for. */
			if (chmod(buf, mode) != 0)
				return cps_fail(err, CPS_E_IO,
						"cannot set mode of %s: %s", buf,
						strerror(errno));
		} else if (errno != EEXIST) {
			return cps_fail(err, CPS_E_IO,
					"cannot create directory %s: %s", buf,
					strerror(errno));
		} else {
			struct stat st;

			if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
				return cps_fail(err, CPS_E_IO,
						"%s exists and is not a directory",
						buf);
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int cps_fs_read_fd(int fd, const char *shown, size_t max, char **out, size_t *len,
		   cps_err *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;

	*out = NULL;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode))
		return cps_fail(err, CPS_E_INVAL, "%s is a directory", shown);
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
		return cps_fail(err, CPS_E_INVAL, "%s is too large (%lld bytes, limit %zu)", shown,
				(long long)st.st_size, max);
	buf = malloc(max + 1);
	if (buf == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory reading %s", shown);
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return cps_fail(err, CPS_E_IO, "cannot read %s: %s", shown, strerror(e));
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			free(buf);
			return cps_fail(err, CPS_E_INVAL, "%s is too large (limit %zu bytes)", shown, max);
		}
	}
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return 0;
}

static int read_regular(const char *path, int flags, size_t max, char **out, size_t *len,
			cps_err *err)
{
	struct stat st;
	int fd, rc;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);
	if (fd < 0) {
		if (errno == ENOENT)
			return cps_fail(err, CPS_E_NOTFOUND, "%s does not exist",
					path);
		return cps_fail(err, CPS_E_IO, "cannot open %s: %s", path,
				strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cps_fail(err, CPS_E_IO, "%s is not a regular file", path);
	}
	rc = cps_fs_read_fd(fd, path, max, out, len, err);
	close(fd);
	return rc;
}

int cps_fs_read(const char *path, size_t max, char **out, size_t *len, cps_err *err)
{
	return read_regular(path, O_NOFOLLOW, max, out, len, err);
}

int cps_fs_read_named(const char *path, size_t max, char **out, size_t *len, cps_err *err)
{
	return read_regular(path, 0, max, out, len, err);
}

int cps_fs_unlink(const char *path, cps_err *err)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return cps_fail(err, CPS_E_IO, "cannot remove %s: %s", path,
				strerror(errno));
	return 0;
}

char *cps_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *out;

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (asprintf(&out, "%.*s/%s", (int)la, a, b) < 0)
		return NULL;
	return out;
}

static int lock_wait(int f, const char *path, long timeout_ms, int *fd, cps_err *err)
{
	long waited = 0;

	while (flock(f, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;

			close(f);
			return cps_fail(err, CPS_E_IO, "cannot lock %s: %s", path, strerror(e));
		}
		if (waited >= timeout_ms) {
			close(f);
			return cps_fail(err, CPS_E_TIMEOUT,
					"another cpcmd has held %s for %ld s; try again when it has finished",
					path, timeout_ms / 1000);
		}
		cps_sleep_ms(50);
		waited += 50;
	}
	*fd = f;
	return 0;
}

int cps_fs_lock(const char *path, long timeout_ms, int *fd, cps_err *err)
{
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	*fd = -1;
	if (f < 0)
		return cps_fail(err, CPS_E_IO, "cannot open the lock %s: %s", path, strerror(errno));
	return lock_wait(f, path, timeout_ms, fd, err);
}

int cps_fs_lock_dir_of(const char *path, long timeout_ms, int *fd, cps_err *err)
{
	char dir[PATH_MAX];
	int f;

	*fd = -1;
	if (dir_of(path, dir, sizeof(dir)) != 0)
		return cps_fail(err, CPS_E_IO, "path too long: %s", path);
	f = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f < 0)
		return cps_fail(err, CPS_E_IO, "cannot open %s to lock it: %s", dir, strerror(errno));
	return lock_wait(f, dir, timeout_ms, fd, err);
}

int cps_fs_write_in(const char *dir, const char *name, const void *data, size_t len,
		    mode_t mode, cps_err *err)
{
	char *path = cps_path_join(dir, name);
	int rc;

	if (path == NULL)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	rc = cps_fs_write_atomic(path, data, len, mode, err);
	free(path);
	return rc;
}

int cps_fs_symlink_swap(const char *path, const char *target, cps_err *err)
{
	char buf[4096], dir[PATH_MAX], *tmp = NULL;
	const char *base = strrchr(path, '/');
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	int rc = 0;

	if (n >= 0) {
		buf[n] = '\0';
		if (strcmp(buf, target) == 0)
			return 0;
	}
	if (dir_of(path, dir, sizeof(dir)) != 0)
		return cps_fail(err, CPS_E_IO, "path too long: %s", path);
	if (asprintf(&tmp, "%s/.%s.cpssl-new.%ld", dir, base ? base + 1 : path, (long)getpid()) < 0)
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	unlink(tmp);
	if (symlink(target, tmp) != 0 || rename(tmp, path) != 0) {
		rc = cps_fail(err, CPS_E_IO, "cannot point %s at %s: %s", path, target,
			      strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int cps_fs_list(const char *dir, struct dirent ***list)
{
	*list = NULL;
	return scandir(dir, list, not_dot, by_name);
}

#include "cpssl/core/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fault.h"

#define COMPONENTS_MAX 64
#define TEMP_TRIES 16

static int io_fail(cps_err *err, const char *what, const char *shown, const char *name)
{
	int e = errno;

	return cps_fail(err, CPS_E_IO, "cannot %s %s/%s: %s", what, shown, name, strerror(e));
}

/* StrictModes for one opened component; LAST: the directory itself (a
 * sticky ancestor is allowed, the directory is not). */
static int check_trusted(int fd, const char *shown, bool last, cps_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return cps_fail(err, CPS_E_IO, "cannot look at %s: %s", shown, strerror(errno));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return cps_fail(err, CPS_E_PERM,
				"%s is owned by uid %lu, not by root: cpssl uses a path only when no "
				"one else can change it (chown root %s)",
				shown, (unsigned long)st.st_uid, shown);
	if ((st.st_mode & 022) && !(!last && (st.st_mode & S_ISVTX) && st.st_uid == 0))
		return cps_fail(err, CPS_E_PERM,
				"%s is writable by %s (mode %04o): cpssl uses a path only when no one "
				"else can change it (chmod go-w %s)",
				shown, (st.st_mode & 022) == 022 ? "group and others"
				       : (st.st_mode & 002) ? "others" : "its group",
				(unsigned)(st.st_mode & 07777), shown);
	return 0;
}

/* Open NAME in DIR as a directory, never through a link. */
static int step(int dir, const char *shown, const char *name, unsigned flags, mode_t mode,
		int *out, cps_err *err)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && (flags & CPS_WALK_REPLACE)) {
		/* cpssl's own name: whatever stands there goes */
		if (unlinkat(dir, name, 0) != 0 && errno != ENOENT)
			return io_fail(err, "remove what stands in place of", shown, name);
		errno = ENOENT;
	}
	if (fd < 0 && errno == ENOENT && (flags & CPS_WALK_CREATE)) {
		if (mkdirat(dir, name, mode) != 0 && errno != EEXIST)
			return io_fail(err, "create the directory", shown, name);
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* mkdir honours the umask: set the mode asked for */
		if (fd >= 0 && fchmod(fd, mode) != 0) {
			close(fd);
			return io_fail(err, "set the mode of", shown, name);
		}
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return cps_fail(err, CPS_E_PERM,
				"%s/%s is a symbolic link or not a directory: cpssl does not follow "
				"links here; make it a directory",
				shown, name);
	if (fd < 0 && errno == ENOENT)
		return cps_fail(err, CPS_E_NOTFOUND, "%s/%s does not exist", shown, name);
	if (fd < 0)
		return io_fail(err, "open the directory", shown, name);
	*out = fd;
	return 0;
}

/* Split REL into its components in BUF; "." and ".." are refused. */
static int split(const char *rel, char *buf, size_t len, char **parts, size_t *n, cps_err *err)
{
	char *save = NULL;

	*n = 0;
	if (snprintf(buf, len, "%s", rel) >= (int)len)
		return cps_fail(err, CPS_E_INVAL, "the path %.200s is too long", rel);
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0 || strcmp(t, "..") == 0 || *n == COMPONENTS_MAX)
			return cps_fail(err, CPS_E_INVAL, "the path %.200s has a '.' or '..' part "
					"or too many parts", rel);
		parts[(*n)++] = t;
	}
	return 0;
}

int cps_walk_open_at(int dir, const char *shown, const char *rel, unsigned flags,
		     mode_t mode, int *fd, cps_err *err)
{
	char buf[4096], where[4096], *parts[COMPONENTS_MAX];
	size_t n;
	int cur = dir;

	*fd = -1;
	if (split(rel, buf, sizeof(buf), parts, &n, err) != 0)
		return -1;
	snprintf(where, sizeof(where), "%s", strcmp(shown, "/") == 0 ? "" : shown);
	for (size_t i = 0; i < n; i++) {
		unsigned f = i + 1 == n ? flags : flags & ~(unsigned)CPS_WALK_REPLACE;
		int next = -1;

		if (step(cur, *where ? where : "", parts[i], f, mode, &next, err) != 0) {
			if (cur != dir)
				close(cur);
			return -1;
		}
		if (cur != dir)
			close(cur);
		cur = next;
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "/%s", parts[i]);
		if ((flags & CPS_WALK_TRUSTED) && check_trusted(cur, where, i + 1 == n, err) != 0) {
			close(cur);
			return -1;
		}
	}
	if (cur == dir && (cur = dup(dir)) < 0)
		return cps_fail(err, CPS_E_IO, "cannot open %s: %s", shown, strerror(errno));
	*fd = cur;
	return 0;
}

int cps_walk_open(const char *path, unsigned flags, mode_t mode, int *fd, cps_err *err)
{
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	*fd = -1;
	if (path[0] != '/') {
		if (root >= 0)
			close(root);
		return cps_fail(err, CPS_E_INVAL, "%.200s is not an absolute path", path);
	}
	if (root < 0)
		return cps_fail(err, CPS_E_IO, "cannot open /: %s", strerror(errno));
	if ((flags & CPS_WALK_TRUSTED) && check_trusted(root, "/", strcmp(path, "/") == 0, err) != 0) {
		close(root);
		return -1;
	}
	rc = cps_walk_open_at(root, "/", path, flags, mode, fd, err);
	close(root);
	return rc;
}

/* A fresh, unguessable name for a temporary beside NAME. */
static void temp_name(const char *name, char *out, size_t len)
{
	unsigned long long r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned long long)arc4random() << 32 | arc4random();
	snprintf(out, len, ".%.64s.cpssl-%016llx", name, r);
}

bool cps_fs_is_temp_of(const char *entry, const char *name)
{
	size_t n = strnlen(name, 64);

	return entry[0] == '.' && strncmp(entry + 1, name, n) == 0 &&
	       strncmp(entry + 1 + n, ".cpssl-", 7) == 0 && strlen(entry + 1 + n + 7) == 16;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cps_fs_fsync_at(int dir, const char *shown, cps_err *err)
{
	if (fsync(dir) != 0 && errno != EINVAL)
		return cps_fail(err, CPS_E_IO, "cannot sync directory %s: %s", shown, strerror(errno));
	return 0;
}

int cps_fs_write_at(int dir, const char *shown, const char *name, const void *data,
		    size_t len, mode_t mode, cps_err *err)
{
	char tmp[128], path[4096];
	int fd = -1, e;
	bool full;

	snprintf(path, sizeof(path), "%s/%s", shown, name);
	full = CPS_FAULT_WRITE(path);
	for (int i = 0; fd < 0 && i < TEMP_TRIES; i++) {
		temp_name(name, tmp, sizeof(tmp));
		/* 0600 until fchmod: a key is never readable by others */
		fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return cps_fail(err, CPS_E_IO, "cannot create a file in %s: %s", shown, strerror(errno));
	if (fchmod(fd, mode) != 0 || write_all(fd, data, full ? len / 2 : len) != 0 ||
	    (full && (errno = ENOSPC) != 0) || fsync(fd) != 0) {
		e = errno;
		close(fd);
		unlinkat(dir, tmp, 0);
		return cps_fail(err, CPS_E_IO, "cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) != 0) {
		e = errno;
		unlinkat(dir, tmp, 0);
		return cps_fail(err, CPS_E_IO, "cannot write %s: %s", path, strerror(e));
	}
	if (renameat(dir, tmp, dir, name) != 0) {
		e = errno;
		unlinkat(dir, tmp, 0);
		return cps_fail(err, CPS_E_IO, "cannot replace %s: %s", path, strerror(e));
	}
	return cps_fs_fsync_at(dir, shown, err);
}

bool cps_fs_link_is_at(int dir, const char *name, const char *target)
{
	char buf[4096];
	ssize_t n = readlinkat(dir, name, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

int cps_fs_symlink_swap_at(int dir, const char *shown, const char *name, const char *target,
			   cps_err *err)
{
	char tmp[128];
	int e;

	if (cps_fs_link_is_at(dir, name, target))
		return 0;
	temp_name(name, tmp, sizeof(tmp));
	if (symlinkat(target, dir, tmp) != 0 || renameat(dir, tmp, dir, name) != 0) {
		e = errno;
		unlinkat(dir, tmp, 0);
		return cps_fail(err, CPS_E_IO, "cannot point %s/%s at %s: %s", shown, name, target,
				strerror(e));
	}
	return 0;
}

int cps_fs_unlink_at(int dir, const char *shown, const char *name, cps_err *err)
{
	if (unlinkat(dir, name, 0) != 0 && errno != ENOENT)
		return io_fail(err, "remove", shown, name);
	return 0;
}

int cps_fs_rmdir_at(int dir, const char *shown, const char *name, const char *const *files,
		    cps_err *err)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return cps_fs_unlink_at(dir, shown, name, err); /* not what cpssl made */
	if (fd < 0)
		return errno == ENOENT ? 0 : io_fail(err, "open", shown, name);
	for (size_t i = 0; files[i]; i++)
		unlinkat(fd, files[i], 0);
	close(fd);
	if (unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return io_fail(err, "remove the directory", shown, name);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void cps_fs_names_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int cps_fs_list_at(int dir, char ***names)
{
	int fd = dup(dir), n = 0, cap = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	struct dirent *e;

	*names = NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nv = realloc(v, (size_t)(cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (nv == NULL)
				break;
			v = nv;
		}
		if ((v[n] = strdup(e->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	if (e != NULL) { /* out of memory */
		cps_fs_names_free(v, n);
		return -1;
	}
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), by_name);
	*names = v;
	return n;
}

/* Every name in DIR but "." and "..". */
static int list_all(int dir, char ***names)
{
	int fd = dup(dir), n = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = NULL;
	struct dirent *e;

	*names = NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		char **nv;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((nv = realloc(v, (size_t)(n + 1) * sizeof(*v))) == NULL ||
		    (nv[n] = strdup(e->d_name)) == NULL) {
			v = nv ? nv : v;
			break;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (e != NULL) {
		cps_fs_names_free(v, n);
		return -1;
	}
	*names = v;
	return n;
}

/* NAME below DIR and everything in it, depth first, no link followed (a
 * link is removed itself), at most DEPTH levels down. */
static int rmtree_at(int dir, const char *name, int depth)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0, n;
	char **names = NULL;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != ELOOP && errno != ENOTDIR)
			return -1;
		return unlinkat(dir, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	}
	if (depth <= 0 || (n = list_all(fd, &names)) < 0) {
		close(fd);
		errno = depth <= 0 ? ELOOP : ENOMEM;
		return -1;
	}
	for (int i = 0; i < n && rc == 0; i++)
		rc = rmtree_at(fd, names[i], depth - 1);
	cps_fs_names_free(names, n);
	close(fd);
	if (rc == 0 && unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

int cps_fs_rmtree_at(int dir, const char *shown, const char *name, cps_err *err)
{
	if (rmtree_at(dir, name, COMPONENTS_MAX) != 0)
		return io_fail(err, "remove", shown, name);
	return 0;
}

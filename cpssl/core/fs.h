/* File system helpers with the durability discipline every write follows:
 * temp file in the same directory (mkstemp), explicit mode from creation,
 * write, fsync, rename, fsync the directory. */
#ifndef CPSSL_CORE_FS_H
#define CPSSL_CORE_FS_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

#include "cpssl/core/err.h"

/* Replace PATH with DATA atomically; the file has MODE from the moment it
 * exists (umask-independent). */
int cps_fs_write_atomic(const char *path, const void *data, size_t len,
			mode_t mode, cps_err *err);

/* Create PATH and its missing parents with MODE (umask-independent). Existing
 * directories are left as they are. */
int cps_fs_mkdir_p(const char *path, mode_t mode, cps_err *err);

/* Read a whole regular file of at most MAX bytes; *out is NUL-terminated.
 * A link at PATH is not followed; a FIFO or device is refused without
 * blocking. */
int cps_fs_read(const char *path, size_t max, char **out, size_t *len,
		cps_err *err);
/* The same for a file the administrator named on the command line: links
 * are followed (certbot's live/ directory is links), but only a regular
 * file is read. */
int cps_fs_read_named(const char *path, size_t max, char **out, size_t *len,
		      cps_err *err);
/* The same from an open descriptor (a file, or a pipe such as stdin), to
 * its end; SHOWN names it in messages. */
int cps_fs_read_fd(int fd, const char *shown, size_t max, char **out, size_t *len,
		   cps_err *err);

int cps_fs_fsync_dir(const char *dir, cps_err *err);

/* Remove a file; a missing file is not an error. */
int cps_fs_unlink(const char *path, cps_err *err);

/* An exclusive flock on PATH (created 0600), waiting at most TIMEOUT_MS;
 * *fd holds it until closed. CPS_E_TIMEOUT when another process keeps it. */
int cps_fs_lock(const char *path, long timeout_ms, int *fd, cps_err *err);

/* The same on the directory holding PATH, which outlives any rename of
 * PATH, so no lock file is left beside what it protects. */
int cps_fs_lock_dir_of(const char *path, long timeout_ms, int *fd, cps_err *err);

/* cps_fs_write_atomic of DIR/NAME. */
int cps_fs_write_in(const char *dir, const char *name, const void *data, size_t len,
		    mode_t mode, cps_err *err);

/* Make PATH a symlink to TARGET with one rename of a hidden temporary
 * link in the same directory (replacing whatever PATH was); nothing is
 * done when PATH already reads TARGET. The caller fsyncs the directory. */
int cps_fs_symlink_swap(const char *path, const char *target, cps_err *err);

/* The entries of DIR not starting with '.', sorted by strcmp, as scandir
 * gives them (free each, then the list); -1 when DIR cannot be read. */
int cps_fs_list(const char *dir, struct dirent ***list);

/* Join path parts with '/', into a fresh string (NULL on overflow/ENOMEM). */
char *cps_path_join(const char *a, const char *b);

#endif

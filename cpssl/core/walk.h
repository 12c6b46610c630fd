/* Directories root writes in that others may reach: every path is walked
 * one component at a time from a directory already open, each opened with
 * O_NOFOLLOW | O_DIRECTORY, and every change is made with the *at() calls
 * on those descriptors. A symbolic link planted anywhere is refused (or,
 * where cpssl owns the name, removed) instead of followed, and a directory
 * renamed or replaced meanwhile cannot redirect a write elsewhere.
 *
 * With CPS_WALK_TRUSTED each component must also be owned by root (or the
 * user cpssl runs as) and not writable by group or others — OpenSSH's
 * StrictModes — except that a directory above the last may be a root-owned
 * sticky one such as /tmp (no one else can replace what root made in it).
 *
 * SHOWN arguments name the directory a descriptor stands for, in messages. */
#ifndef CPSSL_CORE_WALK_H
#define CPSSL_CORE_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cpssl/core/err.h"

enum {
	CPS_WALK_CREATE = 1 << 0,  /* make missing directories, with MODE */
	CPS_WALK_TRUSTED = 1 << 1, /* check owner and mode of each component */
	CPS_WALK_REPLACE = 1 << 2, /* the last component is cpssl's: a link or a
				    * file standing in its place is removed */
};

/* Open the directory PATH (absolute) from "/". A missing directory (without
 * CPS_WALK_CREATE) is CPS_E_NOTFOUND. */
int cps_walk_open(const char *path, unsigned flags, mode_t mode, int *fd, cps_err *err);
/* Open the directory REL (one or more components, no "." or "..") below
 * DIR. */
int cps_walk_open_at(int dir, const char *shown, const char *rel, unsigned flags,
		     mode_t mode, int *fd, cps_err *err);

/* Replace NAME in DIR with DATA atomically: a fresh temporary made with
 * O_EXCL | O_NOFOLLOW, MODE from creation, written, fsynced, renamed over
 * NAME (a link there is replaced, never followed), DIR fsynced. */
int cps_fs_write_at(int dir, const char *shown, const char *name, const void *data,
		    size_t len, mode_t mode, cps_err *err);
/* Whether ENTRY is the name of a temporary those writes make for NAME (a
 * killed write leaves one behind). */
bool cps_fs_is_temp_of(const char *entry, const char *name);
/* Make NAME in DIR a symbolic link to TARGET with one rename (nothing is
 * done when it already is one). */
int cps_fs_symlink_swap_at(int dir, const char *shown, const char *name, const char *target,
			   cps_err *err);
/* Whether NAME in DIR is a symbolic link reading TARGET. */
bool cps_fs_link_is_at(int dir, const char *name, const char *target);
/* Remove NAME (a file or a link, never followed) from DIR; a missing one is
 * not an error. */
int cps_fs_unlink_at(int dir, const char *shown, const char *name, cps_err *err);
/* Remove the directory NAME of DIR holding FILES (NULL-terminated); a link
 * or a file in its place is removed itself. */
int cps_fs_rmdir_at(int dir, const char *shown, const char *name, const char *const *files,
		    cps_err *err);
/* Remove NAME of DIR with everything below it; no link is followed (a link
 * is removed itself). A missing NAME is not an error. */
int cps_fs_rmtree_at(int dir, const char *shown, const char *name, cps_err *err);
/* The names in DIR not starting with '.', sorted by strcmp; -1 when DIR
 * cannot be read. Free with cps_fs_names_free. */
int cps_fs_list_at(int dir, char ***names);
void cps_fs_names_free(char **names, int n);
/* fsync DIR. */
int cps_fs_fsync_at(int dir, const char *shown, cps_err *err);

#endif

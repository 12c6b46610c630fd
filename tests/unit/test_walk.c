/* Directory walks that never follow a link: StrictModes on trusted paths,
 * creation with exact modes, and the *at() writes, link switches and
 * removals used in directories others can write to. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/walk.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-walk-XXXXXX";

static char *at(const char *rel)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static int mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void trusted(void)
{
	cps_err err;
	int fd = -1;

	CHECK(cps_walk_open(at("a/b/c"), CPS_WALK_CREATE | CPS_WALK_TRUSTED, 0755, &fd, &err) == 0 && fd >= 0,
	      "a trusted walk below /tmp (sticky, root's) creates what is missing");
	CHECK(mode_of(at("a")) == 0755 && mode_of(at("a/b/c")) == 0755, "  with the mode asked for, whatever the umask");
	close(fd);
	chmod(at("a/b"), 0775);
	CHECK(cps_walk_open(at("a/b/c"), CPS_WALK_TRUSTED, 0, &fd, &err) == -1 && err.code == CPS_E_PERM,
	      "a group-writable component is refused");
	CHECK_HAS(err.msg, "/a/b is writable by its group (mode 0775)", "  naming it and its mode");
	CHECK_HAS(err.msg, "chmod go-w", "  and the fix");
	chmod(at("a/b"), 0755);
	chown(at("a/b"), 65534, 65534);
	CHECK(cps_walk_open(at("a/b/c"), CPS_WALK_TRUSTED, 0, &fd, &err) == -1, "a component owned by another user is refused");
	CHECK_HAS(err.msg, "/a/b is owned by uid 65534, not by root", "  naming the owner");
	chown(at("a/b"), 0, 0);
	chmod(at("a/b/c"), 01777);
	CHECK(cps_walk_open(at("a/b/c"), CPS_WALK_TRUSTED, 0, &fd, &err) == -1,
	      "a sticky world-writable directory is refused as the directory itself");
	mkdir(at("a/b/c/d"), 0755);
	chown(at("a/b/c"), 0, 0);
	CHECK(cps_walk_open(at("a/b/c/d"), CPS_WALK_TRUSTED, 0, &fd, &err) == 0,
	      "  but allowed above it, like /tmp");
	close(fd);
	chmod(at("a/b/c"), 0755);
	CHECK(cps_walk_open(at("a/b/c/d"), 0, 0, &fd, &err) == 0, "an untrusted walk checks no owner");
	close(fd);
}

static void links(void)
{
	struct stat st;
	cps_err err;
	int fd = -1, base = -1;

	mkdir(at("elsewhere"), 0700);
	mkdir(at("site"), 0755);
	symlink(at("elsewhere"), at("site/conf"));
	CHECK(cps_walk_open(at("site/conf/x"), CPS_WALK_CREATE, 0755, &fd, &err) == -1 && err.code == CPS_E_PERM,
	      "a symbolic link in the path is refused, not followed");
	CHECK_HAS(err.msg, "/site/conf is a symbolic link or not a directory", "  naming it");
	CHECK(stat(at("elsewhere/x"), &st) != 0, "  nothing was made where it points");
	CHECK(cps_walk_open(at("site"), 0, 0, &base, &err) == 0, "open the site");
	CHECK(cps_walk_open_at(base, at("site"), "conf", CPS_WALK_CREATE | CPS_WALK_REPLACE, 0700, &fd, &err) == 0,
	      "with REPLACE, the link standing in cpssl's place is removed and a directory made");
	CHECK(lstat(at("site/conf"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	      "  a real directory, 0700");
	CHECK(stat(at("elsewhere"), &st) == 0 && S_ISDIR(st.st_mode), "  the link's target is untouched");
	CHECK(cps_walk_open_at(base, at("site"), "conf/../../x", CPS_WALK_CREATE, 0755, &fd, &err) == -1,
	      "'..' in a relative walk is refused");
	close(fd);

	/* writes in a directory someone else controls */
	CHECK(cps_walk_open_at(base, at("site"), "conf", 0, 0, &fd, &err) == 0, "open conf");
	cps_fs_write_atomic(at("elsewhere/victim"), "precious", 8, 0600, NULL);
	symlink(at("elsewhere/victim"), at("site/conf/server.key"));
	umask(0);
	CHECK(cps_fs_write_at(fd, at("site/conf"), "server.key", "KEY", 3, 0600, &err) == 0,
	      "writing over a planted link replaces the link");
	umask(022);
	CHECK(lstat(at("site/conf/server.key"), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "  a regular file, 0600 whatever the umask");
	{
		char *v = NULL;

		cps_fs_read(at("elsewhere/victim"), 100, &v, NULL, NULL);
		CHECK_STR(v, "precious", "  the link's target is untouched");
		free(v);
	}
	CHECK(cps_fs_symlink_swap_at(fd, at("site/conf"), "live", "versions/1", &err) == 0 &&
	      cps_fs_link_is_at(fd, "live", "versions/1"), "a link made with one rename");
	CHECK(cps_fs_symlink_swap_at(fd, at("site/conf"), "live", "versions/2", &err) == 0 &&
	      cps_fs_link_is_at(fd, "live", "versions/2"), "  and switched");
	symlink(at("elsewhere"), at("site/conf/old"));
	CHECK(cps_fs_rmdir_at(fd, at("site/conf"), "old", (const char *const[]){ "victim", NULL }, &err) == 0,
	      "removing a 'directory' that is a planted link");
	CHECK(lstat(at("site/conf/old"), &st) != 0 && stat(at("elsewhere/victim"), &st) == 0,
	      "  removes the link only, not what it points to");
	mkdir(at("site/conf/v1"), 0700);
	cps_fs_write_atomic(at("site/conf/v1/a"), "x", 1, 0600, NULL);
	CHECK(cps_fs_rmdir_at(fd, at("site/conf"), "v1", (const char *const[]){ "a", NULL }, &err) == 0 &&
	      lstat(at("site/conf/v1"), &st) != 0, "a directory of known files is removed");
	CHECK(cps_fs_unlink_at(fd, at("site/conf"), "live", &err) == 0 && lstat(at("site/conf/live"), &st) != 0,
	      "unlink removes a link itself");
	CHECK(cps_fs_unlink_at(fd, at("site/conf"), "live", &err) == 0, "  and a missing name is not an error");
	{
		char **names = NULL;
		int n;

		cps_fs_write_atomic(at("site/conf/.hidden"), "x", 1, 0600, NULL);
		mkdir(at("site/conf/b"), 0700);
		n = cps_fs_list_at(fd, &names);
		CHECK(n == 2 && strcmp(names[0], "b") == 0 && strcmp(names[1], "server.key") == 0,
		      "the listing is sorted and leaves out dot-names");
		cps_fs_names_free(names, n);
	}
	mkdir(at("site/conf/b/c"), 0700);
	cps_fs_write_atomic(at("site/conf/b/c/f"), "x", 1, 0600, NULL);
	cps_fs_write_atomic(at("site/conf/b/.dot"), "x", 1, 0600, NULL);
	symlink(at("elsewhere"), at("site/conf/b/c/out"));
	CHECK(cps_fs_rmtree_at(fd, at("site/conf"), "b", &err) == 0 && lstat(at("site/conf/b"), &st) != 0,
	      "a tree with dot-names and a link in it is removed");
	CHECK(stat(at("elsewhere/victim"), &st) == 0, "  and what the link pointed to is not");
	CHECK(cps_fs_rmtree_at(fd, at("site/conf"), "b", &err) == 0, "  removing it again is not an error");
	{
		char **names = NULL;
		int empty = -1, n;

		mkdir(at("site/conf/empty"), 0700);
		cps_walk_open_at(fd, at("site/conf"), "empty", 0, 0, &empty, &err);
		n = cps_fs_list_at(empty, &names);
		CHECK(n == 0, "an empty directory lists nothing");
		cps_fs_names_free(names, n);
		close(empty);
	}
	CHECK(cps_fs_is_temp_of(".cpssl.conf.cpssl-0123456789abcdef", "cpssl.conf") &&
	      !cps_fs_is_temp_of("cpssl.conf", "cpssl.conf") &&
	      !cps_fs_is_temp_of(".cpssl.conf.cpssl-0123", "cpssl.conf") &&
	      !cps_fs_is_temp_of(".cpssl.conf.cpssl-0123456789abcdef0", "cpssl.conf") &&
	      !cps_fs_is_temp_of(".custom.cpssl-0123456789abcdef", "cpssl.conf") &&
	      !cps_fs_is_temp_of(".cps", "cpssl.conf"),
	      "a temporary of a name is told from other names");
	close(fd);
	close(base);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 99;
	trusted();
	links();
	unit_rmtree(dir);
	return unit_done();
}

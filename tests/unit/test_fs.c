/* Durable writes: modes from creation whatever the umask, atomic
 * replacement, no temp files left, bounded reads, mkdir -p modes. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-fs-XXXXXX";

static int entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	int n = 0;

	while (dh && (e = readdir(dh)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (dh)
		closedir(dh);
	return n;
}

int main(void)
{
	char *p, *q, *text = NULL, *nested;
	struct stat st;
	size_t len = 0;
	cps_err err;

	if (mkdtemp(dir) == NULL)
		return 1;
	p = cps_path_join(dir, "key.pem");

	umask(0);
	CHECK(cps_fs_write_atomic(p, "secret", 6, 0600, &err) == 0, "write a key with umask 0");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600, "  it is 0600");
	umask(077);
	CHECK(cps_fs_write_atomic(p, "public", 6, 0644, &err) == 0, "replace it as 0644 with umask 077");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644, "  it is 0644 (mode set explicitly)");
	CHECK(cps_fs_read(p, 100, &text, &len, &err) == 0 && len == 6 && strcmp(text, "public") == 0,
	      "  content replaced");
	free(text);
	CHECK_INT(entries(dir), 1, "  no temporary file left");

	CHECK(cps_fs_read(p, 3, &text, &len, &err) == -1 && text == NULL, "a read over the cap fails");
	CHECK_HAS(err.msg, "too large", "  saying so");
	q = cps_path_join(dir, "missing");
	CHECK(cps_fs_read(q, 100, &text, &len, &err) == -1 && err.code == CPS_E_NOTFOUND,
	      "a missing file is NOTFOUND");
	CHECK(cps_fs_unlink(q, &err) == 0, "unlinking a missing file is fine");
	free(q);

	q = cps_path_join(dir, "nodir/x");
	CHECK(cps_fs_write_atomic(q, "x", 1, 0600, &err) == -1, "writing into a missing directory fails");
	CHECK_HAS(err.msg, "nodir", "  naming the place");
	free(q);

	umask(0);
	nested = cps_path_join(dir, "a/b/c");
	CHECK(cps_fs_mkdir_p(nested, 0700, &err) == 0, "mkdir -p a/b/c");
	CHECK(stat(nested, &st) == 0 && (st.st_mode & 07777) == 0700, "  leaf is 0700 with umask 0");
	q = cps_path_join(dir, "a");
	CHECK(stat(q, &st) == 0 && (st.st_mode & 07777) == 0700, "  parents too");
	free(q);
	CHECK(cps_fs_mkdir_p(nested, 0700, &err) == 0, "mkdir -p again is fine");
	q = cps_path_join(nested, "../../../key.pem/x");
	CHECK(cps_fs_mkdir_p(q, 0700, &err) == -1, "mkdir -p through a file fails");
	free(q);
	free(nested);

	q = cps_path_join("/", "etc");
	CHECK_STR(q, "/etc", "path join on /");
	free(q);
	q = cps_path_join("/tmp/x/", "/y");
	CHECK_STR(q, "/tmp/x/y", "path join drops duplicate slashes");
	free(q);

	/* the symlink switch and the sorted listing the deployment uses */
	{
		char *sub = cps_path_join(dir, "links"), *link, buf[64];
		struct dirent **list;
		ssize_t n;
		int k;

		CHECK(cps_fs_mkdir_p(sub, 0700, &err) == 0, "a directory for links");
		CHECK(cps_fs_write_in(sub, "b.pem", "b", 1, 0600, &err) == 0, "write_in writes DIR/NAME");
		CHECK(cps_fs_write_in(sub, "a.pem", "a", 1, 0644, &err) == 0, "  twice");
		link = cps_path_join(sub, "live");
		CHECK(cps_fs_symlink_swap(link, "a.pem", &err) == 0, "a new symlink");
		CHECK(cps_fs_symlink_swap(link, "b.pem", &err) == 0, "  switched to another target");
		n = readlink(link, buf, sizeof(buf) - 1);
		CHECK(n == 5 && memcmp(buf, "b.pem", 5) == 0, "  which it now reads");
		CHECK(cps_fs_symlink_swap(link, "b.pem", &err) == 0, "  the same target again is fine");
		CHECK_INT(entries(sub), 3, "  no temporary link left");
		CHECK(unlink(link) == 0 && cps_fs_write_in(sub, "live", "x", 1, 0644, &err) == 0 &&
		      cps_fs_symlink_swap(link, "a.pem", &err) == 0 && lstat(link, &st) == 0 &&
		      S_ISLNK(st.st_mode), "a regular file is replaced by the link");
		CHECK(cps_fs_write_in(sub, ".hidden", "h", 1, 0644, &err) == 0, "a dot file");
		k = cps_fs_list(sub, &list);
		CHECK_INT(k, 3, "the listing leaves dot files out");
		CHECK(k == 3 && strcmp(list[0]->d_name, "a.pem") == 0 && strcmp(list[1]->d_name, "b.pem") == 0 &&
		      strcmp(list[2]->d_name, "live") == 0, "  and sorts by name");
		for (int i = 0; i < k; i++)
			free(list[i]);
		free(list);
		CHECK_INT(cps_fs_list("/nonexistent-cpssl-dir", &list), -1, "a missing directory lists as -1");
		free(link);
		free(sub);
	}

	free(p);
	unit_rmtree(dir);
	return unit_done();
}

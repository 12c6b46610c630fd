#include "cpssl/core/sitelock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpssl/core/fs.h"

#define HELD_MAX 8

static struct held {
	char site[64];
	int fd;
	int depth;
} held[HELD_MAX];

static struct held *find(const char *site)
{
	for (size_t i = 0; i < HELD_MAX; i++)
		if (held[i].depth > 0 && strcmp(held[i].site, site) == 0)
			return &held[i];
	return NULL;
}

static int lock_site(const cps_paths *paths, const char *site, long wait_ms, cps_err *err)
{
	struct held *h = find(site), *slot = NULL;
	char *dir, *path = NULL;
	int fd = -1, rc;

	if (h) {
		h->depth++;
		return 0;
	}
	if (strlen(site) >= sizeof(held[0].site) || strchr(site, '/') || site[0] == '.')
		return cps_fail(err, CPS_E_INVAL, "'%.64s' cannot name a lock", site);
	for (size_t i = 0; i < HELD_MAX && slot == NULL; i++)
		if (held[i].depth == 0)
			slot = &held[i];
	if (slot == NULL)
		return cps_fail(err, CPS_E_INTERNAL, "too many site locks held at once");
	dir = cps_path_join(paths->storage, "locks");
	if (dir == NULL || (path = cps_path_join(dir, site)) == NULL) {
		free(dir);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	rc = cps_fs_mkdir_p(dir, 0700, err) == 0 ? cps_fs_lock(path, wait_ms, &fd, err) : -1;
	free(dir);
	free(path);
	if (rc != 0)
		return wait_ms ? cps_err_prefix(err, "%s", site) : -1;
	snprintf(slot->site, sizeof(slot->site), "%s", site);
	slot->fd = fd;
	slot->depth = 1;
	return 0;
}

int cps_site_lock(const cps_paths *paths, const char *site, cps_err *err)
{
	return lock_site(paths, site, CPS_SITE_LOCK_WAIT_MS, err);
}

int cps_site_trylock(const cps_paths *paths, const char *site)
{
	cps_err e;

	if (lock_site(paths, site, 0, &e) == 0)
		return 1;
	return e.code == CPS_E_TIMEOUT ? 0 : -1;
}

void cps_site_unlock(const char *site)
{
	struct held *h = find(site);

	if (h && --h->depth == 0) {
		close(h->fd);
		h->fd = -1;
	}
}

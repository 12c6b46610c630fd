#include "cpssl/core/paths.h"

#include <stdlib.h>
#include <string.h>

#include "cpssl/core/fs.h"

int cps_paths_init(cps_paths *p, const char *home, cps_err *err)
{
	memset(p, 0, sizeof(*p));
	if (home == NULL)
		home = getenv("CPSSL_HOME");
	if (home != NULL && *home != '\0' && home[0] != '/')
		return cps_fail(err, CPS_E_CONFIG,
				"CPSSL_HOME must be an absolute path, not '%.200s'",
				home);
#ifdef CPS_LAYOUT_FHS
	if (home == NULL || *home == '\0') {
		p->config = strdup(CPS_FHS_CONFIG);
		p->storage = strdup(CPS_FHS_STORAGE);
		p->db = cps_path_join(CPS_FHS_STORAGE, "cpssl.db");
		if (!p->config || !p->storage || !p->db) {
			cps_paths_free(p);
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
		}
		return 0;
	}
#endif
	if (home == NULL || *home == '\0')
		home = CPS_DEFAULT_HOME;
	p->home = strdup(home);
	p->config = cps_path_join(home, "etc/config.ini");
	p->storage = cps_path_join(home, "storage");
	p->db = cps_path_join(home, "storage/cpssl.db");
	if (!p->home || !p->config || !p->storage || !p->db) {
		cps_paths_free(p);
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	return 0;
}

void cps_paths_free(cps_paths *p)
{
	free(p->home);
	free(p->config);
	free(p->storage);
	free(p->db);
	memset(p, 0, sizeof(*p));
}

/* Certificate storage per site and ACME server:
 *   storage/certificates/data/certs/<server-dir>/<site>/
 *     archive/<version>/{cert.pem, chain.pem, fullchain.pem, privkey.pem}
 *     current -> archive/<version>
 * A new version is written completely (key 0600, everything fsynced) before
 * the `current` symlink is swapped with one atomic rename, so a reader sees
 * the old matching set or the new one, never a mix. The last 5 versions are
 * kept. */
#ifndef CPSSL_DEPLOY_STORAGE_H
#define CPSSL_DEPLOY_STORAGE_H

#include <stddef.h>

#include "cpssl/core/err.h"
#include "cpssl/core/paths.h"

#define CPS_STORAGE_KEEP 5

typedef struct cps_cert_files {
	const char *cert;  /* leaf PEM */
	const char *chain; /* intermediates PEM ("" when none) */
	const char *key;   /* private key PEM */
	size_t key_len;
	/* the stored version's directory (…/archive/<version>), whose
	 * fullchain.pem and privkey.pem Apache's configuration names */
	const char *stored;
} cps_cert_files;

/* certs/<server_dir> (every site's certificates from that CA) and
 * certs/<server_dir>/<site> under the storage root. Caller frees. */
char *cps_storage_ca_dir(const cps_paths *paths, const char *server_dir);
char *cps_storage_site_dir(const cps_paths *paths, const char *server_dir,
			   const char *site);

/* Write FILES as version VERSION (a safe file name) of SITE_DIR and make it
 * current. *current receives SITE_DIR/current (caller frees). */
int cps_storage_save(const char *site_dir, const char *version,
		     const cps_cert_files *files, char **current, cps_err *err);

/* Remove everything stored for SITE: its certificates from every CA, keys
 * kept for pending orders, keys made for CSRs. */
int cps_storage_purge(const cps_paths *paths, const char *site, cps_err *err);

#endif

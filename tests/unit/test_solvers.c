/* Challenge solvers without a network: where http-01 responses go, their
 * modes (readable by the web server, whatever the umask), token checks,
 * dns-01 record names, and the publication tags used for cleanup. */
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/settings.h"
#include "cpssl/solvers/solvers.h"
#include "unit.h"

static char dir[] = "/tmp/cpssl-test-solvers-XXXXXX";

int main(void)
{
	const char *token = "JSauNS-u2QmqMZfnyljdbD9PTWF39-W7mMvBPuOf294";
	char *path = NULL, *tag, *well, rec[300], *other;
	struct stat st;
	cps_config *cfg;
	cps_settings set;
	cps_err err;

	if (mkdtemp(dir) == NULL)
		return 1;
	umask(077);
	CHECK(cps_http01_path(dir, token, &path, &err) == 0, "path for a valid token");
	CHECK(path && strstr(path, "/.well-known/acme-challenge/JSauNS-u2QmqMZfnyljdbD9PTWF39-W7mMvBPuOf294"),
	      "  under .well-known/acme-challenge");
	CHECK(cps_http01_publish(path, "token.thumb", &err) == 0, "publish with umask 077");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "  the file is 0644");
	well = cps_path_join(dir, ".well-known");
	CHECK(stat(well, &st) == 0 && (st.st_mode & 0777) == 0755, "  directories are 0755");
	free(well);
	tag = cps_solver_file_tag(path);
	CHECK(cps_solver_unpublish(tag, NULL, &err) == 0 && access(path, F_OK) != 0, "unpublish removes it");
	CHECK(cps_solver_unpublish(tag, NULL, &err) == 0, "  and again is fine");
	free(tag);
	free(path);

	CHECK(cps_http01_path(dir, "../../etc/passwd-xxxxxxxx", &path, &err) == -1 && path == NULL,
	      "a token with a path is refused");
	CHECK_HAS(err.msg, "not base64url", "  saying so");
	other = cps_path_join(dir, "precious");
	cps_fs_write_atomic(other, "x", 1, 0600, NULL);
	tag = cps_solver_file_tag(other);
	CHECK(cps_solver_unpublish(tag, NULL, &err) == -1 && access(other, F_OK) == 0,
	      "unpublish never removes a file outside a challenge directory");
	free(tag);
	free(other);

	CHECK(cps_dns01_record("*.d.example", rec, sizeof(rec), &err) == 0, "dns-01 record for a wildcard");
	CHECK_STR(rec, "_acme-challenge.d.example", "  drops the wildcard label");
	CHECK(cps_dns01_record("d.example", rec, sizeof(rec), &err) == 0 &&
	      strcmp(rec, "_acme-challenge.d.example") == 0, "  same record for the apex");
	tag = cps_solver_dns_tag(rec, "VALUE");
	CHECK_STR(tag, "dns:_acme-challenge.d.example VALUE", "dns tag");
	CHECK(cps_solver_unpublish(tag, NULL, &err) == -1, "a dns tag without a provider is an error");
	CHECK_HAS(err.msg, "no DNS provider is configured", "  saying why");
	free(tag);

	cps_config_load("/nonexistent", &cfg, &err);
	CHECK(cps_settings_parse(cfg, 0, NULL, 0, &set, &err) == 0, "settings resolve");
	CHECK_STR(set.layout.http01_root, "/var/lib/cpssl/acme-challenge",
		  "default challenge dir is <fs_root>/var/lib/cpssl/acme-challenge");
	cps_settings_free(&set);
	cps_config_free(cfg);
	unit_rmtree(dir);
	return unit_done();
}

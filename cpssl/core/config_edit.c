/* config.ini edited in place (comments and order kept), and the shipped
 * template rendered from the key table. */
#include "cpssl/core/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpssl/core/fs.h"
#include "cpssl/core/log.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

/* Lines of a file, each without its newline. */
typedef struct lines {
	char **v;
	size_t n, cap;
} lines;

static int lines_insert(lines *l, size_t at, char *line)
{
	if (line == NULL)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL) {
			free(line);
			return -1;
		}
		l->v = nv;
		l->cap = cap;
	}
	memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
	l->v[at] = line;
	l->n++;
	return 0;
}

static void lines_free(lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int lines_split(const char *text, lines *l)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (lines_insert(l, l->n, strndup(p, n)) != 0)
			return -1;
		p += nl ? (size_t)(nl - p) + 1 : strlen(p);
	}
	return 0;
}

/* "[name]" → name (into buf), or NULL when the line is not a header. */
static const char *section_of(const char *line, char *buf, size_t len)
{
	const char *end;

	while (isspace((unsigned char)*line))
		line++;
	if (*line != '[' || (end = strchr(line, ']')) == NULL)
		return NULL;
	line++;
	while (line < end && isspace((unsigned char)*line))
		line++;
	while (end > line && isspace((unsigned char)end[-1]))
		end--;
	snprintf(buf, len, "%.*s", (int)(end - line), line);
	return buf;
}

static bool is_key_line(const char *line, const char *key)
{
	size_t n = strlen(key);

	while (isspace((unsigned char)*line))
		line++;
	if (strncmp(line, key, n) != 0)
		return false;
	line += n;
	while (isspace((unsigned char)*line))
		line++;
	return *line == '=' || *line == ':';
}

static bool is_setting_line(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return *line && *line != ';' && *line != '#' && *line != '[';
}

static int config_edit_locked(const char *path, const cps_config_key *k,
			      const char *canon, cps_err *err);

/* Two edits at once must not lose one: the read-edit-write holds an flock
 * on the directory of config.ini (the file itself is replaced by rename). */
int cps_config_edit(const char *path, const cps_config_key *k,
		    const char *canon, cps_err *err)
{
	int fd = -1, rc;

	if (cps_fs_lock_dir_of(path, 30000, &fd, err) != 0)
		return -1;
	rc = config_edit_locked(path, k, canon, err);
	close(fd);
	return rc;
}

static int config_edit_locked(const char *path, const cps_config_key *k,
			      const char *canon, cps_err *err)
{
	char *text = NULL, *buf = NULL, sec[128];
	const char *cur = NULL;
	lines l = { 0 };
	size_t len = 0, last_in_section = 0;
	bool found = false, have_section = false;
	mode_t mode = 0600;
	struct stat st;
	FILE *f;
	int rc = -1;

	if (cps_fs_read(path, CONFIG_MAX_BYTES, &text, NULL, err) != 0) {
		if (err && err->code != CPS_E_NOTFOUND)
			return -1;
		text = cps_config_render_default();
		if (text == NULL)
			return cps_fail(err, CPS_E_NOMEM, "out of memory");
	} else if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
	}
	if (k->type == CPS_CT_SECRET && *canon && (mode & 077)) {
		cps_warn("%s now holds a secret ([%s] %s): its mode is 0600 (it was %04o)", path,
			 k->section, k->key, (unsigned)mode);
		mode = 0600;
	}
	if (lines_split(text, &l) != 0) {
		cps_fail(err, CPS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *s = section_of(l.v[i], sec, sizeof(sec));

		if (s) {
			cur = strcmp(s, k->section) == 0 ? k->section : NULL;
			if (cur) {
				have_section = true;
				last_in_section = i;
			}
			continue;
		}
		if (cur == NULL)
			continue;
		if (is_setting_line(l.v[i]))
			last_in_section = i;
		if (is_key_line(l.v[i], k->key)) {
			size_t indent = strspn(l.v[i], " \t");
			char *nl;

			if (asprintf(&nl, "%.*s%s =%s%s", (int)indent, l.v[i],
				     k->key, *canon ? " " : "", canon) < 0) {
				cps_fail(err, CPS_E_NOMEM, "out of memory");
				goto out;
			}
			free(l.v[i]);
			l.v[i] = nl;
			found = true;
		}
	}
	if (!found) {
		char *nl;

		if (asprintf(&nl, "%s =%s%s", k->key, *canon ? " " : "", canon) < 0)
			nl = NULL;
		if (have_section) {
			if (lines_insert(&l, last_in_section + 1, nl) != 0)
				goto nomem;
		} else {
			char *hd;

			if (asprintf(&hd, "[%s]", k->section) < 0)
				hd = NULL;
			if ((l.n > 0 && l.v[l.n - 1][0] != '\0' &&
			     lines_insert(&l, l.n, strdup("")) != 0) ||
			    lines_insert(&l, l.n, hd) != 0 ||
			    lines_insert(&l, l.n, nl) != 0)
				goto nomem;
		}
	}
	f = open_memstream(&buf, &len);
	if (f == NULL)
		goto nomem;
	for (size_t i = 0; i < l.n; i++)
		fprintf(f, "%s\n", l.v[i]);
	fclose(f);
	rc = cps_fs_write_atomic(path, buf, len, mode, err);
	goto out;
nomem:
	cps_fail(err, CPS_E_NOMEM, "out of memory");
out:
	free(buf);
	free(text);
	lines_free(&l);
	return rc;
}

/* ---- the shipped template ----------------------------------------------- */

static void comment_wrapped(FILE *f, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strlen(p), cut = n;

		if (n > 74) {
			cut = 74;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = 74;
		}
		fprintf(f, "; %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

char *cps_config_render_default(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *section = NULL;

	if (f == NULL)
		return NULL;
	fputs("; cpssl configuration.\n"
	      ";\n"
	      "; Change a value with: cpcmd scope:set cp.config SECTION KEY VALUE\n"
	      "; (the value is type-checked; comments and order are kept).\n"
	      "; Read one with:      cpcmd scope:get cp.config SECTION KEY\n"
	      "; Keys marked \"per site\" can be overridden with\n"
	      ";   cpcmd -d SITE site:set-setting SECTION.KEY VALUE\n", f);
	for (size_t i = 0; i < CPS_CFG__COUNT; i++) {
		const cps_config_key *k = cps_config_key_get((cps_cfg_id)i);

		if (section == NULL || strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(f, "\n[%s]\n", section);
		} else {
			fputc('\n', f);
		}
		comment_wrapped(f, k->desc);
		fprintf(f, "; type: %s", cps_ctype_name(k->type));
		if (k->choices) {
			char choices[512];

			cps_config_choices_text(k, choices, sizeof(choices));
			fprintf(f, " (%s)", choices);
		}
		if (k->type == CPS_CT_INT)
			fprintf(f, " (%ld to %ld)", k->min, k->max);
		if (k->flags & CPS_CK_SITE)
			fputs("; per site", f);
		fputc('\n', f);
		fprintf(f, "%s =%s%s\n", k->key, *k->def ? " " : "", k->def);
	}
	fclose(f);
	return buf;
}

#include "cpssl/acme/persist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpssl/names/hostname.h"

#define LABEL "_validation-persist"

int cps_persist_record(const char *name, char *out, size_t len, cps_err *err)
{
	const char *base = strncmp(name, "*.", 2) == 0 ? name + 2 : name;

	if (*base == '\0' || (size_t)snprintf(out, len, LABEL ".%s", base) >= len)
		return cps_fail(err, CPS_E_INVAL, "'%.80s' is too long for a %s record", name, LABEL);
	return 0;
}

int cps_persist_value(const char *issuer, const char *account_url, bool wildcard,
		      char **out, cps_err *err)
{
	char name[CPS_HOSTNAME_MAX + 1];

	*out = NULL;
	if (issuer == NULL || cps_hostname_normalize(issuer, 0, name, err) != 0)
		return cps_fail(err, CPS_E_CA, "the CA's issuer domain name '%.80s' is not a hostname",
				issuer ? issuer : "");
	if (account_url == NULL || *account_url == '\0' ||
	    strspn(account_url, CPS_PERSIST_URI_CHARS) != strlen(account_url))
		return cps_fail(err, CPS_E_CA, "the account URL '%.200s' cannot go into a %s record",
				account_url ? account_url : "", LABEL);
	if (asprintf(out, "%s; accounturi=%s%s", name, account_url,
		     wildcard ? "; policy=wildcard" : "") < 0) {
		*out = NULL;
		return cps_fail(err, CPS_E_NOMEM, "out of memory");
	}
	return 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* One "tag=value" parameter into the fields; false when malformed. */
static bool param(const char *p, size_t n, const char **acct, size_t *acctn,
		  bool *wild, long long *until, unsigned *seen)
{
	const char *eq = memchr(p, '=', n), *v;
	size_t tn, vn;
	unsigned bit = 0;

	if (eq == NULL)
		return false;
	tn = (size_t)(eq - p);
	v = eq + 1;
	vn = n - tn - 1;
	trim(&p, &tn);
	trim(&v, &vn);
	if (tn == 0)
		return false;
	for (size_t i = 0; i < vn; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ';')
			return false;
	if (is(p, tn, "accounturi")) {
		if (vn == 0)
			return false;
		*acct = v;
		*acctn = vn;
		bit = 1;
	} else if (is(p, tn, "policy")) {
		*wild = is(v, vn, "wildcard");
		bit = 2;
	} else if (is(p, tn, "persistuntil")) {
		char buf[24], *end;

		if (vn == 0 || vn >= sizeof(buf))
			return false;
		memcpy(buf, v, vn);
		buf[vn] = '\0';
		errno = 0;
		*until = strtoll(buf, &end, 10);
		if (*end || errno)
			return false;
		bit = 4;
	}
	if (bit & *seen)
		return false; /* a repeated tag */
	*seen |= bit;
	return true;
}

cps_persist_verdict cps_persist_check(const char *txt, char *const *issuers, size_t nissuers,
				      const char *account_url, bool wildcard, long long now)
{
	const char *semi = strchr(txt, ';'), *p = txt, *acct = NULL;
	size_t n = semi ? (size_t)(semi - txt) : strlen(txt), acctn = 0;
	bool mine = false, wild = false;
	long long until = -1;
	unsigned seen = 0;

	trim(&p, &n);
	for (size_t i = 0; i < nissuers && !mine; i++)
		mine = is(p, n, issuers[i]);
	if (!mine)
		return CPS_PERSIST_OTHER_CA;
	while (semi) {
		const char *start = semi + 1;

		semi = strchr(start, ';');
		n = semi ? (size_t)(semi - start) : strlen(start);
		p = start;
		trim(&p, &n);
		if (n == 0 || !param(p, n, &acct, &acctn, &wild, &until, &seen))
			return CPS_PERSIST_MALFORMED;
	}
	if (acct == NULL)
		return CPS_PERSIST_NO_ACCOUNT;
	if (account_url == NULL || strlen(account_url) != acctn || memcmp(acct, account_url, acctn) != 0)
		return CPS_PERSIST_OTHER_ACCOUNT;
	if (wildcard && !wild)
		return CPS_PERSIST_NOT_WILDCARD;
	if ((seen & 4) && now > until)
		return CPS_PERSIST_EXPIRED;
	return CPS_PERSIST_OK;
}

const char *cps_persist_verdict_text(cps_persist_verdict v)
{
	switch (v) {
	case CPS_PERSIST_OTHER_CA:
		return "names another CA";
	case CPS_PERSIST_MALFORMED:
		return "is malformed";
	case CPS_PERSIST_NO_ACCOUNT:
		return "names no account";
	case CPS_PERSIST_OTHER_ACCOUNT:
		return "names another account";
	case CPS_PERSIST_NOT_WILDCARD:
		return "lacks policy=wildcard, which the wildcard name needs";
	case CPS_PERSIST_EXPIRED:
		return "has a persistUntil in the past";
	case CPS_PERSIST_OK:
		break;
	}
	return "authorizes this account";
}

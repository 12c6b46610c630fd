/* Migrations contributed by each table family, listed in order in db.c. */
#ifndef CPSSL_STORE_SCHEMA_H
#define CPSSL_STORE_SCHEMA_H

extern const char cps_schema_sites_v1[];  /* sites.c */
extern const char cps_schema_server_v1[]; /* server.c */
extern const char cps_schema_acme_v1[];   /* acme_state.c */
extern const char cps_schema_certs_v1[];  /* certs.c */
extern const char cps_schema_ssl_state_v1[]; /* ssl_state.c */
extern const char cps_schema_reloads_v1[];   /* reloads.c */
extern const char cps_schema_sites_v2[];     /* sites.c: the SSL flag */
extern const char cps_schema_certs_v2[];     /* certs.c: renew_at */
extern const char cps_schema_ssl_state_v2[]; /* ssl_state.c: backoff */
extern const char cps_schema_certs_v3[];     /* certs.c: deployed */
extern const char cps_schema_ssl_state_v3[]; /* ssl_state.c: bootstrap, warnings */
extern const char cps_schema_certs_v4[];     /* certs.c: profile */
extern const char cps_schema_ari_v1[];       /* ari.c: the CA's renewal information */
extern const char cps_schema_ca_health_v1[]; /* ca_health.c: failover between CAs */
extern const char cps_schema_ssl_state_v4[]; /* ssl_state.c: persist may be forced */

#endif

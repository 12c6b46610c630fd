# etc/systemd/cpssl-housekeeping.service for the package's paths: cpcmd in
# /usr/bin, no CPSSL_HOME (the built-in /etc/cpssl and /var/lib/cpssl), the
# store inside StateDirectory=cpssl.
s#^Documentation=.*#Documentation=man:cpcmd(1)#
/^Environment=CPSSL_HOME=/d
s#^ExecStart=/usr/local/bin/cpcmd #ExecStart=/usr/bin/cpcmd #
/^# the store (SQLite with WAL)/,/^ReadWritePaths=\/usr\/local\/cpssl\/storage$/c\
# the store (SQLite with WAL), locks, logs and the certificate archive are\
# in /var/lib/cpssl/storage, inside StateDirectory= below; /etc/cpssl stays\
# read-only

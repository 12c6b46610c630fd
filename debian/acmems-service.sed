# etc/systemd/cpssl-acmems.service for the package's paths: cpssl-acmems in
# /usr/bin, its configuration /etc/cpssl/acmems.ini (not shipped: the unit
# is skipped until the administrator writes it).
s#^Documentation=.*#Documentation=man:cpssl-acmems(8)#
s#/usr/local/cpssl/etc/acmems\.ini#/etc/cpssl/acmems.ini#g
s#^ExecStart=/usr/local/bin/cpssl-acmems #ExecStart=/usr/bin/cpssl-acmems #
s#copy etc/acmems\.ini\.example there#copy /usr/share/doc/cpssl/examples/acmems.ini.example there#

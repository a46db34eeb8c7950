-- PowerDNS Recursor: add to /etc/powerdns/recursor.lua (the file named by lua-config-file).
-- A negative trust anchor: names in the unsigned totalizer zone are not DNSSEC-validated.
addNTA('rkvdns.example.com', 'rkvdns totalizer zone: unsigned')

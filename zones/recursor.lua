-- PowerDNS Recursor: add to /etc/powerdns/recursor.lua (the file named by lua-config-file).
-- A negative trust anchor: names in the unsigned totalizer zone are not DNSSEC-validated.
--
-- Edit the lines that follow an EDIT comment, and no others: your zone in place of rkvdns.example.com, and
-- the address and port rkvdns listens on in place of 127.0.0.1 and 5300. Nothing else names them (the tests
-- run the resolver with exactly this file, those lines rewritten for their own zone, address and port).
-- EDIT: the zone.
addNTA('rkvdns.example.com', 'rkvdns totalizer zone: unsigned')

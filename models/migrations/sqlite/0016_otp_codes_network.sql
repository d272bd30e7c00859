-- A code's "ip" column holds the requesting client's NetworkKey (an IPv6
-- /64, an IPv4 address), which the network quotas count: named for what it
-- holds. RENAME COLUMN keeps the rows and the index's column; the index is
-- named anew.
ALTER TABLE otp_codes RENAME COLUMN ip TO network;
DROP INDEX otp_codes_ip;
CREATE INDEX otp_codes_network ON otp_codes (network, created_at);

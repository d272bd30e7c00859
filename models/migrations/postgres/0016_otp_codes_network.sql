-- A code's "ip" column holds the requesting client's NetworkKey (an IPv6
-- /64, an IPv4 address), which the network quotas count: named for what it
-- holds.
ALTER TABLE otp_codes RENAME COLUMN ip TO network;
ALTER INDEX otp_codes_ip RENAME TO otp_codes_network;

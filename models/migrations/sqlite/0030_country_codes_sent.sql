-- A country's limits count only the codes sent to it (held_reason empty):
-- past a limit its strangers' requests are held, and those held codes must
-- not keep the country closed (models/signin_fraud.go, countryFull). The
-- index holds only sent codes, so the count reads none of the held ones.
CREATE INDEX otp_codes_country_sent ON otp_codes (country, created_at) WHERE held_reason = '';

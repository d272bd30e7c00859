package models

// CleanCountry is a country code fit to store on a session: two ASCII
// letters (ISO 3166-1 alpha-2), upper-cased. Anything else, and "XX" (how
// proxies such as Cloudflare say "not known"), is "": a header or a
// database entry is not trusted to be well formed.
func CleanCountry(s string) string {
	if len(s) != 2 {
		return ""
	}
	var b [2]byte
	for i := range 2 {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return ""
		}
		b[i] = c
	}
	if b == [2]byte{'X', 'X'} {
		return ""
	}
	return string(b[:])
}

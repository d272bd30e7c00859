package models

import (
	"strings"
	"unicode/utf8"
)

// Name search by substring, ignoring case and accents ("martin" finds
// "Alice Martin", "chloe" finds "Chloé"). The mattn SQLite driver is built
// without FTS5 unless every build passes a tag, so the index is Roster's
// own trigram table (migration 0008): user_name_grams holds each
// three-character piece of every user's folded name, kept by triggers on
// users. A search walks the rows of its rarest piece in user-id order and
// checks the whole folded name, so a page costs the same on a million users.
//
// Folding is lower() (SQLite's, ASCII only) then the replacements below, in
// SQL in the triggers and in Go for the typed text: the two must agree,
// which TestNameFoldSQLMatchesGo checks.

// nameFoldPairs maps letters lower() leaves alone to their plain lower-case
// letters: Latin letters with diacritics (both cases), then Greek and
// Cyrillic capitals.
func nameFoldPairs() [][2]string {
	var out [][2]string
	add := func(to string, froms string) {
		for _, r := range froms {
			out = append(out, [2]string{string(r), to})
		}
	}
	add("a", "àáâãäåāăąÀÁÂÃÄÅĀĂĄ")
	add("ae", "æÆ")
	add("c", "çćčĉċÇĆČĈĊ")
	add("d", "ďđĎĐ")
	add("e", "èéêëēĕėęěÈÉÊËĒĔĖĘĚ")
	add("g", "ğĝġģĞĜĠĢ")
	add("h", "ĥħĤĦ")
	add("i", "ìíîïīĭįıÌÍÎÏĪĬĮİ")
	add("j", "ĵĴ")
	add("k", "ķĶ")
	add("l", "ĺļľŀłĹĻĽĿŁ")
	add("n", "ñńņňÑŃŅŇ")
	add("o", "òóôõöøōŏőÒÓÔÕÖØŌŎŐ")
	add("oe", "œŒ")
	add("r", "ŕŗřŔŖŘ")
	add("s", "śŝşšșŚŜŞŠȘ")
	add("ss", "ß")
	add("t", "ţťŧțŢŤŦȚ")
	add("u", "ùúûüūŭůűųÙÚÛÜŪŬŮŰŲ")
	add("w", "ŵŴ")
	add("y", "ýÿŷÝŸŶ")
	add("z", "źżžŹŻŽ")
	for r := 'Α'; r <= 'Ω'; r++ { // Greek capitals to small letters
		if r != 0x3A2 {
			out = append(out, [2]string{string(r), string(r + 0x20)})
		}
	}
	for r := 'А'; r <= 'Я'; r++ { // Cyrillic capitals to small letters
		out = append(out, [2]string{string(r), string(r + 0x20)})
	}
	out = append(out, [2]string{"Ё", "е"}, [2]string{"ё", "е"})
	return out
}

// FoldName is a name as the trigram index stores it.
func FoldName(s string) string {
	s = lowerASCII(s)
	for _, p := range nameFoldPairs() {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// lowerASCII is SQLite's lower() and NOCASE, and PostgreSQL's lower()
// under COLLATE "C": ASCII letters only.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// foldNameSQL is FoldName in SQL, of the expression expr: each character
// through the table name_fold_map (nameFoldPairs, written by migration
// 0007), else lower(). A table rather than nested replace() calls: SQLite's
// parser refuses expressions nested a few hundred deep. PostgreSQL has the
// same fold as the function name_fold (its migration 0008), which its
// triggers call.
func (d *DB) foldNameSQL(expr string) string {
	ch := "substr(" + expr + ", p.i, 1)"
	return d.SQL("(SELECT coalesce(group_concat(coalesce(m.folded, lower("+ch+")), '' ORDER BY p.i), '')"+
		" FROM name_gram_positions p LEFT JOIN name_fold_map m ON m.ch = "+ch+" WHERE p.i <= length("+expr+"))",
		"name_fold("+expr+")")
}

// NameGrams are the distinct three-character pieces of a folded text.
func NameGrams(folded string) []string {
	rs := []rune(folded)
	seen := map[string]bool{}
	var out []string
	for i := 0; i+3 <= len(rs); i++ {
		g := string(rs[i : i+3])
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// likeEscape makes s a literal LIKE pattern piece (ESCAPE '\').
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// runeLen is the length in characters.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

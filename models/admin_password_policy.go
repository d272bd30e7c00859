package models

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"strings"
	"sync"
)

// The administrators' password policy, as NIST SP 800-63B asks: at least
// 12 characters and none that is a known common password. The list
// (common_passwords.txt.gz) is zxcvbn's password list, 47,023 passwords
// ranked by how often they appear in Mark Burnett's 10 million leaked
// passwords (github.com/trustelem/zxcvbn data/passwords.txt, MIT),
// lower-cased: the largest such list this build could reach offline.

// MinPasswordLen is the shortest admin password accepted.
const MinPasswordLen = 12

// ErrCommonPassword is a password found in the common-password list, as
// it is or with digits and symbols added, or repeated.
var ErrCommonPassword = errors.New("the password is a common one (on a list of passwords leaked most often, as it is, repeated, or with digits or symbols added): choose another")

//go:embed common_passwords.txt.gz
var commonPasswordsGz []byte

// commonPasswords is the list as a set, read once on first use; it never
// changes after.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("models: the embedded common-password list is not gzip: " + err.Error())
	}
	set := make(map[string]struct{}, 50_000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		set[sc.Text()] = struct{}{}
	}
	if sc.Err() != nil || len(set) == 0 {
		panic("models: the embedded common-password list cannot be read")
	}
	return set
})

// checkPassword applies the policy to a new admin password.
func checkPassword(password string) error {
	if len(password) < MinPasswordLen {
		return ErrWeakPassword
	}
	if isCommonPassword(password) {
		return ErrCommonPassword
	}
	return nil
}

// isCommonPassword reports whether a password, in any case, is on the
// list, or is a listed one with digits, symbols and spaces before or after
// it ("Password2024!"), or a listed one repeated ("qwertyqwerty").
func isCommonPassword(password string) bool {
	set := commonPasswords()
	p := strings.ToLower(password)
	if _, ok := set[p]; ok {
		return true
	}
	core := strings.TrimFunc(p, func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	if _, ok := set[core]; ok && core != "" {
		return true
	}
	for n := 1; n <= len(p)/2; n++ {
		if len(p)%n == 0 && strings.Repeat(p[:n], len(p)/n) == p {
			_, ok := set[p[:n]]
			return ok || n <= 2 // one or two characters repeated: "aaaaaaaaaaaa"
		}
	}
	return false
}

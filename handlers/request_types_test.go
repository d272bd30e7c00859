package handlers_test

import (
	"strings"
	"testing"

	"roster/web/webtest"
)

// A parameter of the wrong type, or a boolean with an unknown value,
// answers BADREQUEST naming the parameter, instead of being stored as the
// object's JSON text or read as false.
func TestWrongTypeParameters(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	for _, c := range []struct {
		params map[string]any
		name   string
	}{
		{map[string]any{"op": "profile", "token": alice, "name": map[string]any{"a": 1}}, "name"},
		{map[string]any{"op": "profile", "token": alice, "status": []any{[]any{"x"}}}, "status"},
		{map[string]any{"op": "profile", "token": alice, "announce": "maybe"}, "announce"},
		{map[string]any{"op": "profile", "token": alice, "announce": map[string]any{}}, "announce"},
		{map[string]any{"op": "getcontacts", "token": alice, "reset": "sometimes"}, "reset"},
		{map[string]any{"op": "login", "appid": "a", "phone": map[string]any{"n": alicePhone}}, "phone"},
	} {
		r := e.JSON(c.params)
		r.ExpectFail(t, "BADREQUEST")
		if !strings.Contains(r.String("errmsg"), `"`+c.name+`"`) {
			t.Errorf("%v: errmsg %q does not name %s", c.params, r.String("errmsg"), c.name)
		}
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE name LIKE '%{%'"); n != 0 {
		t.Error("an object was stored as a name")
	}
	// Query strings are checked the same way; the accepted spellings still work.
	e.Query(map[string]string{"op": "profile", "token": alice, "announce": "perhaps"}).ExpectFail(t, "BADREQUEST")
	for _, v := range []any{"1", "0", "yes", "off", true, false, 1} {
		e.JSON(map[string]any{"op": "profile", "token": alice, "announce": v}).ExpectOK(t)
	}
	// An unknown parameter may hold anything: it is not read.
	e.JSON(map[string]any{"op": "profile", "token": alice, "extra": map[string]any{"a": 1}}).ExpectOK(t)
}

package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"roster/web/webtest"
)

// A push token that is not UTF-8 is refused in the envelope; a device type
// that is not is stored with U+FFFD for its bytes, as at the sign-in. Both
// databases answer alike (PostgreSQL refuses text that is not UTF-8).
func TestSetNotifyTextThatIsNotUTF8(t *testing.T) {
	setNotify := func(query string) func(t testing.TB, e *webtest.Env) *http.Request {
		return func(t testing.TB, e *webtest.Env) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/api.php?op=setnotify&token="+e.SignIn(webtest.USPhone, "d")+"&"+query, nil)
		}
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "push token", Request: setNotify("notifytoken=abc%ff"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}},
		{Name: "FCM id", Request: setNotify("notifytoken=abc&fcmid=%fe"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}},
		{Name: "push token with a NUL", Request: setNotify("notifytoken=push%00"),
			ExpectedFields: map[string]any{"result": "FAIL", "error": "BADREQUEST"}},
		{Name: "device type with a NUL", Request: setNotify("notifytoken=abc&dt=1%00"),
			ExpectedFields: map[string]any{"result": "OK"},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = 'abc' AND device_type = ?", "1\uFFFD"); n != 1 {
					t.Error("the device type is not stored with U+FFFD for its control character")
				}
			}},
		{Name: "device type", Request: setNotify("notifytoken=abc&dt=%ff1"),
			ExpectedFields: map[string]any{"result": "OK"},
			After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if n := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = 'abc' AND device_type = ?", "\uFFFD1"); n != 1 {
					t.Error("the device type is not stored with U+FFFD for its byte")
				}
			}},
	})
}

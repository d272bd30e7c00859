package webtest

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
)

// Multipart posts params and one file as multipart/form-data to /api.php,
// as clients do for `upload` and `profile` with a photo. An empty fileField
// sends no file.
func (e *Env) Multipart(params map[string]string, fileField, fileName string, data []byte) *Response {
	e.T.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range params {
		if err := w.WriteField(k, v); err != nil {
			e.T.Fatal(err)
		}
	}
	if fileField != "" {
		f, err := w.CreateFormFile(fileField, fileName)
		if err != nil {
			e.T.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			e.T.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		e.T.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/api.php", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return e.Do(req)
}

package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"roster/models"
	"roster/models/dbcopy"
	"roster/models/pgtest"
	"roster/models/s3test"
	"roster/web"
	"roster/web/webtest"
)

// A SQLite deployment copied into PostgreSQL: interrupted, resumed, every
// row compared; then a server on the copy, given the printed keys, knows
// the old tokens and matches the stored address books.
func TestCopyToPostgres(t *testing.T) {
	webtest.SQLiteOnly(t, "copies a SQLite deployment (the destination is PostgreSQL)")
	src := webtest.NewPeople(t)
	alice := src.SignIn(webtest.USPhone, "a")
	bob := "12015550124"
	src.SignIn(bob, "b")
	src.SetProfile(t, alice, map[string]any{"name": "Alice", "status": "copying"})
	src.GetContacts(t, alice, map[string]any{"phones": "+" + bob + ",+12015550199"})
	photo := src.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", smallPNG(t))
	photo.ExpectOK(t)
	photoName := photo.String("photo")
	stored := src.Do(httptest.NewRequest(http.MethodGet, "/files/"+photoName, nil))
	// A stopped deployment is copied (the copy refuses a served one).
	if err := src.Server.Close(); err != nil {
		t.Fatal(err)
	}
	to := pgtest.Fresh(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Interrupted after the first table, as Ctrl-C would.
	ctx, cancel := context.WithCancel(t.Context())
	sqlite, err := models.Open(t.Context(), src.DataDir+"/roster.db", log)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	pg, err := models.OpenPostgres(t.Context(), to, models.PostgresPool{MaxOpen: 2, MaxIdle: 2}, log)
	if err != nil {
		t.Fatal(err)
	}
	err = dbcopy.ToPostgres(ctx, sqlite, pg, "interrupted", func(dbcopy.Progress) { cancel() })
	pg.Close()
	if err == nil {
		t.Fatal("the interrupted copy reported success")
	}
	// Another source is refused while that copy is unfinished.
	var out bytes.Buffer
	if err := web.CopyCommand(t.Context(), []string{"--data-dir", src.DataDir, "--to", to}, noEnv, &out, log); err == nil ||
		!strings.Contains(err.Error(), "unfinished copy of interrupted") {
		t.Fatalf("a copy from another source over an unfinished one: %v", err)
	}
	// The command itself resumes a copy it started.
	to2 := pgtest.Fresh(t)
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := web.CopyCommand(ctx2, []string{"--data-dir", src.DataDir, "--to", to2}, noEnv, &out, log); err == nil {
		t.Fatal("a cancelled copy reported success")
	}
	out.Reset()
	// The resumed copy also moves the files into a bucket.
	bucket := webtest.NewFakeS3(t)
	toBucket := []string{"--files-to", "s3://" + bucket.Bucket + "/moved", "--s3-endpoint", bucket.URL, "--s3-region", "us-east-1", "--s3-path-style"}
	if err := web.CopyCommand(t.Context(), append([]string{"--data-dir", src.DataDir, "--to", to2}, toBucket...), s3Keys, &out, log); err != nil {
		t.Fatalf("resumed copy: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "files: 1 copied") {
		t.Errorf("files copied:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "compared row by row") || !strings.Contains(out.String(), "copy users: 2 of 2") {
		t.Errorf("copy output:\n%s", out.String())
	}
	// Copying again into the finished copy is refused: it is not empty.
	if err := web.CopyCommand(t.Context(), []string{"--data-dir", src.DataDir, "--to", to2}, noEnv, io.Discard, log); err == nil ||
		!strings.Contains(err.Error(), "not empty") {
		t.Errorf("copy into a finished copy: %v", err)
	}

	// The name-search grams, made in bulk on the destination, are those
	// SQLite's triggers made.
	var grams [2]int64
	if err := sqlite.Read.Raw("SELECT COUNT(*) FROM user_name_grams").Scan(&grams[0]).Error; err != nil {
		t.Fatal(err)
	}

	// A server on the copy, with the keys the command printed.
	env := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "ROSTER_") {
			env[k] = v
		}
	}
	if !strings.HasPrefix(env["ROSTER_CONTACTS_KEY"], "hex:") || !strings.HasPrefix(env["ROSTER_OTP_KEY"], "hex:") {
		t.Fatalf("keys printed: %v", env)
	}
	copied, err := models.OpenPostgres(t.Context(), to2, models.PostgresPool{MaxOpen: 4, MaxIdle: 4}, log)
	if err != nil {
		t.Fatal(err)
	}
	dst := webtest.New(t, webtest.WithArgs(bucket.Args("moved")...), func(_ *web.Config, o *web.Options) {
		o.Database = copied
		o.Getenv = func(k string) string {
			if v := s3Keys(k); v != "" {
				return v
			}
			return env[k]
		}
	})
	if got := dst.Do(httptest.NewRequest(http.MethodGet, "/files/"+photoName, nil)); got.Status != http.StatusOK ||
		!bytes.Equal(got.Body, stored.Body) || stored.Status != http.StatusOK {
		t.Errorf("the photo from the bucket: %d (%d bytes), from the data directory: %d (%d bytes)",
			got.Status, len(got.Body), stored.Status, len(stored.Body))
	}
	if err := copied.Read.Raw("SELECT COUNT(*) FROM user_name_grams").Scan(&grams[1]).Error; err != nil || grams[0] == 0 || grams[0] != grams[1] {
		t.Errorf("name-search grams: SQLite %d, the copy %d (%v)", grams[0], grams[1], err)
	}
	got := dst.GetContacts(t, alice, map[string]any{"ts": 0})
	if len(got.Contacts) != 1 || got.Contacts[0].Phone != bob {
		t.Errorf("the copy's delta sync for the old token: %+v", got.Contacts)
	}
	if got := dst.GetContacts(t, alice, map[string]any{"phones": "+" + bob}); len(got.Contacts) != 1 {
		t.Errorf("the copy's re-sync: %+v", got.Contacts)
	}
}

func noEnv(string) string { return "" }

// s3Keys gives the fake store's keys as AWS_* variables.
func s3Keys(k string) string {
	return map[string]string{web.EnvAWSAccessKeyID: s3test.KeyID, web.EnvAWSSecretAccessKey: s3test.Secret}[k]
}

// smallPNG is a photo to upload.
func smallPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

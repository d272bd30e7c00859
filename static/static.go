// Package static holds the dashboard's CSS, scripts and icon, embedded in
// the binary so that Roster is one file to deploy.
package static

import "embed"

// Files are the static assets, served under /static/.
//
//go:embed *.css *.js *.svg
var Files embed.FS

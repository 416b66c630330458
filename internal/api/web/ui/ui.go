// Package ui holds the dashboard's assets — one HTML page, a style sheet and a script
// with no dependencies — embedded in the binary, so the dashboard needs no build step,
// no CDN and no files beside govs.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Handler serves the dashboard: index.html at /, the other assets by name.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.FileServerFS(sub)
}

// Package web is TaskFlow's web app (UI.md): a static client of the public
// API, written as plain ES modules and CSS with no build step, embedded in
// the binary and served from TaskFlow's own origin. The function holds no
// database and no keys: the browser reaches /api/... through the gateway
// with its session cookie, like any other client.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
)

//go:embed static
var static embed.FS

// Config is the web function's environment: only the harness's own
// settings, since it needs no database and verifies no tokens.
type Config struct {
	fn.Base
}

// AssetPrefix is where the assets are served; the gateway routes it and "/"
// to this function.
const AssetPrefix = "/assets/"

// Function serves the app shell at "/" and the assets under AssetPrefix.
func Function(_ context.Context, _ *Config, _ *fn.Deps) (*fn.Function, error) {
	h, err := New()
	if err != nil {
		return nil, err
	}
	return &fn.Function{Handlers: map[string]http.Handler{
		"GET /{$}":           http.HandlerFunc(h.index),
		"GET " + AssetPrefix: http.HandlerFunc(h.asset),
	}}, nil
}

// CSP allows this origin only: no inline script or style, no other origin
// for anything, no framing, no plugins.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// file is one asset, kept as is and gzipped, with its ETag.
type file struct {
	body, gz []byte
	etag     string
	ctype    string
}

// Handler serves the embedded files. Assets live under a path that names
// the build (AssetPrefix + version + "/"), so they are cached for a year and
// a new build is fetched at once; the page itself is revalidated each time.
type Handler struct {
	version string
	page    *file
	files   map[string]*file // by path below static/
}

// New reads and compresses every embedded file once.
func New() (*Handler, error) {
	h := &Handler{files: map[string]*file{}}
	sum := sha256.New()
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "static/")
		fmt.Fprintf(sum, "%s\x00%d\x00", rel, len(b))
		sum.Write(b)
		if rel != "index.html" {
			h.files[rel] = newFile(rel, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	page = bytes.ReplaceAll(page, []byte("{{ASSETS}}"), []byte(AssetPrefix+h.version))
	h.page = newFile("index.html", page)
	return h, nil
}

// Version names the current build in asset paths.
func (h *Handler) Version() string { return h.version }

func newFile(name string, b []byte) *file {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	sum := sha256.Sum256(b)
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // not left to the host's mime tables
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".txt":
		ctype = "text/plain; charset=utf-8"
	}
	return &file{body: b, gz: gz.Bytes(), etag: hex.EncodeToString(sum[:8]), ctype: ctype}
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	serve(w, r, h.page)
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, AssetPrefix)
	version, name, ok := strings.Cut(rest, "/")
	f := h.files[name]
	if !ok || f == nil {
		security(w.Header())
		fn.WriteError(w, r, nil, errs.ErrNotFound)
		return
	}
	if version == h.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// A page of another build (a rolling update): answer, but do not
		// let this answer stand for that build's file.
		w.Header().Set("Cache-Control", "no-cache")
	}
	serve(w, r, f)
}

// serve answers f, gzipped when the client takes it, or 304 when the
// client's copy is current.
func serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	security(hd)
	hd.Set("Content-Type", f.ctype)
	hd.Add("Vary", "Accept-Encoding")
	body, etag := f.body, `"`+f.etag+`"`
	if acceptsGzip(r) {
		body, etag = f.gz, `"`+f.etag+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// security sets the headers every answer of the app carries.
func security(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

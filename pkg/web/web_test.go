package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/taskflow/taskflow/pkg/fn"
)

func server(t *testing.T) (*Handler, *httptest.Server) {
	t.Helper()
	f, err := Function(t.Context(), &Config{}, &fn.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	m := fn.NewMux(nil)
	for p, hd := range f.Handlers {
		m.Handle(p, hd)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	h, _ := New()
	return h, srv
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// No transparent decompression: the test sees what the browser gets.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestServesThePageAndAssets(t *testing.T) {
	h, srv := server(t)
	res, page := get(t, srv.URL+"/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for name, want := range map[string]string{"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-cache", "X-Frame-Options": "DENY"} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(CSP, "default-src 'self'") || strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP %q", CSP)
	}
	// Every asset the page names is served from the versioned path, cached for good.
	refs := regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 5 {
		t.Fatalf("page names %d assets", len(refs))
	}
	for _, r := range refs {
		if !strings.HasPrefix(r[1], AssetPrefix+h.Version()+"/") {
			t.Errorf("%s is not under this build's path", r[1])
		}
		res, _ := get(t, srv.URL+r[1])
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q", r[1], res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
	res, _ = get(t, srv.URL+AssetPrefix+h.Version()+"/js/app.js")
	if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("app.js Content-Type %q", ct)
	}
	res, _ = get(t, srv.URL+AssetPrefix+"0ld/js/app.js")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("another build's path: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	for _, p := range []string{AssetPrefix + h.Version() + "/nope.js", AssetPrefix + "app.css", "/index.html"} {
		if res, _ := get(t, srv.URL+p); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := get(t, srv.URL+AssetPrefix+h.Version()+"/../web.go"); res.StatusCode == 200 {
		t.Error("a path outside the assets was served")
	}
}

func TestGzipAndETags(t *testing.T) {
	h, srv := server(t)
	url := srv.URL + AssetPrefix + h.Version() + "/js/tasks.js"
	plain, body := get(t, url)
	zipped, zbody := get(t, url, "Accept-Encoding", "br, gzip;q=0.8")
	if plain.Header.Get("Content-Encoding") != "" || zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("encodings %q %q", plain.Header.Get("Content-Encoding"), zipped.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zbody))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, body) || len(zbody) >= len(body) {
		t.Errorf("gzip body: %d bytes for %d", len(zbody), len(body))
	}
	if !strings.Contains(zipped.Header.Get("Vary"), "Accept-Encoding") || plain.Header.Get("ETag") == zipped.Header.Get("ETag") {
		t.Errorf("Vary %q, ETags %q %q", zipped.Header.Get("Vary"), plain.Header.Get("ETag"), zipped.Header.Get("ETag"))
	}
	res, b := get(t, url, "Accept-Encoding", "gzip", "If-None-Match", zipped.Header.Get("ETag"))
	if res.StatusCode != 304 || len(b) != 0 {
		t.Errorf("revalidation: %d with %d bytes", res.StatusCode, len(b))
	}
	res, _ = get(t, srv.URL+"/", "If-None-Match", `"stale"`)
	if res.StatusCode != 200 {
		t.Errorf("stale ETag: %d", res.StatusCode)
	}
	if res, _ := get(t, url, "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refuses it")
	}
}

// TestFirstLoadBudget: everything the first page load fetches, compressed,
// stays under 100 KB.
func TestFirstLoadBudget(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	total := len(h.page.gz)
	for _, f := range h.files {
		total += len(f.gz)
	}
	t.Logf("first load: %d bytes gzipped", total)
	if total > 100*1024 {
		t.Errorf("first load is %d bytes compressed, over 100 KB", total)
	}
}

// TestNoInlineCode: the CSP forbids inline scripts, styles and handlers, so
// none may be written; data reaches the page only through DOM text APIs.
func TestNoInlineCode(t *testing.T) {
	_ = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := static.ReadFile(p)
		s := string(b)
		switch {
		case strings.HasSuffix(p, ".html"):
			for _, tag := range regexp.MustCompile(`<script[^>]*>\s*[^<\s]?`).FindAllString(s, -1) {
				if !strings.Contains(tag, " src=") || !strings.HasSuffix(tag, ">") {
					t.Errorf("%s: inline script %q", p, tag)
				}
			}
			for _, bad := range []*regexp.Regexp{regexp.MustCompile(`\sstyle=`),
				regexp.MustCompile(`<style`), regexp.MustCompile(`\son[a-z]+=`), regexp.MustCompile(`https?://`)} {
				if bad.MatchString(s) {
					t.Errorf("%s: inline code or another origin (%s)", p, bad)
				}
			}
		case strings.HasSuffix(p, ".js"):
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
				"new Function", "setAttribute('style'", "http://", "https://"} {
				if strings.Contains(s, bad) {
					t.Errorf("%s uses %s", p, bad)
				}
			}
		}
		return nil
	})
}

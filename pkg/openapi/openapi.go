// Package openapi holds TaskFlow's OpenAPI 3.1 document of the REST API,
// written in openapi.yaml and served as JSON at /api/openapi.json. Its test
// checks it against the routes the functions really serve and the bodies they
// really return.
package openapi

import (
	_ "embed"
	"net/http"
	"sync"

	"sigs.k8s.io/yaml"
)

//go:embed openapi.yaml
var source []byte

// Path is where the document is served.
const Path = "/api/openapi.json"

var (
	once sync.Once
	doc  []byte
	err  error
)

// JSON is the document as JSON.
func JSON() ([]byte, error) {
	once.Do(func() { doc, err = yaml.YAMLToJSON(source) })
	return doc, err
}

// Handler serves the document (GET and HEAD; no authentication).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"error":{"code":"method_not_allowed","message":"method not allowed on this path"}}` + "\n"))
			return
		}
		b, err := JSON()
		if err != nil {
			http.Error(w, "openapi document unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}

// Package openapi holds TaskFlow's OpenAPI 3.1 document of the REST API,
// written in openapi.yaml and served as JSON at /api/openapi.json. Its test
// checks it against the routes the functions really serve and the bodies they
// really return.
package openapi

import (
	_ "embed"
	"github.com/taskflow/taskflow/pkg/fn"
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

// Handler serves the document, without authentication (the gateway routes
// GET and HEAD here; other methods get its 405).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := JSON()
		if err != nil {
			fn.WriteError(w, r, nil, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}

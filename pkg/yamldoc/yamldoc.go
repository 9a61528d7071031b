// Package yamldoc reads multi-document YAML files (Kubernetes manifests):
// the local stack, the Broker, and the manifest tests all read them alike.
package yamldoc

import (
	"os"
	"path/filepath"
	"strings"
)

// Doc is one document of a file, as written.
type Doc struct {
	File string
	Raw  []byte
}

// Glob returns every document of the files matching pattern, file by file
// in name order; a file with no "---" separator is one document.
func Glob(pattern string) ([]Doc, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []Doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, part := range strings.Split(string(data), "\n---") {
			out = append(out, Doc{File: f, Raw: []byte(part)})
		}
	}
	return out, nil
}

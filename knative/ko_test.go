package knative

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/taskflow/taskflow/pkg/devstack"
)

// koVersion is the ko release the images are built with.
const koVersion = "github.com/google/ko@v0.19.1"

// writeBase writes an empty linux/amd64 image, running as the distroless
// non-root user, into an OCI layout at dir/img (ko's KOCACHE) and returns its
// digest, so that ko finds the base there and never goes to a registry.
func writeBase(t *testing.T, dir string) string {
	t.Helper()
	blobs := filepath.Join(dir, "img", "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(v any) (string, int) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(blobs, h), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return "sha256:" + h, len(b)
	}
	cfgDigest, cfgSize := put(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"User": "65532:65532", "Env": []string{"PATH=/usr/local/bin:/usr/bin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{}},
	})
	manDigest, manSize := put(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgDigest, "size": cfgSize},
		"layers": []any{},
	})
	index := map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manDigest, "size": manSize}}}
	b, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(dir, "img", "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "img", "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return manDigest
}

// ko runs the pinned ko with the offline base; it prints what ko printed on failure.
func ko(t *testing.T, cache, base string, args ...string) string {
	t.Helper()
	bin := os.Getenv("TASKFLOW_KO")
	cmd := exec.Command("go", append([]string{"run", koVersion}, args...)...)
	if bin != "" {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "KOCACHE="+cache, "KO_DEFAULTBASEIMAGE=registry.invalid/taskflow/base@"+base,
		"KO_DOCKER_REPO=registry.invalid/taskflow", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ko %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// TestKoBuildsEveryFunctionOffline builds the image of every Service with
// ko, against a base pinned by digest in ko's cache, and resolves the
// manifests: each ko:// reference becomes a digest-pinned image.
func TestKoBuildsEveryFunctionOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every image")
	}
	cache := t.TempDir()
	base := writeBase(t, cache)
	svcs, err := devstack.Services(".")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "--push=false", "--bare"}
	for _, s := range svcs {
		args = append(args, s.Package)
	}
	built := strings.Fields(ko(t, cache, base, args...))
	if len(built) != len(svcs) {
		t.Fatalf("ko built %d images for %d services: %v", len(built), len(svcs), built)
	}
	for _, ref := range built {
		if !strings.Contains(ref, "@sha256:") {
			t.Errorf("image %s is not pinned by digest", ref)
		}
	}
	resolved := ko(t, cache, base, "resolve", "--push=false", "--bare", "-f", "knative/")
	if strings.Contains(resolved, "ko://") || strings.Count(resolved, "@sha256:") < len(svcs) {
		t.Errorf("resolve left ko:// references or unpinned images:\n%s", resolved)
	}
}

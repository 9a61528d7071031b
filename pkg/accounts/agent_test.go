package accounts

import (
	"strings"
	"testing"
)

// TestSignInWithLongNonASCIIUserAgent: a browser whose User-Agent is longer
// than what the session keeps, with a multi-byte character where it is cut,
// still signs in: the stored agent is cut on a character boundary.
func TestSignInWithLongNonASCIIUserAgent(t *testing.T) {
	e := newEnv(t)
	if up := e.signUp("ua@example.com", goodPassword); up.code != 200 {
		t.Fatalf("sign-up: %d %s", up.code, up.body)
	}
	// Each sign-in also stores its agent; the session keeps what fits.
	for _, agent := range []string{strings.Repeat("a", 511) + "é tail", "Mozilla/5.0 \xff\xfe", "Mozilla\x7f"} {
		in := e.do(req{method: "POST", path: "/api/auth/sign-in/email", header: map[string]string{"User-Agent": agent},
			body: `{"email":"ua@example.com","password":"` + goodPassword + `"}`})
		if in.code != 200 {
			t.Errorf("sign-in with User-Agent %q: %d %s", agent, in.code, in.body)
		}
	}
}

func TestStorableAgent(t *testing.T) {
	long := strings.Repeat("a", 511) + "é"
	if got := storableAgent(long); got != strings.Repeat("a", 511) {
		t.Errorf("cut: %q", got)
	}
	if got := storableAgent("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Errorf("cleaned: %q", got)
	}
}

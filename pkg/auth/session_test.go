package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSessionCookieNameFollowsScheme: over HTTPS only the __Secure- cookie
// is the session; the unprefixed one, which anyone able to set a cookie for
// the host can plant (cookie tossing), is not looked at. Over plain HTTP
// the unprefixed one is.
func TestSessionCookieNameFollowsScheme(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	planted := SignSessionToken(secret, "attackers-session")
	req := func(proto string, cookies ...*http.Cookie) *http.Request {
		r := httptest.NewRequest("GET", "/api/tasks", nil)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	plain := &http.Cookie{Name: SessionCookie, Value: planted}
	if tok, present, _ := SessionToken(req("https", plain), secret); present || tok != "" {
		t.Errorf("over HTTPS the unprefixed cookie counted: %q", tok)
	}
	if tok, _, ok := SessionToken(req("", plain), secret); !ok || tok != "attackers-session" {
		t.Errorf("over HTTP the cookie did not count: %q %v", tok, ok)
	}
	secure := &http.Cookie{Name: SecureSessionCookie, Value: SignSessionToken(secret, "mine")}
	if tok, _, ok := SessionToken(req("https", plain, secure), secret); !ok || tok != "mine" {
		t.Errorf("over HTTPS the __Secure- cookie: %q %v", tok, ok)
	}
}

package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Better Auth's session cookie: its name, and the name it takes when served
// over HTTPS (the __Secure- prefix makes browsers refuse it without Secure).
const (
	SessionCookie       = "better-auth.session_token"
	SecureSessionCookie = "__Secure-" + SessionCookie
)

// SignSessionToken is the session cookie's value for token, signed as Better
// Auth (better-call's signCookieValue) signs it: the token, a dot and the
// standard base64 of HMAC-SHA256(secret, token), URL-encoded.
func SignSessionToken(secret []byte, token string) string {
	return url.QueryEscape(token + "." + sessionSignature(secret, token))
}

func sessionSignature(secret []byte, token string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(token))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SessionToken is the session token of r's session cookie: present is false
// when r carries none; ok is false when one is present but its signature is
// not secret's (tampered with, or signed by another deployment).
//
// Over HTTPS only the __Secure- cookie counts, as the accounts set it there
// and as Better Auth reads it: a cookie without the prefix may have been
// set by anyone who can set a cookie for the host (a sibling subdomain, a
// plain-HTTP answer), and would sign the browser into their session.
func SessionToken(r *http.Request, secret []byte) (token string, present, ok bool) {
	name := SessionCookie
	if Secure(r) {
		name = SecureSessionCookie
	}
	c, err := r.Cookie(name)
	if err != nil {
		return "", false, false
	}
	raw, err := url.QueryUnescape(c.Value)
	if err != nil || len(secret) == 0 {
		return "", true, false
	}
	i := strings.LastIndexByte(raw, '.')
	if i <= 0 {
		return "", true, false
	}
	token, sig := raw[:i], raw[i+1:]
	if !hmac.Equal([]byte(sig), []byte(sessionSignature(secret, token))) {
		return "", true, false
	}
	return token, true, true
}

// HashSessionToken is what the store keeps of a session token.
func HashSessionToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Origin is TaskFlow's own origin for r: the origin of the configured base
// URL, else the one r was sent to (its Host, over HTTPS when the request came
// over TLS or X-Forwarded-Proto says https).
func (c Config) Origin(r *http.Request) string {
	if u, err := url.Parse(c.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	scheme := "http"
	if Secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// BaseURLFor is TaskFlow's base URL for r: the configured one without a
// trailing slash, else Origin(r).
func (c Config) BaseURLFor(r *http.Request) string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return c.Origin(r)
}

// Secure reports whether r reached TaskFlow over HTTPS: directly, or through
// a proxy that says so in X-Forwarded-Proto.
func Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

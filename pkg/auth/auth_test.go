package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/errs"
)

const secret = "0123456789abcdef0123456789abcdef"

func hs(t *testing.T, key string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func valid() jwt.MapClaims {
	return jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
}

func TestRefusesShortSecretAndNoKeys(t *testing.T) {
	if _, err := auth.NewVerifier(context.Background(), auth.Config{Secret: "short"}); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	if _, err := auth.NewVerifier(context.Background(), auth.Config{}); err == nil {
		t.Error("no keys accepted")
	}
}

func TestHS256(t *testing.T) {
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if user, err := v.Verify(hs(t, secret, valid())); err != nil || user != "alice" {
		t.Fatalf("valid token: %q %v", user, err)
	}
	tok, _ := auth.Sign([]byte(secret), "bob", time.Now(), time.Minute)
	if user, err := v.Verify("bearer " + tok); err != nil || user != "bob" {
		t.Errorf("Sign's token or lower-case scheme refused: %v", err)
	}
	noExp := valid()
	delete(noExp, "exp")
	expired := valid()
	expired["exp"] = time.Now().Add(-2 * time.Minute).Unix()
	withinLeeway := valid()
	withinLeeway["exp"] = time.Now().Add(-30 * time.Second).Unix()
	future := valid()
	future["nbf"] = time.Now().Add(5 * time.Minute).Unix()
	noSub := valid()
	delete(noSub, "sub")
	longSub := valid()
	longSub["sub"] = strings.Repeat("a", 300)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, valid())
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	bad := map[string]string{
		"missing":        "",
		"no scheme":      strings.TrimPrefix(hs(t, secret, valid()), "Bearer "),
		"basic":          "Basic YWxpY2U6cHc=",
		"two parts":      "Bearer a.b",
		"garbage":        "Bearer !!!.###.$$$",
		"wrong secret":   hs(t, "another-secret-another-secret-xx", valid()),
		"expired":        hs(t, secret, expired),
		"no exp":         hs(t, secret, noExp),
		"not yet valid":  hs(t, secret, future),
		"no sub":         hs(t, secret, noSub),
		"long sub":       hs(t, secret, longSub),
		"alg none":       "Bearer " + noneTok,
		"oversized":      "Bearer " + strings.Repeat("a", 9000) + ".b.c",
		"tampered claim": tamper(hs(t, secret, valid())),
	}
	for name, h := range bad {
		if _, err := v.Verify(h); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("%s: accepted or wrong error: %v", name, err)
		}
	}
	if _, err := v.Verify(hs(t, secret, withinLeeway)); err != nil {
		t.Errorf("expired 30 s ago is within the 60 s leeway: %v", err)
	}
}

// tamper swaps the payload for one naming another user, keeping the signature.
func tamper(h string) string {
	parts := strings.Split(strings.TrimPrefix(h, "Bearer "), ".")
	p, _ := json.Marshal(map[string]any{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()})
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return "Bearer " + strings.Join(parts, ".")
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestJWKSAndAlgorithmConfusion(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := []jwk{
		{Kty: "RSA", Kid: "rsa", Alg: "RS256", Use: "sig", N: b64(rsaKey.N.Bytes()), E: b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{Kty: "EC", Kid: "ec", Alg: "ES256", Use: "sig", Crv: "P-256", X: b64(ecKey.X.FillBytes(make([]byte, 32))), Y: b64(ecKey.Y.FillBytes(make([]byte, 32)))},
		{Kty: "OKP", Kid: "ed", Alg: "EdDSA", Use: "sig", Crv: "Ed25519", X: b64(edPub)},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := auth.NewVerifier(ctx, auth.Config{Secret: secret, JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, kid string, key any) string {
		tk := jwt.NewWithClaims(m, valid())
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	for name, h := range map[string]string{
		"RS256": sign(jwt.SigningMethodRS256, "rsa", rsaKey),
		"ES256": sign(jwt.SigningMethodES256, "ec", ecKey),
		"EdDSA": sign(jwt.SigningMethodEdDSA, "ed", edKey),
	} {
		if user, err := v.Verify(h); err != nil || user != "alice" {
			t.Errorf("%s: %q %v", name, user, err)
		}
	}
	// HS/RS confusion: an HS256 token "signed" with the RSA public key must fail.
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	confused := jwt.NewWithClaims(jwt.SigningMethodHS256, valid())
	confused.Header["kid"] = "rsa"
	ctok, _ := confused.SignedString(pubDER)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, h := range map[string]string{
		"HS256 with the RSA public key": "Bearer " + ctok,
		"RS256 with the ec kid":         sign(jwt.SigningMethodRS256, "ec", rsaKey),
		"RS256 by an unknown key":       sign(jwt.SigningMethodRS256, "rsa", otherRSA),
		"RS512 not allowed":             sign(jwt.SigningMethodRS512, "rsa", rsaKey),
		"unknown kid":                   sign(jwt.SigningMethodRS256, "nope", rsaKey),
	} {
		if _, err := v.Verify(h); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("%s: accepted: %v", name, err)
		}
	}
	// Without a secret configured, HS256 is refused outright.
	v2, err := auth.NewVerifier(ctx, auth.Config{JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(hs(t, secret, valid())); err == nil {
		t.Error("HS256 accepted with only a JWKS configured")
	}
}

func BenchmarkVerifyHS256(b *testing.B) {
	v, _ := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	tok, _ := auth.Sign([]byte(secret), "alice", time.Now(), time.Hour)
	h := "Bearer " + tok
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(h); err != nil {
			b.Fatal(err)
		}
	}
}

// jwksServer publishes one Ed25519 key under kid and returns the server and
// the private key.
func jwksServer(t *testing.T, kid string) (*httptest.Server, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []jwk{{Kty: "OKP", Kid: kid, Alg: "EdDSA", Use: "sig", Crv: "Ed25519", X: b64(pub)}}})
	}))
	t.Cleanup(srv.Close)
	return srv, priv
}

// TestJWKSIssuerBinding: with TaskFlow's accounts JWKS bound to its issuer
// and another provider's JWKS beside it, a key verifies only tokens of its
// own issuer: the other provider cannot sign a token that passes for one of
// TaskFlow's, and TaskFlow's keys only vouch for TaskFlow's issuer. A plain
// URL keeps accepting its tokens whatever their iss; HS256 is unchanged.
func TestJWKSIssuerBinding(t *testing.T) {
	const base = "https://tasks.example"
	own, ownKey := jwksServer(t, "own")
	ext, extKey := jwksServer(t, "ext")
	bound, boundKey := jwksServer(t, "bound")
	v, err := auth.NewVerifier(t.Context(), auth.Config{Secret: secret,
		JWKSURL: base + "=" + own.URL + ", " + ext.URL + ",https://idp.example=" + bound.URL})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(kid string, key ed25519.PrivateKey, iss string) string {
		c := valid()
		if iss != "" {
			c["iss"] = iss
		}
		tk := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		if kid != "" {
			tk.Header["kid"] = kid
		}
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	for name, h := range map[string]string{
		"own key, own issuer":          sign("own", ownKey, base),
		"plain JWKS, its issuer":       sign("ext", extKey, "https://other.example"),
		"plain JWKS, no iss":           sign("ext", extKey, ""),
		"bound JWKS, its issuer":       sign("bound", boundKey, "https://idp.example"),
		"HS256 without iss":            hs(t, secret, valid()),
		"plain JWKS without kid":       sign("", extKey, "x"),
		"own key without kid, own iss": sign("", ownKey, base),
	} {
		if user, err := v.Verify(h); err != nil || user != "alice" {
			t.Errorf("%s: %q %v", name, user, err)
		}
	}
	for name, h := range map[string]string{
		"plain JWKS claiming TaskFlow's issuer":  sign("ext", extKey, base),
		"plain JWKS without kid, TaskFlow's iss": sign("", extKey, base),
		"bound JWKS claiming TaskFlow's issuer":  sign("bound", boundKey, base),
		"own key, another issuer":                sign("own", ownKey, "https://other.example"),
		"own key, no iss":                        sign("own", ownKey, ""),
		"other key under own kid":                sign("own", extKey, base),
	} {
		if _, err := v.Verify(h); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Errorf("%s: accepted: %v", name, err)
		}
	}
}

func TestJWKSURLs(t *testing.T) {
	got := auth.Config{JWKSURL: " https://a/jwks , https://t.example=http://accounts/api/auth/jwks,https://b/jwks?x=y,"}.JWKSURLs()
	want := []auth.JWKS{{URL: "https://a/jwks"}, {Issuer: "https://t.example", URL: "http://accounts/api/auth/jwks"}, {URL: "https://b/jwks?x=y"}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

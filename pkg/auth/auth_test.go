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

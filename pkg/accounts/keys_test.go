package accounts

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
)

func (e *env) jwksKids() []string {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/api/auth/jwks"})
	var set struct{ Keys []JWK }
	if err := json.Unmarshal(r.body, &set); err != nil || r.code != 200 {
		e.t.Fatalf("jwks: %d %s", r.code, r.body)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || len(k.X) != 43 {
			e.t.Fatalf("jwk %+v", k)
		}
		kids = append(kids, k.Kid)
	}
	return kids
}

func (e *env) tokenFor(cookie string) string {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/api/auth/token", cookie: cookie})
	tok, _ := r.json(e.t)["token"].(string)
	if r.code != 200 || tok == "" {
		e.t.Fatalf("token: %d %s", r.code, r.body)
	}
	return tok
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.Header["kid"].(string)
	return kid
}

// TestTokenVerifiesAgainstJWKS: the token of GET /api/auth/token is accepted
// by the verifier every function uses, reading the accounts JWKS over HTTP,
// with its claims as API.md says; without a session there is no token.
func TestTokenVerifiesAgainstJWKS(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	// Every function starts before the accounts JWKS has a key, or answers.
	v, err := auth.NewVerifier(t.Context(), auth.Config{JWKSURL: "http://127.0.0.1:1/unreachable," + srv.URL + "/api/auth/jwks"})
	if err != nil {
		t.Fatalf("a verifier must start with an unreachable JWKS: %v", err)
	}
	up := e.signUp("ada@example.com", goodPassword)
	id := up.json(t)["user"].(map[string]any)["id"].(string)
	tok := e.tokenFor(up.cookie())
	user, err := v.Verify("Bearer " + tok)
	if err != nil || user != id {
		t.Fatalf("verify: %q %v", user, err)
	}
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	exp := c.ExpiresAt.Sub(c.IssuedAt.Time)
	if c.Issuer != testOrigin || len(c.Audience) != 1 || c.Audience[0] != testOrigin || exp != 15*time.Minute || c.Email != "ada@example.com" {
		t.Fatalf("claims %+v (lifetime %v)", c, exp)
	}
	if r := e.do(req{method: "GET", path: "/api/auth/token"}); r.code != 401 {
		t.Fatalf("token without a session: %d %s", r.code, r.body)
	}
	// A token signed by another Ed25519 key with the same kid is refused.
	forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c.RegisteredClaims)
	forged.Header["kid"] = kidOf(t, tok)
	_, other, _ := generateKey()
	s, _ := forged.SignedString(other)
	if _, err := v.Verify("Bearer " + s); err == nil {
		t.Fatal("a token of another key was accepted")
	}
}

// TestKeyRotation: past the rotation age a new key signs; the retired one
// stays published until every token it signed has expired, then goes.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	up := e.signUp("ada@example.com", goodPassword)
	first := kidOf(t, e.tokenFor(up.cookie()))
	if kids := e.jwksKids(); len(kids) != 1 || kids[0] != first {
		t.Fatalf("jwks %v, want [%s]", kids, first)
	}
	e.clock.add(30*24*time.Hour + time.Minute)
	in := e.signIn("ada@example.com", goodPassword, "") // the first session has expired by now
	second := kidOf(t, e.tokenFor(in.cookie()))
	if second == first || second == "" {
		t.Fatalf("no rotation: %s then %s", first, second)
	}
	if kids := e.jwksKids(); len(kids) != 2 || kids[0] != second || kids[1] != first {
		t.Fatalf("right after rotation jwks %v, want [%s %s]", kids, second, first)
	}
	e.clock.add(15 * time.Minute) // the last token of the first key expires now; the leeway keeps it a minute more
	if kids := e.jwksKids(); len(kids) != 2 {
		t.Fatalf("within the leeway jwks %v", kids)
	}
	e.clock.add(auth.Leeway + time.Second)
	if kids := e.jwksKids(); len(kids) != 1 || kids[0] != second {
		t.Fatalf("after the retired key's tokens expired jwks %v, want [%s]", kids, second)
	}
	// Another replica (a fresh keyring on the same database) signs with the same key.
	other, err := newService(testConfig(), ptr(fnDeps{e}.deps()))
	if err != nil {
		t.Fatal(err)
	}
	if kid, err := other.keys.active(t.Context()); err != nil || kid != second {
		t.Fatalf("another replica's key %s %v, want %s", kid, err, second)
	}
}

// TestPrivateKeyIsSealed: the database holds the private key only sealed
// under the deployment's secret; another secret cannot open it.
func TestPrivateKeyIsSealed(t *testing.T) {
	e := newEnv(t)
	kid, err := e.svc.keys.active(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seed := e.svc.keys.private.Seed()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var sealed, public []byte
	if err := c.QueryRow(ctx, `SELECT private_key, public_key FROM signing_keys WHERE id = $1`, kid).Scan(&sealed, &public); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, seed) || bytes.Contains(sealed, e.svc.keys.private) || len(sealed) != 12+32+16 {
		t.Fatalf("private key stored in clear or unsealed (%d bytes)", len(sealed))
	}
	if !bytes.Equal(public, e.svc.keys.private[32:]) {
		t.Fatal("public key column is not the key's public half")
	}
	cfg := testConfig()
	cfg.Secret = "another deployment's secret of 32+ bytes"
	other, err := newService(cfg, ptr(fnDeps{e}.deps()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.keys.open(kid, sealed); err == nil {
		t.Fatal("the sealed key opened under another secret")
	}
	if _, err := e.svc.keys.open(kid, sealed); err != nil {
		t.Fatalf("the sealed key does not open under its own secret: %v", err)
	}
}

type fnDeps struct{ e *env }

func (f fnDeps) deps() fn.Deps { return fn.Deps{Store: f.e.st, Log: f.e.svc.log, Now: f.e.clock.now} }

func generateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

func ptr[T any](v T) *T { return &v }

// ageKeys makes every signing key d older, as if d had passed, and drops the
// keyring's cache: the tokens stay on the real clock, which verifiers use.
func (e *env) ageKeys(d time.Duration) {
	e.t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `UPDATE signing_keys SET created_at = created_at - $1::interval,
		retired_at = retired_at - $1::interval`, d); err != nil {
		e.t.Fatal(err)
	}
	e.svc.keys.mu.Lock()
	e.svc.keys.until = time.Time{}
	e.svc.keys.mu.Unlock()
}

// TestNextKeyPublishedBeforeItSigns: an hour before a rotation the next key
// is in the JWKS while the current one still signs, so a verifier has it
// from an ordinary refresh and accepts the first token it signs even when
// the JWKS can no longer be fetched (an unknown-kid flood having used up the
// refresh budget comes to the same).
func TestNextKeyPublishedBeforeItSigns(t *testing.T) {
	e := newEnv(t)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		e.h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	up := e.signUp("ada@example.com", goodPassword)
	first := kidOf(t, e.tokenFor(up.cookie()))

	e.ageKeys(30*24*time.Hour - 30*time.Minute) // 30 minutes before the rotation
	if kid := kidOf(t, e.tokenFor(up.cookie())); kid != first {
		t.Fatalf("signed by %s before the rotation, want %s", kid, first)
	}
	kids := e.jwksKids()
	if len(kids) != 2 || kids[1] != first || kids[0] == first {
		t.Fatalf("30 minutes before the rotation jwks %v, want [next %s]", kids, first)
	}
	next := kids[0]
	v, err := auth.NewVerifier(t.Context(), auth.Config{JWKSURL: testOrigin + "=" + srv.URL + "/api/auth/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	down.Store(true)

	e.ageKeys(31 * time.Minute) // the rotation was a minute ago
	tok := e.tokenFor(up.cookie())
	if kid := kidOf(t, tok); kid != next {
		t.Fatalf("after the rotation signed by %s, want the pre-published %s", kid, next)
	}
	if _, err := v.Verify("Bearer " + tok); err != nil {
		t.Fatalf("the new key's first token, with the JWKS unreachable: %v", err)
	}
	down.Store(false)
	if kids := e.jwksKids(); len(kids) != 2 || kids[0] != next || kids[1] != first {
		t.Fatalf("after the rotation jwks %v, want [%s %s]", kids, next, first)
	}
	// Another replica signs with the same key, and no third key appears.
	other, err := newService(testConfig(), ptr(fnDeps{e}.deps()))
	if err != nil {
		t.Fatal(err)
	}
	if kid, err := other.keys.active(t.Context()); err != nil || kid != next {
		t.Fatalf("another replica's key %s %v, want %s", kid, err, next)
	}
	if n := count(t, e.url, `SELECT count(*) FROM signing_keys`); n != 2 {
		t.Fatalf("%d signing keys, want 2", n)
	}
}

// TestKeysSealedUnderAnotherSecretAreReplaced: when the deployment's secret
// is not the one the active key was sealed under (it was changed, or a
// second checkout shares the database with its own dev secret), the JWKS and
// tokens keep working: a new key takes over, and the old key stays
// published until its tokens expire. Before, both answered 500 for good.
func TestKeysSealedUnderAnotherSecretAreReplaced(t *testing.T) {
	e := newEnv(t)
	oldKid, err := e.svc.keys.active(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Secret = "another deployment's secret of 32+ bytes"
	other, err := newService(cfg, ptr(fnDeps{e}.deps()))
	if err != nil {
		t.Fatal(err)
	}
	kid, err := other.keys.active(t.Context())
	if err != nil {
		t.Fatalf("a key sealed under another secret: %v", err)
	}
	if kid == oldKid {
		t.Fatal("the key that does not open stayed active")
	}
	set, err := other.keys.published(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set["keys"] {
		kids = append(kids, k.Kid)
	}
	if !slices.Contains(kids, kid) || !slices.Contains(kids, oldKid) {
		t.Errorf("JWKS %v: want the new key %s and the retired %s", kids, kid, oldKid)
	}
	if !strings.Contains(e.logs.String(), "does not open with this deployment's secret") {
		t.Error("the replacement was not logged")
	}
}

package accounts

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/store"
)

// keyring signs TaskFlow's tokens with the active Ed25519 key, kept in
// memory until it is due for rotation.
type keyring struct {
	s    *service
	aead cipher.AEAD

	mu      sync.Mutex
	kid     string
	private ed25519.PrivateKey
	until   time.Time // when the cached key is due for rotation
	next    bool      // whether the key that follows it is published
}

func newKeyring(s *service) *keyring {
	// The sealing key is derived from the deployment's secret, so that a
	// copy of the database alone does not give away the signing keys.
	key, err := hkdf.Key(sha256.New, s.secret, nil, "taskflow accounts signing-key seal v1", 32)
	if err != nil {
		panic(err) // only for a length sha256 cannot give
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return &keyring{s: s, aead: aead}
}

// seal encrypts an Ed25519 seed with AES-256-GCM: nonce || ciphertext, with
// the key id as additional data (a sealed key moved to another row does not
// open).
func (k *keyring) seal(kid string, seed []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, seed, []byte(kid))
}

func (k *keyring) open(kid string, sealed []byte) (ed25519.PrivateKey, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed key too short")
	}
	seed, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("signing key %s does not open with this deployment's secret: %w", kid, err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// prePublish is how long before a rotation the next key is published: well
// over the verifiers' periodic JWKS refresh (5 minutes) and the JWKS's
// max-age, so every verifier has the key before its first token and never
// depends on the (flood-limited) refresh for an unknown kid.
const prePublish = time.Hour

// lead is how long before the active key's rotation the next key is
// published: prePublish, or half the rotation age when that is shorter.
func (k *keyring) lead() time.Duration {
	return min(prePublish, k.s.cfg.KeyRotation/2)
}

// active is the key that signs now, made when there is none or the current
// one is due for rotation. From lead() before the rotation it also makes
// sure the next key is published.
func (k *keyring) active(ctx context.Context) (string, error) {
	now := k.s.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.private != nil && now.Before(k.until) && (k.next || now.Before(k.until.Add(-k.lead()))) {
		return k.kid, nil
	}
	newKey := func(at time.Time) (store.SigningKey, error) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return store.SigningKey{}, err
		}
		kid := newID()
		return store.SigningKey{ID: kid, Public: pub, Sealed: k.seal(kid, priv.Seed()), CreatedAt: at.UTC()}, nil
	}
	sk, next, err := k.s.st.ActiveSigningKey(ctx, now, k.s.cfg.KeyRotation, k.lead(), newKey)
	if err != nil {
		return "", err
	}
	priv, err := k.open(sk.ID, sk.Sealed)
	if err != nil {
		// The deployment's secret is not the one the key was sealed under
		// (it was changed, or the database is shared with another
		// deployment): that key can never sign here. A new key takes over
		// at once; the old ones stay published until their tokens expire.
		k.s.log.WarnContext(ctx, "the signing key does not open with this deployment's secret; a new key takes over",
			"kid", sk.ID)
		if sk, err = k.s.st.ReplaceSigningKeys(ctx, now, newKey); err != nil {
			return "", err
		}
		if priv, err = k.open(sk.ID, sk.Sealed); err != nil {
			return "", err
		}
		next = false
	}
	k.kid, k.private, k.until, k.next = sk.ID, priv, sk.CreatedAt.Add(k.s.cfg.KeyRotation), next
	return k.kid, nil
}

// claims are a TaskFlow token's: Better Auth's JWT plugin puts the user
// object beside the registered claims.
type claims struct {
	jwt.RegisteredClaims
	userJSON
}

// issue is a token for u: EdDSA, sub = the user id, iss and aud = the base
// URL, valid for TokenTTL.
func (k *keyring) issue(ctx context.Context, r *http.Request, u store.User) (string, error) {
	if _, err := k.active(ctx); err != nil {
		return "", err
	}
	k.mu.Lock()
	kid, priv := k.kid, k.private
	k.mu.Unlock()
	now := k.s.now()
	base := k.s.cfg.BaseURLFor(r)
	c := claims{RegisteredClaims: jwt.RegisteredClaims{Subject: u.ID, Issuer: base, Audience: jwt.ClaimStrings{base},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(k.s.cfg.TokenTTL))}, userJSON: toUser(u)}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = kid
	return t.SignedString(priv)
}

// JWK is one public key as the JWKS publishes it (RFC 8037 OKP).
type JWK struct {
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	Kty string `json:"kty"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
}

// published is the JWKS: the next key once it is published (ahead of its
// first token), the active key, and every retired one whose tokens may not
// have expired yet (retired within the token lifetime and the verifiers'
// leeway).
func (k *keyring) published(ctx context.Context) (map[string][]JWK, error) {
	if _, err := k.active(ctx); err != nil {
		return nil, err
	}
	keys, err := k.s.st.SigningKeys(ctx, k.s.now().Add(-k.s.cfg.TokenTTL-auth.Leeway))
	if err != nil {
		return nil, err
	}
	set := make([]JWK, 0, len(keys))
	for _, sk := range keys {
		set = append(set, JWK{Alg: "EdDSA", Crv: "Ed25519", Kty: "OKP", Use: "sig", Kid: sk.ID,
			X: base64.RawURLEncoding.EncodeToString(sk.Public)})
	}
	return map[string][]JWK{"keys": set}, nil
}

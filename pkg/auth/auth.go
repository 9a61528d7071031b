// Package auth verifies users' bearer tokens (API.md §2): HS256 with a shared
// secret, as Better Auth's JWT plugin can issue, or EdDSA/ES256/RS256 keys from
// a JWKS URL. Signatures are checked by github.com/golang-jwt/jwt/v5 and JWKS
// fetching and refresh by github.com/MicahParks/keyfunc/v3.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Bounds that keep hostile tokens cheap to refuse.
const (
	MinSecretLen  = 32
	MaxTokenLen   = 8 << 10
	MaxSubjectLen = 255
	Leeway        = 60 * time.Second
)

// Config selects the accepted keys. At least one must be set.
type Config struct {
	Secret  string `envconfig:"TASKFLOW_AUTH_SECRET"`
	JWKSURL string `envconfig:"TASKFLOW_AUTH_JWKS_URL"`
}

// Verifier checks bearer tokens.
type Verifier struct {
	hmacKey []byte
	jwks    keyfunc.Keyfunc
	parser  *jwt.Parser
}

// NewVerifier builds a verifier; with a JWKS URL it starts a background refresh
// bound to ctx. A secret shorter than 32 bytes is refused.
func NewVerifier(ctx context.Context, c Config) (*Verifier, error) {
	v := &Verifier{}
	var methods []string
	if c.Secret != "" {
		if len(c.Secret) < MinSecretLen {
			return nil, fmt.Errorf("auth secret must be at least %d bytes", MinSecretLen)
		}
		v.hmacKey = []byte(c.Secret)
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if c.JWKSURL != "" {
		kf, err := keyfunc.NewDefaultCtx(ctx, []string{c.JWKSURL})
		if err != nil {
			return nil, fmt.Errorf("jwks %s: %w", c.JWKSURL, err)
		}
		v.jwks = kf
		methods = append(methods, jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodRS256.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("no token keys: set TASKFLOW_AUTH_SECRET (or BETTER_AUTH_SECRET) or TASKFLOW_AUTH_JWKS_URL")
	}
	v.parser = jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway), jwt.WithIssuedAt())
	return v, nil
}

// key pins each algorithm to its key: HS256 only ever gets the shared secret,
// the asymmetric algorithms only JWKS keys, so no HS/RS confusion is possible.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if v.hmacKey == nil {
			return nil, errors.New("HS256 is not accepted")
		}
		return v.hmacKey, nil
	default:
		if v.jwks == nil {
			return nil, errors.New("asymmetric tokens are not accepted")
		}
		return v.jwks.Keyfunc(t)
	}
}

// Verify checks an Authorization header value and returns the user id (sub).
// Every failure is errs.ErrUnauthenticated, with a reason safe to show.
func (v *Verifier) Verify(header string) (string, error) {
	if header == "" {
		return "", fmt.Errorf("%w: missing bearer token", errs.ErrUnauthenticated)
	}
	if len(header) > MaxTokenLen {
		return "", fmt.Errorf("%w: token too large", errs.ErrUnauthenticated)
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.Count(raw, ".") != 2 {
		return "", fmt.Errorf("%w: malformed bearer token", errs.ErrUnauthenticated)
	}
	var claims jwt.RegisteredClaims
	if _, err := v.parser.ParseWithClaims(strings.TrimSpace(raw), &claims, v.key); err != nil {
		reason := "invalid token"
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			reason = "token expired"
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			reason = "token lacks exp"
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			reason = "token not valid yet"
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
			reason = "token signature or algorithm not accepted"
		}
		return "", fmt.Errorf("%w: %s", errs.ErrUnauthenticated, reason)
	}
	if claims.Subject == "" || len(claims.Subject) > MaxSubjectLen {
		return "", fmt.Errorf("%w: token has no usable sub", errs.ErrUnauthenticated)
	}
	// The user id is stored as text: PostgreSQL refuses NUL and invalid UTF-8,
	// and a token naming such a user is one the API cannot accept (401, never
	// the database's 503).
	if !utf8.ValidString(claims.Subject) || strings.ContainsRune(claims.Subject, 0) {
		return "", fmt.Errorf("%w: token sub must be valid UTF-8 without NUL characters", errs.ErrUnauthenticated)
	}
	return claims.Subject, nil
}

// Sign issues an HS256 token for user, valid for ttl: the dev token printed by
// `make run` and `make token`, and the tests' tokens.
func Sign(secret []byte, user string, now time.Time, ttl time.Duration) (string, error) {
	claims := jwt.RegisteredClaims{
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

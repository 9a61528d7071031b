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
	"golang.org/x/time/rate"

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
	Secret string `envconfig:"TASKFLOW_AUTH_SECRET" desc:"HS256 secret of user tokens, at least 32 bytes"`
	// BetterAuthSecret is Better Auth's name for the same secret, so that a
	// deployment sharing one with Better Auth sets it once.
	BetterAuthSecret string `envconfig:"BETTER_AUTH_SECRET" desc:"the HS256 secret under Better Auth's name; used when TASKFLOW_AUTH_SECRET is unset"`
	JWKSURL          string `envconfig:"TASKFLOW_AUTH_JWKS_URL" desc:"JWKS of identity providers whose EdDSA, ES256 or RS256 tokens are accepted (TaskFlow's own accounts and any other), comma-separated; each is a URL, or issuer=URL to accept that JWKS's keys only on tokens whose iss is issuer (TaskFlow's accounts: TASKFLOW_BASE_URL=http://accounts/api/auth/jwks)"`
	// BaseURL is TaskFlow's public base URL: the origin a browser's
	// cookie-authenticated changes must come from, and the issuer and
	// audience of TaskFlow's own tokens.
	BaseURL string `envconfig:"TASKFLOW_BASE_URL" desc:"TaskFlow's public base URL (https://tasks.example.com); empty: taken from each request's Host and X-Forwarded-Proto"`
}

// JWKS is one entry of JWKSURL: a JWKS URL and, when set, the issuer every
// token verified by one of its keys must name in iss.
type JWKS struct {
	Issuer string
	URL    string
}

// JWKSURLs are the entries of JWKSURL, a comma-separated list of URL or
// issuer=URL. An entry is issuer=URL only when what follows its first "="
// is an http(s) URL, so a plain URL with "=" in its query stays a plain URL.
func (c Config) JWKSURLs() []JWKS {
	var set []JWKS
	for _, e := range strings.Split(c.JWKSURL, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if iss, u, ok := strings.Cut(e, "="); ok && iss != "" &&
			(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) {
			set = append(set, JWKS{Issuer: iss, URL: u})
			continue
		}
		set = append(set, JWKS{URL: e})
	}
	return set
}

// HMACSecret is the HS256 secret in force: TASKFLOW_AUTH_SECRET, else
// BETTER_AUTH_SECRET. This is the one place the alias is resolved.
func (c Config) HMACSecret() string {
	if c.Secret != "" {
		return c.Secret
	}
	return c.BetterAuthSecret
}

// Verifier checks bearer tokens.
type Verifier struct {
	hmacKey []byte
	sources []source // one per JWKS, each with its own keys and refresh
	parser  *jwt.Parser
}

// source is one JWKS: its keys verify only tokens naming issuer (any, when
// issuer is empty). Keeping each JWKS's keys apart is what lets a key
// decide which issuer its tokens must carry.
type source struct {
	issuer string
	keys   keyfunc.Keyfunc
}

// NewVerifier builds a verifier; with a JWKS URL it starts a background refresh
// bound to ctx. A secret shorter than 32 bytes is refused.
func NewVerifier(ctx context.Context, c Config) (*Verifier, error) {
	v := &Verifier{}
	var methods []string
	if secret := c.HMACSecret(); secret != "" {
		if len(secret) < MinSecretLen {
			return nil, fmt.Errorf("auth secret must be at least %d bytes", MinSecretLen)
		}
		v.hmacKey = []byte(secret)
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	for _, j := range c.JWKSURLs() {
		// A JWKS that does not answer yet (TaskFlow's accounts starting beside
		// this function) does not stop the start: its keys are fetched on
		// the next refresh, or as soon as a token names a key not seen yet.
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{j.URL}, keyfunc.Override{
			RefreshInterval:   5 * time.Minute,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(5*time.Second), 2),
			RateLimitWaitMax:  2 * time.Second,
			HTTPTimeout:       5 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("jwks %s: %w", j.URL, err)
		}
		v.sources = append(v.sources, source{issuer: j.Issuer, keys: kf})
	}
	if len(v.sources) > 0 {
		methods = append(methods, jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodRS256.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("no token keys: set TASKFLOW_AUTH_SECRET (or BETTER_AUTH_SECRET) or TASKFLOW_AUTH_JWKS_URL")
	}
	v.parser = jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway), jwt.WithIssuedAt())
	return v, nil
}

// boundIssuer reports whether iss is the issuer a JWKS is bound to: a JWKS
// without an issuer of its own still may not sign such tokens.
func (v *Verifier) boundIssuer(iss string) bool {
	for _, s := range v.sources {
		if s.issuer != "" && s.issuer == iss {
			return true
		}
	}
	return false
}

// errWrongIssuer is a token verified by a JWKS key whose iss is not that
// JWKS's issuer.
var errWrongIssuer = errors.New("token issuer does not match its key")

// parse verifies raw into claims. Each algorithm is pinned to its keys:
// HS256 only ever gets the shared secret, the asymmetric algorithms only JWKS
// keys, so no HS/RS confusion is possible. The JWKS are tried one at a time,
// so that the one whose key verified the signature is known, and a token of
// a JWKS bound to an issuer must name that issuer: another provider's keys
// cannot vouch for TaskFlow's users, nor TaskFlow's for theirs.
func (v *Verifier) parse(raw string, claims *jwt.RegisteredClaims) error {
	var err error
	for i := 0; i == 0 || i < len(v.sources); i++ {
		var src *source
		if i < len(v.sources) {
			src = &v.sources[i]
		}
		hmac := false
		*claims = jwt.RegisteredClaims{}
		_, err = v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
			if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
				hmac = true
				if v.hmacKey == nil {
					return nil, errors.New("HS256 is not accepted")
				}
				return v.hmacKey, nil
			}
			if src == nil {
				return nil, errors.New("asymmetric tokens are not accepted")
			}
			return src.keys.Keyfunc(t)
		})
		switch {
		case hmac:
			return err
		case err == nil:
			if src.issuer != "" && claims.Issuer != src.issuer || src.issuer == "" && v.boundIssuer(claims.Issuer) {
				return errWrongIssuer
			}
			return nil
		case !errors.Is(err, jwt.ErrTokenUnverifiable) && !errors.Is(err, jwt.ErrTokenSignatureInvalid):
			// Verified by this JWKS's key but refused for its claims, or
			// malformed: no other JWKS changes that.
			return err
		}
	}
	return err
}

// Verify checks an Authorization header value and returns the user id (sub).
// Every failure is errs.ErrUnauthenticated, with a reason safe to show.
func (v *Verifier) Verify(header string) (string, error) {
	user, _, err := v.VerifyExpiry(header)
	return user, err
}

// VerifyExpiry is Verify that also returns when the token expires (its exp,
// without the leeway), for callers that hand both on (the MCP server's
// token info).
func (v *Verifier) VerifyExpiry(header string) (string, time.Time, error) {
	if header == "" {
		return "", time.Time{}, errs.With(errs.ErrUnauthenticated, "missing bearer token")
	}
	if len(header) > MaxTokenLen {
		return "", time.Time{}, errs.With(errs.ErrUnauthenticated, "token too large")
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.Count(raw, ".") != 2 {
		return "", time.Time{}, errs.With(errs.ErrUnauthenticated, "malformed bearer token")
	}
	var claims jwt.RegisteredClaims
	if err := v.parse(strings.TrimSpace(raw), &claims); err != nil {
		reason := "invalid token"
		switch {
		case errors.Is(err, errWrongIssuer):
			reason = errWrongIssuer.Error()
		case errors.Is(err, jwt.ErrTokenExpired):
			reason = "token expired"
		case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			reason = "token lacks exp"
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			reason = "token not valid yet"
		case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
			reason = "token signature or algorithm not accepted"
		}
		return "", time.Time{}, errs.With(errs.ErrUnauthenticated, reason)
	}
	if claims.Subject == "" || len(claims.Subject) > MaxSubjectLen {
		return "", time.Time{}, errs.With(errs.ErrUnauthenticated, "token has no usable sub")
	}
	// The user id is stored as text: PostgreSQL refuses NUL and invalid UTF-8,
	// and a token naming such a user is one the API cannot accept (401, never
	// the database's 503).
	if !utf8.ValidString(claims.Subject) || strings.ContainsRune(claims.Subject, 0) {
		return "", time.Time{}, errs.With(errs.ErrUnauthenticated, "token sub must be valid UTF-8 without NUL characters")
	}
	return claims.Subject, claims.ExpiresAt.Time, nil
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

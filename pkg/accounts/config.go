// Package accounts is TaskFlow's own identity provider (API.md §2 Accounts):
// email-and-password accounts and EdDSA tokens over the part of Better
// Auth's REST protocol that Better Auth's client library uses, so a frontend
// written for Better Auth signs in against TaskFlow unchanged.
//
// Its /api/auth/* answers follow Better Auth, not TaskFlow's error envelope:
// errors are {"code","message"} with Better Auth's codes, get-session answers
// null without a session, and the session cookie is Better Auth's.
package accounts

import (
	"time"

	"github.com/taskflow/taskflow/pkg/fn"
)

// Config is the accounts function's environment. It needs the deployment's
// HS256 secret (fn.Auth): session cookies are signed with it, as Better Auth
// signs them, and the signing keys' private halves are sealed under a key
// derived from it.
type Config struct {
	fn.Base
	fn.Database
	fn.Auth
	SessionTTL     time.Duration `envconfig:"TASKFLOW_SESSION_TTL" default:"168h" desc:"how long a session (and its cookie) lasts after sign-in"`
	TokenTTL       time.Duration `envconfig:"TASKFLOW_TOKEN_TTL" default:"15m" desc:"lifetime of the EdDSA tokens GET /api/auth/token issues"`
	KeyRotation    time.Duration `envconfig:"TASKFLOW_KEY_ROTATION" default:"720h" desc:"age at which a new token signing key replaces the current one (the old one stays in the JWKS until its tokens expire)"`
	AccountLimit   int           `envconfig:"TASKFLOW_SIGNIN_ACCOUNT_LIMIT" default:"10" desc:"sign-in attempts one account (email) may have per window, and current-password checks one signed-in account may have (change-password)"`
	AddressLimit   int           `envconfig:"TASKFLOW_SIGNIN_ADDRESS_LIMIT" default:"50" desc:"sign-in attempts one client address may make per window"`
	SignUpLimit    int           `envconfig:"TASKFLOW_SIGNUP_ADDRESS_LIMIT" default:"20" desc:"sign-ups one client address may attempt per window"`
	LimitWindow    time.Duration `envconfig:"TASKFLOW_SIGNIN_WINDOW" default:"15m" desc:"the window of the sign-in, sign-up and current-password attempt limits"`
	ProxyHops      int           `envconfig:"TASKFLOW_PROXY_HOPS" default:"1" desc:"proxies in front of this function that append to X-Forwarded-For (the gateway: 1; an ingress and the gateway: 2); the client address is the entry they appended first"`
	HashMemoryKiB  uint32        `envconfig:"TASKFLOW_ARGON2_MEMORY_KIB" default:"47104" desc:"argon2id memory per password hash, KiB (46 MiB: OWASP's argon2id option with one pass; BENCHMARKS.md)"`
	HashIterations uint32        `envconfig:"TASKFLOW_ARGON2_ITERATIONS" default:"1" desc:"argon2id passes over the memory"`
}

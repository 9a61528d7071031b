package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
)

// service is the accounts function's state.
type service struct {
	cfg    *Config
	secret []byte // the deployment's HS256 secret: signs cookies, seals keys
	st     *store.Store
	log    *slog.Logger
	now    func() time.Time
	hash   *hasher
	keys   *keyring
}

// Function is the accounts function: Better Auth's endpoints under /api/auth/.
func Function(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	s, err := newService(cfg, d)
	if err != nil {
		return nil, err
	}
	return &fn.Function{Handlers: s.handlers(), Start: s.maintain}, nil
}

func newService(cfg *Config, d *fn.Deps) (*service, error) {
	secret := cfg.HMACSecret()
	if len(secret) < auth.MinSecretLen {
		return nil, fmt.Errorf("accounts needs TASKFLOW_AUTH_SECRET (or BETTER_AUTH_SECRET) of at least %d bytes: it signs session cookies and seals the signing keys", auth.MinSecretLen)
	}
	if cfg.TokenTTL <= 0 || cfg.KeyRotation <= 0 || cfg.SessionTTL <= 0 || cfg.LimitWindow <= 0 || cfg.SignUpLimit <= 0 {
		return nil, errors.New("TASKFLOW_SESSION_TTL, TASKFLOW_TOKEN_TTL, TASKFLOW_KEY_ROTATION, TASKFLOW_SIGNIN_WINDOW and TASKFLOW_SIGNUP_ADDRESS_LIMIT must be positive")
	}
	h, err := newHasher(cfg.HashMemoryKiB, cfg.HashIterations)
	if err != nil {
		return nil, err
	}
	s := &service{cfg: cfg, secret: []byte(secret), st: d.Store, log: d.Log, now: d.Now, hash: h}
	s.keys = newKeyring(s)
	return s, nil
}

// handlers are the endpoints by ServeMux pattern.
func (s *service) handlers() map[string]http.Handler {
	h := func(f func(http.ResponseWriter, *http.Request) error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fn.SetRoute(r, r.Pattern)
			if err := f(w, r); err != nil {
				s.writeError(w, r, err)
			}
		})
	}
	return map[string]http.Handler{
		"POST /api/auth/sign-up/email":   h(s.signUp),
		"POST /api/auth/sign-in/email":   h(s.signIn),
		"POST /api/auth/sign-out":        h(s.signOut),
		"GET /api/auth/get-session":      h(s.getSession),
		"POST /api/auth/change-password": h(s.changePassword),
		"GET /api/auth/token":            h(s.token),
		"GET /api/auth/jwks":             h(s.jwks),
		"GET /api/auth/ok": h(func(w http.ResponseWriter, _ *http.Request) error {
			return fn.WriteJSON(w, 200, map[string]bool{"ok": true})
		}),
	}
}

// maintain makes the first signing key and deletes expired sessions, hourly.
// A failure is logged and tried again: tokens make their key on demand.
func (s *service) maintain(ctx context.Context) error {
	for {
		if _, err := s.keys.active(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "signing key", "error", err)
		}
		if err := s.st.DeleteExpiredSessions(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "expired sessions", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Hour):
		}
	}
}

type signUpBody struct {
	Name       *string `json:"name"`
	Email      *string `json:"email"`
	Password   *string `json:"password"`
	Image      *string `json:"image"`
	RememberMe *bool   `json:"rememberMe"`
}

// signUp serves POST /api/auth/sign-up/email: a new account, signed in.
func (s *service) signUp(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkOrigin(r, false); err != nil {
		return err
	}
	var b signUpBody
	if err := readBody(r, &b); err != nil {
		return err
	}
	if b.Name == nil || b.Email == nil || b.Password == nil || !validName(*b.Name) ||
		b.Image != nil && !validImage(*b.Image) {
		return errValidation
	}
	email, ok := normalEmail(*b.Email)
	if !ok {
		return errInvalidEmail
	}
	if p := passwordProblem(*b.Password); p != nil {
		return p
	}
	// Counted before the hashing and the insert, so that neither account
	// creation nor probing for taken emails scales with one address.
	if err := s.count(r, counter{"sign-up address:" + clientAddress(r, s.cfg.ProxyHops), s.cfg.SignUpLimit}); err != nil {
		return err
	}
	hash, err := s.hash.hash(r.Context(), *b.Password)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	u := store.User{ID: newID(), Name: *b.Name, Email: email, Image: b.Image, CreatedAt: now, UpdatedAt: now}
	se, token := s.newSession(r, u.ID, now)
	if err := s.st.CreateUser(r.Context(), u, hash, se); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return errUserExists
		}
		return err
	}
	s.setCookie(w, r, token, b.RememberMe)
	return fn.WriteJSON(w, http.StatusOK, map[string]any{"token": token, "user": toUser(u)})
}

type signInBody struct {
	Email       *string `json:"email"`
	Password    *string `json:"password"`
	CallbackURL *string `json:"callbackURL"`
	RememberMe  *bool   `json:"rememberMe"`
}

// signIn serves POST /api/auth/sign-in/email. A wrong password and an
// unknown email answer the same bytes after the same argon2id work.
func (s *service) signIn(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkOrigin(r, false); err != nil {
		return err
	}
	var b signInBody
	if err := readBody(r, &b); err != nil {
		return err
	}
	if b.Email == nil || b.Password == nil {
		return errValidation
	}
	email, ok := normalEmail(*b.Email)
	if !ok {
		return errInvalidEmail
	}
	if len(*b.Password) > 4*MaxPassword {
		return errPasswordTooLong
	}
	accountKey := "account:" + email
	if err := s.limit(r, accountKey); err != nil {
		return err
	}
	u, hash, err := s.st.UserByEmail(r.Context(), email)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	match, err := s.hash.check(r.Context(), *b.Password, hash)
	if err != nil {
		return err
	}
	if !match {
		return errInvalidCredentials
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	se, token := s.newSession(r, u.ID, now)
	if err := s.st.CreateSession(r.Context(), se); err != nil {
		return err
	}
	if err := s.st.ClearAttempts(r.Context(), accountKey); err != nil {
		s.log.WarnContext(r.Context(), "clear sign-in attempts", "error", err)
	}
	s.setCookie(w, r, token, b.RememberMe)
	var url any
	if b.CallbackURL != nil {
		url = *b.CallbackURL
	}
	return fn.WriteJSON(w, http.StatusOK, map[string]any{"redirect": b.CallbackURL != nil, "token": token, "url": url, "user": toUser(u)})
}

// signOut serves POST /api/auth/sign-out: the session ends and the cookie
// is cleared.
func (s *service) signOut(w http.ResponseWriter, r *http.Request) error {
	token, present, ok := auth.SessionToken(r, s.secret)
	if present {
		if err := s.checkOrigin(r, true); err != nil {
			return err
		}
	}
	if ok {
		if err := s.st.DeleteSession(r.Context(), auth.HashSessionToken(token)); err != nil {
			return err
		}
	}
	s.clearCookie(w, r)
	return fn.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// session is r's signed-in session: its token, row and user, or
// errUnauthorized.
func (s *service) session(r *http.Request) (string, store.Session, store.User, error) {
	token, _, ok := auth.SessionToken(r, s.secret)
	if !ok {
		return "", store.Session{}, store.User{}, errUnauthorized
	}
	se, u, err := s.st.SessionByHash(r.Context(), auth.HashSessionToken(token), s.now())
	if errors.Is(err, errs.ErrNotFound) {
		return "", se, u, errUnauthorized
	}
	return token, se, u, err
}

// getSession serves GET /api/auth/get-session: the session and user, or
// null; with a session, a token in set-auth-jwt as Better Auth's JWT plugin
// sends it.
func (s *service) getSession(w http.ResponseWriter, r *http.Request) error {
	token, se, u, err := s.session(r)
	if errors.Is(err, errUnauthorized) {
		return fn.WriteJSON(w, http.StatusOK, nil)
	}
	if err != nil {
		return err
	}
	if jwt, err := s.keys.issue(r.Context(), r, u); err == nil {
		w.Header().Set("set-auth-jwt", jwt)
		w.Header().Set("Access-Control-Expose-Headers", "set-auth-jwt")
	} else {
		s.log.WarnContext(r.Context(), "token for get-session", "error", err)
	}
	return fn.WriteJSON(w, http.StatusOK, map[string]any{"session": toSession(se, token), "user": toUser(u)})
}

type changePasswordBody struct {
	NewPassword         *string `json:"newPassword"`
	CurrentPassword     *string `json:"currentPassword"`
	RevokeOtherSessions bool    `json:"revokeOtherSessions"`
}

// changePassword serves POST /api/auth/change-password. Every other session
// of the user ends; with revokeOtherSessions the current one is replaced by
// a new one as well (Better Auth's answer then carries its token).
func (s *service) changePassword(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkOrigin(r, true); err != nil {
		return err
	}
	token, _, u, err := s.session(r)
	if err != nil {
		return err
	}
	var b changePasswordBody
	if err := readBody(r, &b); err != nil {
		return err
	}
	if b.NewPassword == nil || b.CurrentPassword == nil {
		return errValidation
	}
	if p := passwordProblem(*b.NewPassword); p != nil {
		return p
	}
	if len(*b.CurrentPassword) > 4*MaxPassword {
		return errPasswordTooLong
	}
	// Guesses of the current password (a stolen cookie's holder trying to
	// take the account over) are limited like sign-in attempts: every check
	// counts, before the hashing, and a right one clears the count.
	checkKey := "current password:" + u.ID
	if err := s.count(r, counter{checkKey, s.cfg.AccountLimit}); err != nil {
		return err
	}
	old, err := s.st.PasswordHash(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if ok, err := s.hash.check(r.Context(), *b.CurrentPassword, old); err != nil {
		return err
	} else if !ok {
		return errInvalidPassword
	}
	if err := s.st.ClearAttempts(r.Context(), checkKey); err != nil {
		s.log.WarnContext(r.Context(), "clear current-password checks", "error", err)
	}
	hash, err := s.hash.hash(r.Context(), *b.NewPassword)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	keep := auth.HashSessionToken(token)
	var next *store.Session
	var newToken any
	if b.RevokeOtherSessions {
		se, t := s.newSession(r, u.ID, now)
		next, keep, newToken = &se, nil, t
	}
	if err := s.st.ChangePassword(r.Context(), u.ID, hash, now, keep, next); err != nil {
		return err
	}
	if t, ok := newToken.(string); ok {
		s.setCookie(w, r, t, nil)
	}
	u.UpdatedAt = now
	return fn.WriteJSON(w, http.StatusOK, map[string]any{"token": newToken, "user": toUser(u)})
}

// token serves GET /api/auth/token: a TaskFlow token for the session's user.
func (s *service) token(w http.ResponseWriter, r *http.Request) error {
	_, _, u, err := s.session(r)
	if err != nil {
		return err
	}
	jwt, err := s.keys.issue(r.Context(), r, u)
	if err != nil {
		return err
	}
	return fn.WriteJSON(w, http.StatusOK, map[string]string{"token": jwt})
}

// jwks serves GET /api/auth/jwks: every key whose tokens may still be valid.
func (s *service) jwks(w http.ResponseWriter, r *http.Request) error {
	set, err := s.keys.published(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	body, err := fn.EncodeJSON(set)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// checkOrigin refuses a request from another origin: always when Origin is
// sent and is not TaskFlow's, and, when required (a change made with the
// session cookie), also when Origin is missing.
func (s *service) checkOrigin(r *http.Request, required bool) error {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		if required {
			return errMissingOrigin
		}
		return nil
	}
	if origin != s.cfg.Origin(r) {
		return errInvalidOrigin
	}
	return nil
}

// newSession is a new session of user and its token.
func (s *service) newSession(r *http.Request, user string, now time.Time) (store.Session, string) {
	token := newID()
	agent := storableAgent(r.UserAgent())
	return store.Session{ID: newID(), TokenHash: auth.HashSessionToken(token), UserID: user,
		ExpiresAt: now.Add(s.cfg.SessionTTL), CreatedAt: now, UpdatedAt: now,
		IPAddress: clientAddress(r, s.cfg.ProxyHops), UserAgent: agent}, token
}

// maxAgent is how much of a User-Agent a session keeps, in bytes.
const maxAgent = 512

// storableAgent is agent as a session keeps it: text PostgreSQL stores
// (valid UTF-8 without NUL; a header may carry any byte) of at most
// maxAgent bytes, cut on a character boundary. A client's User-Agent is
// never a reason to refuse its sign-in.
func storableAgent(agent string) string {
	agent = strings.ReplaceAll(strings.ToValidUTF8(agent, "\uFFFD"), "\x00", "")
	if len(agent) <= maxAgent {
		return agent
	}
	cut := maxAgent
	for cut > 0 && !utf8.RuneStart(agent[cut]) {
		cut--
	}
	return agent[:cut]
}

// setCookie sets Better Auth's session cookie: HttpOnly, SameSite=Lax, and
// Secure (with the __Secure- prefix) when the request came over HTTPS. A
// sign-in without rememberMe makes it a browser-session cookie.
func (s *service) setCookie(w http.ResponseWriter, r *http.Request, token string, rememberMe *bool) {
	c := &http.Cookie{Name: auth.SessionCookie, Value: auth.SignSessionToken(s.secret, token), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.SessionTTL / time.Second)}
	if auth.Secure(r) {
		c.Name, c.Secure = auth.SecureSessionCookie, true
	}
	if rememberMe != nil && !*rememberMe {
		c.MaxAge = 0
	}
	// Value is already URL-encoded as Better Auth encodes it; net/http
	// would quote a value with characters it considers unsafe, so it is
	// written by hand.
	w.Header().Add("Set-Cookie", cookieString(c))
}

func (s *service) clearCookie(w http.ResponseWriter, r *http.Request) {
	c := &http.Cookie{Name: auth.SessionCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1}
	if auth.Secure(r) {
		c.Name, c.Secure = auth.SecureSessionCookie, true
	}
	w.Header().Add("Set-Cookie", cookieString(c))
}

func cookieString(c *http.Cookie) string {
	var b strings.Builder
	b.WriteString(c.Name + "=" + c.Value + "; Path=/")
	switch {
	case c.MaxAge > 0:
		b.WriteString("; Max-Age=" + strconv.Itoa(c.MaxAge))
	case c.MaxAge < 0:
		b.WriteString("; Max-Age=0")
	}
	b.WriteString("; HttpOnly; SameSite=Lax")
	if c.Secure {
		b.WriteString("; Secure")
	}
	return b.String()
}

// MaxName is the longest name an account may have, in characters.
const MaxName = 255

// validName reports whether name is one an account may have: at most
// MaxName characters of valid UTF-8 without control characters (a NUL
// would otherwise reach PostgreSQL, which refuses it).
func validName(name string) bool {
	return utf8.ValidString(name) && utf8.RuneCountInString(name) <= MaxName &&
		!strings.ContainsFunc(name, unicode.IsControl)
}

// maxImage is the longest image URL an account may have, in bytes.
const maxImage = 2048

// validImage reports whether image is text PostgreSQL stores, of at most
// maxImage bytes, without control characters.
func validImage(image string) bool {
	return utf8.ValidString(image) && len(image) <= maxImage && !strings.ContainsFunc(image, unicode.IsControl)
}

// normalEmail is email lower-cased, when it is a plain address.
func normalEmail(email string) (string, bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > 254 {
		return "", false
	}
	return email, true
}

// newID is a random 32-character id or token, as Better Auth's generateId
// makes them (a-z, A-Z, 0-9; 190 bits).
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	return randomString(alphabet, 32)
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		_, _ = rand.Read(buf)
		if int(buf[0]) < 256-256%len(alphabet) {
			b[i] = alphabet[int(buf[0])%len(alphabet)]
			i++
		}
	}
	return string(b)
}

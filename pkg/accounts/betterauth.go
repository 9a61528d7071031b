package accounts

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
)

// apiError is a Better Auth error answer: its status and its body
// {"code","message"}, with Better Auth's own codes and messages
// (@better-auth/core's BASE_ERROR_CODES), which its client shows.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code }

var (
	errValidation          = &apiError{http.StatusBadRequest, "VALIDATION_ERROR", "Invalid body parameters"}
	errInvalidEmail        = &apiError{http.StatusBadRequest, "INVALID_EMAIL", "Invalid email"}
	errPasswordTooShort    = &apiError{http.StatusBadRequest, "PASSWORD_TOO_SHORT", "Password too short"}
	errPasswordTooLong     = &apiError{http.StatusBadRequest, "PASSWORD_TOO_LONG", "Password too long"}
	errPasswordCompromised = &apiError{http.StatusBadRequest, "PASSWORD_COMPROMISED", "This password is too common. Please choose a different password."}
	errUserExists          = &apiError{http.StatusUnprocessableEntity, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email."}
	errInvalidCredentials  = &apiError{http.StatusUnauthorized, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password"}
	errInvalidPassword     = &apiError{http.StatusBadRequest, "INVALID_PASSWORD", "Invalid password"}
	errUnauthorized        = &apiError{http.StatusUnauthorized, "UNAUTHORIZED", "Unauthorized"}
	errInvalidOrigin       = &apiError{http.StatusForbidden, "INVALID_ORIGIN", "Invalid origin"}
	errMissingOrigin       = &apiError{http.StatusForbidden, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin"}
	errTooMany             = &apiError{http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "Too many requests. Please try again later."}
	errUnsupportedMedia    = &apiError{http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"}
	errTooLarge            = &apiError{http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Request body too large"}
)

// rateLimited is errTooMany with when to retry.
type rateLimited struct{ after time.Duration }

func (e *rateLimited) Error() string { return "rate limited" }

// writeError answers err in Better Auth's shape. Anything that is not an
// *apiError is TaskFlow's own failure and goes through fn.Status, so that a
// database outage is a 503 with Retry-After and a bug a logged 500 — with
// Better Auth's body shape and never the cause's text.
func (s *service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var rl *rateLimited
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &rl):
		secs := strconv.Itoa(int((rl.after + time.Second - 1) / time.Second))
		w.Header().Set("Retry-After", secs)
		w.Header().Set("X-Retry-After", secs) // Better Auth's rate limiter's header
		ae = errTooMany
	default:
		status, detail := fn.Status(err)
		if status >= 500 {
			s.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "status", status, "error", err)
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		ae = &apiError{Status: status, Code: strings.ToUpper(detail.Code), Message: detail.Message}
	}
	_ = fn.WriteJSON(w, ae.Status, ae)
}

// readBody decodes a JSON body into v: Better Auth's client sends JSON.
func readBody(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errUnsupportedMedia
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return errTooLarge
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errValidation
	}
	return nil
}

// jsTime is a time as JavaScript's Date.toJSON writes it, as Better Auth's
// answers carry them.
type jsTime time.Time

func (t jsTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

// UnmarshalJSON reads a time MarshalJSON wrote (tests read tokens' claims).
func (t *jsTime) UnmarshalJSON(b []byte) error {
	var v time.Time
	err := v.UnmarshalJSON(b)
	*t = jsTime(v)
	return err
}

// userJSON is Better Auth's user object.
type userJSON struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	EmailVerified bool    `json:"emailVerified"`
	Image         *string `json:"image"`
	CreatedAt     jsTime  `json:"createdAt"`
	UpdatedAt     jsTime  `json:"updatedAt"`
}

func toUser(u store.User) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Image: u.Image,
		CreatedAt: jsTime(u.CreatedAt), UpdatedAt: jsTime(u.UpdatedAt)}
}

// sessionJSON is Better Auth's session object; token is the session's own
// token, which only the cookie's holder knows (the store keeps its hash).
type sessionJSON struct {
	ID        string `json:"id"`
	Token     string `json:"token"`
	UserID    string `json:"userId"`
	ExpiresAt jsTime `json:"expiresAt"`
	CreatedAt jsTime `json:"createdAt"`
	UpdatedAt jsTime `json:"updatedAt"`
	IPAddress string `json:"ipAddress"`
	UserAgent string `json:"userAgent"`
}

func toSession(se store.Session, token string) sessionJSON {
	return sessionJSON{ID: se.ID, Token: token, UserID: se.UserID, ExpiresAt: jsTime(se.ExpiresAt),
		CreatedAt: jsTime(se.CreatedAt), UpdatedAt: jsTime(se.UpdatedAt), IPAddress: se.IPAddress, UserAgent: se.UserAgent}
}

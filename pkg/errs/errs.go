// Package errs is TaskFlow's error vocabulary. Domain code and the store return
// these sentinels (wrapped with %w); pkg/fn maps them to HTTP statuses and
// CloudEvent results in exactly one place.
package errs

import (
	"errors"
	"sort"
	"strings"
)

var (
	// ErrNotFound: the resource does not exist or belongs to another user.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request clashes with the current state (for example an
	// Idempotency-Key reused with a different body).
	ErrConflict = errors.New("conflict")
	// ErrPrecondition: an If-Match precondition did not hold.
	ErrPrecondition = errors.New("precondition failed")
	// ErrUnauthenticated: no valid user token.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token is valid but may not act here.
	ErrForbidden = errors.New("forbidden")
	// ErrMethodNotAllowed: the path exists, not for this method.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrUnsupportedMedia: the body is not JSON.
	ErrUnsupportedMedia = errors.New("unsupported media type")
	// ErrTooLarge: the body exceeds the size limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrTooMany: a rate or concurrency limit was hit; retry later.
	ErrTooMany = errors.New("too many requests")
	// ErrUnavailable: a transient failure (database down, timeout); retrying may succeed.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// Error is a failure of one of the kinds above with the words a client is
// shown (Public) kept apart from what went wrong inside (Cause), which is
// logged and never shown. pkg/fn shows Public as the error body's message;
// a sentinel on its own is shown with a fixed text of its kind.
type Error struct {
	Kind   error  // one of the sentinels above
	Public string // the client's message, complete ("unauthenticated: token expired")
	Cause  error  // the internal cause, or nil
}

func (e *Error) Error() string {
	if e.Cause == nil {
		return e.Public
	}
	return e.Public + ": " + e.Cause.Error()
}

// Unwrap makes errors.Is see both the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// With is an error of kind whose public message is the kind followed by
// detail: With(ErrUnauthenticated, "token expired") is shown as
// "unauthenticated: token expired". detail must be TaskFlow's own words,
// never a driver's or library's text.
func With(kind error, detail string) error {
	return &Error{Kind: kind, Public: kind.Error() + ": " + detail}
}

// Wrap is With whose internal cause is kept for the logs.
func Wrap(kind error, detail string, cause error) error {
	return &Error{Kind: kind, Public: kind.Error() + ": " + detail, Cause: cause}
}

// Public returns the message a client may be shown for err, when err or an
// error it wraps carries one (an *Error, *Invalid or *TooLarge); ok is false
// otherwise, and the caller shows its kind's fixed text.
func Public(err error) (msg string, ok bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Public, true
	}
	return "", false
}

// TooLarge is ErrTooLarge with the limit that was exceeded, in words the
// client is shown ("the event exceeds the 1000000 bytes a Kafka record may
// hold").
type TooLarge struct{ Message string }

func (e *TooLarge) Error() string { return e.Message }

// Is makes a *TooLarge match ErrTooLarge.
func (e *TooLarge) Is(target error) bool { return target == ErrTooLarge }

// Invalid reports bad input: a message and, where known, one entry per field.
type Invalid struct {
	Message string
	Fields  map[string]string
}

func (e *Invalid) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// FieldErrors collects every field error of one input before reporting.
type FieldErrors map[string]string

// Add records msg for field unless the field already has an error.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when no field failed, else an *Invalid listing them all.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Invalid{Message: "invalid input", Fields: f}
}

// Invalidf returns an *Invalid without field details.
func Invalidf(msg string) error { return &Invalid{Message: msg} }

// InvalidField returns an *Invalid for one field.
func InvalidField(field, msg string) error {
	return &Invalid{Message: "invalid input", Fields: map[string]string{field: msg}}
}

// Merge combines the field errors of several validation steps into one
// *Invalid, so a client sees every problem at once. Any error that is not an
// *Invalid wins and is returned as it is.
func Merge(list ...error) error {
	fe := FieldErrors{}
	msg := ""
	for _, err := range list {
		if err == nil {
			continue
		}
		var inv *Invalid
		if !errors.As(err, &inv) {
			return err
		}
		if len(inv.Fields) == 0 && msg == "" {
			msg = inv.Message
		}
		for k, v := range inv.Fields {
			fe.Add(k, v)
		}
	}
	if len(fe) == 0 {
		if msg != "" {
			return &Invalid{Message: msg}
		}
		return nil
	}
	return fe.Err()
}

package fn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/taskflow/taskflow/pkg/errs"
)

// ErrorBody is API.md's error envelope.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one failed request.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Status maps an error to its HTTP status and envelope. It is the one place
// where errors meet HTTP; CloudEvent consumers answer the same status, since
// Knative retries exactly the 5xx and 429 answers. The message is the
// error's public one (an *errs.Error, *errs.Invalid or *errs.TooLarge) or
// the fixed text of its kind: a cause's own text (a driver's, a library's)
// is never shown.
func Status(err error) (int, ErrorDetail) {
	var inv *errs.Invalid
	var tooLarge *http.MaxBytesError
	var limit *errs.TooLarge
	switch {
	case errors.As(err, &inv):
		return http.StatusBadRequest, ErrorDetail{Code: "invalid_request", Message: inv.Message, Fields: inv.Fields}
	case errors.As(err, &limit):
		return http.StatusRequestEntityTooLarge, ErrorDetail{Code: "payload_too_large", Message: limit.Message}
	case errors.As(err, &tooLarge), errors.Is(err, errs.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, ErrorDetail{Code: "payload_too_large", Message: "request body exceeds 1 MiB"}
	case errors.Is(err, errs.ErrUnauthenticated):
		return http.StatusUnauthorized, ErrorDetail{Code: "unauthenticated", Message: public(err, "unauthenticated")}
	case errors.Is(err, errs.ErrForbidden):
		return http.StatusForbidden, ErrorDetail{Code: "forbidden", Message: public(err, "forbidden")}
	case errors.Is(err, errs.ErrNotFound):
		return http.StatusNotFound, ErrorDetail{Code: "not_found", Message: "not found"}
	case errors.Is(err, errs.ErrConflict):
		return http.StatusConflict, ErrorDetail{Code: "conflict", Message: public(err, "conflict")}
	case errors.Is(err, errs.ErrPrecondition):
		return http.StatusPreconditionFailed, ErrorDetail{Code: "precondition_failed", Message: "If-Match does not match the current version"}
	case errors.Is(err, errs.ErrUnsupportedMedia):
		return http.StatusUnsupportedMediaType, ErrorDetail{Code: "unsupported_media_type", Message: "send the body as application/json"}
	case errors.Is(err, errs.ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed, ErrorDetail{Code: "method_not_allowed", Message: public(err, "method not allowed on this path")}
	case errors.Is(err, errs.ErrTooMany):
		return http.StatusTooManyRequests, ErrorDetail{Code: "rate_limited", Message: public(err, "too many requests")}
	case errors.Is(err, errs.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, ErrorDetail{Code: "unavailable", Message: "temporarily unavailable, retry later"}
	default:
		return http.StatusInternalServerError, ErrorDetail{Code: "internal", Message: "internal error"}
	}
}

// public is err's public message, or fallback when it carries none.
func public(err error, fallback string) string {
	if msg, ok := errs.Public(err); ok {
		return msg
	}
	return fallback
}

// WriteError answers with err's status and envelope. Server-side failures are
// logged with their cause; the client only sees the generic text.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, detail := Status(err)
	if status >= 500 && log != nil {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	_ = WriteJSON(w, status, ErrorBody{Error: detail}) // the envelope always encodes
}

// WriteJSON writes v as a JSON response with status. It encodes v before it
// writes anything: a value that does not encode (a time outside the years
// JSON can hold) writes nothing and returns the error, so that the handler
// answers a logged 500 instead of a status with an empty body.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := EncodeJSON(v)
	if err != nil {
		return err
	}
	WriteEncoded(w, status, body)
	return nil
}

// EncodeJSON is the body WriteJSON writes for v, for handlers that must know
// it encodes before they set their own headers.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteEncoded writes a body made by EncodeJSON with status. A failed write
// means the client left; there is no one left to answer.
func WriteEncoded(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Package deadletters lets an operator read the dead letters the deadletter
// function keeps and replay them to the subscriber that refused them, with
// their original CloudEvent id, source and attributes, so that a consumer's
// idempotency (processed_events) makes a replay safe: an event it had
// already processed is skipped, not applied twice.
//
// Every endpoint requires the operator token (TASKFLOW_OPERATOR_TOKEN) as a
// bearer, compared in constant time; a user's token never works here. With
// no token set the endpoints answer 503 and do nothing.
//
//	GET  /deadletters?type=T&subscriber=S&pending=true&after=N&limit=L   list (newest rows last)
//	GET  /deadletters/{id}                                              one letter, with its data
//	POST /deadletters/{id}/replay                                       replay one letter
//	POST /deadletters/replay?type=T&subscriber=S&limit=L                replay the pending letters of a type
package deadletters

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
)

// Operator is the operator endpoints' settings (docs/settings.md).
type Operator struct {
	OperatorToken string `envconfig:"TASKFLOW_OPERATOR_TOKEN" desc:"bearer token of the operator endpoints /deadletters (list and replay dead letters); unset: they answer 503. Not a user's token"`
	// Services resolves a subscriber that the dispatcher named by Service
	// (the local Broker) rather than by URL (Knative in a cluster).
	Services Services `envconfig:"TASKFLOW_REPLAY_SERVICES" desc:"name=URL pairs: where a dead letter whose subscriber is a Service name (the local Broker names them so) is replayed; a subscriber that is a URL is replayed to it"`
}

// Services maps a Service name to its URL; its setting is name=URL pairs
// separated by commas.
type Services map[string]string

// Decode reads name=URL pairs (envconfig.Decoder); a pair without a name or
// an http(s) URL is an error.
func (s *Services) Decode(v string) error {
	*s = Services{}
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		name, target, _ := strings.Cut(pair, "=")
		u, err := url.Parse(target)
		if name == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q: want name=http(s)://host[:port]", pair)
		}
		(*s)[name] = target
	}
	return nil
}

// Extensions the dispatcher adds to a dead-lettered event (Knative's
// kncloudevents, and the local Broker): they describe the failure, and are
// taken off again before a replay.
const (
	extDest = "knativeerrordest"
	extCode = "knativeerrorcode"
	extData = "knativeerrordata"
)

// Handler serves the operator endpoints.
type Handler struct {
	Store *store.Store
	Log   *slog.Logger
	Cfg   Operator
	// ReplayableFor is how long a consumer recognises an event it processed
	// (retention.Config.ReplayableFor): a letter that first reached the sink
	// longer ago than this is not replayed, since its consumer may have
	// applied it and forgotten (0: no limit).
	ReplayableFor time.Duration
	Client        *http.Client // nil: a client with a 10 s timeout
	Now           func() time.Time
}

// Letter is one dead letter as the endpoints show it.
type Letter struct {
	ID         int64  `json:"id"`
	EventID    string `json:"event_id"`
	Source     string `json:"source"`
	Type       string `json:"type"`
	Subject    string `json:"subject,omitempty"`
	Subscriber string `json:"subscriber"`
	// Reason is the subscriber's last answer: "HTTP 503: <its body>", or
	// "no answer" when it never answered (a network error, a timeout).
	Reason string `json:"reason"`
	// Attempts counts how often the event reached the sink for this
	// subscriber, each after the Trigger's whole retry budget.
	Attempts       int        `json:"attempts"`
	ReceivedAt     time.Time  `json:"received_at"`
	LastReceivedAt time.Time  `json:"last_received_at"`
	Replays        int        `json:"replays"`
	ReplayedAt     *time.Time `json:"replayed_at,omitempty"`
	// Data is the event's data (base64) with its content type: in GET
	// /deadletters/{id} only.
	DataContentType string `json:"datacontenttype,omitempty"`
	DataBase64      string `json:"data_base64,omitempty"`
}

// Result is what a replay did.
type Result struct {
	Replayed []int64 `json:"replayed"`
	// TooOld are letters older than the processed-event retention, left alone.
	TooOld []int64 `json:"too_old,omitempty"`
	// Failed is the letter whose subscriber refused or did not answer; a
	// replay of many stops there.
	Failed *Failure `json:"failed,omitempty"`
	// More is true when letters of the kind are still pending (the limit was
	// reached): replay again.
	More bool `json:"more,omitempty"`
}

// Failure is a replay the subscriber did not accept.
type Failure struct {
	ID    int64  `json:"id"`
	Error string `json:"error"`
}

// Register adds the endpoints to handlers (fn.Function.Handlers).
func (h *Handler) Register(handlers map[string]http.Handler) {
	handlers["GET /deadletters"] = h.guard(h.list)
	handlers["GET /deadletters/{id}"] = h.guard(h.get)
	handlers["POST /deadletters/{id}/replay"] = h.guard(h.replayOne)
	handlers["POST /deadletters/replay"] = h.guard(h.replayKind)
}

var errOperator = &errs.Error{Kind: errs.ErrUnauthenticated,
	Public: "unauthenticated: send the operator token (TASKFLOW_OPERATOR_TOKEN) as Authorization: Bearer"}

// guard admits a request that carries the operator token.
func (h *Handler) guard(next func(http.ResponseWriter, *http.Request) error) http.Handler {
	want := sha256.Sum256([]byte(h.Cfg.OperatorToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Cfg.OperatorToken == "" {
			_ = fn.WriteJSON(w, http.StatusServiceUnavailable, fn.ErrorBody{Error: fn.ErrorDetail{Code: "not_configured",
				Message: "no operator token is set (TASKFLOW_OPERATOR_TOKEN): the dead-letter endpoints are off"}})
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(tok)) // equal lengths: the comparison tells nothing by its time
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="taskflow-operator"`)
			fn.WriteError(w, r, h.Log, errOperator)
			return
		}
		if err := next(w, r); err != nil {
			fn.WriteError(w, r, h.Log, err)
		}
	})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r.URL.Query(), 100)
	if err != nil {
		return err
	}
	rows, err := h.Store.DeadLetters(r.Context(), q)
	if err != nil {
		return err
	}
	out := struct {
		Items []Letter `json:"items"`
		// Next is the after= of the next page; absent on the last.
		Next string `json:"next,omitempty"`
	}{Items: make([]Letter, 0, len(rows))}
	for _, d := range rows {
		out.Items = append(out.Items, view(d, false))
	}
	if len(rows) == q.Limit {
		out.Next = strconv.FormatInt(rows[len(rows)-1].Seq, 10)
	}
	return fn.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	d, err := h.letter(r)
	if err != nil {
		return err
	}
	return fn.WriteJSON(w, http.StatusOK, view(d, true))
}

func (h *Handler) replayOne(w http.ResponseWriter, r *http.Request) error {
	d, err := h.letter(r)
	if err != nil {
		return err
	}
	var res Result
	h.replay(r.Context(), d, &res)
	if len(res.TooOld) > 0 {
		return errs.With(errs.ErrConflict, fmt.Sprintf("dead letter %d first arrived more than %s ago, longer than its consumer "+
			"recognises events it processed (TASKFLOW_RETAIN_PROCESSED_EVENTS, TASKFLOW_RETAIN_IDEMPOTENCY_KEYS): a replay could apply it twice", d.Seq, h.ReplayableFor))
	}
	return writeResult(w, res)
}

func (h *Handler) replayKind(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r.URL.Query(), 100)
	if err != nil {
		return err
	}
	if q.Type == "" {
		return errs.InvalidField("type", "name the event type whose dead letters to replay")
	}
	if r.URL.Query().Has("pending") || r.URL.Query().Has("after") {
		return errs.Invalidf("a replay takes type, subscriber and limit; it replays the pending letters in id order")
	}
	q.Pending, q.WithData = true, true
	rows, err := h.Store.DeadLetters(r.Context(), q)
	if err != nil {
		return err
	}
	res := Result{Replayed: []int64{}}
	for _, d := range rows {
		if !h.replay(r.Context(), d, &res) {
			break
		}
	}
	res.More = len(rows) == q.Limit && res.Failed == nil
	return writeResult(w, res)
}

func writeResult(w http.ResponseWriter, res Result) error {
	if res.Replayed == nil {
		res.Replayed = []int64{}
	}
	status := http.StatusOK
	if res.Failed != nil {
		status = http.StatusBadGateway // the subscriber refused: nothing is wrong with the request
	}
	return fn.WriteJSON(w, status, res)
}

// replay posts d to its subscriber and records an accepted replay; false
// means it failed (res.Failed says why) and a replay of many should stop.
func (h *Handler) replay(ctx context.Context, d store.StoredDeadLetter, res *Result) bool {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if h.ReplayableFor > 0 && now().Sub(d.ReceivedAt) > h.ReplayableFor {
		res.TooOld = append(res.TooOld, d.Seq)
		return true
	}
	err := h.post(ctx, d)
	if err == nil {
		err = h.Store.DeadLetterReplayed(ctx, d.Seq)
	}
	if err != nil {
		h.Log.WarnContext(ctx, "dead letter replay failed", "id", d.Seq, "event_id", d.ID, "subscriber", d.Subscriber, "error", err)
		res.Failed = &Failure{ID: d.Seq, Error: err.Error()}
		return false
	}
	h.Log.InfoContext(ctx, "dead letter replayed", "id", d.Seq, "event_id", d.ID, "type", d.Type, "subscriber", d.Subscriber)
	res.Replayed = append(res.Replayed, d.Seq)
	return true
}

// Event rebuilds the event a dead letter holds as its subscriber first got
// it: every attribute and extension but the dispatcher's knativeerror*
// ones, and the data byte for byte.
func Event(d store.StoredDeadLetter) (cloudevents.Event, error) {
	var e cloudevents.Event
	if err := json.Unmarshal(d.Attributes, &e); err != nil {
		return e, fmt.Errorf("dead letter %d: its attributes do not decode: %w", d.Seq, err)
	}
	for _, x := range []string{extDest, extCode, extData} {
		e.SetExtension(x, nil) // nil removes it
	}
	if d.Data != nil {
		e.DataEncoded = d.Data
		e.SetDataContentType(d.ContentType)
	}
	return e, nil
}

// subscriberURL is where d is replayed: its subscriber's URL, or the URL of
// the Service it names.
func (h *Handler) subscriberURL(d store.StoredDeadLetter) (string, error) {
	if u, err := url.Parse(d.Subscriber); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return d.Subscriber, nil
	}
	if u, ok := h.Cfg.Services[d.Subscriber]; ok {
		return u, nil
	}
	if d.Subscriber == "" {
		return "", errors.New("the dead letter names no subscriber (no knativeerrordest extension)")
	}
	return "", fmt.Errorf("subscriber %q is neither a URL nor a Service in TASKFLOW_REPLAY_SERVICES", d.Subscriber)
}

func (h *Handler) post(ctx context.Context, d store.StoredDeadLetter) error {
	e, err := Event(d)
	if err != nil {
		return err
	}
	target, err := h.subscriberURL(d)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return err
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return err
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("subscriber %s: %w", target, err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("subscriber %s answered HTTP %d", target, res.StatusCode)
	}
	return nil
}

// view is d as the endpoints show it; withData adds its data.
func view(d store.StoredDeadLetter, withData bool) Letter {
	l := Letter{ID: d.Seq, EventID: d.ID, Source: d.Source, Type: d.Type, Subscriber: d.Subscriber,
		Attempts: d.Times, ReceivedAt: d.ReceivedAt, LastReceivedAt: d.LastReceivedAt, Replays: d.Replays,
		ReplayedAt: d.ReplayedAt, Reason: "no answer"}
	var attrs map[string]any
	if json.Unmarshal(d.Attributes, &attrs) == nil {
		l.Subject, _ = attrs["subject"].(string)
		if code, _ := attrs[extCode].(string); code != "" {
			l.Reason = "HTTP " + code
		}
		if data, _ := attrs[extData].(string); data != "" {
			body := data
			if raw, err := base64.StdEncoding.DecodeString(data); err == nil {
				body = string(raw) // Knative sends the subscriber's answer base64-encoded
			}
			if len(body) > 200 {
				body = body[:200] + "…"
			}
			l.Reason += ": " + strings.ToValidUTF8(body, "?")
		}
	}
	if withData {
		l.DataContentType = d.ContentType
		if d.Data != nil {
			l.DataBase64 = base64.StdEncoding.EncodeToString(d.Data)
		}
	}
	return l
}

// query reads the list and replay parameters; a bad one is a 400.
func query(v url.Values, defLimit int) (store.DeadLetterQuery, error) {
	q := store.DeadLetterQuery{Type: v.Get("type"), Subscriber: v.Get("subscriber"), Limit: defLimit}
	bad := errs.FieldErrors{}
	for k := range v {
		switch k {
		case "type", "subscriber", "after", "limit", "pending":
		default:
			bad.Add(k, "unknown parameter: use type, subscriber, pending, after or limit")
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			bad.Add("limit", "an integer from 1 to 1000")
		}
		q.Limit = n
	}
	if s := v.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			bad.Add("after", "a dead letter id (the next of the previous page)")
		}
		q.After = n
	}
	if s := v.Get("pending"); s != "" {
		p, err := strconv.ParseBool(s)
		if err != nil {
			bad.Add("pending", "true or false")
		}
		q.Pending = p
	}
	return q, bad.Err()
}

func letterID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.InvalidField("id", "a dead letter id: a positive integer, as GET /deadletters lists them")
	}
	return id, nil
}

// letter loads the dead letter the path's {id} names: a 400 for an id that
// is not one, the store's not-found for none.
func (h *Handler) letter(r *http.Request) (store.StoredDeadLetter, error) {
	id, err := letterID(r)
	if err != nil {
		return store.StoredDeadLetter{}, err
	}
	return h.Store.DeadLetterBySeq(r.Context(), id)
}

package consumers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"unicode"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// CreateCommand creates a task from a dev.taskflow.task.create event posted
// to the Broker by another system: data {"user_id": ..., "task": {create body}}.
// The same source and id create one task, whatever the user id: posted again
// with the same data it is done already (2xx), with other data (another user
// included) it can never succeed (400). The Broker ingress is the trust
// boundary, so the user id is taken as given here, once it is text that can
// be stored. Whatever can never succeed is a 400, so the Trigger sends it to
// the dead-letter sink instead of retrying it.
func CreateCommand(d *fn.Deps) map[string]fn.EventHandler {
	return map[string]fn.EventHandler{events.TaskCreate: func(ctx context.Context, e cloudevents.Event) error {
		var cmd struct {
			UserID string          `json:"user_id"`
			Task   json.RawMessage `json:"task"`
		}
		dec := json.NewDecoder(bytes.NewReader(e.Data()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cmd); err != nil {
			return errs.Invalidf("command data must be {\"user_id\": ..., \"task\": {...}}: " + err.Error())
		}
		if dec.More() {
			return errs.Invalidf("command data has data after the JSON object")
		}
		// encoding/json keeps the last of two keys: a user_id given twice
		// would leave the task's owner to whichever parser reads it.
		if err := task.JSONProblems(e.Data()).Err(); err != nil {
			return err
		}
		if cmd.UserID == "" || len(cmd.UserID) > 255 || !printable(cmd.UserID) {
			return errs.InvalidField("user_id", "is required: at most 255 characters, no control characters")
		}
		w, err := ops.CreateWith(cmd.UserID, cmd.Task, d.Now().UTC(), func() (task.Settings, error) {
			return d.Store.Settings(ctx, cmd.UserID)
		})
		if err != nil {
			return err
		}
		key := sha256.Sum256([]byte(e.Source() + "\x00" + e.ID()))
		body := sha256.Sum256(append([]byte(cmd.UserID+"\x00"), cmd.Task...))
		_, _, err = d.Store.Create(ctx, w, &store.Idempotency{Key: "event:" + hex.EncodeToString(key[:]), Hash: body[:],
			Shared: true})
		if errors.Is(err, errs.ErrConflict) {
			// Retrying cannot help, and Knative would retry a 409.
			return errs.Invalidf("this event source and id were already used with other data")
		}
		return err
	}}
}

// printable reports whether s is text without control characters (a NUL
// cannot even be stored) and without U+FFFD, which is what decoding JSON
// makes of invalid UTF-8: such an id would silently name another user.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

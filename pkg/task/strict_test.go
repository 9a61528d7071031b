package task

import (
	"errors"
	"testing"

	"github.com/taskflow/taskflow/pkg/errs"
)

func fieldsOf(err error) map[string]string {
	var inv *errs.Invalid
	if errors.As(err, &inv) {
		return inv.Fields
	}
	return nil
}

// TestParseInputIsStrict: the decoder every task body goes through (create,
// PUT, PATCH and the dev.taskflow.task.create command event) refuses a key
// given twice and text PostgreSQL cannot store, by the field's path.
func TestParseInputIsStrict(t *testing.T) {
	cases := map[string]string{
		`{"title":"one","title":"two"}`:                                       "title",
		`{"title":"t","recurrence_pattern":{"interval":1,"interval":2}}`:      "recurrence_pattern.interval",
		`{"title":"t","recurrence_pattern":{"rrule":"FREQ=DAILY\u0000"}}`:     "recurrence_pattern.rrule",
		"{\"title\":\"t\",\"recurrence_pattern\":{\"timezone\":\"UTC\xff\"}}": "recurrence_pattern.timezone",
		`{"title":"t","tags":["a","b\u0000"]}`:                                "tags",
		"{\"title\":\"t\",\"description\":\"\xed\xa0\x80\"}":                  "description",
		`{"title":"t","id":"x","id":"y"}`:                                     "id",
		`{"title":"t","due_date":"2027-01-01T00:00:00Z","due_date":null}`:     "due_date",
	}
	for body, field := range cases {
		_, ok, err := ParseInput([]byte(body))
		if !ok || err == nil {
			t.Errorf("%q accepted", body)
			continue
		}
		if fe := fieldsOf(err); fe[field] == "" {
			t.Errorf("%q: no error for %s: %v", body, field, err)
		}
	}
	if _, ok, err := ParseInput([]byte(`{"title":"a\\u0000 is text","tags":["x"],"recurrence_pattern":{"frequency":"daily"}}`)); !ok || err != nil {
		t.Errorf("an escaped backslash refused: %v", err)
	}
}

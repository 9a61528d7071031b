package task

import (
	"strings"
	"testing"

	"github.com/taskflow/taskflow/pkg/errs"
)

// create runs body through the create path (parse, then New) and returns the
// field errors, nil when the task is accepted.
func create(t *testing.T, body string) map[string]string {
	t.Helper()
	in, ok, perr := ParseInput([]byte(body))
	if !ok {
		t.Fatalf("not an object: %v", perr)
	}
	_, err := New("u", in, now)
	if err = errs.Merge(perr, err); err == nil {
		return nil
	}
	return fields(t, err)
}

// TestRecurrenceRefusesOutOfRange: API.md §3, a value sent out of range is a
// 400 naming the field, never replaced by the default; an RRULE is checked
// part by part as strictly; a pattern that contradicts itself is refused.
func TestRecurrenceRefusesOutOfRange(t *testing.T) {
	const due = `"due_date":"2030-06-02T09:00:00Z",`
	cases := []struct {
		name, pattern, field, says string
	}{
		{"interval 0", `{"frequency":"daily","interval":0}`, "interval", "between 1 and 1000"},
		{"occurrences 0", `{"frequency":"daily","occurrences":0}`, "occurrences", "between 1 and 10000"},
		{"day_of_month 0", `{"frequency":"monthly","day_of_month":0}`, "day_of_month", "1..31"},
		{"month 0", `{"frequency":"yearly","month":0}`, "month", "1..12"},
		{"interval -1", `{"frequency":"daily","interval":-1}`, "interval", "between 1 and 1000"},
		{"BYSECOND twice a minute", `{"rrule":"FREQ=DAILY;BYSECOND=0,30"}`, "rrule", "BYSECOND must have at most one value"},
		{"BYHOUR four times a day", `{"rrule":"FREQ=DAILY;BYHOUR=0,6,12,18"}`, "rrule", "BYHOUR must have at most one value"},
		{"BYMINUTE out of range", `{"rrule":"FREQ=DAILY;BYMINUTE=60"}`, "rrule", "BYMINUTE"},
		{"BYMONTH out of range", `{"rrule":"FREQ=YEARLY;BYMONTH=13"}`, "rrule", "BYMONTH"},
		{"BYMONTHDAY 0", `{"rrule":"FREQ=MONTHLY;BYMONTHDAY=0"}`, "rrule", "BYMONTHDAY"},
		{"BYYEARDAY out of range", `{"rrule":"FREQ=YEARLY;BYYEARDAY=367"}`, "rrule", "BYYEARDAY"},
		{"BYWEEKNO out of range", `{"rrule":"FREQ=YEARLY;BYWEEKNO=54"}`, "rrule", "BYWEEKNO"},
		{"BYSETPOS 0", `{"rrule":"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0"}`, "rrule", "BYSETPOS"},
		{"BYDAY unknown day", `{"rrule":"FREQ=WEEKLY;BYDAY=XX"}`, "rrule", "BYDAY"},
		{"BYDAY sixth Monday of a month", `{"rrule":"FREQ=MONTHLY;BYDAY=6MO"}`, "rrule", "BYDAY"},
		{"COUNT 0", `{"rrule":"FREQ=DAILY;COUNT=0"}`, "rrule", "COUNT"},
		{"INTERVAL 0", `{"rrule":"FREQ=DAILY;INTERVAL=0"}`, "rrule", "INTERVAL"},
		{"INTERVAL over 1000", `{"rrule":"FREQ=DAILY;INTERVAL=1001"}`, "rrule", "INTERVAL"},
		{"COUNT over 10000", `{"rrule":"FREQ=DAILY;COUNT=10001"}`, "rrule", "COUNT"},
		{"a rule part twice", `{"rrule":"FREQ=DAILY;COUNT=2;COUNT=3"}`, "rrule", "more than once"},
		{"an unknown rule part", `{"rrule":"FREQ=DAILY;X-SKIP=1"}`, "rrule", "X-SKIP"},
		{"an empty rule part", `{"rrule":"FREQ=DAILY;;COUNT=2"}`, "rrule", "NAME=VALUE"},
		{"WKST unknown", `{"rrule":"FREQ=WEEKLY;WKST=XX"}`, "rrule", "WKST"},
		{"UNTIL not UTC", `{"rrule":"FREQ=DAILY;UNTIL=20301231"}`, "rrule", "UNTIL"},
		{"no FREQ", `{"rrule":"INTERVAL=2"}`, "rrule", "FREQ is required"},
		{"the host's zone", `{"frequency":"daily","timezone":"Local"}`, "timezone", "IANA"},
		{"a leap-second zone of the host", `{"frequency":"daily","timezone":"right/UTC"}`, "timezone", "IANA"},
		{"a posix copy of a zone", `{"frequency":"daily","timezone":"posix/Europe/Berlin"}`, "timezone", "IANA"},
		{"the host's localtime file", `{"frequency":"daily","timezone":"localtime"}`, "timezone", "IANA"},
		// Self-contradictions.
		{"UNTIL and COUNT", `{"rrule":"FREQ=DAILY;COUNT=3;UNTIL=20301231T000000Z"}`, "rrule", "COUNT cannot be combined with UNTIL"},
		{"end_date and occurrences", `{"frequency":"daily","end_date":"2030-12-31T00:00:00Z","occurrences":3}`, "occurrences", "end_date"},
		{"end_date before the first due date", `{"frequency":"daily","end_date":"2030-06-01T00:00:00Z"}`, "end_date", "before the due date"},
		{"UNTIL before the first due date", `{"rrule":"FREQ=DAILY;UNTIL=20300601T000000Z"}`, "rrule", "UNTIL before the due date"},
		{"day_of_month on a weekly rule", `{"frequency":"weekly","day_of_month":3}`, "day_of_month", "only allowed"},
		{"days_of_week on a monthly rule", `{"frequency":"monthly","days_of_week":[1]}`, "days_of_week", "only allowed"},
		{"month on a monthly rule", `{"frequency":"monthly","month":3}`, "month", "only allowed"},
		{"rrule and fields", `{"rrule":"FREQ=DAILY","interval":2}`, "rrule", "cannot be combined"},
		{"rrule COUNT and occurrences", `{"rrule":"FREQ=DAILY;COUNT=2","occurrences":3}`, "occurrences", "COUNT"},
		{"rrule UNTIL and end_date", `{"rrule":"FREQ=DAILY;UNTIL=20301231T000000Z","end_date":"2030-12-31T00:00:00Z"}`, "end_date", "UNTIL"},
		{"rrule COUNT and end_date", `{"rrule":"FREQ=DAILY;COUNT=2","end_date":"2030-12-31T00:00:00Z"}`, "end_date", "COUNT"},
		{"30 February, as fields", `{"frequency":"yearly","month":2,"day_of_month":30}`, "day_of_month", "never falls in month 2"},
		{"30 February, as an RRULE", `{"rrule":"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}`, "rrule", "never falls"},
		{"BYMONTHDAY on a weekly RRULE", `{"rrule":"FREQ=WEEKLY;BYMONTHDAY=3"}`, "rrule", "BYMONTHDAY is not allowed with FREQ=WEEKLY"},
		{"BYYEARDAY on a monthly RRULE", `{"rrule":"FREQ=MONTHLY;BYYEARDAY=3"}`, "rrule", "BYYEARDAY is only allowed"},
		{"BYWEEKNO on a monthly RRULE", `{"rrule":"FREQ=MONTHLY;BYWEEKNO=3"}`, "rrule", "BYWEEKNO is only allowed"},
		{"a counted BYDAY on a weekly RRULE", `{"rrule":"FREQ=WEEKLY;BYDAY=1MO"}`, "rrule", "count"},
		{"BYSETPOS alone", `{"rrule":"FREQ=MONTHLY;BYSETPOS=1"}`, "rrule", "BYSETPOS needs"},
		{"29 February every 4 years from 2030", `{"frequency":"yearly","interval":4,"month":2,"day_of_month":29}`,
			"day_of_month", "no occurrence after the due date"},
		{"an RRULE that never occurs from its due date", `{"rrule":"FREQ=YEARLY;INTERVAL=4;BYYEARDAY=366"}`,
			"rrule", "no occurrence after the due date"},
		{"an RRULE that does", `{"rrule":"FREQ=YEARLY;INTERVAL=2;BYYEARDAY=366"}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := create(t, `{"title":"a",`+due+`"recurrence_pattern":`+c.pattern+`}`)
			if c.field == "" {
				if got != nil {
					t.Fatalf("refused: %v", got)
				}
				return
			}
			msg := got["recurrence_pattern."+c.field]
			if !strings.Contains(msg, c.says) {
				t.Errorf("recurrence_pattern.%s = %q, want it to say %q; all errors: %v", c.field, msg, c.says, got)
			}
		})
	}
}

// TestRecurrenceDefaults: absent or null takes the default, and RRULEs that
// RFC 5545 allows and TaskFlow supports are accepted.
func TestRecurrenceDefaults(t *testing.T) {
	for _, pattern := range []string{
		`{"frequency":"daily"}`,
		`{"frequency":"daily","interval":null,"occurrences":null,"day_of_month":null,"month":null,"end_date":null}`,
		`{"frequency":"monthly","day_of_month":-1,"occurrences":1}`,
		`{"frequency":"yearly","month":2,"day_of_month":29}`,
		`{"rrule":"FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"}`,
		`{"rrule":"rrule:freq=monthly;byday=-1fr;count=3;"}`,
		`{"rrule":"FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;WKST=SU"}`,
		`{"rrule":"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;UNTIL=20310101T000000Z"}`,
		`{"rrule":"FREQ=DAILY","end_date":"2031-01-01T00:00:00Z"}`,
	} {
		got := create(t, `{"title":"a","due_date":"2030-06-03T09:00:00Z","recurrence_pattern":`+pattern+`}`)
		if got != nil {
			t.Errorf("%s refused: %v", pattern, got)
		}
	}
	in := mustParse(t, `{"title":"a","recurrence_pattern":{"frequency":"daily","interval":null}}`)
	tk, err := New("u", in, now)
	if err != nil || tk.Recurrence.Interval != 1 || tk.Recurrence.Timezone != "UTC" {
		t.Errorf("defaults: %+v %v", tk.Recurrence, err)
	}
}

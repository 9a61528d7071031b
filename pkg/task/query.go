package task

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Sort fields a list may be ordered by. SortRelevance is search's default.
const (
	SortCreated   = "created_at"
	SortUpdated   = "updated_at"
	SortDue       = "due_date"
	SortPriority  = "priority"
	SortTitle     = "title"
	SortRelevance = "relevance"
	SortDelivered = "delivered_at" // notifications, newest first
)

// Page-size and search bounds.
const (
	DefaultLimit   = 50
	MaxLimit       = 500
	MaxQueryLen    = 500
	MaxSearchTerms = 16
	MaxFilterTags  = 20
)

// ListQuery is a parsed, validated list, filter or search request.
type ListQuery struct {
	Status     Status     // "" means all
	Priorities []Priority // any of these; empty means all
	TagKeys    []string   // lower-cased tags
	TagsAll    bool       // every tag must match (tag_mode=all); else any
	DueBefore  *time.Time
	DueAfter   *time.Time
	Overdue    bool
	Now        time.Time // the instant "overdue" is measured against
	Sort       string
	Desc       bool
	Limit      int
	After      *Cursor  // continue after this row
	Terms      []string // search terms, each matched as a word prefix
}

// Cursor marks the last row of a page: its sort key and id.
type Cursor struct {
	Sort  string `json:"s"`
	Desc  bool   `json:"d"`
	Value string `json:"v"`
	ID    string `json:"i"`
}

// Encode renders c for the next_cursor field.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidID reports whether s is an id as TaskFlow writes them: a UUID in its
// canonical 36-character form. uuid.Validate alone also takes
// "urn:uuid:…", which PostgreSQL's uuid refuses (22P02, which the store
// reports as not found: a 404, which a Trigger retries).
func ValidID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

func decodeCursor(s string) (*Cursor, bool) {
	if len(s) > 1024 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	var c Cursor
	if json.Unmarshal(b, &c) != nil || !ValidID(c.ID) {
		return nil, false
	}
	var ok bool
	switch c.Sort {
	case SortCreated, SortUpdated:
		_, err = time.Parse(time.RFC3339Nano, c.Value)
		ok = err == nil
	case SortDue:
		_, ok = parseCursorTime(c.Value)
		ok = ok || c.Value == ""
	case SortPriority:
		n, err := strconv.Atoi(c.Value)
		ok = err == nil && n >= 0 && n <= 3
	case SortTitle:
		ok = len(c.Value) <= 4*MaxTitle && TextProblem(c.Value) == ""
	case SortRelevance:
		r, err := strconv.ParseFloat(c.Value, 32)
		ok = err == nil && !math.IsNaN(r) && !math.IsInf(r, 0)
	case SortDelivered:
		_, err = time.Parse(time.RFC3339Nano, c.Value)
		ok = err == nil
	}
	return &c, ok
}

// CursorTimeValue renders a stored instant for a cursor: RFC 3339 when it
// has a four-digit year, else "u" and its Unix microseconds (a row stored
// before dates were bounded; RFC 3339 cannot write it).
func CursorTimeValue(t time.Time) string {
	if y := t.UTC().Year(); y >= 0 && y <= 9999 {
		return t.Format(time.RFC3339Nano)
	}
	return "u" + strconv.FormatInt(t.UnixMicro(), 10)
}

// CursorTime reads a value CursorTimeValue wrote (the zero time when it cannot).
func CursorTime(v string) time.Time {
	t, _ := parseCursorTime(v)
	return t
}

func parseCursorTime(v string) (time.Time, bool) {
	if us, ok := strings.CutPrefix(v, "u"); ok {
		n, err := strconv.ParseInt(us, 10, 64)
		return time.UnixMicro(n).UTC(), err == nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

var listParams = map[string]bool{
	"status": true, "priority": true, "tags": true, "tag_mode": true, "due_before": true,
	"due_after": true, "overdue": true, "sort": true, "order": true, "limit": true, "cursor": true,
}

// ParseListQuery validates the query string of a list (search=false) or
// search (search=true) request, reporting every bad parameter at once.
func ParseListQuery(v url.Values, search bool, now time.Time) (ListQuery, error) {
	q := ListQuery{Now: now, Limit: DefaultLimit, Sort: SortCreated}
	if search {
		q.Sort = SortRelevance
	}
	fe := errs.FieldErrors{}
	get := func(name string) string {
		vals := v[name]
		if len(vals) > 1 {
			fe.Add(name, "must be given at most once")
		}
		if len(vals) == 0 {
			return ""
		}
		return strings.TrimSpace(vals[0])
	}
	for name := range v {
		if !listParams[name] && !(search && name == "q") {
			fe.Add(name, "unknown query parameter")
		}
	}
	switch s := get("status"); s {
	case "", "all":
	case "active", "pending":
		q.Status = Active
	case "completed":
		q.Status = Completed
	case "skipped":
		q.Status = Skipped
	default:
		fe.Add("status", "must be active, pending, completed, skipped or all")
	}
	if s := get("priority"); s != "" {
		for _, p := range strings.Split(s, ",") {
			pr := Priority(strings.TrimSpace(p))
			if pr.Rank() < 0 {
				fe.Add("priority", "must be a comma list of low, medium, high, urgent")
				break
			}
			q.Priorities = append(q.Priorities, pr)
		}
	}
	if s := get("tags"); s != "" {
		for _, t := range strings.Split(s, ",") {
			k := TagKey(t)
			if k == "" || len(k) > 4*MaxTagLen {
				fe.Add("tags", "must be a comma list of tag names")
				break
			}
			q.TagKeys = append(q.TagKeys, k)
		}
		if len(q.TagKeys) > MaxFilterTags {
			fe.Add("tags", "at most 20 tags")
		}
	}
	switch get("tag_mode") {
	case "", "any":
	case "all":
		q.TagsAll = true
	default:
		fe.Add("tag_mode", "must be any or all")
	}
	q.DueBefore = queryTime(get("due_before"), "due_before", fe)
	q.DueAfter = queryTime(get("due_after"), "due_after", fe)
	switch get("overdue") {
	case "", "false":
	case "true":
		q.Overdue = true
	default:
		fe.Add("overdue", "must be true or false")
	}
	switch s := get("sort"); s {
	case "":
	case SortCreated, SortUpdated, SortDue, SortPriority, SortTitle:
		q.Sort = s
	default:
		fe.Add("sort", "must be due_date, priority, title, created_at or updated_at")
	}
	switch get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		fe.Add("order", "must be asc or desc")
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			fe.Add("limit", "must be an integer from 1 to 500")
		}
		q.Limit = n
	}
	if s := get("cursor"); s != "" {
		c, ok := decodeCursor(s)
		if !ok || c.Sort != q.Sort || c.Desc != q.Desc {
			fe.Add("cursor", "is not a cursor of this listing (sort and order must stay the same)")
		}
		q.After = c
	}
	if search {
		terms, msg := SearchTerms(get("q"))
		if msg != "" {
			fe.Add("q", msg)
		}
		q.Terms = terms
	}
	return q, fe.Err()
}

// ParsePage validates the limit and cursor of a listing in one fixed order
// (sort, descending), refusing any other parameter.
func ParsePage(v url.Values, sort string) (int, *Cursor, error) {
	fe := errs.FieldErrors{}
	limit := DefaultLimit
	var after *Cursor
	for name, vals := range v {
		switch {
		case name != "limit" && name != "cursor":
			fe.Add(name, "unknown query parameter")
		case len(vals) > 1:
			fe.Add(name, "must be given at most once")
		case name == "limit":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 1 || n > MaxLimit {
				fe.Add(name, "must be an integer from 1 to 500")
			}
			limit = n
		default:
			c, ok := decodeCursor(vals[0])
			if !ok || c.Sort != sort || !c.Desc {
				fe.Add(name, "is not a cursor of this listing")
			}
			after = c
		}
	}
	return limit, after, fe.Err()
}

func queryTime(s, name string, fe errs.FieldErrors) *time.Time {
	if s == "" {
		return nil
	}
	t, err := ParseTime(s)
	if err != nil {
		fe.Add(name, err.Error())
		return nil
	}
	return &t
}

// SearchTerms splits q into lower-cased words of letters and digits. Every
// term must match a word (or word prefix) of the title or description.
func SearchTerms(q string) ([]string, string) {
	if len(q) > MaxQueryLen {
		return nil, "must be at most 500 characters"
	}
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) == 0 {
		return nil, "is required and must contain a word"
	}
	if len(words) > MaxSearchTerms {
		return nil, "at most 16 words"
	}
	return words, ""
}

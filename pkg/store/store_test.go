package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/task"
)

var t0 = time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)

func newTask(t *testing.T, user, body string, at time.Time) task.Task {
	t.Helper()
	in, _, err := task.ParseInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := task.New(user, in, at)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func create(t *testing.T, st *store.Store, user, body string, at time.Time) task.Task {
	t.Helper()
	out, _, err := st.Create(context.Background(), ops.Insert(newTask(t, user, body, at)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateGetRoundTrip(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	c := create(t, st, "alice", `{"title":"Plan","description":"the quarter","priority":"urgent","tags":["Work"],
		"due_date":"2027-03-01T09:00:00+01:00","reminder_time":"2027-03-01T07:00:00Z",
		"recurrence_pattern":{"frequency":"monthly","day_of_month":-1,"timezone":"Europe/Berlin"}}`, t0)
	if c.ID == "" || c.SeriesID == nil || *c.SeriesID != c.ID || c.Version != 1 {
		t.Fatalf("created: %+v", c)
	}
	got, err := st.Get(ctx, "alice", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(c) || got.Recurrence.DayOfMonth != -1 || got.Recurrence.Timezone != "Europe/Berlin" ||
		got.DueDate.Location() != time.UTC || !got.CreatedAt.Equal(t0) {
		t.Errorf("round trip: %+v", got)
	}
}

func TestIsolationBetweenUsers(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	a := create(t, st, "alice", `{"title":"mine","tags":["secret"]}`, t0)
	if _, err := st.Get(ctx, "bob", a.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("bob read alice's task: %v", err)
	}
	_, _, err := st.Update(ctx, "bob", a.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		t.Error("bob's change ran on alice's task")
		return ops.Write{}, false, nil
	})
	if !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("bob updated: %v", err)
	}
	if _, err := st.Delete(ctx, "bob", a.ID, 0, deleting(t0)); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("bob deleted: %v", err)
	}
	items, _, err := st.List(ctx, "bob", task.ListQuery{Limit: 50, Sort: task.SortCreated})
	if err != nil || len(items) != 0 {
		t.Errorf("bob lists %d tasks, %v", len(items), err)
	}
	tags, err := st.Tags(ctx, "bob")
	if err != nil || len(tags) != 0 {
		t.Errorf("bob sees tags %v", tags)
	}
	if got, err := st.Get(ctx, "alice", a.ID); err != nil || got.Version != 1 {
		t.Errorf("alice's task changed: %+v %v", got, err)
	}
}

func TestUpdateVersionAndPrecondition(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	a := create(t, st, "alice", `{"title":"a"}`, t0)
	rename := func(title string) store.Step {
		return func(cur task.Task) (ops.Write, bool, error) {
			return ops.Patch(cur, task.Input{Title: task.Opt[string]{Set: true, Value: &title}}, t0.Add(time.Hour))
		}
	}
	got, changed, err := st.Update(ctx, "alice", a.ID, 1, rename("b"))
	if err != nil || !changed || got.Version != 2 || got.Title != "b" {
		t.Fatalf("update: %+v %v %v", got, changed, err)
	}
	if _, _, err := st.Update(ctx, "alice", a.ID, 1, rename("c")); !errors.Is(err, errs.ErrPrecondition) {
		t.Errorf("stale If-Match: %v", err)
	}
	same, changed, err := st.Update(ctx, "alice", a.ID, 0, rename("b"))
	if err != nil || changed || same.Version != 2 {
		t.Errorf("no-op update bumped the version: %+v %v", same, err)
	}
	if _, err := st.Delete(ctx, "alice", a.ID, 1, deleting(t0)); !errors.Is(err, errs.ErrPrecondition) {
		t.Errorf("stale delete: %v", err)
	}
	if _, err := st.Get(ctx, "alice", a.ID); err != nil {
		t.Errorf("a failed conditional delete removed the task: %v", err)
	}
}

func TestConcurrentCompletesChangeOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	a := create(t, st, "alice", `{"title":"a"}`, t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	changes := 0
	for i := range 6 {
		wg.Go(func() {
			_, ch, err := st.Update(ctx, "alice", a.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
				next, ch := ops.Complete(cur, t0.Add(time.Duration(i)*time.Minute))
				return next, ch, nil
			})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ch {
				changes++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	got, _ := st.Get(ctx, "alice", a.ID)
	if changes != 1 || got.Version != 2 || got.Status != task.Completed {
		t.Errorf("changes = %d, version %d", changes, got.Version)
	}
}

func TestTagsCanonicalAndCounted(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	create(t, st, "alice", `{"title":"a","tags":["Work","home"]}`, t0)
	b := create(t, st, "alice", `{"title":"b","tags":["WORK"]}`, t0)
	if !slices.Equal(b.Tags, []string{"Work"}) {
		t.Errorf("second spelling not canonicalised: %v", b.Tags)
	}
	tags, err := st.Tags(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Tag{{Name: "home", Count: 1}, {Name: "Work", Count: 2}}
	if len(tags) != 2 || tags[0].Name != want[0].Name || tags[0].Count != 1 || tags[1].Name != "Work" || tags[1].Count != 2 || tags[0].Color == "" {
		t.Errorf("tags = %+v", tags)
	}
}

func TestIdempotentCreateUnderConcurrentRetries(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	idem := &store.Idempotency{Key: "k-1", Hash: []byte("h1")}
	var wg sync.WaitGroup
	ids := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			out, replay, err := st.Create(ctx, ops.Insert(newTask(t, "alice", `{"title":"once"}`, t0)), idem)
			if err != nil {
				t.Error(err)
				return
			}
			if replay != nil {
				var r struct{ ID string }
				if err := jsonUnmarshal(replay, &r); err != nil {
					t.Error(err)
				}
				ids <- r.ID
				return
			}
			ids <- out.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("8 retries returned %d distinct tasks", len(seen))
	}
	if n := count(t, url, "SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("%d rows for one idempotent create", n)
	}
	_, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", `{"title":"other"}`, t0)), &store.Idempotency{Key: "k-1", Hash: []byte("h2")})
	if !errors.Is(err, errs.ErrConflict) {
		t.Errorf("same key, other body: %v", err)
	}
	// Keys are per user.
	if _, replay, err := st.Create(ctx, ops.Insert(newTask(t, "bob", `{"title":"once"}`, t0)), idem); err != nil || replay != nil {
		t.Errorf("bob's create with alice's key: replay=%s err=%v", replay, err)
	}
}

// seed creates n tasks for alice with varied fields, some sharing sort keys.
func seed(t *testing.T, st *store.Store, n int) []task.Task {
	t.Helper()
	prios := []string{"low", "medium", "high", "urgent"}
	var out []task.Task
	for i := range n {
		due := "null"
		if i%3 != 0 {
			due = fmt.Sprintf(`"%s"`, t0.Add(time.Duration(i%7)*24*time.Hour).Format(time.RFC3339))
		}
		tags := `["t` + fmt.Sprint(i%4) + `"]`
		if i%5 == 0 {
			tags = `["t0","t1"]`
		}
		body := fmt.Sprintf(`{"title":"task %02d meeting","priority":"%s","tags":%s,"due_date":%s}`, i%9, prios[i%4], tags, due)
		tk := create(t, st, "alice", body, t0.Add(time.Duration(i%10)*time.Minute))
		if i%4 == 0 {
			tk, _, _ = st.Update(context.Background(), "alice", tk.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
				next, ch := ops.Complete(cur, t0.Add(time.Hour))
				return next, ch, nil
			})
		}
		out = append(out, tk)
	}
	create(t, st, "bob", `{"title":"task 01 meeting"}`, t0)
	return out
}

// TestKeysetPaginationMatchesSort pages through every sort and order with a
// small page size and checks the concatenation against a sort done in Go.
func TestKeysetPaginationMatchesSort(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	all := seed(t, st, 40)
	for _, sortBy := range []string{task.SortCreated, task.SortUpdated, task.SortDue, task.SortPriority, task.SortTitle} {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/desc=%v", sortBy, desc), func(t *testing.T) {
				v := url.Values{"sort": {sortBy}, "limit": {"7"}}
				if desc {
					v.Set("order", "desc")
				}
				var got []string
				for pages := 0; ; pages++ {
					q, err := task.ParseListQuery(v, false, t0)
					if err != nil {
						t.Fatal(err)
					}
					items, next, err := st.List(ctx, "alice", q)
					if err != nil {
						t.Fatal(err)
					}
					for _, it := range items {
						got = append(got, it.ID)
					}
					if next == nil {
						break
					}
					if pages > 10 {
						t.Fatal("pagination does not end")
					}
					v.Set("cursor", next.Encode())
				}
				if want := expectOrder(all, sortBy, desc); !slices.Equal(got, want) {
					t.Errorf("order differs:\n got %v\nwant %v", got, want)
				}
			})
		}
	}
}

func expectOrder(all []task.Task, sortBy string, desc bool) []string {
	s := slices.Clone(all)
	cmpID := func(a, b task.Task) int { return strings.Compare(a.ID, b.ID) }
	key := func(a, b task.Task) int {
		switch sortBy {
		case task.SortCreated:
			return a.CreatedAt.Compare(b.CreatedAt)
		case task.SortUpdated:
			return a.UpdatedAt.Compare(b.UpdatedAt)
		case task.SortPriority:
			return a.Priority.Rank() - b.Priority.Rank()
		case task.SortTitle:
			return strings.Compare(a.Title, b.Title)
		}
		return 0
	}
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if sortBy == task.SortDue && (a.DueDate == nil) != (b.DueDate == nil) {
			return b.DueDate == nil // no due date sorts last in both orders
		}
		c := 0
		if sortBy == task.SortDue && a.DueDate != nil {
			c = a.DueDate.Compare(*b.DueDate)
		} else {
			c = key(a, b)
		}
		if c == 0 {
			c = cmpID(a, b)
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
	ids := make([]string, len(s))
	for i, t := range s {
		ids[i] = t.ID
	}
	return ids
}

func TestFilters(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	all := seed(t, st, 40)
	now := t0.Add(3 * 24 * time.Hour)
	cases := []struct {
		query string
		keep  func(task.Task) bool
	}{
		{"status=active", func(x task.Task) bool { return x.Status == task.Active }},
		{"status=completed", func(x task.Task) bool { return x.Status == task.Completed }},
		{"priority=high,urgent", func(x task.Task) bool { return x.Priority == task.High || x.Priority == task.Urgent }},
		{"tags=T1", func(x task.Task) bool { return slices.Contains(x.Tags, "t1") }},
		{"tags=t0,t1&tag_mode=all", func(x task.Task) bool { return slices.Contains(x.Tags, "t0") && slices.Contains(x.Tags, "t1") }},
		{"tags=t2,t3", func(x task.Task) bool { return slices.Contains(x.Tags, "t2") || slices.Contains(x.Tags, "t3") }},
		{"due_before=2027-01-03T00:00:00Z", func(x task.Task) bool { return x.DueDate != nil && x.DueDate.Before(t0.Add(39*time.Hour)) }},
		{"due_after=2027-01-05T00:00:00Z", func(x task.Task) bool { return x.DueDate != nil && x.DueDate.After(t0.Add(87*time.Hour)) }},
		{"overdue=true", func(x task.Task) bool { return x.Status == task.Active && x.DueDate != nil && x.DueDate.Before(now) }},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			v, _ := url.ParseQuery(c.query + "&limit=500")
			q, err := task.ParseListQuery(v, false, now)
			if err != nil {
				t.Fatal(err)
			}
			items, _, err := st.List(ctx, "alice", q)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, x := range all {
				if c.keep(x) {
					want = append(want, x.ID)
				}
			}
			var got []string
			for _, x := range items {
				got = append(got, x.ID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Errorf("got %d tasks, want %d", len(got), len(want))
			}
		})
	}
}

func TestSearchPrefixAndAllTerms(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	m := create(t, st, "alice", `{"title":"Weekly meeting","description":"Review the Budget"}`, t0)
	create(t, st, "alice", `{"title":"Meet Bob","description":"coffee"}`, t0)
	create(t, st, "alice", `{"title":"Groceries"}`, t0)
	create(t, st, "bob", `{"title":"meeting budget"}`, t0)
	search := func(q string) []string {
		lq, err := task.ParseListQuery(url.Values{"q": {q}}, true, t0)
		if err != nil {
			t.Fatal(err)
		}
		items, _, err := st.List(ctx, "alice", lq)
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, it := range items {
			titles = append(titles, it.Title)
		}
		sort.Strings(titles)
		return titles
	}
	if got := search("meet"); !slices.Equal(got, []string{"Meet Bob", "Weekly meeting"}) {
		t.Errorf("meet -> %v", got)
	}
	if got := search("MEET budg"); len(got) != 1 || got[0] != m.Title {
		t.Errorf("meet budg -> %v", got)
	}
	if got := search("meet & | ! :* ' nothing"); len(got) != 0 {
		t.Errorf("operators are words, not syntax: %v", got)
	}
	if got := search("review"); len(got) != 1 {
		t.Errorf("description not searched: %v", got)
	}
}

func TestHostileInputIsData(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	evil := `Robert'); DROP TABLE tasks;--`
	c := create(t, st, "alice'--", `{"title":"`+strings.ReplaceAll(evil, `"`, `\"`)+`","tags":["' OR 1=1 --"]}`, t0)
	got, err := st.Get(ctx, "alice'--", c.ID)
	if err != nil || got.Title != evil {
		t.Fatalf("hostile title: %+v %v", got, err)
	}
	q, err := task.ParseListQuery(map[string][]string{"q": {"drop table"}, "tags": {"' or 1=1 --"}}, true, t0)
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := st.List(ctx, "alice'--", q)
	if err != nil || len(items) != 1 {
		t.Errorf("search found %d: %v", len(items), err)
	}
	if n := count(t, url, "SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("tasks table has %d rows", n)
	}
}

// TestSearchNamespaceMatchesSQL: the Go and SQL halves of the per-user search
// namespace agree, for ASCII and non-ASCII user ids alike.
func TestSearchNamespaceMatchesSQL(t *testing.T) {
	st, _ := storetest.New(t)
	for _, user := range []string{"alice", "bob'--", "用户-42", "x"} {
		create(t, st, user, `{"title":"Zebra crossing","description":"naïve café"}`, t0)
		for _, q := range []string{"zeb", "cross", "naïv", "CAFÉ"} {
			lq, err := task.ParseListQuery(url.Values{"q": {q}}, true, t0)
			if err != nil {
				t.Fatal(err)
			}
			items, _, err := st.List(context.Background(), user, lq)
			if err != nil || len(items) != 1 {
				t.Errorf("user %q, q %q: %d items, %v", user, q, len(items), err)
			}
		}
	}
}

package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/task"
)

// oracleTags is GET /api/tags as it was computed before tag_counts: a
// subquery per tag over the user's tasks. Every count kept by the writes
// must equal it.
func oracleTags(t *testing.T, url, user string) []store.Tag {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT g.name, g.color,
			(SELECT count(*) FROM tasks t WHERE t.user_id = g.user_id AND t.tag_keys @> ARRAY[g.key])
		FROM tags g WHERE g.user_id = $1 ORDER BY g.key LIMIT 10000`, user)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Tag, error) {
		var g store.Tag
		return g, r.Scan(&g.Name, &g.Color, &g.Count)
	})
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// counts returns the user's tag counts by name, after checking that Tags
// answers exactly what the old query answers, byte for byte as JSON.
func counts(t *testing.T, st *store.Store, url, user string) map[string]int64 {
	t.Helper()
	got, err := st.Tags(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(oracleTags(t, url, user))
	if string(g) != string(w) {
		t.Errorf("Tags(%s) = %s\nthe subquery says %s", user, g, w)
	}
	m := map[string]int64{}
	for _, tg := range got {
		m[tg.Name] = tg.Count
	}
	return m
}

func wantCounts(t *testing.T, step string, got map[string]int64, want map[string]int64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after %s: counts %v, want %v", step, got, want)
	}
}

func patch(t *testing.T, st *store.Store, user, id, body string, at time.Time) task.Task {
	t.Helper()
	in, _, err := task.ParseInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := st.Update(context.Background(), user, id, 0, func(cur task.Task) (ops.Write, bool, error) {
		return ops.Patch(cur, in, at)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func complete(t *testing.T, st *store.Store, user, id string, at time.Time) task.Task {
	t.Helper()
	out, _, err := st.Update(context.Background(), user, id, 0, func(cur task.Task) (ops.Write, bool, error) {
		w, ch := ops.Complete(cur, at)
		return w, ch, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTagCountsFollowEveryWrite(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	a := create(t, st, "alice", `{"title":"a","tags":["Work","home"]}`, t0)
	wantCounts(t, "create", counts(t, st, url, "alice"), map[string]int64{"Work": 1, "home": 1})

	b := create(t, st, "alice", `{"title":"b","tags":["work","WORK "],"due_date":"2027-01-04T09:00:00Z",
		"recurrence_pattern":{"frequency":"daily"}}`, t0)
	wantCounts(t, "a create spelling one tag twice", counts(t, st, url, "alice"), map[string]int64{"Work": 2, "home": 1})

	a = patch(t, st, "alice", a.ID, `{"tags":["home","errands"]}`, t0.Add(time.Minute))
	wantCounts(t, "an update adding, removing and keeping tags", counts(t, st, url, "alice"),
		map[string]int64{"Work": 1, "home": 1, "errands": 1})
	patch(t, st, "alice", a.ID, `{"tags":["HOME","Errands"]}`, t0.Add(2*time.Minute))
	patch(t, st, "alice", a.ID, `{"title":"a2"}`, t0.Add(2*time.Minute))
	wantCounts(t, "updates keeping the keys", counts(t, st, url, "alice"), map[string]int64{"Work": 1, "home": 1, "errands": 1})

	done := complete(t, st, "alice", b.ID, t0.Add(time.Hour))
	complete(t, st, "alice", b.ID, t0.Add(2*time.Hour))
	wantCounts(t, "complete", counts(t, st, url, "alice"), map[string]int64{"Work": 1, "home": 1, "errands": 1})

	next, ok, err := ops.Successor(done, *done.CompletedAt, t0.Add(time.Hour))
	if err != nil || !ok {
		t.Fatalf("successor: %v %v", ok, err)
	}
	for range 2 { // a redelivered event creates nothing more
		if _, err := st.CreateSuccessor(ctx, "test", "completed-b", done.ID, &next); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateSuccessor(ctx, "test", "completed-b-again", done.ID, &next); err != nil {
		t.Fatal(err) // another event for the same occurrence: the successor exists
	}
	wantCounts(t, "successor", counts(t, st, url, "alice"), map[string]int64{"Work": 2, "home": 1, "errands": 1})

	patch(t, st, "alice", b.ID, `{"status":"active"}`, t0.Add(3*time.Hour))
	wantCounts(t, "reopen", counts(t, st, url, "alice"), map[string]int64{"Work": 2, "home": 1, "errands": 1})

	idem := &store.Idempotency{Key: "k", Hash: []byte("h")}
	for range 3 {
		if _, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", `{"title":"c","tags":["work","car"]}`, t0)), idem); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, "an idempotent create replayed", counts(t, st, url, "alice"),
		map[string]int64{"Work": 3, "car": 1, "home": 1, "errands": 1})

	ws := []ops.Write{
		ops.Insert(newTask(t, "alice", `{"title":"d","tags":["Car","home"]}`, t0)),
		ops.Insert(newTask(t, "alice", `{"title":"e","tags":["car"]}`, t0)),
		ops.Insert(newTask(t, "alice", `{"title":"c","tags":["work","car"]}`, t0)),
	}
	for range 2 {
		if _, err := st.CreateAll(ctx, ws, []*store.Idempotency{nil, {Key: "k2", Hash: []byte("h2")}, idem}); err != nil {
			t.Fatal(err)
		}
		ws[0] = ops.Insert(newTask(t, "alice", `{"title":"d","tags":["Car","home"]}`, t0))
	}
	wantCounts(t, "CreateAll, twice with its keys", counts(t, st, url, "alice"),
		map[string]int64{"Work": 3, "car": 4, "home": 3, "errands": 1})

	if _, err := st.Delete(ctx, "alice", a.ID, 0, deleting(t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Delete(ctx, "alice", done.ID, 0, deleting(t0)); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, "delete", counts(t, st, url, "alice"), map[string]int64{"Work": 2, "car": 4, "home": 2, "errands": 0})
	wantCounts(t, "alice's writes", counts(t, st, url, "bob"), map[string]int64{})
}

func TestTagCountsConcurrentCreates(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tags := `["work"]`
			if i%2 == 0 {
				tags = `["Work","home"]`
			}
			_, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", `{"title":"x","tags":`+tags+`}`, t0)), nil)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := counts(t, st, url, "alice")
	if got["work"]+got["Work"] != 50 || got["home"] != 25 {
		t.Errorf("50 concurrent creates: %v", got)
	}
	if n := count(t, url, "SELECT count(*) FROM tag_counts WHERE key = 'work'"); n < 2 {
		t.Errorf("the count of one tag is on %d row(s), not spread over shards", n)
	}
}

// TestTagCountsMatchSubquery runs random writes of two users and checks
// every count against the subquery after each round.
func TestTagCountsMatchSubquery(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	spellings := []string{"work", "Work", "home", "HOME", "car", "q1", "Q1", "errands", "ideas"}
	tags := func() string {
		var ts []string
		for range r.IntN(4) {
			ts = append(ts, spellings[r.IntN(len(spellings))])
		}
		b, _ := json.Marshal(ts)
		return string(b)
	}
	users := []string{"alice", "bob"}
	ids := map[string][]string{}
	now := t0
	rounds, steps := 8, 40
	if testing.Short() {
		rounds = 4
	}
	for round := range rounds {
		for range steps {
			now = now.Add(time.Minute)
			user := users[r.IntN(len(users))]
			mine := ids[user]
			pick := func() (int, string) { i := r.IntN(len(mine)); return i, mine[i] }
			switch op := r.IntN(8); {
			case op < 2 || len(mine) == 0:
				body := `{"title":"t","tags":` + tags() + `}`
				if r.IntN(3) == 0 {
					body = `{"title":"t","tags":` + tags() + `,"due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`
				}
				var idem *store.Idempotency
				if r.IntN(3) == 0 {
					idem = &store.Idempotency{Key: fmt.Sprint("k", r.IntN(5)), Hash: []byte(body)}
				}
				out, replay, err := st.Create(ctx, ops.Insert(newTask(t, user, body, now)), idem)
				if err == nil && replay == nil {
					ids[user] = append(ids[user], out.ID)
				}
			case op == 2:
				var ws []ops.Write
				for range 1 + r.IntN(3) {
					ws = append(ws, ops.Insert(newTask(t, user, `{"title":"b","tags":`+tags()+`}`, now)))
				}
				out, err := st.CreateAll(ctx, ws, make([]*store.Idempotency, len(ws)))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range out {
					ids[user] = append(ids[user], c.Task.ID)
				}
			case op == 3:
				_, id := pick()
				patch(t, st, user, id, `{"tags":`+tags()+`}`, now)
			case op == 4:
				_, id := pick()
				done := complete(t, st, user, id, now)
				if next, ok, err := ops.Successor(done, now, now); err == nil && ok {
					created, err := st.CreateSuccessor(ctx, "test", "e-"+id, id, &next)
					if err != nil {
						t.Fatal(err)
					}
					if created {
						ids[user] = append(ids[user], next.Task.ID)
					}
				}
			case op == 5:
				_, id := pick()
				patch(t, st, user, id, `{"status":"active"}`, now)
			default:
				i, id := pick()
				if _, err := st.Delete(ctx, user, id, 0, deleting(now)); err != nil {
					t.Fatal(err)
				}
				ids[user] = append(mine[:i:i], mine[i+1:]...)
			}
		}
		for _, u := range users {
			counts(t, st, url, u)
		}
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
	}
}

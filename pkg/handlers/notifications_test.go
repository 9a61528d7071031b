package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/store"
)

func TestNotificationsListReadAndIsolation(t *testing.T) {
	a := newAPI(t)
	st, err := store.Open(context.Background(), a.db, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		n, _, _, err := st.Notify(context.Background(), events.Notification{UserID: "alice",
			TaskID: fmt.Sprintf("0193f0c2-0000-7000-8000-00000000000%d", i),
			Title:  fmt.Sprint("t", i), Message: "m", RemindAt: base, DeliveredAt: base.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	r := a.do("GET", "/api/notifications?limit=2", "alice", "")
	a.expect(r, 200, "")
	page := r.json(t)
	items := page["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["title"] != "t2" || page["next_cursor"] == nil {
		t.Fatalf("first page, newest first: %s", r.Body)
	}
	r = a.do("GET", "/api/alice/notifications?limit=2&cursor="+page["next_cursor"].(string), "alice", "")
	if items := r.json(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["title"] != "t0" {
		t.Fatalf("second page: %s", r.Body)
	}
	if items := a.do("GET", "/api/notifications", "bob", "").json(t)["items"].([]any); len(items) != 0 {
		t.Errorf("bob sees alice's notifications")
	}
	r = a.do("PATCH", "/api/notifications/"+ids[0], "alice", `{"read":true}`)
	a.expect(r, 200, "")
	if r.json(t)["read"] != true {
		t.Errorf("mark read: %s", r.Body)
	}
	a.expect(a.do("PATCH", "/api/notifications/"+ids[1], "bob", `{"read":true}`), 404, "not_found")
	a.expect(a.do("PATCH", "/api/notifications/not-an-id", "alice", `{"read":true}`), 404, "not_found")
	for _, body := range []string{`{}`, `{"read":"yes"}`, `{"read":true,"title":"x"}`, `[]`, `{`} {
		a.expect(a.do("PATCH", "/api/notifications/"+ids[1], "alice", body), 400, "invalid_request")
	}
	a.expect(a.do("GET", "/api/notifications?limit=0", "alice", ""), 400, "invalid_request")
	a.expect(a.do("GET", "/api/notifications?sort=title", "alice", ""), 400, "invalid_request")
	if n := a.rows("SELECT count(*) FROM notifications WHERE read"); n != 1 {
		t.Errorf("%d read notifications, want 1", n)
	}
}

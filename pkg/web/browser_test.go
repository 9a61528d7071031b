package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/ports"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	addr, err := ports.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startStack builds every function and runs the local stack as `make run`
// does (gateway, web, accounts, the API and consumer functions, Kafka, the
// Broker, real Dapr), returning its base URL.
func startStack(t *testing.T) (*devstack.Stack, string) {
	dapr, err := devstack.DaprBin("../..")
	if err != nil {
		t.Skipf("browser tests need the real stack: %v", err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "../../functions/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := devstack.Config{APIAddr: freeAddr(t), DatabaseURL: storetest.NewURL(t),
		Secrets:  devstack.Secrets{Config: auth.Config{Secret: "browser-secret-browser-secret-browser"}},
		PortBase: 0, BinDir: bin, Manifests: "../../knative", LogLevel: "warn", LogDir: t.TempDir(),
		KafkaAddr: freeAddr(t), KafkaData: t.TempDir(), Triggers: "../../triggers", BrokerAddr: freeAddr(t),
		DaprBin: dapr, DaprData: t.TempDir()}
	out := &syncBuf{}
	s := devstack.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Error("the stack did not stop")
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "TaskFlow is up") {
		select {
		case err := <-done:
			t.Fatalf("stack stopped: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack not up:\n%s", out.String())
		}
	}
	return s, "http://" + cfg.APIAddr
}

// The browser's zone differs from UTC and from the series' zone, so that a
// time shown in the wrong zone shows up.
const browserZone = "America/New_York"

// TestBrowser drives the web app in headless Chromium against the whole
// local stack, finding every control by UI.md's roles and accessible names.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack and a browser")
	}
	chromium(t)
	start := time.Now()
	stack, base := startStack(t)
	t.Logf("stack up in %s", time.Since(start).Round(time.Millisecond))
	browser := newBrowser(t, browserZone)
	ny, _ := time.LoadLocation(browserZone)

	a := newPage(t, browser, base, "alice")
	email, password := "alice@example.com", "correct horse battery staple"

	// Signed out, / shows the sign-in form; Create account switches to sign-up.
	a.find("textbox", "Email")
	a.find("button", "Sign in")
	a.screenshot("sign-in")
	a.click(a.find("button", "Create account"))
	a.typeInto(a.find("textbox", "Name"), "Alice")
	a.typeInto(a.find("textbox", "Email"), email)
	a.typeInto(a.find("textbox", "Password"), password)
	a.click(a.find("button", "Sign up"))
	a.find("button", "Sign out")

	// Sign out, and in again.
	a.click(a.find("button", "Sign out"))
	a.find("button", "Sign in")
	a.typeInto(a.find("textbox", "Email"), email)
	a.typeInto(a.find("textbox", "Password"), "not the password")
	a.press("\r")
	a.eventually("a wrong password refused", 10*time.Second, func() bool {
		for _, n := range a.query(0, "alert", "") {
			if strings.Contains(a.text(n), "do not match") {
				return true
			}
		}
		return false
	})
	a.typeInto(a.find("textbox", "Password"), password)
	a.click(a.find("button", "Sign in"))
	a.find("button", "Sign out")

	t.Run("keyboard alone: add and complete", func(t *testing.T) {
		a.t = t
		// The app puts the focus in New task; typing and Enter adds.
		var focused string
		a.eval(`document.activeElement.getAttribute('aria-label') || document.activeElement.labels[0].textContent`, &focused)
		if focused != "New task" {
			t.Fatalf("focus starts on %q", focused)
		}
		a.press("Keyboard only task\r")
		item := a.taskItem("Keyboard only task")
		check := a.findIn(item, "checkbox", "Completed")
		// Tab to its Completed checkbox, and Space completes it.
		for i := 0; ; i++ {
			var here bool
			a.must(a.call(check, `function() { return document.activeElement === this; }`, &here))
			if here {
				break
			}
			if i > 40 {
				t.Fatal("Tab never reached the task's Completed checkbox")
			}
			a.press("\t")
		}
		a.press(" ")
		a.eventually("completed by keyboard", 5*time.Second, func() bool {
			var done bool
			_ = a.call(a.taskItem("Keyboard only task"), `function() { return this.classList.contains('done') &&
				this.querySelector('input[type=checkbox]').checked; }`, &done)
			return done
		})
	})

	var weekly string
	t.Run("every field and a weekly recurrence previewed by the server", func(t *testing.T) {
		a.t = t
		a.typeInto(a.find("textbox", "New task"), "Weekly review")
		a.click(a.find("button", "Add"))
		a.click(a.findIn(a.taskItem("Weekly review"), "button", "Edit"))
		dlg := a.find("dialog", "Edit task")
		a.typeInto(a.findIn(dlg, "textbox", "Title"), "Weekly review")
		a.typeInto(a.findIn(dlg, "textbox", "Description"), "Look back, <b>plan</b> ahead & \"tidy\"")
		a.set(a.findIn(dlg, "combobox", "Priority"), "high")
		a.typeInto(a.findIn(dlg, "textbox", "Tags"), "work, review")
		a.set(a.findIn(dlg, "", "Due date"), "2027-03-01T09:00")
		a.set(a.findIn(dlg, "", "Reminder"), "2027-03-01T08:45")
		a.set(a.findIn(dlg, "combobox", "Repeats"), "weekly")
		a.set(a.findIn(dlg, "spinbutton", "Every"), "1")
		a.click(a.findIn(dlg, "checkbox", "Mon"))
		a.click(a.findIn(dlg, "checkbox", "Wed"))
		a.set(a.findIn(dlg, "combobox", "Ends"), "count")
		a.set(a.findIn(dlg, "spinbutton", "Occurrences"), "6")
		a.set(a.findIn(dlg, "combobox", "Time zone"), "Europe/Berlin")

		// The editor's Next occurrences are the server's preview of the same series.
		due := time.Date(2027, 3, 1, 9, 0, 0, 0, ny).UTC().Format(time.RFC3339)
		_, preview := a.api("POST", "/api/recurrence/preview", map[string]any{"due_date": due, "count": 5,
			"recurrence_pattern": map[string]any{"frequency": "weekly", "interval": 1, "days_of_week": []int{1, 3},
				"occurrences": 6, "timezone": "Europe/Berlin"}})
		var want []string
		for _, o := range preview["occurrences"].([]any) {
			want = append(want, o.(map[string]any)["at"].(string))
		}
		if len(want) != 5 {
			t.Fatalf("server preview: %v", preview)
		}
		next := a.findIn(dlg, "list", "Next occurrences")
		var got []string
		a.eventually("the next occurrences", 10*time.Second, func() bool {
			_ = a.call(next, `function() { return [...this.querySelectorAll('li time')].map(t => t.getAttribute('datetime')); }`, &got)
			return slices.Equal(got, want)
		})
		first := a.text(a.query(next, "listitem", "")[0])
		// 09:00 in the browser's zone, a Monday, and 15:00 in the series' zone.
		if !strings.Contains(first, "Mon") || !strings.Contains(first, "09:00") || !strings.Contains(first, "Europe/Berlin") {
			t.Errorf("first occurrence shown as %q", first)
		}
		a.screenshot("editor")
		// A value out of range is refused next to its field.
		every := a.findIn(dlg, "spinbutton", "Every")
		a.set(every, "0")
		a.eventually("the interval's error tied to its field", 10*time.Second, func() bool {
			ids := strings.Fields(a.attr(every, "aria-describedby"))
			return a.attr(every, "aria-invalid") == "true" && slices.Contains(ids, "e-interval-error")
		})
		a.set(every, "1")
		a.click(a.findIn(dlg, "button", "Save"))
		a.gone("dialog", "Edit task")
		item := a.taskItem("Weekly review")
		text := strings.ToLower(a.text(item))
		for _, want := range []string{"high", "work", "review", "repeats", "reminder", "mar 1"} {
			if !strings.Contains(text, want) {
				t.Errorf("the task shows %q, without %q", text, want)
			}
		}
		var dueAttr string
		a.must(a.call(item, `function() { return this.querySelector('.due time').getAttribute('datetime'); }`, &dueAttr))
		if dueAttr != due {
			t.Errorf("due %s, want %s", dueAttr, due)
		}
		weekly = want[1] // the series' second occurrence
		// The text was shown as text, never as markup.
		_, list := a.api("GET", "/api/tasks/search?q=weekly", nil)
		if d := list["items"].([]any)[0].(map[string]any)["description"]; d != "Look back, <b>plan</b> ahead & \"tidy\"" {
			t.Errorf("description stored as %q", d)
		}
	})

	t.Run("an all-day task and the settings", func(t *testing.T) {
		a.t = t
		// The browser's zone became the user's on first use.
		a.click(a.find("button", "Settings"))
		sdlg := a.find("dialog", "Settings")
		if z := a.prop(a.findIn(sdlg, "combobox", "Time zone"), "value"); z != browserZone {
			t.Errorf("time zone %v, want the browser's %s", z, browserZone)
		}
		a.set(a.findIn(sdlg, "", "All-day reminder time"), "09:00")
		a.click(a.findIn(sdlg, "button", "Save settings"))
		a.gone("dialog", "Settings")
		_, st := a.api("GET", "/api/settings", nil)
		if st["timezone"] != browserZone || st["all_day_reminder_time"] != "09:00" {
			t.Errorf("settings stored: %v", st)
		}

		a.typeInto(a.find("textbox", "New task"), "Pay rent")
		a.click(a.find("button", "Add"))
		a.click(a.findIn(a.taskItem("Pay rent"), "button", "Edit"))
		dlg := a.find("dialog", "Edit task")
		a.click(a.findIn(dlg, "checkbox", "All day"))
		a.set(a.findIn(dlg, "", "Due date"), "2031-05-04")
		a.click(a.findIn(dlg, "button", "Save"))
		a.gone("dialog", "Edit task")
		item := a.taskItem("Pay rent")
		text := strings.ToLower(a.text(item))
		if !strings.Contains(text, "all day") || !strings.Contains(text, "may 4") || strings.Contains(text, ":") {
			t.Errorf("the all-day task shows %q", text)
		}
		_, list := a.api("GET", "/api/tasks/search?q=rent", nil)
		if d := list["items"].([]any)[0].(map[string]any)["due_date"]; d != "2031-05-04" {
			t.Errorf("due_date stored as %v", d)
		}
		// Unchecking All day makes it a timed task again.
		a.click(a.findIn(item, "button", "Edit"))
		dlg = a.find("dialog", "Edit task")
		if a.prop(a.findIn(dlg, "checkbox", "All day"), "checked") != true {
			t.Errorf("the editor does not show the task as all-day")
		}
		a.click(a.findIn(dlg, "checkbox", "All day"))
		a.click(a.findIn(dlg, "button", "Save"))
		a.gone("dialog", "Edit task")
		_, list = a.api("GET", "/api/tasks/search?q=rent", nil)
		due := time.Date(2031, 5, 4, 9, 0, 0, 0, ny).UTC().Format(time.RFC3339)
		if d := list["items"].([]any)[0].(map[string]any)["due_date"]; d != due {
			t.Errorf("timed again: due_date %v, want %s", d, due)
		}
		a.api("DELETE", "/api/tasks/"+list["items"].([]any)[0].(map[string]any)["id"].(string), nil)
	})

	t.Run("several reminders: one at a time and two before the due date, kept by a save", func(t *testing.T) {
		a.t = t
		a.typeInto(a.find("textbox", "New task"), "Dentist")
		a.click(a.find("button", "Add"))
		a.click(a.findIn(a.taskItem("Dentist"), "button", "Edit"))
		dlg := a.find("dialog", "Edit task")
		a.set(a.findIn(dlg, "", "Due date"), "2031-06-10T10:00")
		a.set(a.findIn(dlg, "", "Reminder"), "2031-06-10T08:00")
		before := a.findIn(dlg, "listbox", "Remind before due")
		for _, name := range []string{"15 minutes before", "1 day before"} { // a Ctrl-click each
			a.must(a.call(a.findIn(before, "option", name), `function() {
				this.selected = true;
				this.parentElement.dispatchEvent(new Event('change', {bubbles: true}));
			}`, nil))
		}
		a.click(a.findIn(dlg, "button", "Save"))
		a.gone("dialog", "Edit task")
		at := func(d, h, m int) string { return time.Date(2031, 6, d, h, m, 0, 0, ny).UTC().Format(time.RFC3339) }
		want := []string{"P1D " + at(9, 10, 0), " " + at(10, 8, 0), "PT15M " + at(10, 9, 45)}
		stored := func() []string {
			_, list := a.api("GET", "/api/tasks/search?q=dentist", nil)
			var got []string
			for _, r := range list["items"].([]any)[0].(map[string]any)["reminders"].([]any) {
				r := r.(map[string]any)
				b, _ := r["before_due"].(string)
				got = append(got, b+" "+r["at"].(string))
			}
			return got
		}
		if got := stored(); !slices.Equal(got, want) {
			t.Fatalf("reminders stored %q, want %q", got, want)
		}
		// Opened again, the editor shows them; saved unchanged, they stay.
		a.click(a.findIn(a.taskItem("Dentist"), "button", "Edit"))
		dlg = a.find("dialog", "Edit task")
		before = a.findIn(dlg, "listbox", "Remind before due")
		for name, sel := range map[string]bool{"15 minutes before": true, "1 day before": true, "1 hour before": false} {
			if a.prop(a.findIn(before, "option", name), "selected") != sel {
				t.Errorf("%s: selected is not %v", name, sel)
			}
		}
		a.click(a.findIn(dlg, "button", "Save"))
		a.gone("dialog", "Edit task")
		if got := stored(); !slices.Equal(got, want) {
			t.Errorf("after an unchanged save: %q, want %q", got, want)
		}
		_, list := a.api("GET", "/api/tasks/search?q=dentist", nil)
		a.api("DELETE", "/api/tasks/"+list["items"].([]any)[0].(map[string]any)["id"].(string), nil)
	})

	t.Run("history", func(t *testing.T) {
		a.t = t
		a.home()
		var items []node
		a.eventually("the created and changed entries", 15*time.Second, func() bool {
			a.click(a.findIn(a.taskItem("Weekly review"), "button", "History"))
			list := a.find("list", "History")
			time.Sleep(300 * time.Millisecond)
			items = a.items(list)
			if len(items) >= 2 {
				return true
			}
			a.click(a.find("button", "Close"))
			return false
		})
		last := a.text(items[len(items)-1])
		// Both changes were made here, by a person: "You".
		if !strings.Contains(a.text(items[0]), "Created") || !strings.Contains(a.text(items[0]), "You") ||
			!strings.Contains(last, "You") || !strings.Contains(last, "priority") || !strings.Contains(last, "medium → high") {
			t.Errorf("history: %q ... %q", a.text(items[0]), last)
		}
		a.click(a.find("button", "Close"))
	})

	t.Run("filter, sort and search, kept by a reload", func(t *testing.T) {
		a.t = t
		a.home()
		past := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
		for _, body := range []map[string]any{
			{"title": "Write report", "priority": "urgent", "tags": []string{"work"}},
			{"title": "Review notes", "priority": "low", "tags": []string{"work"}},
			{"title": "Pay rent", "priority": "high", "tags": []string{"home"}, "due_date": past},
		} {
			if st, b := a.api("POST", "/api/tasks", body); st != 201 {
				t.Fatalf("create: %d %v", st, b)
			}
		}
		a.taskItem("Pay rent")
		if !strings.Contains(a.text(a.taskItem("Pay rent")), "Overdue") {
			t.Error("an overdue task is not marked")
		}
		a.click(a.find("checkbox", "Overdue only"))
		a.eventually("only the overdue task", 10*time.Second, func() bool {
			return slices.Equal(a.titles(), []string{"Pay rent"})
		})
		a.click(a.find("checkbox", "Overdue only"))
		a.typeInto(a.find("textbox", "Tags filter"), "work")
		a.set(a.find("combobox", "Tag mode"), "all")
		a.set(a.find("combobox", "Status"), "active")
		a.set(a.find("combobox", "Sort"), "priority")
		a.set(a.find("combobox", "Order"), "desc")
		a.eventually("work tasks by priority, highest first", 10*time.Second, func() bool {
			return slices.Equal(a.titles(), []string{"Write report", "Weekly review", "Review notes"})
		})
		a.set(a.find("combobox", "Priority"), "urgent")
		a.eventually("the urgent one", 10*time.Second, func() bool {
			return slices.Equal(a.titles(), []string{"Write report"})
		})
		a.set(a.find("combobox", "Priority"), "")
		a.typeInto(a.find("textbox", "Search"), "revi")
		a.eventually("the search as typed", 10*time.Second, func() bool {
			return slices.Equal(a.titles(), []string{"Weekly review", "Review notes"})
		})
		var loc string
		a.eval(`location.search`, &loc)
		q, _ := url.ParseQuery(strings.TrimPrefix(loc, "?"))
		for k, v := range map[string]string{"q": "revi", "tags": "work", "tag_mode": "all", "status": "active",
			"sort": "priority", "order": "desc"} {
			if q.Get(k) != v {
				t.Errorf("URL %s: %s=%q, want %q", loc, k, q.Get(k), v)
			}
		}
		a.do(chromedp.Reload())
		a.eventually("the same view after a reload", 10*time.Second, func() bool {
			return slices.Equal(a.titles(), []string{"Weekly review", "Review notes"})
		})
		if v := a.prop(a.find("textbox", "Search"), "value"); v != "revi" {
			t.Errorf("Search after reload: %v", v)
		}
		if v := a.prop(a.find("combobox", "Sort"), "value"); v != "priority" {
			t.Errorf("Sort after reload: %v", v)
		}
		a.do(chromedp.Navigate(base + "/"))
		a.find("list", "Tasks")
	})

	t.Run("complete an occurrence and see the next one", func(t *testing.T) {
		a.t = t
		a.home()
		item := a.taskItem("Weekly review")
		a.click(a.findIn(item, "checkbox", "Completed"))
		a.eventually("the next occurrence", 15*time.Second, func() bool {
			var dues []string
			a.eval(`[...document.querySelectorAll('#tasks > li:not(.done)')].filter(li => li.innerText.includes('Weekly review'))
				.map(li => li.querySelector('.due time')?.getAttribute('datetime'))`, &dues)
			return slices.Contains(dues, weekly)
		})
		a.screenshot("tasks")
	})

	t.Run("repeat from completion, skip an occurrence, end a series", func(t *testing.T) {
		a.t = t
		a.home()
		a.typeInto(a.find("textbox", "New task"), "Water the plants")
		a.click(a.find("button", "Add"))
		a.click(a.findIn(a.taskItem("Water the plants"), "button", "Edit"))
		dlg := a.find("dialog", "Edit task")
		tomorrow := time.Now().In(ny).AddDate(0, 0, 1).Format("2006-01-02") + "T09:00"
		a.set(a.findIn(dlg, "", "Due date"), tomorrow)
		a.set(a.findIn(dlg, "combobox", "Repeats"), "daily")
		a.set(a.findIn(dlg, "spinbutton", "Every"), "3")
		a.set(a.findIn(dlg, "combobox", "Repeat from"), "completion")
		a.click(a.findIn(dlg, "button", "Save"))
		a.gone("dialog", "Edit task")
		_, list := a.api("GET", "/api/tasks/search?q=water", nil)
		items := list["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("search: %v", list)
		}
		first := items[0].(map[string]any)
		if p, _ := first["recurrence_pattern"].(map[string]any); p == nil || p["repeat_from"] != "completion" {
			t.Fatalf("saved pattern %v", first["recurrence_pattern"])
		}
		// Skip: this one is marked Skipped, and the next one, three days
		// after today, appears.
		a.click(a.findIn(a.taskItem("Water the plants"), "button", "Skip"))
		next := time.Now().In(ny)
		next = time.Date(next.Year(), next.Month(), next.Day()+3, 9, 0, 0, 0, ny)
		a.eventually("the skipped one and the next", 15*time.Second, func() bool {
			var got []string
			a.eval(`[...document.querySelectorAll('#tasks > li')].filter(li => li.innerText.includes('Water the plants'))
				.map(li => (li.classList.contains('done') ? 'done ' : 'open ') + (li.innerText.includes('Skipped') ? 'skipped ' : '') +
					li.querySelector('.due time')?.getAttribute('datetime'))`, &got)
			return slices.Contains(got, "done skipped "+first["due_date"].(string)) &&
				slices.Contains(got, "open "+next.UTC().Format(time.RFC3339))
		})
		if st, got := a.api("GET", "/api/tasks/"+first["id"].(string), nil); st != 200 || got["status"] != "skipped" {
			t.Errorf("skipped task: %d %v", st, got)
		}
		// End the series at the next one: it stays, no longer repeats, and
		// offers neither Skip nor End series.
		var open node
		for _, li := range a.taskItems("Water the plants") {
			var done bool
			if a.call(li, `function() { return this.classList.contains('done'); }`, &done) == nil && !done {
				open = li
			}
		}
		a.click(a.findIn(open, "button", "End series"))
		a.eventually("the series ended", 10*time.Second, func() bool {
			for _, li := range a.taskItems("Water the plants") {
				var done bool
				if a.call(li, `function() { return this.classList.contains('done'); }`, &done) == nil && !done {
					return !strings.Contains(a.text(li), "Repeats") && len(a.query(li, "button", "Skip")) == 0 &&
						len(a.query(li, "button", "End series")) == 0
				}
			}
			return false
		})
		_, list = a.api("GET", "/api/tasks/search?q=water", nil)
		for _, it := range list["items"].([]any) {
			if m := it.(map[string]any); m["status"] == "active" && (m["is_recurring"] != false || m["series_id"] != first["series_id"]) {
				t.Errorf("ended occurrence %v", m)
			}
		}
	})

	b := newPage(t, browser, base, "alice, second device")
	t.Run("another device of the same user sees changes within a second", func(t *testing.T) {
		b.t = t
		b.typeInto(b.find("textbox", "Email"), email)
		b.typeInto(b.find("textbox", "Password"), password)
		b.click(b.find("button", "Sign in"))
		b.taskItem("Write report")
		time.Sleep(500 * time.Millisecond) // the stream is open
		a.t = t
		a.typeInto(a.find("textbox", "New task"), "Made on the laptop")
		a.press("\r")
		a.taskItem("Made on the laptop")
		shown := time.Now()
		b.eventually("the change from the other device", 3*time.Second, func() bool {
			return len(b.taskItems("Made on the laptop")) > 0
		})
		if d := time.Since(shown); d > time.Second {
			t.Errorf("the other device showed the change after %s", d)
		} else {
			t.Logf("the other device showed the change %s after this one", d.Round(time.Millisecond))
		}
		// Completing there shows here.
		b.click(b.findIn(b.taskItem("Made on the laptop"), "checkbox", "Completed"))
		a.eventually("completed elsewhere", 3*time.Second, func() bool {
			items := a.taskItems("Made on the laptop")
			var done bool
			return len(items) == 1 && a.call(items[0], `function() { return this.classList.contains('done'); }`, &done) == nil && done
		})
	})

	t.Run("a stale save shows an alert", func(t *testing.T) {
		a.t = t
		a.home()
		b.t = t
		a.click(a.findIn(a.taskItem("Review notes"), "button", "Edit"))
		dlg := a.find("dialog", "Edit task")
		// Another device changes the task while this editor is open.
		b.click(b.findIn(b.taskItem("Review notes"), "button", "Edit"))
		bdlg := b.find("dialog", "Edit task")
		b.set(b.findIn(bdlg, "combobox", "Priority"), "urgent")
		b.click(b.findIn(bdlg, "button", "Save"))
		b.gone("dialog", "Edit task")
		a.typeInto(a.findIn(dlg, "textbox", "Title"), "Review all notes")
		a.click(a.findIn(dlg, "button", "Save"))
		a.eventually("the conflict alert", 10*time.Second, func() bool {
			for _, n := range a.query(dlg, "alert", "") {
				if strings.Contains(a.text(n), "changed elsewhere") {
					return true
				}
			}
			return false
		})
		a.screenshot("conflict")
		// Nothing was overwritten; loading the latest version shows the other change.
		a.click(a.findIn(dlg, "button", "Load the latest version"))
		a.eventually("the latest version", 10*time.Second, func() bool {
			return a.prop(a.findIn(dlg, "combobox", "Priority"), "value") == "urgent"
		})
		// Tags are suggested from the user's own.
		tags := a.findIn(dlg, "textbox", "Tags")
		a.typeInto(tags, "work, rev")
		a.click(a.findIn(dlg, "button", "Add tag review"))
		if v := a.prop(tags, "value"); v != "work, review, " {
			t.Errorf("Tags after the suggestion: %q", v)
		}
		a.click(a.findIn(dlg, "button", "Cancel"))
		a.gone("dialog", "Edit task")
	})

	t.Run("a reminder fires while the page is open", func(t *testing.T) {
		a.t = t
		a.home()
		remind := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339)
		due := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if st, body := a.api("POST", "/api/tasks", map[string]any{"title": "Call the dentist", "due_date": due,
			"reminder_time": remind}); st != 201 {
			t.Fatalf("create: %d %v", st, body)
		}
		bell := a.find("button", "Notifications")
		a.eventually("the notification", 30*time.Second, func() bool {
			return strings.Contains(a.text(bell), "1 unread")
		})
		a.click(bell)
		list := a.find("list", "Notifications list")
		item := a.query(list, "listitem", "")
		if len(item) != 1 || !strings.Contains(a.text(item[0]), "Call the dentist") {
			t.Fatalf("notifications: %d", len(item))
		}
		a.screenshot("notifications")
		a.click(a.findIn(item[0], "button", "Mark read"))
		a.eventually("read", 10*time.Second, func() bool { return strings.Contains(a.text(bell), "0 unread") })
		// Snooze it: the notification shows until when.
		item = a.query(list, "listitem", "")
		a.findIn(item[0], "combobox", "Snooze for")
		a.click(a.findIn(item[0], "button", "Snooze"))
		a.eventually("snoozed", 10*time.Second, func() bool {
			items := a.query(list, "listitem", "")
			return len(items) == 1 && strings.Contains(a.text(items[0]), "snoozed until")
		})
		a.click(bell)
	})

	t.Run("delete with a confirmation", func(t *testing.T) {
		a.t = t
		a.home()
		a.click(a.findIn(a.taskItem("Pay rent"), "button", "Delete"))
		a.click(a.find("button", "Yes, delete it"))
		a.eventually("the task gone", 5*time.Second, func() bool { return len(a.taskItems("Pay rent")) == 0 })
	})

	t.Run("infinite scroll over keyset pages", func(t *testing.T) {
		a.t = t
		var created int
		a.eval(`(async () => { let n = 0; for (let i = 0; i < 70; i += 10) {
			const rs = await Promise.all([...Array(10).keys()].map(j => fetch('/api/tasks', {method: 'POST',
				headers: {'Content-Type': 'application/json'}, body: JSON.stringify({title: 'Bulk ' + (i + j), tags: ['bulk']})})));
			n += rs.filter(r => r.status === 201).length; } return n; })()`, &created)
		if created != 70 {
			t.Fatalf("created %d", created)
		}
		a.do(chromedp.Navigate(base + "/?tags=bulk"))
		a.eventually("the first page", 10*time.Second, func() bool { return len(a.titles()) == 50 })
		a.eval(`window.scrollTo(0, document.body.scrollHeight)`, nil)
		a.eventually("the next page on scrolling", 10*time.Second, func() bool { return len(a.titles()) == 70 })
		a.do(chromedp.Navigate(base + "/"))
		a.find("list", "Tasks")
	})

	t.Run("another user never sees these tasks", func(t *testing.T) {
		c := newPage(t, browser, base, "bob")
		c.click(c.find("button", "Create account"))
		c.typeInto(c.find("textbox", "Name"), "Bob")
		c.typeInto(c.find("textbox", "Email"), "bob@example.com")
		c.typeInto(c.find("textbox", "Password"), "another long passphrase")
		c.click(c.find("button", "Sign up"))
		c.find("button", "Sign out")
		c.eventually("an empty list", 10*time.Second, func() bool {
			var s string
			c.eval(`document.getElementById('list-status').textContent`, &s)
			return strings.Contains(s, "No tasks")
		})
		a.t = t
		st, task := a.api("POST", "/api/tasks", map[string]any{"title": "Alice's secret"})
		if st != 201 {
			t.Fatal(st)
		}
		time.Sleep(1500 * time.Millisecond)
		if n := len(c.titles()); n != 0 {
			t.Errorf("bob sees %d tasks: %v", n, c.titles())
		}
		if st, _ := c.api("GET", "/api/tasks/"+task["id"].(string), nil); st != 404 {
			t.Errorf("bob reads alice's task: %d", st)
		}
	})

	t.Run("360 px wide", func(t *testing.T) {
		a.t = t
		a.do(chromedp.EmulateViewport(360, 740))
		a.do(chromedp.Navigate(base + "/"))
		a.taskItem("Write report")
		var width int
		a.eval(`document.documentElement.scrollWidth`, &width)
		if width > 360 {
			t.Errorf("the page is %d px wide at 360 px", width)
		}
		for _, n := range []node{a.find("button", "Add"), a.find("button", "Sign out"),
			a.findIn(a.taskItem("Write report"), "button", "Delete")} {
			var right float64
			a.must(a.call(n, `function() { return this.getBoundingClientRect().right; }`, &right))
			if right > 360 {
				t.Errorf("a control ends at %.0f px", right)
			}
		}
		a.screenshot("phone")
		a.do(chromedp.EmulateViewport(1280, 900))
	})

	t.Run("calendar feed: subscribe, replace, stop sharing", func(t *testing.T) { a.t = t; calendarFeedSteps(t, a, base) })

	t.Run("the API unavailable, then back", func(t *testing.T) {
		a.t = t
		if err := stack.Kill("gateway", 3*time.Second); err != nil {
			t.Fatal(err)
		}
		a.set(a.find("combobox", "Status"), "completed")
		a.eventually("the unavailable message", 10*time.Second, func() bool {
			for _, n := range a.query(0, "alert", "") {
				if strings.Contains(a.text(n), "can't be reached") {
					return true
				}
			}
			return false
		})
		a.eventually("recovery", 30*time.Second, func() bool {
			return len(a.query(0, "alert", "")) == 0 && reflect.DeepEqual(len(a.taskItems("Keyboard only task")), 1)
		})
	})
	a.t, b.t = t, t
	a.clean()
	b.clean()
	t.Logf("browser tests took %s", time.Since(start).Round(time.Millisecond))
}

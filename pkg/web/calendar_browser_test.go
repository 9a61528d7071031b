package web_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// calendarFeedSteps: the Calendar feed panel makes the subscription link
// (shown, copyable), "Subscribe in a calendar" again replaces it (the old
// one answers 404), and "Stop sharing" revokes it. The links are fetched as
// a calendar app would, without credentials.
func calendarFeedSteps(t *testing.T, a *page, base string) {
	fetch := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	pattern := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/api/calendar/[A-Za-z0-9_-]{43}\.ics$`)
	link := func() string {
		t.Helper()
		var url string
		a.eventually("the calendar link shown", 10*time.Second, func() bool {
			nodes := a.query(0, "textbox", "Calendar link")
			if len(nodes) == 0 {
				return false
			}
			url, _ = a.prop(nodes[0], "value").(string)
			return pattern.MatchString(url)
		})
		return url
	}

	button := a.find("button", "Calendar feed")
	a.click(button)
	if a.attr(button, "aria-expanded") != "true" {
		t.Error("the Calendar feed button does not say its panel is open")
	}
	a.click(a.find("button", "Subscribe in a calendar"))
	first := link()
	a.find("button", "Copy link")
	if code, body := fetch(first); code != 200 || !strings.Contains(body, "BEGIN:VCALENDAR") {
		t.Fatalf("the feed: %d %.200s", code, body)
	}

	a.click(a.find("button", "Subscribe in a calendar"))
	var second string
	a.eventually("a new link", 10*time.Second, func() bool { second = link(); return second != first })
	if code, _ := fetch(first); code != 404 {
		t.Errorf("the replaced link answers %d, want 404", code)
	}
	if code, _ := fetch(second); code != 200 {
		t.Errorf("the new link answers %d", code)
	}

	a.click(a.find("button", "Stop sharing"))
	a.eventually("sharing stopped", 10*time.Second, func() bool {
		for _, n := range a.query(0, "status", "") {
			if strings.Contains(a.text(n), "Sharing stopped") {
				return true
			}
		}
		return false
	})
	if code, _ := fetch(second); code != 404 {
		t.Errorf("the revoked link answers %d, want 404", code)
	}
	a.click(button) // close the panel again
}

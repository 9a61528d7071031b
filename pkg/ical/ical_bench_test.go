package ical_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/ical"
	"github.com/taskflow/taskflow/pkg/task"
)

// BenchmarkWriter10k is the encoding alone of a 10,000-task feed (a quarter
// of them series in Europe/Berlin, each with a reminder and two tags), without
// the database or HTTP, every VTODO encoded afresh: the CPU the feed costs
// beyond reading its rows when no task is in the cache.
func BenchmarkWriter10k(b *testing.B) {
	due := time.Date(2031, 1, 6, 8, 0, 0, 0, time.UTC)
	r := due.Add(-15 * time.Minute)
	sid := "11111111-1111-1111-1111-111111111111"
	ts := make([]task.Task, 10000)
	for i := range ts {
		ts[i] = task.Task{ID: fmt.Sprintf("22222222-2222-2222-2222-%012d", i), Title: "Task 1: write the quarterly report, section 1", Description: "Notes, with commas; and semicolons.",
			Priority: task.High, Tags: []string{"work", "tag1"}, DueDate: &due, ReminderTime: &r, CreatedAt: due, UpdatedAt: due}
		if i%4 == 0 {
			ts[i].IsRecurring = true
			ts[i].Recurrence = &task.Recurrence{Frequency: "weekly", Interval: 1, DaysOfWeek: []int{1, 4}, Timezone: "Europe/Berlin"}
			ts[i].SeriesID = &sid
			ts[i].SeriesStart = &due
		}
	}
	feed := func() {
		w := ical.NewWriter(io.Discard, "TaskFlow", []string{"Europe/Berlin"}, due, time.Now())
		for _, t := range ts {
			_ = w.Task(t)
		}
		_ = w.Close()
	}
	b.Run("fresh", func(b *testing.B) {
		for n := range b.N {
			for i := range ts {
				ts[i].Version = int64(n + 1000) // a new version: encoded afresh, not from the cache
			}
			feed()
		}
	})
	b.Run("cached", func(b *testing.B) { // a poll where no task changed
		for i := range ts {
			ts[i].Version = 1
		}
		feed()
		b.ResetTimer()
		for range b.N {
			feed()
		}
	})
}

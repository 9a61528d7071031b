package mcpserver

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskflow/taskflow/pkg/task"
)

// The live resources: JSON lists of the user's tasks. today takes the zone
// its day is in as a query parameter (?timezone=Europe/Berlin; UTC without).
const (
	TodayURI   = "taskflow://tasks/today"
	OverdueURI = "taskflow://tasks/overdue"
	// resourceLimit bounds a resource's list, as a list page is bounded.
	resourceLimit = task.MaxLimit
	// coalesce gathers the changes of a burst (add_tasks, a bulk import)
	// into one notification per resource.
	coalesce = 100 * time.Millisecond
)

// TaskList is a resource's content.
type TaskList struct {
	Timezone string `json:"timezone"`
	Date     string `json:"date,omitempty"` // today's date in the zone (today only)
	Items    []Task `json:"items"`
	// Truncated: there are more than resourceLimit such tasks.
	Truncated bool `json:"truncated"`
}

func (s *Server) addResources(srv *mcp.Server) {
	srv.AddResource(&mcp.Resource{URI: TodayURI, Name: "tasks-today", Title: "Due today",
		Description: "Active tasks due today in UTC, overdue ones included; taskflow://tasks/today?timezone=<IANA zone> for another " +
			"zone's day. Subscribe to be told when they change.",
		MIMEType: "application/json"}, s.readResource)
	srv.AddResource(&mcp.Resource{URI: OverdueURI, Name: "tasks-overdue", Title: "Overdue",
		Description: "Active tasks whose due date has passed. Subscribe to be told when they change.",
		MIMEType:    "application/json"}, s.readResource)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: TodayURI + "{?timezone}", Name: "tasks-today-in-zone",
		Title: "Due today in a zone", Description: "Active tasks due today in the given IANA zone, overdue ones included.",
		MIMEType: "application/json"}, s.readResource)
}

// parseResource names a resource and the zone of its day; an unknown URI
// or zone is the SDK's resource-not-found error.
func parseResource(uri string) (string, *time.Location, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "taskflow" || u.Host != "tasks" {
		return "", nil, mcp.ResourceNotFoundError(uri)
	}
	q := u.Query()
	loc := time.UTC
	switch {
	case u.Path == "/overdue" && len(q) == 0:
	case u.Path == "/today" && len(q) == 0:
	case u.Path == "/today" && len(q) == 1 && len(q["timezone"]) == 1:
		l, ok := task.LoadZone(q.Get("timezone"))
		if !ok {
			return "", nil, mcp.ResourceNotFoundError(uri)
		}
		loc = l
	default:
		return "", nil, mcp.ResourceNotFoundError(uri)
	}
	return strings.TrimPrefix(u.Path, "/"), loc, nil
}

func (s *Server) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	if req.Extra == nil || req.Extra.TokenInfo == nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	name, loc, err := parseResource(req.Params.URI)
	if err != nil {
		return nil, err
	}
	list, err := s.taskList(ctx, req.Extra.TokenInfo.UserID, name, loc)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
		{URI: req.Params.URI, MIMEType: "application/json", Text: string(body)}}}, nil
}

// taskList lists a resource's tasks through the list query the REST list
// runs: active, by due date; today's up to the end of the zone's day.
func (s *Server) taskList(ctx context.Context, user, name string, loc *time.Location) (TaskList, error) {
	now := s.now()
	v := url.Values{"status": {"active"}, "sort": {"due_date"}, "limit": {"500"}}
	out := TaskList{Timezone: loc.String()}
	if name == "overdue" {
		v.Set("overdue", "true")
	} else {
		local := now.In(loc)
		y, m, d := local.Date()
		end := time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(-time.Microsecond)
		v.Set("due_before", end.UTC().Format(time.RFC3339Nano))
		out.Date = local.Format("2006-01-02")
	}
	q, err := task.ParseListQuery(v, false, now)
	if err != nil {
		return out, err
	}
	items, next, err := s.d.Store.List(ctx, user, q)
	if err != nil {
		return out, err
	}
	out.Items, out.Truncated = toTasks(items, loc), next != nil
	return out, nil
}

// subscribed starts watching the user's changes, once per user server:
// each change (coalesced over a burst) tells every resource ever
// subscribed to on it that it was updated; the SDK sends the notification
// to the sessions subscribed to it now.
func (s *Server) subscribed(ctx context.Context, u *user, uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.uris[uri] = true
	if u.watching {
		return
	}
	u.watching = true
	go s.watch(ctx, u)
}

func (s *Server) watch(ctx context.Context, u *user) {
	for ctx.Err() == nil {
		changes, stop, err := s.live.Watch(u.id)
		if err != nil { // the reader has not started yet
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		s.relay(ctx, u, changes)
		stop()
		s.notify(ctx, u) // it fell behind: something changed
	}
}

// relay turns the changes into notifications until ctx ends or the watch does.
func (s *Server) relay(ctx context.Context, u *user, changes <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
		}
		burst := time.After(coalesce)
	gather:
		for {
			select {
			case <-burst:
				break gather
			case _, ok := <-changes:
				if !ok {
					break gather
				}
			}
		}
		s.notify(ctx, u)
	}
}

func (s *Server) notify(ctx context.Context, u *user) {
	s.mu.Lock()
	uris := make([]string, 0, len(u.uris))
	for uri := range u.uris {
		uris = append(uris, uri)
	}
	s.mu.Unlock()
	for _, uri := range uris {
		_ = u.srv.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: uri})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/taskflow/taskflow/pkg/deadletters"
	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/fn"
)

const deadlettersUsage = `usage:
  taskflow-dev deadletters [-url URL] list [-type T] [-subscriber S] [-pending] [-json]
  taskflow-dev deadletters [-url URL] replay ID
  taskflow-dev deadletters [-url URL] replay -type T [-subscriber S]

The deadletter function's operator endpoints (pkg/deadletters), with the
operator token from TASKFLOW_OPERATOR_TOKEN. Without -url, the local stack's
deadletter function (TASKFLOW_FUNCTION_PORT_BASE and the manifests' order).
replay -type replays every pending letter of the type, a page at a time, and
stops at the first the subscriber refuses.`

// deadLetters runs `taskflow-dev deadletters ...` against the deadletter
// function at -url (or the local stack's), writing to out.
func deadLetters(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("deadletters", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	base := fs.String("url", "", "the deadletter function's URL")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return fmt.Errorf("%s", deadlettersUsage)
	}
	if *base == "" {
		var cfg localStack
		if err := fn.Load(&cfg); err != nil {
			return err
		}
		u, err := localDeadLetter(cfg)
		if err != nil {
			return err
		}
		*base = u
	}
	c := opClient{base: strings.TrimRight(*base, "/"), token: os.Getenv("TASKFLOW_OPERATOR_TOKEN")}
	if c.token == "" {
		return fmt.Errorf("set TASKFLOW_OPERATOR_TOKEN to the operator token the deadletter function was started with")
	}
	sub := flag.NewFlagSet(fs.Arg(0), flag.ContinueOnError)
	sub.SetOutput(io.Discard)
	typ := sub.String("type", "", "event type")
	subscriber := sub.String("subscriber", "", "subscriber (URL or Service name)")
	pending := sub.Bool("pending", false, "only letters not replayed since they arrived")
	asJSON := sub.Bool("json", false, "print JSON")
	if err := sub.Parse(fs.Args()[1:]); err != nil {
		return fmt.Errorf("%v\n%s", err, deadlettersUsage)
	}
	switch fs.Arg(0) {
	case "list":
		if sub.NArg() != 0 {
			return fmt.Errorf("%s", deadlettersUsage)
		}
		return c.list(ctx, *typ, *subscriber, *pending, *asJSON, out)
	case "replay":
		switch {
		case sub.NArg() == 1 && *typ == "" && *subscriber == "":
			id, err := strconv.ParseInt(sub.Arg(0), 10, 64)
			if err != nil || id < 1 {
				return fmt.Errorf("replay %q: a dead letter id is a positive integer, as list shows", sub.Arg(0))
			}
			return c.replay(ctx, fmt.Sprintf("/deadletters/%d/replay", id), out)
		case sub.NArg() == 0 && *typ != "":
			q := url.Values{"type": {*typ}}
			if *subscriber != "" {
				q.Set("subscriber", *subscriber)
			}
			return c.replay(ctx, "/deadletters/replay?"+q.Encode(), out)
		}
		return fmt.Errorf("replay takes one letter id or -type\n%s", deadlettersUsage)
	}
	return fmt.Errorf("unknown deadletters command %q\n%s", fs.Arg(0), deadlettersUsage)
}

// localStack is the part of devstack.Config that places the local stack's
// functions (without its required database URL, which a client needs not).
type localStack struct {
	PortBase  int    `envconfig:"TASKFLOW_FUNCTION_PORT_BASE" default:"18100" desc:"first port of the functions' listeners"`
	Manifests string `envconfig:"TASKFLOW_MANIFESTS" default:"knative" desc:"the Knative manifests the stack reads its Services from"`
}

// localDeadLetter is the local stack's deadletter function's URL.
func localDeadLetter(cfg localStack) (string, error) {
	svcs, err := devstack.Services(cfg.Manifests)
	if err != nil {
		return "", err
	}
	for i, s := range svcs {
		if s.Name == "deadletter" {
			if cfg.PortBase == 0 {
				return "", fmt.Errorf("the stack's functions listen on free ports (TASKFLOW_FUNCTION_PORT_BASE=0): pass -url")
			}
			return "http://127.0.0.1:" + strconv.Itoa(cfg.PortBase+i), nil
		}
	}
	return "", fmt.Errorf("%s has no deadletter Service", cfg.Manifests)
}

type opClient struct{ base, token string }

func (c opClient) do(ctx context.Context, method, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode/100 != 2 && res.StatusCode != http.StatusBadGateway {
		return res.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(body))
	}
	return res.StatusCode, json.Unmarshal(body, v)
}

func (c opClient) list(ctx context.Context, typ, subscriber string, pending, asJSON bool, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "ID\tTYPE\tSUBJECT\tSUBSCRIBER\tREASON\tATTEMPTS\tLAST RECEIVED\tREPLAYS")
	}
	after := ""
	for {
		q := url.Values{"limit": {"500"}}
		for k, v := range map[string]string{"type": typ, "subscriber": subscriber, "after": after} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if pending {
			q.Set("pending", "true")
		}
		var page struct {
			Items []deadletters.Letter `json:"items"`
			Next  string               `json:"next"`
		}
		if _, err := c.do(ctx, http.MethodGet, "/deadletters?"+q.Encode(), &page); err != nil {
			return err
		}
		for _, l := range page.Items {
			if asJSON {
				b, _ := json.Marshal(l)
				fmt.Fprintln(out, string(b))
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%d\n", l.ID, l.Type, l.Subject, l.Subscriber, l.Reason,
				l.Attempts, l.LastReceivedAt.UTC().Format(time.RFC3339), l.Replays)
		}
		if page.Next == "" {
			return tw.Flush()
		}
		after = page.Next
	}
}

func (c opClient) replay(ctx context.Context, path string, out io.Writer) error {
	total := 0
	for {
		var res deadletters.Result
		if _, err := c.do(ctx, http.MethodPost, path, &res); err != nil {
			return err
		}
		total += len(res.Replayed)
		if len(res.TooOld) > 0 {
			fmt.Fprintf(out, "left alone, older than the processed-event retention: %v\n", res.TooOld)
		}
		if res.Failed != nil {
			fmt.Fprintf(out, "replayed %d\n", total)
			return fmt.Errorf("dead letter %d: %s", res.Failed.ID, res.Failed.Error)
		}
		if !res.More {
			fmt.Fprintf(out, "replayed %d\n", total)
			return nil
		}
	}
}

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium is the headless browser the tests drive: Debian's chromium
// (scripts/tools.sh installs it), or TASKFLOW_CHROMIUM.
func chromium(t *testing.T) string {
	if p := os.Getenv("TASKFLOW_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on the PATH: the browser tests are skipped (scripts/tools.sh installs Debian's chromium; or set TASKFLOW_CHROMIUM)")
	return ""
}

// newBrowser starts one headless Chromium with a fresh profile, in the
// browser time zone zone, on a closed network.
func newBrowser(t *testing.T, zone string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Env("TZ="+zone),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// page is one tab, in its own browser context (its own cookies) unless it
// shares one.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string

	mu         sync.Mutex
	exceptions []string // uncaught in the page: a bug of the app
}

// newPage opens a tab on base; what the page throws and what its CSP blocks
// is kept for clean to report.
func newPage(t *testing.T, browser context.Context, base, name string) *page {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx, base: base, name: name}
	p.do() // opens the tab
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `document.addEventListener('securitypolicyviolation', (e) => {
			(window.__violations = window.__violations || []).push(e.violatedDirective + ' ' + e.blockedURI); });`})
	p.must(err)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.mu.Lock()
			p.exceptions = append(p.exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
			p.mu.Unlock()
		}
	}()
	p.do(chromedp.Navigate(base + "/"))
	return p
}

// clean fails the test when the page threw or its CSP blocked something.
func (p *page) clean() {
	p.t.Helper()
	var violations []string
	p.eval(`window.__violations || []`, &violations)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.exceptions {
		p.t.Errorf("%s: uncaught in the page: %s", p.name, e)
	}
	for _, v := range violations {
		p.t.Errorf("%s: the CSP blocked %s", p.name, v)
	}
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// node is a DOM node found through the accessibility tree.
type node = cdp.BackendNodeID

// query lists the nodes under root (0: the document) that the browser's
// accessibility tree gives role and name, skipping those hidden from it.
func (p *page) query(root node, role, name string) []node {
	p.t.Helper()
	if root == 0 {
		doc, err := chromedp.Call(p.ctx, dom.GetDocument, dom.GetDocumentParams{})
		if err != nil {
			p.t.Fatalf("%s: document: %v", p.name, err)
		}
		root = doc.Root.BackendNodeID
	}
	res, err := chromedp.Call(p.ctx, accessibility.QueryAXTree,
		accessibility.QueryAXTreeParams{BackendNodeID: root, Role: role, AccessibleName: name})
	if err != nil {
		return nil // the node went away (a re-render); the caller asks again
	}
	var out []node
	for _, n := range res.Nodes {
		if n.Ignored || n.BackendDOMNodeID == 0 {
			continue
		}
		if role == "" { // by name alone (date and time inputs): the form control, not its label's text
			var control bool
			if p.call(n.BackendDOMNodeID, `function() { return this.nodeType === 1 && this.matches('input, select, textarea'); }`,
				&control) != nil || !control {
				continue
			}
		}
		out = append(out, n.BackendDOMNodeID)
	}
	return out
}

// home starts a step from the app's plain view (no dialog open, no filter).
func (p *page) home() {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base + "/"))
	p.find("list", "Tasks")
}

// eventually retries cond until it holds or timeout passes.
func (p *page) eventually(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			p.screenshot("failure-" + strings.ReplaceAll(what, " ", "-"))
			p.t.Fatalf("%s: %s: not within %s", p.name, what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// find waits for exactly one control with role and name under root.
func (p *page) findIn(root node, role, name string) node {
	p.t.Helper()
	var found []node
	p.eventually(fmt.Sprintf("the %s %q", role, name), 10*time.Second, func() bool {
		found = p.query(root, role, name)
		return len(found) > 0
	})
	if len(found) > 1 {
		p.t.Fatalf("%s: %d controls %s %q", p.name, len(found), role, name)
	}
	return found[0]
}

func (p *page) find(role, name string) node { p.t.Helper(); return p.findIn(0, role, name) }

// gone waits until no control has role and name.
func (p *page) gone(role, name string) {
	p.t.Helper()
	p.eventually(fmt.Sprintf("the %s %q to go", role, name), 10*time.Second, func() bool {
		return len(p.query(0, role, name)) == 0
	})
}

// call runs fn (a JavaScript function of this = the node) and decodes its
// result into out when out is not nil.
func (p *page) call(n node, fn string, out any, args ...any) error {
	obj, err := chromedp.Call(p.ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n})
	if err != nil {
		return err
	}
	var cargs []*runtime.CallArgument
	for _, a := range args {
		b, _ := json.Marshal(a)
		cargs = append(cargs, &runtime.CallArgument{Value: b})
	}
	yes := true
	res, err := chromedp.Call(p.ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: fn, ObjectID: obj.Object.ObjectID, Arguments: cargs, ReturnByValue: &yes, AwaitPromise: &yes})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		if e := res.ExceptionDetails.Exception; e != nil {
			return fmt.Errorf("%s: %s", res.ExceptionDetails.Text, e.Description)
		}
		return fmt.Errorf("%s", res.ExceptionDetails.Text)
	}
	if out != nil && res.Result != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

func (p *page) must(err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

func (p *page) text(n node) string {
	var s string
	p.must(p.call(n, `function() { return this.innerText || this.textContent || ''; }`, &s))
	return s
}

func (p *page) prop(n node, name string) any {
	var v any
	p.must(p.call(n, `function(k) { return this[k]; }`, &v, name))
	return v
}

func (p *page) attr(n node, name string) string {
	var s string
	p.must(p.call(n, `function(k) { return this.getAttribute(k) || ''; }`, &s, name))
	return s
}

// click clicks the middle of the node with the mouse, as a person would.
func (p *page) click(n node) {
	p.t.Helper()
	_, _ = chromedp.Call(p.ctx, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{BackendNodeID: n})
	box, err := chromedp.Call(p.ctx, dom.GetBoxModel, dom.GetBoxModelParams{BackendNodeID: n})
	p.must(err)
	q := box.Model.Border
	x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
	p.do(chromedp.MouseClickXY(x, y))
}

// typeInto focuses a text field, empties it and types text (key by key).
func (p *page) typeInto(n node, text string) {
	p.t.Helper()
	_, err := chromedp.Call(p.ctx, dom.Focus, dom.FocusParams{BackendNodeID: n})
	p.must(err)
	p.must(p.call(n, `function() { this.select && this.select(); }`, nil))
	p.do(chromedp.KeyEvent("\b"))
	if text != "" {
		p.do(chromedp.KeyEvent(text))
	}
}

// set gives a select, a date/time or a number input a value as its picker
// would, with the input and change events.
func (p *page) set(n node, value string) {
	p.t.Helper()
	p.must(p.call(n, `function(o) {
		const v = o.v;
		this.focus(); this.value = v;
		if (this.value !== v) throw new Error('no option or value ' + v);
		this.dispatchEvent(new Event('input', {bubbles: true}));
		this.dispatchEvent(new Event('change', {bubbles: true}));
	}`, nil, map[string]string{"v": value}))
}

func (p *page) press(keys string) { p.t.Helper(); p.do(chromedp.KeyEvent(keys)) }

// eval runs JavaScript in the page (awaiting a promise) into out.
func (p *page) eval(js string, out any) {
	p.t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	p.must(err)
	if out != nil {
		p.must(json.Unmarshal(raw, out))
	}
}

// api calls the API from the page, with its session cookie and origin: a
// change made by another client of the same user.
func (p *page) api(method, path string, body any) (int, map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(body)
	if body == nil {
		b = []byte("null")
	}
	var res struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	p.eval(fmt.Sprintf(`(async () => {
		const init = {method: %q, headers: {}};
		const body = %s;
		if (body !== null) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
		const r = await fetch(%q, init);
		const text = await r.text();
		return {status: r.status, body: text ? JSON.parse(text) : null};
	})()`, method, b, path), &res)
	return res.Status, res.Body
}

// items are the listitems of list itself, not of lists inside them.
func (p *page) items(list node) []node {
	var out []node
	for _, li := range p.query(list, "listitem", "") {
		var own bool
		if p.call(li, `function(l) { return this.parentElement.getAttribute('aria-label') === l; }`, &own,
			p.attr(list, "aria-label")) == nil && own {
			out = append(out, li)
		}
	}
	return out
}

// taskItem is the listitem of the list Tasks whose text includes title
// (the first one that is not completed when several are).
func (p *page) taskItems(title string) []node {
	lists := p.query(0, "list", "Tasks")
	if len(lists) != 1 {
		return nil
	}
	var out []node
	for _, li := range p.query(lists[0], "listitem", "") {
		var s string
		if p.call(li, `function() { return this.classList.contains('task') ? this.innerText : ''; }`, &s) == nil &&
			s != "" && strings.Contains(s, title) {
			out = append(out, li)
		}
	}
	return out
}

func (p *page) taskItem(title string) node {
	p.t.Helper()
	var items []node
	p.eventually("the task "+title, 10*time.Second, func() bool {
		items = p.taskItems(title)
		return len(items) > 0
	})
	return items[0]
}

// titles lists the titles of the list Tasks in order.
func (p *page) titles() []string {
	var out []string
	p.eval(`[...document.querySelectorAll('#tasks > li .title')].map(e => e.textContent)`, &out)
	return out
}

// screenshot keeps the viewport as docs/screenshots/<name>.png when
// TASKFLOW_SCREENSHOTS names a directory.
func (p *page) screenshot(name string) {
	dir := os.Getenv("TASKFLOW_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
}

package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/web"
)

// routeWeb sends the web app's paths (the page at / and its assets) to the
// web function, when the gateway has an upstream for it. It is optional:
// an API-only deployment leaves it out and / answers 404.
func (g *Gateway) routeWeb(u *url.URL, log *slog.Logger) {
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		fn.WriteError(w, r, log, errs.Wrap(errs.ErrUnavailable, "function web", err))
	}
	g.mux.Handle("GET /{$}", named("/", forward(p)))
	g.mux.Handle("GET "+web.AssetPrefix, named(web.AssetPrefix, forward(p)))
}

package accounts

import (
	"net"
	"net/http"
	"strings"
)

// limit counts a sign-in attempt against the account (accountKey) and the
// client's address, in PostgreSQL so that every replica counts the same
// attempts. Over either limit, the attempt is refused before any password
// work, with when the window ends.
func (s *service) limit(r *http.Request, accountKey string) error {
	return s.count(r, counter{accountKey, s.cfg.AccountLimit},
		counter{"address:" + clientAddress(r, s.cfg.ProxyHops), s.cfg.AddressLimit})
}

// counter is a key whose attempts are counted and how many a window allows.
type counter struct {
	key string
	max int
}

// count counts an attempt under every counter's key; over any counter's
// limit it is refused (rateLimited, until the window ends).
func (s *service) count(r *http.Request, counters ...counter) error {
	now := s.now()
	start := now.Truncate(s.cfg.LimitWindow)
	after := start.Add(s.cfg.LimitWindow).Sub(now)
	for _, l := range counters {
		n, err := s.st.CountAttempt(r.Context(), l.key, start)
		if err != nil {
			return err
		}
		if n > l.max {
			return &rateLimited{after: after}
		}
	}
	return nil
}

// clientAddress is the address of the client: the X-Forwarded-For entry
// the first of hops proxies in front of this function appended (entries
// before it are the client's own claims and prove nothing), else the
// connection's peer.
func clientAddress(r *http.Request, hops int) string {
	var entries []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, e := range strings.Split(h, ",") {
			entries = append(entries, strings.TrimSpace(e))
		}
	}
	if hops > 0 && len(entries) >= hops {
		if e := entries[len(entries)-hops]; e != "" {
			return e
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

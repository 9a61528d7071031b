package accounts

import (
	"bufio"
	"context"
	_ "embed"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// The default argon2id cost (the settings TASKFLOW_ARGON2_MEMORY_KIB and
// TASKFLOW_ARGON2_ITERATIONS): 46 MiB and one pass, OWASP's first argon2id
// option (m=47104 KiB, t=1), with 4 lanes. RFC 9106's second recommended
// option (64 MiB, 3 passes) took about 300 ms per sign-in on the 2-core
// machine of BENCHMARKS.md, twice the 150 ms p95 budget.
const (
	DefaultMemoryKiB  = 47104
	DefaultIterations = 1
)

// Password rules, as Better Auth's defaults (minPasswordLength,
// maxPasswordLength), plus a list of common passwords.
const (
	MinPassword = 8
	MaxPassword = 128
)

//go:embed common-passwords.txt
var commonList string

// common is the set of common-passwords.txt (its source and licence are in
// its header), lower-cased.
var common = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// passwordProblem is the Better Auth error a new password gets, or nil.
func passwordProblem(pw string) *apiError {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPassword:
		return errPasswordTooShort
	case n > MaxPassword:
		return errPasswordTooLong
	case common[strings.ToLower(pw)]:
		return errPasswordCompromised
	}
	return nil
}

// hasher hashes and checks passwords with argon2id, at most one per CPU at a
// time: each takes its full memory while it runs, and a burst of sign-ins
// must queue rather than exhaust the container's memory.
type hasher struct {
	params *argon2id.Params
	slots  chan struct{}
	// dummy is a hash of no one's password, checked against when the email
	// is unknown so that the answer takes as long as for a known one.
	dummy string
}

func newHasher(memoryKiB, iterations uint32) (*hasher, error) {
	p := &argon2id.Params{Memory: memoryKiB, Iterations: iterations, Parallelism: 4, SaltLength: 16, KeyLength: 32}
	h := &hasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	var err error
	h.dummy, err = argon2id.CreateHash("no one's password: timing only", p)
	return h, err
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.slots }()
	return argon2id.CreateHash(pw, h.params)
}

// check reports whether pw matches hash; with hash "" it checks against the
// dummy hash and reports false, taking the same time.
func (h *hasher) check(ctx context.Context, pw, hash string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.slots }()
	if hash == "" {
		_, err := argon2id.ComparePasswordAndHash(pw, h.dummy)
		return false, err
	}
	return argon2id.ComparePasswordAndHash(pw, hash)
}

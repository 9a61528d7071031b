package accounts

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestSignInRateLimits: past the account's limit (5 in tests) even the right
// password is refused with 429 and Retry-After, from any address; past an
// address's limit (8) any account is refused from it, and other addresses
// are not.
func TestSignInRateLimits(t *testing.T) {
	e := newEnv(t)
	e.signUp("ada@example.com", goodPassword)
	for i := range 5 {
		if r := e.signIn("ada@example.com", "wrong password", fmt.Sprintf("10.0.0.%d", i)); r.code != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, r.code, r.body)
		}
	}
	r := e.signIn("ada@example.com", goodPassword, "10.0.1.1")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if r.code != 429 || err != nil || secs < 1 || secs > 15*60 || r.json(t)["code"] != "TOO_MANY_REQUESTS" || r.cookie() != "" {
		t.Fatalf("sixth attempt on the account: %d %v %s", r.code, r.header, r.body)
	}
	// An unknown account is limited the same way (no enumeration through the limit).
	for i := range 6 {
		r = e.signIn("nobody@example.com", "wrong password", fmt.Sprintf("10.0.2.%d", i))
	}
	if r.code != 429 {
		t.Fatalf("sixth attempt on an unknown account: %d", r.code)
	}

	// Per address: 8 attempts on different accounts from one address.
	for i := range 8 {
		if r := e.signIn(fmt.Sprintf("user%d@example.com", i), "wrong password", "192.0.2.7"); r.code != 401 {
			t.Fatalf("address attempt %d: %d %s", i+1, r.code, r.body)
		}
	}
	if r := e.signIn("fresh@example.com", "wrong password", "192.0.2.7"); r.code != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("ninth attempt from the address: %d %v", r.code, r.header)
	}
	if r := e.signIn("fresh@example.com", "wrong password", "192.0.2.8"); r.code != 401 {
		t.Fatalf("another address: %d %s", r.code, r.body)
	}
	// A forged X-Forwarded-For entry before the gateway's does not escape the limit.
	if r := e.signIn("fresh2@example.com", "wrong password", "203.0.113.9, 192.0.2.7"); r.code != 429 {
		t.Fatalf("forged first entry: %d", r.code)
	}
	// The window ends: the account may try again.
	e.clock.add(15 * 60e9)
	if r := e.signIn("ada@example.com", goodPassword, "10.0.9.9"); r.code != 200 {
		t.Fatalf("after the window: %d %s", r.code, r.body)
	}
	if n := count(t, e.url, `SELECT count(*) FROM sign_in_attempts WHERE key = 'account:ada@example.com'`); n != 0 {
		t.Fatalf("a successful sign-in left %d attempt rows", n)
	}
}

// TestChangePasswordEndsSessions: the other sessions end; the old password
// no longer signs in, the new one does; a wrong current password changes
// nothing; with revokeOtherSessions the current session is replaced too.
func TestChangePasswordEndsSessions(t *testing.T) {
	e := newEnv(t)
	up := e.signUp("ada@example.com", goodPassword)
	other := e.signIn("ada@example.com", goodPassword, "").cookie()
	change := func(cookie, origin, body string) resp {
		return e.do(req{method: "POST", path: "/api/auth/change-password", cookie: cookie, origin: origin, body: body})
	}
	if r := change(up.cookie(), "https://evil.example", `{"currentPassword":"`+goodPassword+`","newPassword":"a new good password"}`); r.code != 403 {
		t.Fatalf("from another origin: %d %s", r.code, r.body)
	}
	if r := change(up.cookie(), testOrigin, `{"currentPassword":"wrong one!","newPassword":"a new good password"}`); r.code != 400 || r.json(t)["code"] != "INVALID_PASSWORD" {
		t.Fatalf("wrong current password: %d %s", r.code, r.body)
	}
	if r := change(up.cookie(), testOrigin, `{"currentPassword":"`+goodPassword+`","newPassword":"a new good password"}`); r.code != 200 {
		t.Fatalf("change: %d %s", r.code, r.body)
	}
	session := func(cookie string) bool {
		r := e.do(req{method: "GET", path: "/api/auth/get-session", cookie: cookie})
		return string(r.body) != "null\n"
	}
	if session(other) || !session(up.cookie()) {
		t.Fatalf("after the change: other session %v, current %v", session(other), session(up.cookie()))
	}
	if r := e.signIn("ada@example.com", goodPassword, ""); r.code != 401 {
		t.Fatalf("old password: %d", r.code)
	}
	in := e.signIn("ada@example.com", "a new good password", "")
	if in.code != 200 {
		t.Fatalf("new password: %d %s", in.code, in.body)
	}
	r := change(in.cookie(), testOrigin, `{"currentPassword":"a new good password","newPassword":"a third good password","revokeOtherSessions":true}`)
	tok, _ := r.json(t)["token"].(string)
	if r.code != 200 || tok == "" || r.cookie() == "" || session(in.cookie()) || session(up.cookie()) || !session(r.cookie()) {
		t.Fatalf("revokeOtherSessions: %d %s", r.code, r.body)
	}
}

// TestSignUpRateLimit: past an address's sign-up limit (6 in tests) any
// sign-up from it is refused with 429 and Retry-After, before an account is
// made; other addresses are not; the window ends.
func TestSignUpRateLimit(t *testing.T) {
	e := newEnv(t)
	signUp := func(email, xff string) resp {
		return e.do(req{method: "POST", path: "/api/auth/sign-up/email", xff: xff,
			body: `{"name":"Ada","email":"` + email + `","password":"` + goodPassword + `"}`})
	}
	for i := range 6 {
		if r := signUp(fmt.Sprintf("user%d@example.com", i), "198.51.100.1"); r.code != 200 {
			t.Fatalf("sign-up %d: %d %s", i+1, r.code, r.body)
		}
	}
	r := signUp("user6@example.com", "198.51.100.1")
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if r.code != 429 || err != nil || secs < 1 || secs > 15*60 || r.json(t)["code"] != "TOO_MANY_REQUESTS" || r.cookie() != "" {
		t.Fatalf("seventh sign-up from the address: %d %v %s", r.code, r.header, r.body)
	}
	if n := count(t, e.url, `SELECT count(*) FROM users WHERE email = 'user6@example.com'`); n != 0 {
		t.Fatal("a refused sign-up made its account")
	}
	// Probing for taken emails counts the same.
	if r := signUp("user0@example.com", "198.51.100.1"); r.code != 429 {
		t.Fatalf("taken email past the limit: %d %s", r.code, r.body)
	}
	if r := signUp("user6@example.com", "198.51.100.2"); r.code != 200 {
		t.Fatalf("another address: %d %s", r.code, r.body)
	}
	e.clock.add(15 * time.Minute)
	if r := signUp("user7@example.com", "198.51.100.1"); r.code != 200 {
		t.Fatalf("after the window: %d %s", r.code, r.body)
	}
}

// TestChangePasswordGuessesLimited: someone holding a session cookie gets 5
// guesses of the current password per window (the account limit in tests),
// then 429 with Retry-After even for the right one; other accounts are not
// affected; the window ends, and a right password clears the count.
func TestChangePasswordGuessesLimited(t *testing.T) {
	e := newEnv(t)
	ada := e.signUp("ada@example.com", goodPassword).cookie()
	bob := e.signUp("bob@example.com", goodPassword).cookie()
	change := func(cookie, current string) resp {
		return e.do(req{method: "POST", path: "/api/auth/change-password", cookie: cookie, origin: testOrigin,
			body: `{"currentPassword":"` + current + `","newPassword":"a new good password"}`})
	}
	for i := range 5 {
		if r := change(ada, fmt.Sprintf("guess number %d", i)); r.code != 400 || r.json(t)["code"] != "INVALID_PASSWORD" {
			t.Fatalf("guess %d: %d %s", i+1, r.code, r.body)
		}
	}
	r := change(ada, goodPassword)
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if r.code != 429 || err != nil || secs < 1 || secs > 15*60 || r.json(t)["code"] != "TOO_MANY_REQUESTS" {
		t.Fatalf("sixth check: %d %v %s", r.code, r.header, r.body)
	}
	if r := e.signIn("ada@example.com", goodPassword, ""); r.code != 200 {
		t.Fatalf("the password changed past the limit: sign-in %d", r.code)
	}
	if r := change(bob, "wrong guess"); r.code != 400 {
		t.Fatalf("another account: %d %s", r.code, r.body)
	}
	if r := change(bob, goodPassword); r.code != 200 {
		t.Fatalf("another account's change: %d %s", r.code, r.body)
	}
	if n := count(t, e.url, `SELECT count(*) FROM sign_in_attempts WHERE key LIKE 'current password:%'`); n != 1 {
		t.Fatalf("%d current-password counters, want ada's only (bob's right password clears his)", n)
	}
	e.clock.add(15 * time.Minute)
	if r := change(ada, goodPassword); r.code != 200 {
		t.Fatalf("after the window: %d %s", r.code, r.body)
	}
}

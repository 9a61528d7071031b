package main

import (
	"context"
	"testing"
)

func TestTokenUsesTheSecretAlone(t *testing.T) {
	secret := "token-test-secret-token-test-secret"
	t.Setenv("DATABASE_URL", "")
	t.Setenv("BETTER_AUTH_SECRET", "")
	t.Setenv("TASKFLOW_AUTH_SECRET", "short")
	if err := token([]string{"alice"}); err == nil {
		t.Error("a short secret signed a token")
	}
	t.Setenv("TASKFLOW_AUTH_SECRET", "")
	t.Setenv("BETTER_AUTH_SECRET", secret)
	if err := token([]string{"alice"}); err != nil {
		t.Errorf("BETTER_AUTH_SECRET alias: %v", err)
	}
	if err := token(nil); err == nil {
		t.Error("no user accepted")
	}
	if err := run(context.Background(), []string{"bogus"}); err == nil {
		t.Error("unknown command accepted")
	}
}

// Command accounts is TaskFlow's own identity provider: Better Auth's
// email-and-password and JWT endpoints under /api/auth/ (pkg/accounts).
package main

import (
	"github.com/taskflow/taskflow/pkg/accounts"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() { fn.Run("accounts", new(accounts.Config), accounts.Function) }

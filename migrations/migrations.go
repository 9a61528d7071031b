// Package migrations embeds TaskFlow's SQL schema migrations, applied in
// order by github.com/jackc/tern (see pkg/store.Migrate).
package migrations

import "embed"

// FS holds the numbered *.sql migrations.
//
//go:embed *.sql
var FS embed.FS

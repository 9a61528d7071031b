package fn

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Base is what every function reads from its environment: where it listens,
// how much it logs, where its traces go. A function's config embeds it and
// the other parts it needs (Database, Auth, kafka.Config, ...).
type Base struct {
	Port     int    `envconfig:"PORT" default:"8080" desc:"TCP port of the function's HTTP server (Knative sets it)"`
	Host     string `envconfig:"TASKFLOW_LISTEN_HOST" desc:"address to listen on; empty: every interface, as Knative needs"`
	LogLevel string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error; JSON logs on stderr"`
	telemetry.Config
}

func (b *Base) base() *Base { return b }

// Database is a function's PostgreSQL. Run opens the pool only for a config
// that embeds it.
type Database struct {
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true" desc:"PostgreSQL connection URL (libpq URL or key=value form)"`
	MaxConns    int32  `envconfig:"DATABASE_MAX_CONNS" default:"8" desc:"most connections this replica opens"`
}

func (d *Database) database() *Database { return d }

// Auth is the keys a function that serves /api/ routes accepts tokens by.
type Auth struct{ auth.Config }

func (a *Auth) authConfig() *auth.Config { return &a.Config }

// Settings is a function's typed config: a struct embedding Base, given to
// Run as a pointer.
type Settings interface{ base() *Base }

type (
	withDatabase interface{ database() *Database }
	withAuth     interface{ authConfig() *auth.Config }
)

// APIConfig is the config of a function that serves authenticated routes
// (and may also take CloudEvents, as create does).
type APIConfig struct {
	Base
	Database
	Auth
}

// ConsumerConfig is the config of a function that only takes CloudEvents
// from Triggers.
type ConsumerConfig struct {
	Base
	Database
}

// Load fills cfg from the environment: defaults, required settings, types.
// It is the one place settings are read (Run calls it once).
func Load(cfg any) error { return envconfig.Process("", cfg) }

// SettingsText documents cfg: one line per environment variable with its
// type, default, whether it is required and what it does, as a Markdown
// table. A setting without a description is an error: every setting a
// function reads is documented (docs/settings.md is made of these tables).
func SettingsText(cfg any) (string, error) {
	const format = "{{range .}}{{usage_key .}}\t{{usage_type .}}\t{{usage_default .}}\t{{usage_required .}}\t{{usage_description .}}\n{{end}}"
	var raw bytes.Buffer
	if err := envconfig.Usagef("", cfg, &raw, format); err != nil {
		return "", err
	}
	var b bytes.Buffer
	b.WriteString("| variable | type | default | required | meaning |\n|---|---|---|---|---|\n")
	var missing []string
	for _, line := range strings.Split(strings.TrimSuffix(raw.String(), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return "", fmt.Errorf("settings line %q", line)
		}
		key, typ, def, req, desc := f[0], f[1], f[2], f[3], f[4]
		if desc == "" {
			missing = append(missing, key)
		}
		if def != "" {
			def = "`" + def + "`"
		}
		if req == "true" {
			req = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", key, typeName(typ), def, req, desc)
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("settings without a desc tag: %s", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// typeName shortens envconfig's type words for the table.
func typeName(t string) string {
	switch t {
	case "Integer":
		return "integer"
	case "True or False":
		return "boolean"
	case "Duration":
		return "duration"
	case "String":
		return "text"
	}
	if strings.HasPrefix(t, "Comma-separated list") {
		return "comma-separated list"
	}
	return t
}

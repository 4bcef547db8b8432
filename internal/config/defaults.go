package config

import (
	"bytes"
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// sectionHelp is the comment above each nested section in DefaultYAML.
var sectionHelp = map[string]string{
	"log":           "Logging.",
	"shutdown":      "Graceful shutdown.",
	"database-pool": "Database connection pool.",
	"password-hash": "Password hashing (Argon2id). Stored hashes with other parameters are\n# replaced at the user's next successful login; the defaults take about\n# 50 ms per hash on one server core.",
	"smtp":          "Default SMTP server for e-mail (verification, password reset, one-time codes).\n# Instances can set their own through the admin API. docs/email.md explains.",
}

// DefaultYAML returns the default configuration as a commented YAML file:
// every key with its default value, a comment saying what it means, and its
// environment variable and flag. Loading it gives exactly Default(). It is
// what `rampart config defaults` prints.
func DefaultYAML() []byte {
	var b bytes.Buffer
	b.WriteString(`# Rampart configuration: every key with its default value.
#
# Precedence, lowest first: defaults, this file, RAMPART_* environment
# variables, command-line flags. Unknown keys are errors. Durations are
# written like 30s, 1m30s or 500ms. The secrets (database, masterkey,
# smtp.password) can also be read from a file named by their *_FILE
# environment variable.
# docs/configuration.md has the details.
`)
	def := Default()
	section := ""
	for _, d := range keys {
		name := d.key
		indent := ""
		if s, leaf, ok := strings.Cut(d.key, "."); ok {
			if s != section {
				fmt.Fprintf(&b, "\n# %s\n%s:\n", sectionHelp[s], s)
				section = s
			} else {
				b.WriteString("\n")
			}
			name, indent = leaf, "  "
		} else {
			if section != "" {
				panic("config: top-level key " + d.key + " listed after a section")
			}
			b.WriteString("\n")
		}
		for _, line := range d.help {
			fmt.Fprintf(&b, "%s# %s\n", indent, line)
		}
		fmt.Fprintf(&b, "%s# Env: %s", indent, d.env())
		if d.secret {
			fmt.Fprintf(&b, " or %s", d.fileEnv())
		}
		if d.flag != "" {
			fmt.Fprintf(&b, ". Flag: --%s", d.flag)
		}
		fmt.Fprintf(&b, ".\n%s%s: %s\n", indent, name, yamlScalar(d.get(def)))
	}
	return b.Bytes()
}

// yamlScalar renders v as a YAML scalar, quoted where YAML needs it.
func yamlScalar(v any) string {
	if s, ok := v.(fmt.Stringer); ok { // time.Duration
		v = s.String()
	}
	var node any = v
	if s, ok := v.(string); ok && (s == "" || strings.ContainsAny(s, ":#")) {
		// Quote what a reader might not recognise as a plain string.
		node = &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Style: yamlv3.DoubleQuotedStyle, Value: s}
	}
	out, err := yamlv3.Marshal(node)
	if err != nil {
		panic(fmt.Sprintf("config: render default %v: %v", v, err))
	}
	return strings.TrimSuffix(string(out), "\n")
}

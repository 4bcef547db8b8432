package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	yamlv3 "go.yaml.in/yaml/v3"
)

// LoadOptions says where Load reads configuration from.
type LoadOptions struct {
	// File is the YAML configuration file. When empty, the --config flag
	// (if set in Flags) and then the RAMPART_CONFIG environment variable
	// name it; with none of them there is no file.
	File string
	// Environ is the environment, as os.Environ returns it. Only RAMPART_*
	// variables are read. Nil means no environment variables: pass
	// os.Environ() in production.
	Environ []string
	// Flags is the flag set RegisterFlags defined, after parsing; only flags
	// the user set override other sources. Nil means no flags.
	Flags *pflag.FlagSet
}

// layer is one source's values, converted to their types.
type layer struct {
	values  map[string]any    // key -> typed value
	origins map[string]string // key -> where the value came from
}

func newLayer() *layer {
	return &layer{values: map[string]any{}, origins: map[string]string{}}
}

// set converts raw for d and records it, or records a problem.
func (l *layer) set(p *problems, d *keyDef, raw any, origin string) {
	v, err := d.convert(raw)
	if err != nil {
		p.add(d.key, origin, err.Error())
		return
	}
	l.values[d.key] = v
	l.origins[d.key] = origin
}

// Load builds the configuration from defaults, the YAML file, RAMPART_*
// environment variables and the flags the user set, in increasing
// precedence, and validates it.
//
// It returns warnings (such as unknown RAMPART_* variables) for the caller
// to log even when it succeeds. Every problem found, whether while reading
// the sources or validating the result, is reported at once in an *Error;
// each names the key and the source of its value.
func Load(opts LoadOptions) (*Config, []string, error) {
	var (
		p        problems
		warnings []string
	)
	layers := make([]*layer, 0, 3)
	if path := configPath(opts); path != "" {
		layers = append(layers, loadFile(&p, path))
	}
	envLayer, envWarnings := loadEnv(&p, opts.Environ)
	layers = append(layers, envLayer)
	warnings = append(warnings, envWarnings...)
	if opts.Flags != nil {
		layers = append(layers, loadFlags(&p, opts.Flags))
	}

	k := koanf.New(".")
	origins := map[string]string{}
	if err := k.Load(confmap.Provider(defaultsMap(), "."), nil); err != nil {
		return nil, warnings, fmt.Errorf("load defaults: %w", err)
	}
	for _, l := range layers {
		if err := k.Load(confmap.Provider(l.values, "."), nil); err != nil {
			return nil, warnings, fmt.Errorf("merge configuration: %w", err)
		}
		for key, o := range l.origins {
			origins[key] = o
		}
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, warnings, fmt.Errorf("decode configuration: %w", err)
	}

	c.validate(&p, origins)
	if len(p) > 0 {
		return nil, warnings, &Error{Problems: p}
	}
	return &c, warnings, nil
}

// configPath picks the configuration file: opts.File, the --config flag,
// then RAMPART_CONFIG.
func configPath(opts LoadOptions) string {
	if opts.File != "" {
		return opts.File
	}
	if opts.Flags != nil {
		if f := opts.Flags.Lookup(flagConfig); f != nil && f.Changed && f.Value.String() != "" {
			return f.Value.String()
		}
	}
	for _, kv := range slices.Backward(opts.Environ) {
		if v, ok := strings.CutPrefix(kv, envConfigFile+"="); ok && v != "" {
			return v
		}
	}
	return ""
}

// loadFile reads the YAML file strictly: unknown keys are problems.
func loadFile(p *problems, path string) *layer {
	l := newLayer()
	origin := fmt.Sprintf("config file %s", path)
	b, err := file.Provider(path).ReadBytes()
	if err != nil {
		p.addf("%s: cannot read: %v", origin, unwrapPath(err))
		return l
	}
	m, err := yaml.Parser().Unmarshal(b)
	var typeErr *yamlv3.TypeError
	switch {
	case errors.As(err, &typeErr):
		// Its message quotes the offending value, which could be a secret.
		p.addf("%s: must be a YAML mapping of keys to values", origin)
		return l
	case err != nil:
		p.addf("%s: not valid YAML: %v", origin, err)
		return l
	}
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(m, ""), nil); err != nil {
		p.addf("%s: %v", origin, err)
		return l
	}
	all := k.All()
	for _, key := range k.Keys() {
		raw := all[key]
		d := keyByName[key]
		switch {
		case d != nil:
			if raw == nil { // "key:" with no value keeps the default
				continue
			}
			l.set(p, d, raw, origin)
		case sectionSet[key] != nil:
			if m, ok := raw.(map[string]any); raw != nil && (!ok || len(m) != 0) {
				p.addf("%s: %q must be a mapping with the keys %s", origin, key, strings.Join(sectionSet[key], ", "))
			}
		default:
			msg := fmt.Sprintf("%s: unknown key %q", origin, key)
			if s := suggest(key, slices.Sorted(maps.Keys(keyByName))); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.add("", "", msg)
		}
	}
	return l
}

// loadEnv reads RAMPART_* variables through the table of known keys,
// resolving _FILE variants. An empty variable counts as unset.
func loadEnv(p *problems, environ []string) (*layer, []string) {
	l := newLayer()
	var warnings []string
	direct := map[string]string{} // key -> variable that set it
	viaFile := map[string]string{}
	transform := func(name, value string) (string, any) {
		if value == "" || name == envConfigFile || strings.HasPrefix(name, envTestPrefix) {
			return "", nil
		}
		if d := keyByEnv[name]; d != nil {
			direct[d.key] = name
			l.set(p, d, value, "environment variable "+name)
			return "", nil
		}
		if d := keyByFile[name]; d != nil {
			viaFile[d.key] = name
			origin := fmt.Sprintf("file %s named by %s", value, name)
			b, err := os.ReadFile(value)
			switch {
			case err != nil:
				p.add(d.key, "", fmt.Sprintf("cannot read %s (named by %s): %v", value, name, unwrapPath(err)))
			case strings.TrimRight(string(b), "\r\n") == "":
				p.add(d.key, "", fmt.Sprintf("file %s named by %s is empty", value, name))
			default:
				l.set(p, d, strings.TrimRight(string(b), "\r\n"), origin)
			}
			return "", nil
		}
		msg := "unknown environment variable " + name + " ignored"
		if s := suggest(name, slices.Sorted(maps.Keys(keyByEnv))); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		warnings = append(warnings, msg)
		return "", nil
	}
	provider := env.Provider(".", env.Opt{
		Prefix:        envPrefix,
		TransformFunc: transform,
		EnvironFunc:   func() []string { return environ },
	})
	if _, err := provider.Read(); err != nil {
		p.addf("environment: %v", err)
	}
	for _, d := range keys {
		if direct[d.key] != "" && viaFile[d.key] != "" {
			p.add(d.key, "", fmt.Sprintf("both %s and %s are set; set only one", direct[d.key], viaFile[d.key]))
		}
	}
	return l, warnings
}

// loadFlags reads the flags the user set that map to configuration keys.
func loadFlags(p *problems, fs *pflag.FlagSet) *layer {
	l := newLayer()
	provider := posflag.ProviderWithFlag(fs, ".", nil, func(f *pflag.Flag) (string, any) {
		if d := keyByFlag[f.Name]; d != nil && f.Changed {
			l.set(p, d, f.Value.String(), "flag --"+f.Name)
		}
		return "", nil
	})
	if _, err := provider.Read(); err != nil {
		p.addf("flags: %v", err)
	}
	return l
}

// unwrapPath drops the operation and path of an *os.PathError, which the
// caller's message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

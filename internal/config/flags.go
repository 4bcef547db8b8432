package config

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// flagConfig is the flag naming the configuration file.
const flagConfig = "config"

// RegisterFlags defines on fs the --config flag and one flag per
// configuration key that has one (--database, --data-dir, --http-addr,
// --external-url, --log-level, --log-format, --shutdown-drain-timeout).
// The master key has no flag: command lines are visible to every user of
// the machine.
//
// Flag defaults are shown in --help only; Load applies just the flags the
// user set, so a flag left alone never overrides the file or environment.
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String(flagConfig, "", "YAML configuration file (env "+envConfigFile+")")
	def := Default()
	for _, d := range keys {
		if d.flag == "" {
			continue
		}
		usage := fmt.Sprintf("%s (env %s)", d.usage, d.env())
		switch v := d.get(def).(type) {
		case time.Duration:
			fs.Duration(d.flag, v, usage)
		case int:
			fs.Int(d.flag, v, usage)
		case string:
			fs.String(d.flag, v, usage)
		default:
			panic(fmt.Sprintf("config: no flag type for key %s", d.key))
		}
	}
}

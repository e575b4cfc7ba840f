package config

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// secretKeys hold credentials: check-config shows that they are set, not what
// they are, unless the value only points at a file.
var secretKeys = map[string]bool{
	"brokerClientAuthenticationParameters":     true,
	"clientAuthenticationParameters":           true,
	"bookkeeperClientAuthenticationParameters": true,
	"tlsKeyStorePassword":                      true,
	"tlsTrustStorePassword":                    true,
	"properties.tokenSecretKey":                true,
}

// shown renders a value for the report, hiding credentials.
func shown(key string, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(b)
	if str, ok := v.(string); ok && str != "" && (secretKeys[key] || strings.HasSuffix(key, "tokenSecretKey")) &&
		!strings.HasPrefix(str, "file:") && !strings.HasPrefix(str, "/") {
		return fmt.Sprintf("(hidden: %d characters)", len(str))
	}
	return s
}

// WriteReport writes every effective value of cfg, one per line, as
// "key: value  # origin", in the order of functions_worker.yml's schema, then
// the properties broker.conf supplied. A value broker.conf replaced says
// where the replaced one was. Credentials are hidden.
func (co *Colocated) WriteReport(w io.Writer, cfg *Config) error {
	fmt.Fprintf(w, "# effective configuration: broker.conf %s, functions_worker.yml %s\n", co.BrokerConf, co.WorkerConf)
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("koanf")
		if key == "" {
			continue
		}
		f := v.Field(i)
		var val any
		if f.Kind() == reflect.Pointer && f.IsNil() {
			val = nil
		} else {
			val = f.Interface()
		}
		if key == "properties" {
			val = cfg.Properties
			if len(cfg.Properties) > 0 {
				// Each property on its own line, so its origin can be told.
				if _, err := fmt.Fprintf(w, "properties:  # %s\n", co.Origins[key]); err != nil {
					return err
				}
				for _, k := range slices.Sorted(maps.Keys(cfg.Properties)) {
					from, ok := co.Origins["properties."+k]
					if !ok {
						from = co.Origins[key]
					}
					if _, err := fmt.Fprintf(w, "  %s: %s  # %s\n", k, shown("properties."+k, cfg.Properties[k]), from); err != nil {
						return err
					}
				}
				continue
			}
		}
		line := fmt.Sprintf("%s: %s  # %s", key, shown(key, val), co.Origins[key])
		if r, ok := co.Replaced[key]; ok {
			line += fmt.Sprintf(" (replaces %s)", r)
		}
		if strings.HasPrefix(key, "bookkeeperClientAuthentication") && val != "" {
			line += " (" + BookKeeperAuthNote + ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

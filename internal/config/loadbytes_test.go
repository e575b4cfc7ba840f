package config

import "context"

// LoadBytes is LoadBytesContext without a deadline, for tests.
func LoadBytes(name string, data []byte, env []string) (*Config, Problems, error) {
	return LoadBytesContext(context.Background(), name, data, env)
}

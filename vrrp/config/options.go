package config

import (
	"os"
	"strings"
)

// Options are the settings of a read that come from the command line.
type Options struct {
	// ConfigID is keepalived's -i/--config-id: a line "@ID ..." is read
	// only when ID is the configuration id, a line "@^ID ..." only when it
	// is not, and ${_INSTANCE} is it. Empty: DefaultConfigID().
	ConfigID string
	// LookupEnv reads the environment for ${_ENV NAME}; nil is
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// DefaultConfigID is keepalived's default configuration id: the host name
// up to its first '.'.
func DefaultConfigID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

func (o Options) withDefaults() Options {
	if o.ConfigID == "" {
		o.ConfigID = DefaultConfigID()
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	return o
}

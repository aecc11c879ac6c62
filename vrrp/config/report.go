package config

import (
	"errors"
	"fmt"
	"io"
)

// Report writes what "xvrrpd -t" prints for a configuration loaded with
// Load or Parse: every error as "file:line: message", then every warning as
// "file:line: warning: keyword: message", then a summary line. c may be nil
// (nothing could be read); err is the error Load returned. Report returns
// the first write error.
func Report(w io.Writer, c *Config, err error) error {
	var errs Errors
	if err != nil && !errors.As(err, &errs) {
		errs = Errors{{Msg: err.Error()}}
	}
	for _, e := range errs {
		if e.File == "" {
			if _, werr := fmt.Fprintln(w, e.Msg); werr != nil {
				return werr
			}
			continue
		}
		if _, werr := fmt.Fprintln(w, e.Error()); werr != nil {
			return werr
		}
	}
	var warns []Warning
	instances := 0
	if c != nil {
		warns = c.Warnings
		instances = len(c.Instances)
	}
	for _, wn := range warns {
		if _, werr := fmt.Fprintln(w, wn.String()); werr != nil {
			return werr
		}
	}
	var werr error
	if len(errs) > 0 {
		_, werr = fmt.Fprintf(w, "configuration invalid: %d error(s), %d warning(s)\n", len(errs), len(warns))
	} else {
		_, werr = fmt.Fprintf(w, "configuration ok: %d vrrp_instance(s), %d warning(s)\n", instances, len(warns))
	}
	return werr
}

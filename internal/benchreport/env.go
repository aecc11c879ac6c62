package benchreport

import (
	"strconv"
	"strings"
)

// EnvLine formats the run's environment as one ENV line, which Parse reads
// back as an env record: ENV key="value" … in the order given.
func EnvLine(kv [][2]string) string {
	var b strings.Builder
	b.WriteString("ENV")
	for _, p := range kv {
		b.WriteString(" " + p[0] + "=" + strconv.Quote(p[1]))
	}
	return b.String()
}

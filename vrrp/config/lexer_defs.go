package config

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
)

// Parameter definitions ("$NAME=value", "${NAME}", "$NAME"), as keepalived
// 2.2.7 substitutes them, with the pre-defined ones of keepalived 2.4
// (_PWD, _INSTANCE, _RANDOM [MIN [MAX]], _ENV NAME, _HASH, _BANG).

// def is one definition.
type def struct {
	name      string
	value     string
	multiline bool // "$NAME=\" continued on the next lines: value lines split by '\n'
	// fn computes the value of a pre-defined definition at each use, from
	// its parameters (the words after the name in "${_RANDOM 1 10}").
	fn          func(params []string) string
	minParams   int
	maxParams   int
	numbersOnly bool
}

// defRef is a reference found by findDefinition: the definition and the
// parameters given with it.
type defRef struct {
	d      *def
	params []string
	// paramsEnd is the offset, in the text after '$', of the last byte of
	// the parameters (-1: none).
	paramsEnd int
}

// stdDefs returns the pre-defined definitions, in keepalived's order.
func (r *reader) stdDefs() []*def {
	return []*def{
		{name: "_PWD", fn: func([]string) string { return r.pwd() }},
		{name: "_INSTANCE", fn: func([]string) string { return r.l.opts.ConfigID }},
		{name: "_RANDOM", fn: randomValue, maxParams: 2, numbersOnly: true},
		{name: "_ENV", fn: func(p []string) string {
			v, _ := r.l.opts.LookupEnv(p[0])
			return v
		}, minParams: 1, maxParams: 1},
		{name: "_HASH", value: "#"},
		{name: "_BANG", value: "!"},
	}
}

// pwd is ${_PWD}: keepalived changes directory to that of each file it
// opens, so this is the directory of the file being read, symbolic links
// resolved (getcwd).
func (r *reader) pwd() string {
	dir, err := filepath.Abs(filepath.Dir(r.pos.File))
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		return real
	}
	return dir
}

// randomValue is ${_RANDOM [MIN [MAX]]}: a number from MIN (default 0) to
// MAX (default 32767). keepalived 2.4 takes MAX = MIN when MIN > MAX.
func randomValue(p []string) string {
	lo, hi := uint64(0), uint64(32767)
	if len(p) > 0 {
		lo = strtoul(p[0])
	}
	if len(p) > 1 {
		hi = strtoul(p[1])
	}
	if lo > hi {
		hi = lo
	}
	n := hi - lo + 1
	if n == 0 { // the whole uint64 range
		return strconv.FormatUint(rand.Uint64(), 10)
	}
	return strconv.FormatUint(lo+rand.Uint64N(n), 10)
}

// strtoul reads a decimal number of digits, saturating as C's strtoul.
func strtoul(s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return ^uint64(0)
	}
	return v
}

// findDefinition looks up the reference at the start of name (the text
// after a '$'), as keepalived's find_definition: "{NAME}" or
// "{NAME PARAMS}" with braces; without, NAME followed by the end, a space,
// a tab, ',' or ')'. NAME starts with a letter or '_' and goes on with
// letters, digits and '_'. A multi-line definition only matches a
// reference that ends the line.
func (r *reader) findDefinition(name string) (defRef, bool) {
	braces := false
	if name != "" && name[0] == '{' {
		braces = true
		name = name[1:]
	}
	if name == "" || !isAlpha(name[0]) && name[0] != '_' {
		return defRef{}, false
	}
	n := 1
	for n < len(name) && (isAlnum(name[n]) || name[n] == '_') {
		n++
	}
	p := n
	paramStart, paramEnd := -1, -1
	numbersOnly := true
	var params []string
	if braces {
		inParam := false
		for p < len(name) && (isBlank(name[p]) || isAlnum(name[p]) || name[p] == '_') {
			if !isBlank(name[p]) {
				if paramStart < 0 {
					paramStart = p
				}
				paramEnd = p
				if !isDigit(name[p]) {
					numbersOnly = false
				}
				if !inParam {
					params = append(params, "")
				}
				params[len(params)-1] += name[p : p+1]
				inParam = true
			} else {
				inParam = false
			}
			p++
		}
		if paramStart >= 0 && paramEnd+1 != p {
			return defRef{}, false
		}
		if p >= len(name) || name[p] != '}' {
			return defRef{}, false
		}
	} else if p < len(name) && !isBlank(name[p]) && name[p] != ',' && name[p] != ')' {
		return defRef{}, false
	}
	allowMultiline := !braces && n == len(name) || braces && n+1 == len(name)
	for _, d := range r.defs {
		if d.name != name[:n] || !allowMultiline && d.multiline {
			continue
		}
		if paramStart >= 0 {
			if d.maxParams == 0 {
				return defRef{}, false
			}
			if d.numbersOnly && !numbersOnly {
				r.errorf("definition %s takes numbers only", d.name)
				return defRef{}, false
			}
			if len(params) > d.maxParams || len(params) < d.minParams {
				r.errorf("definition %s takes %d to %d parameters, not %d", d.name, d.minParams, d.maxParams, len(params))
				return defRef{}, false
			}
			r.note2_4(d.name)
			// Offsets in the text after '$': one more for the '{'.
			return defRef{d: d, params: params, paramsEnd: paramEnd + 1}, true
		}
		if d.minParams > 0 {
			// ${_ENV} without its variable (keepalived 2.4 reads freed
			// memory there).
			r.errorf("definition %s takes %d to %d parameters, not 0", d.name, d.minParams, d.maxParams)
			return defRef{}, false
		}
		return defRef{d: d, paramsEnd: -1}, true
	}
	return defRef{}, false
}

// note2_4 reports, once a line, a pre-defined definition used with
// parameters: keepalived 2.2.7 does not know ${_ENV NAME} (it leaves it as
// written; xvrrpd substitutes it as 2.4 does, with a warning), and it
// garbles the line after ${_RANDOM MIN MAX} (an error: xvrrpd reads it as
// 2.4 does, so the two would differ).
func (r *reader) note2_4(name string) {
	k := r.pos.at() + "\x00" + name
	if !r.child || r.seen[k] {
		return
	}
	r.seen[k] = true
	switch name {
	case "_ENV":
		r.d.warn(r.pos, "${_ENV}", "${_ENV NAME} is keepalived 2.4's: 2.2.7 leaves it as written (and splits the line at its braces); xvrrpd substitutes it as 2.4 does")
	default:
		r.d.errorf(r.pos, "${%s ...} with parameters: keepalived 2.2.7 garbles the rest of the line after it (2.4 does not); write the number instead", name)
	}
}

// setDefinition sets NAME to value (a ~SEQ or ~LST variable), replacing an
// existing definition of that name, pre-defined ones included.
func (r *reader) setDefinition(name, value string) {
	for _, d := range r.defs {
		if d.name == name {
			d.value, d.fn, d.multiline = value, nil, false
			d.minParams, d.maxParams, d.numbersOnly = 0, 0, false
			return
		}
	}
	r.defs = append(r.defs, &def{name: name, value: value})
}

// checkDefinition reads a definition line "$NAME=value" (no blank before
// the '='; blanks after it are skipped) as keepalived's check_definition.
// A value ending in '\' starts a multi-line definition: the following
// lines, up to one that does not end in '\', are its lines. It returns the
// definition, or nil when buf is not a definition.
func (r *reader) checkDefinition(buf string) *def {
	if len(buf) < 2 || buf[0] != '$' || !isAlpha(buf[1]) && buf[1] != '_' {
		return nil
	}
	p := 2
	for p < len(buf) && buf[p] != '=' {
		if !isAlnum(buf[p]) && buf[p] != '_' {
			return nil
		}
		p++
	}
	if p >= len(buf) {
		return nil
	}
	name := buf[1:p]
	value := strings.TrimLeft(buf[p+1:], " \t")
	var d *def
	for _, e := range r.defs {
		if e.name == name {
			d = e
			break
		}
	}
	if d == nil {
		d = &def{name: name}
		r.defs = append(r.defs, d)
	}
	d.fn, d.minParams, d.maxParams, d.numbersOnly = nil, 0, 0, false
	d.multiline = strings.HasSuffix(value, `\`)
	if d.multiline {
		// "value  \" is the first line "value" and a line end.
		n := len(value)
		for n >= 2 && isBlank(value[n-2]) {
			n--
		}
		if n < 2 {
			value = ""
		} else {
			value = value[:n-1] + "\n"
		}
	}
	d.value = value
	return d
}

// valueOf returns a definition's value for one use.
func (ref defRef) valueOf() string {
	if ref.d.fn != nil {
		return ref.d.fn(ref.params)
	}
	return ref.d.value
}

// replaceParams substitutes the references in buf as keepalived 2.2.7's
// replace_param: left to right, each value replacing its reference and
// read again from its start, so that a value may hold references (they are
// expanded at use, not at definition). A multi-line definition puts its
// first line in place and leaves the others in *next, the lines read next.
// Substitution stops at a value that starts with '~' (a ~SEQ line).
// changed is false when nothing was substituted. A line that would reach
// lineMax bytes, or one that goes on substituting (a definition that holds
// itself), is an error; buf then holds what was substituted so far.
func (r *reader) replaceParams(buf string, maxLen int, next *mlText) (out string, changed bool) {
	cur := 0
	nextText := *next
	found := false
	for {
		i := strings.IndexByte(buf[cur:], '$')
		if i < 0 {
			break
		}
		cur += i
		if cur+1 >= len(buf) {
			break
		}
		ref, ok := r.findDefinition(buf[cur+1:])
		if !ok {
			cur++
			continue
		}
		if r.subs++; r.subs > maxSubstitutions {
			r.errorf("definitions substituted more than %d times in one line: a definition refers to itself", maxSubstitutions)
			return buf, false
		}
		found = true
		braces := 0
		if buf[cur+1] == '{' {
			braces = 2
		}
		d := ref.d
		if d.multiline && nextText.ok {
			r.mlStack = append(r.mlStack, mlEntry{text: nextText, seqDepth: r.mlSeqDepth})
		}
		if d.multiline {
			r.mlSeqDepth = len(r.seqs)
		}
		value := ref.valueOf()
		replaced := len(d.name) + 1 + braces // "$NAME" or "${NAME}"
		if ref.paramsEnd >= 0 {
			replaced = ref.paramsEnd + 3 // "${", up to the parameters' end, "}"
		}
		with := value
		if d.multiline {
			first, rest, _ := strings.Cut(value, "\n")
			with = first
			nextText = mlText{text: rest, ok: true}
		}
		if len(buf)+len(with)-replaced >= maxLen {
			r.errorf("substituting definitions makes the line %d bytes or longer; keepalived stops substituting there", maxLen)
			return buf, false
		}
		buf = buf[:cur] + with + buf[cur+replaced:]
		if r.substBytes += len(buf); r.substBytes > maxSubstBytes {
			r.errorf("definitions substituted more than %d MiB of text; reading stops here", maxSubstBytes>>20)
			r.stopped = true
			return buf, false
		}
		if with != "" && strings.HasPrefix(strings.TrimLeft(value, " \t"), "~") {
			break
		}
	}
	if found {
		*next = nextText
	}
	return buf, found
}

// maxSubstitutions bounds the substitutions in one line, rereadings after
// a substitution included: keepalived 2.2.7 loops for ever on "$A=$A" or
// "$A=@id $A".
const maxSubstitutions = 512

// maxSubstBytes bounds the text substitution writes in one configuration,
// so that definitions that go on growing cannot hold a reload for long.
const maxSubstBytes = 256 << 20

package config

import (
	"math"
	"strconv"
	"strings"
)

// ~SEQ(VAR, START, STEP, END) and ~LST(VARS, VALUES...) lines, as
// keepalived 2.2.7's add_seq and add_lst: the rest of the line is read once
// for each value, with $VAR defined to it.

// seq is one ~SEQ or ~LST in progress.
type seq struct {
	text string // the rest of the line, read once per value
	// ~SEQ
	name             string
	next, step, last int64
	hex              bool
	// ~LST
	vars []string
	sets [][]string // values of vars, one set per reading
	set  int        // next set
}

// strtol reads a number at the start of s as C's strtol(s, &end, 0):
// leading whitespace, a sign, then hexadecimal after "0x", octal after
// "0", else decimal; out of range saturates. end is the offset after the
// number, 0 when s has none.
func strtol(s string) (v int64, end int) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := 10
	switch {
	case i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && isXDigit(s[i+2]):
		base, i = 16, i+2
	case i < len(s) && s[i] == '0':
		base = 8
	}
	start := i
	for i < len(s) && digitIn(s[i], base) {
		i++
	}
	if i == start {
		return 0, 0
	}
	u, err := strconv.ParseUint(s[start:i], base, 64)
	switch {
	case err != nil || !neg && u > math.MaxInt64:
		v = math.MaxInt64
		if neg {
			v = math.MinInt64
		}
	case neg && u > 1<<63:
		v = math.MinInt64
	case neg:
		v = int64(-u)
	default:
		v = int64(u)
	}
	return v, i
}

func digitIn(c byte, base int) bool {
	switch base {
	case 16:
		return isXDigit(c)
	case 8:
		return '0' <= c && c <= '7'
	}
	return isDigit(c)
}

// addSeq reads "~SEQ(VAR, [START, [STEP,]] END) text" (or ~SEQx, values in
// hexadecimal). With END alone, START is 1 (-1 if END < 0) and STEP 1 (-1
// if END < 1); with START and END, STEP is 1 or -1. The numbers are C
// numbers (0x.., 0..) and may be definitions.
func (r *reader) addSeq(buf string) bool {
	p := buf[4:]
	hex := false
	if strings.HasPrefix(p, "x") {
		p, hex = p[1:], true
	}
	p = strings.TrimLeft(p, " \t")
	if !strings.HasPrefix(p, "(") {
		return false
	}
	p = strings.TrimLeft(p[1:], " \t")
	varEnd := strings.IndexAny(p, " \t,)")
	if varEnd < 0 {
		varEnd = len(p)
	}
	name := p[:varEnd]
	p = strings.TrimLeft(p[varEnd:], " \t")
	if p == "" || p[0] == ')' || name == "" || name[0] == '{' {
		r.errorf("invalid ~SEQ definition %s", quoteString(buf))
		return false
	}
	// keepalived skips one byte here (meant to be the ',') without
	// checking it.
	p = strings.TrimLeft(p[1:], " \t")
	close := strings.IndexByte(p, ')')
	if close < 0 {
		r.errorf("~SEQ without its closing ')' %s", quoteString(buf))
		return false
	}
	if close+2 > 3*20+3+1 {
		r.errorf("~SEQ parameters too long %s", quoteString(buf))
		return false
	}
	var ml mlText
	nums, _ := r.replaceParams(p[:close+1], 3*20+3+1, &ml)
	if ml.ok {
		r.errorf("~SEQ parameter is a multi-line definition %s", quoteString(buf))
		return false
	}
	var start, step, end int64
	one, n := strtol(nums)
	q := strings.TrimLeft(nums[n:], " \t")
	switch {
	case strings.HasPrefix(q, ")"):
		end = one
		step, start = 1, 1
		if end < 1 {
			step = -1
		}
		if end < 0 {
			start = -1
		}
	case strings.HasPrefix(q, ","):
		two, n := strtol(q[1:])
		q = strings.TrimLeft(q[1+n:], " \t")
		switch {
		case strings.HasPrefix(q, ")"):
			start, end, step = one, two, 1
			if start > end {
				step = -1
			}
		case strings.HasPrefix(q, ","):
			three, n := strtol(q[1:])
			q = strings.TrimLeft(q[1+n:], " \t")
			if !strings.HasPrefix(q, ")") {
				r.errorf("invalid ~SEQ definition %s", quoteString(buf))
				return false
			}
			start, step, end = one, two, three
			if step == 0 || start < end && step < 0 || start > end && step > 0 {
				r.errorf("invalid ~SEQ values %s", quoteString(buf))
				return false
			}
		default:
			r.errorf("invalid ~SEQ definition %s", quoteString(buf))
			return false
		}
	default:
		r.errorf("invalid ~SEQ definition %s", quoteString(buf))
		return false
	}
	if hex && (start < 0 || end < 0) {
		r.errorf("~SEQx is only valid for positive numbers %s", quoteString(buf))
		return false
	}
	r.seqs = append(r.seqs, &seq{
		text: strings.TrimLeft(p[close+1:], " \t"),
		name: name, next: start, step: step, last: end, hex: hex,
	})
	return true
}

// addLst reads "~LST(VAR, V1, V2...) text" or "~LST({VAR1,VAR2},
// {V1,V2}, {V3,V4}...) text": the text is read once per value (set), the
// variables set to it; missing values of a set are empty.
func (r *reader) addLst(buf string) bool {
	p := strings.TrimLeft(buf[4:], " \t")
	if !strings.HasPrefix(p, "(") {
		return false
	}
	p = strings.TrimLeft(p[1:], " \t")
	at := func(i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	skipSep := func() { p = strings.TrimLeft(p[1:], " \t") } // past one byte and blanks
	endChar := byte(',')
	if at(0) == '{' {
		endChar = '}'
		skipSep()
	}
	s := &seq{}
	for {
		e := strings.IndexAny(p, " \t,}")
		if e < 0 {
			e = len(p)
		}
		s.vars = append(s.vars, p[:e])
		p = strings.TrimLeft(p[e:], " \t")
		if at(0) == endChar {
			break
		}
		if at(0) != ',' {
			return false
		}
		skipSep()
	}
	if at(0) == '}' {
		skipSep()
	}
	if at(0) != ',' {
		return false
	}
	p = strings.TrimLeft(p[1:], " \t")
	for {
		endChar = ','
		if at(0) == '{' {
			endChar = '}'
			skipSep()
		}
		var set []string
		for {
			e := strings.IndexAny(p, " \t,})")
			if e < 0 {
				e = len(p)
			}
			set = append(set, p[:e])
			p = strings.TrimLeft(p[e:], " \t")
			if at(0) == endChar || at(0) == ')' && endChar == ',' {
				break
			}
			if at(0) != ',' {
				return false
			}
			skipSep()
			if len(set) > len(s.vars)-1 { // one more comma than between the variables
				r.errorf("~LST has more values than variables %s", quoteString(buf))
				return false
			}
		}
		for len(set) < len(s.vars) {
			set = append(set, "")
		}
		s.sets = append(s.sets, set)
		if at(0) == '}' && endChar == '}' {
			skipSep()
		}
		if at(0) == ')' {
			break
		}
		if at(0) != ',' {
			return false
		}
		skipSep()
	}
	s.text = strings.TrimLeft(p[1:], " \t")
	r.seqs = append(r.seqs, s)
	return true
}

// nextSeq returns the text of the innermost ~SEQ or ~LST for its next
// value, after setting its variables, and drops it after its last value.
func (r *reader) nextSeq() string {
	s := r.seqs[len(r.seqs)-1]
	if s.sets == nil {
		var v string
		if s.hex {
			v = strconv.FormatUint(uint64(s.next), 16)
		} else {
			v = strconv.FormatInt(s.next, 10)
		}
		r.setDefinition(s.name, v)
		prev := s.next
		s.next += s.step
		if s.step > 0 && (s.next > s.last || s.next < prev) || s.step < 0 && (s.next < s.last || s.next > prev) {
			r.seqs = r.seqs[:len(r.seqs)-1]
		}
		return s.text
	}
	for i, name := range s.vars {
		r.setDefinition(name, s.sets[s.set][i])
	}
	s.set++
	if s.set >= len(s.sets) {
		r.seqs = r.seqs[:len(r.seqs)-1]
	}
	return s.text
}

package loader

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/link"
	"go.uber.org/zap"
)

// An in-place upgrade hands the attachments of a running process to a new
// one without the program ever leaving the interfaces: the old process
// reports its attachments (Attachments), the new one Inherits them and,
// when it attaches to such an interface, opens the old link by its ID and
// swaps its own program in with BPF_LINK_UPDATE, one atomic step; from
// then on the interface feeds the new process's maps and ring buffer. The
// old process Releases its loader: its link handles close (the link lives
// on, held by the new process) and its pins stay (the new process pins
// its own maps over them with Pin).

// Inherit records attachments of another process, to be taken over by
// Attach instead of attaching anew. Attachments whose interface is not
// attached to by this Loader stay with the other process.
func (l *Loader) Inherit(as []Attachment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inherited == nil {
		l.inherited = map[int]Attachment{}
	}
	for _, a := range as {
		l.inherited[a.Ifindex] = a
	}
}

// takeOver opens the inherited link a and runs our program on it. Called
// with l.mu held.
func (l *Loader) takeOver(a Attachment) (attachment, error) {
	lk, err := link.NewFromID(a.LinkID)
	if err != nil {
		return attachment{}, fmt.Errorf("open link %d: %w", a.LinkID, err)
	}
	prog := l.objs.XdpVrrp
	if a.Mode == ModeTC {
		// Loaded at its first use (loadTC).
		if prog, err = l.loadTC(); err != nil {
			lk.Close()
			return attachment{}, fmt.Errorf("load the tc program: %w", err)
		}
	}
	old := attachment{ifindex: a.Ifindex, mode: a.Mode, l: lk, id: a.LinkID}
	info, err := lk.Info()
	if err == nil {
		old.prog = info.Program
		err = old.check()
	}
	if err != nil {
		lk.Close()
		return attachment{}, fmt.Errorf("inherited link %d: %w", a.LinkID, err)
	}
	if err := lk.Update(prog); err != nil {
		lk.Close()
		return attachment{}, fmt.Errorf("update link %d with our program: %w", a.LinkID, err)
	}
	info, err = lk.Info()
	if err != nil {
		lk.Close()
		return attachment{}, fmt.Errorf("read link %d info: %w", a.LinkID, err)
	}
	return attachment{ifindex: a.Ifindex, mode: a.Mode, l: lk, id: info.ID, prog: info.Program}, nil
}

// Pin pins the maps under PinRoot/id (DefaultPinRoot), replacing what is
// there: for a Loader that was loaded without an ID because another
// process still used the pins (an upgrade), once it has taken over.
func (l *Loader) Pin(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("loader closed")
	}
	if l.pinDir != "" {
		return fmt.Errorf("pinned already in %s", l.pinDir)
	}
	return l.pin(Options{ID: id, PinRoot: l.pinRoot, Log: l.log})
}

// Release is Close for a process that handed its attachments to another
// (Inherit): the link handles close but the links stay attached while the
// other process holds them, and the pins are left to the other process.
func (l *Loader) Release() error {
	l.mu.Lock()
	l.keepPins = true
	l.mu.Unlock()
	l.log.Info("releasing the bpf objects to the next process", zap.String("pins", l.pinDir))
	return l.Close()
}

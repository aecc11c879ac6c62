package floodgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// XDP return codes (linux/bpf.h enum xdp_action).
const (
	xdpPass = 2
	xdpTX   = 3
)

// Options bound one flood. Every flood stops at Duration or after
// MaxPackets, whichever comes first, or when its context ends.
type Options struct {
	// Frames are whole Ethernet frames, sent in turn, Chunk copies of one
	// before moving to the next. At least one, each at least 14 bytes.
	Frames [][]byte
	// PPS is the target rate in packets a second; 0 sends as fast as the
	// machine can.
	PPS int
	// Duration bounds the flood in time (required, > 0).
	Duration time.Duration
	// MaxPackets bounds the flood in packets; 0: 50 million.
	MaxPackets uint64
}

// defaultMaxPackets is the packet bound when Options.MaxPackets is 0: ten
// seconds at the fastest rate measured on a 2-vCPU VM.
const defaultMaxPackets = 50_000_000

// Result is what a flood sent.
type Result struct {
	// Sent counts the frames handed to the kernel: a lower bound for the
	// XDP generator (a run interrupted by a signal is restarted and may
	// send more than requested), exact for Sender.
	Sent    uint64
	Elapsed time.Duration
}

// PPS is the achieved rate.
func (r Result) PPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

func (o *Options) check() error {
	if len(o.Frames) == 0 {
		return errors.New("no frames to send")
	}
	for i, f := range o.Frames {
		if len(f) < 14 {
			return fmt.Errorf("frame %d: %d bytes, shorter than an Ethernet header", i, len(f))
		}
	}
	if o.Duration <= 0 {
		return errors.New("flood duration must be positive")
	}
	if o.MaxPackets == 0 {
		o.MaxPackets = defaultMaxPackets
	}
	return nil
}

// chunk is how many frames go out per batch: about 100 ms worth at the
// target rate (a live-frames run costs about 30 ms of setup whatever its
// length, so smaller batches cannot reach 100 kpps; a paced flood is
// therefore bursts at full speed, ten a second), and at most 100 000 (a
// few tens of ms at full speed) so that the time bound is checked often.
func (o *Options) chunk() uint64 {
	if o.PPS <= 0 {
		return 100_000
	}
	c := uint64(o.PPS / 10)
	return max(1, min(c, 100_000))
}

// pace runs send(frame, n) in chunks until a bound is reached, sleeping
// between chunks to keep the target rate.
func pace(ctx context.Context, o Options, send func(frame []byte, n uint64) error) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	end := start.Add(o.Duration)
	var res Result
	for i := 0; ; i++ {
		now := time.Now()
		if !now.Before(end) || res.Sent >= o.MaxPackets || ctx.Err() != nil {
			break
		}
		if o.PPS > 0 {
			due := start.Add(time.Duration(float64(res.Sent) / float64(o.PPS) * float64(time.Second)))
			if due.After(now) {
				time.Sleep(min(due.Sub(now), end.Sub(now)))
				continue
			}
		}
		n := min(o.chunk(), o.MaxPackets-res.Sent)
		if err := send(o.Frames[i%len(o.Frames)], n); err != nil {
			res.Elapsed = time.Since(start)
			return res, err
		}
		res.Sent += n
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// XDP transmits frames with an XDP_TX program run in live-frames mode.
type XDP struct {
	prog    *ebpf.Program
	ifindex int
}

// NewXDP loads the transmit program for the interface ifindex of the
// calling thread's namespace. The interface's peer (a veth) must have a
// native XDP program attached for the frames to go anywhere (Counter).
func NewXDP(ifindex int) (*XDP, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "floodgen_tx",
		Type:    ebpf.XDP,
		License: "Dual BSD/GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, xdpTX),
			asm.Return(),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("load xdp_tx program: %w", err)
	}
	return &XDP{prog: prog, ifindex: ifindex}, nil
}

// xdpMD is struct xdp_md, the context of an XDP test run.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// Flood sends o.Frames out of the interface until a bound of o is reached.
// It must run on an OS thread in the interface's namespace.
func (x *XDP) Flood(ctx context.Context, o Options) (Result, error) {
	return pace(ctx, o, func(frame []byte, n uint64) error {
		_, err := x.prog.Run(&ebpf.RunOptions{
			Data:      frame,
			Context:   xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(x.ifindex)}, // the kernel wants data_end = len(data)
			Repeat:    uint32(n),
			Flags:     unix.BPF_F_TEST_XDP_LIVE_FRAMES,
			BatchSize: 64,
		})
		if err != nil {
			return fmt.Errorf("xdp live frames on ifindex %d: %w", x.ifindex, err)
		}
		return nil
	})
}

// Close unloads the program.
func (x *XDP) Close() error { return x.prog.Close() }

// Counter is a native XDP program that passes every frame on and counts
// it. Attached to the peer of a generator's veth it is both what lets
// XDP-transmitted frames in and an exact count of what arrived.
type Counter struct {
	counts *ebpf.Map
	prog   *ebpf.Program
	link   link.Link
}

// AttachCounter attaches a counting XDP_PASS program in native mode to the
// interface ifindex of the calling thread's namespace.
func AttachCounter(ifindex int) (*Counter, error) {
	counts, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "floodgen_count",
		Type:       ebpf.PerCPUArray,
		KeySize:    4,
		ValueSize:  8,
		MaxEntries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("create counter map: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "floodgen_count",
		Type:    ebpf.XDP,
		License: "Dual BSD/GPL",
		Instructions: asm.Instructions{
			// key = 0 on the stack; r0 = lookup(counts, &key)
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, counts.FD()),
			asm.FnMapLookupElem.Call(),
			// A per-CPU slot: a plain increment is exact.
			asm.JEq.Imm(asm.R0, 0, "pass"),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
			asm.Add.Imm(asm.R1, 1),
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
			asm.Return(),
		},
	})
	if err != nil {
		counts.Close()
		return nil, fmt.Errorf("load counter program: %w", err)
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: link.XDPDriverMode})
	if err != nil {
		prog.Close()
		counts.Close()
		return nil, fmt.Errorf("attach counter to ifindex %d in native mode: %w", ifindex, err)
	}
	return &Counter{counts: counts, prog: prog, link: l}, nil
}

// Count returns how many frames arrived since the counter was attached.
// Safe for concurrent use.
func (c *Counter) Count() (uint64, error) {
	var per []uint64
	if err := c.counts.Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("read counter: %w", err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}

// Close detaches the program and frees it.
func (c *Counter) Close() error {
	return errors.Join(c.link.Close(), c.prog.Close(), c.counts.Close())
}

// Sender transmits frames with an AF_PACKET socket, one sendto a frame.
type Sender struct {
	fd      int
	ifindex int
}

// NewSender opens an AF_PACKET socket on the interface ifindex of the
// calling thread's namespace.
func NewSender(ifindex int) (*Sender, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket to ifindex %d: %w", ifindex, err)
	}
	// Do not queue behind the qdisc: a full queue should cost the sender.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
	return &Sender{fd: fd, ifindex: ifindex}, nil
}

// Flood sends o.Frames until a bound of o is reached. A full device queue
// (ENOBUFS) is not an error: the frame is not counted.
func (s *Sender) Flood(ctx context.Context, o Options) (Result, error) {
	var dropped uint64
	addr := &unix.SockaddrLinklayer{Ifindex: s.ifindex, Halen: 6}
	res, err := pace(ctx, o, func(frame []byte, n uint64) error {
		for range n {
			err := unix.Sendto(s.fd, frame, 0, addr)
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
				dropped++
				continue
			}
			if err != nil {
				return fmt.Errorf("send on ifindex %d: %w", s.ifindex, err)
			}
		}
		return nil
	})
	res.Sent -= min(dropped, res.Sent)
	return res, err
}

// Close closes the socket.
func (s *Sender) Close() error { return unix.Close(s.fd) }

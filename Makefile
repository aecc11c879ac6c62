# xvrrp — see README.md. `make test` is what CI runs (as root, CI=true).
GO        ?= go
BIN       := bin
PKGS      := ./...
# Packages a fresh Debian machine (Go and gcc only) lacks for the tests, the
# demo and code generation. Installed by `make deps` when missing.
APT_PKGS  := iproute2 iputils-ping tcpdump keepalived clang llvm libbpf-dev linux-libc-dev bpftool prometheus systemd
TEST_TIMEOUT ?= 20m
# The e2e suite runs first with the default dataplane (auto: XDP here), then
# once more for each of these.
E2E_DATAPLANES ?= tc socket

.PHONY: all build test unit lint deps demo fuzz clean generate check-generate

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# deps installs the Debian packages above if any is missing. It needs root
# (CI runs as root) and runs `apt-get update` first.
deps:
	@missing=""; for p in $(APT_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all present"; fi

# test runs the whole suite. Tests that need root, namespaces or BPF skip
# without root locally and fail under CI=true.
test: deps lint check-generate
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	@for dp in $(E2E_DATAPLANES); do echo "e2e with --dataplane $$dp"; \
		XVRRP_E2E_DATAPLANE=$$dp $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./e2e/ || exit 1; done

# generate rebuilds the BPF object and its Go bindings (bpf/gen.go) with
# the `clang` on PATH (Debian's clang 14 in CI). The output does not depend
# on the checkout path.
generate: deps
	$(GO) generate ./bpf/

# check-generate fails when the committed bpf2go output differs from what
# the sources generate.
check-generate: generate
	@git diff --exit-code -- bpf/ || { echo "bpf/: generated files are stale: run make generate and commit" >&2; exit 1; }

# unit runs the tests that need neither root nor packages.
unit:
	$(GO) test -count=1 -short $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

# fuzz runs each fuzz target for FUZZTIME (beyond the seed corpus that `test` runs).
FUZZTIME ?= 30s
fuzz:
	@for pkg in ./vrrp/ ./vrrp/config/ ./bpf/; do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done; done

# demo builds xvrrpd and runs the netns failover demo (root).
demo: deps build
	scripts/demo.sh $(BIN)/xvrrpd

clean:
	rm -rf $(BIN)

# --- bench: the side-by-side report (issue 12; docs/BENCHMARKS.md "Report").
# `make bench` runs every scenario with Debian's keepalived 2.2.7 beside
# xvrrpd in one run (about 25 minutes on 2 cores): the kernel program's
# ns/op (bpf/bench_test.go), failover on node death, a failing health
# check, floods and scale (e2e/bench_*_test.go), graceful stop, handover
# and upgrade (TestZeroOutageCompare, 3 runs), and the start-up, memory
# and send-path measurements (e2e/*_measure_test.go: STARTUP and MEMORY
# lines, 5 runs). It keeps the output in
# bin/bench/*.txt and writes the generated block of docs/BENCHMARKS.md, its
# charts (docs/charts/*.png) and the README's headline table
# (internal/benchreport). `make bench-quick` (about 5 minutes: one
# repetition, fewer sizes, shorter windows, VRRPv3 only) writes
# bin/bench-quick/report.md and its charts and leaves docs/ alone. Root;
# not part of test. On a shared machine: `flock /tmp/xvrrp-cpu.lock make
# bench`. Runs that fail are listed in the report, and the target fails
# after writing it.
BENCHREPORT := $(GO) run ./internal/benchreport/cmd/benchreport
.PHONY: bench bench-quick
bench: BENCH_DIR := $(BIN)/bench
bench: BENCH_MODE := full
bench: BENCH_ENV := XVRRP_BENCH=1
bench: BENCH_KCOUNT := 5
bench: BENCH_KTIME := 2000000x
bench: BENCH_ZO := XVRRP_BENCH_RUNS=3
bench: BENCH_MEASURE := XVRRP_BENCH_RUNS=5
bench: BENCH_ZO_RUN := '^TestZeroOutageCompare$$'
bench: BENCH_OUT := -doc docs/BENCHMARKS.md -charts docs/charts -readme README.md
bench-quick: BENCH_DIR := $(BIN)/bench-quick
bench-quick: BENCH_MODE := quick
bench-quick: BENCH_ENV := XVRRP_BENCH=1 XVRRP_BENCH_QUICK=1
bench-quick: BENCH_KCOUNT := 1
bench-quick: BENCH_KTIME := 200000x
bench-quick: BENCH_ZO := XVRRP_BENCH_RUNS=1
bench-quick: BENCH_MEASURE := XVRRP_BENCH_RUNS=2
bench-quick: BENCH_ZO_RUN := '^TestZeroOutageCompare$$/^v3$$'
bench-quick: BENCH_OUT := -out $(BIN)/bench-quick/report.md -charts $(BIN)/bench-quick/charts
bench bench-quick: deps
	@rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR)
	$(BENCHREPORT) env -command "make $@" -mode $(BENCH_MODE) > $(BENCH_DIR)/env.txt
	-$(GO) test -count=$(BENCH_KCOUNT) -run '^$$' -bench . -benchtime $(BENCH_KTIME) ./bpf/ 2>&1 | tee $(BENCH_DIR)/kernel.txt
	-$(BENCH_ENV) $(GO) test -count=1 -timeout 40m -run '^TestBench(Failover|Health|Flood|Scale)$$' -v ./e2e/ 2>&1 | tee $(BENCH_DIR)/e2e.txt
	-$(BENCH_ENV) $(BENCH_ZO) $(GO) test -count=1 -timeout 30m -run $(BENCH_ZO_RUN) -v ./e2e/ 2>&1 | tee $(BENCH_DIR)/zero-outage.txt
	-$(BENCH_ENV) $(BENCH_MEASURE) $(GO) test -count=1 -timeout 15m -run '^Test[A-Za-z]*Measure$$' -v ./e2e/ 2>&1 | tee $(BENCH_DIR)/measure.txt
	$(BENCHREPORT) report -in $(BENCH_DIR) $(BENCH_OUT)
	@! grep -q '^--- FAIL\|^FAIL' $(BENCH_DIR)/*.txt || { echo "bench: runs failed (listed in the report)" >&2; exit 1; }

# --- single benchmarks, each on its own (not part of `make bench`).
# bench-flood (e2e/flood_bench_test.go, docs/BENCHMARKS.md "Flood"): the
# flood comparison at 100 kpps and full rate on the XDP and socket
# dataplanes and keepalived; about 5 minutes; XVRRP_BENCH_DAEMONS picks.
# bench-kernel (bpf/bench_test.go, e2e/bench_kernel_test.go, "Kernel
# path"): the BPF program's ns/op, 5 runs, then the CPU of a 255-VRID
# Backup on the xdp, xdp-mapread and socket dataplanes; about 3 minutes.
# bench-zero-outage (e2e/zero_outage_test.go, "Zero-outage stop and
# handover"): XVRRP_BENCH_RUNS (5) runs of TestZeroOutageCompare.
# Root; outputs in bin/bench-*.txt.
.PHONY: bench-flood bench-kernel bench-zero-outage
bench-flood: deps
	@mkdir -p $(BIN)
	XVRRP_BENCH=1 $(GO) test -count=1 -timeout 30m -run '^TestFloodCompare$$' -v ./e2e/ 2>&1 | tee $(BIN)/bench-flood.txt
	@! grep -q '^--- FAIL\|^FAIL' $(BIN)/bench-flood.txt
bench-kernel: deps
	@mkdir -p $(BIN)
	$(GO) test -count=5 -run '^$$' -bench . ./bpf/ 2>&1 | tee $(BIN)/bench-kernel.txt
	XVRRP_BENCH=1 $(GO) test -count=1 -timeout 10m -run '^TestKernelPathBackupCPU$$' -v ./e2e/ 2>&1 | tee -a $(BIN)/bench-kernel.txt
	@! grep -q '^--- FAIL\|^FAIL' $(BIN)/bench-kernel.txt
bench-zero-outage: deps
	@mkdir -p $(BIN)
	XVRRP_BENCH=1 $(GO) test -count=1 -timeout 30m -run '^TestZeroOutageCompare$$' -v ./e2e/ 2>&1 | tee $(BIN)/bench-zero-outage.txt
	@! grep -q '^--- FAIL\|^FAIL' $(BIN)/bench-zero-outage.txt

# --- install (docs/OPERATIONS.md "Install"). PREFIX and DESTDIR as usual:
# `sudo make install` puts xvrrpd and xvrrpctl in /usr/local/sbin, the unit
# in /usr/local/lib/systemd/system (ExecStart= pointing at that xvrrpd),
# the man pages xvrrpd.8 and xvrrpctl.8 and the bash completions; packagers
# use `make install PREFIX=/usr DESTDIR=...`. The man pages and completions
# are generated from the flag definitions of the binaries just built
# (internal/docgen) into $(BIN)/man by `make man`.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
.PHONY: man install uninstall docs check-docs

man: build
	$(GO) run ./internal/docgen/gendocs man -xvrrpd $(BIN)/xvrrpd -xvrrpctl $(BIN)/xvrrpctl -root . -out $(BIN)/man

install: man
	install -D -m 0755 $(BIN)/xvrrpd $(DESTDIR)$(SBINDIR)/xvrrpd
	install -D -m 0755 $(BIN)/xvrrpctl $(DESTDIR)$(SBINDIR)/xvrrpctl
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/xvrrpd|$(SBINDIR)/xvrrpd|g' dist/xvrrpd.service > $(DESTDIR)$(UNITDIR)/xvrrpd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/xvrrpd.service
	install -D -m 0644 $(BIN)/man/xvrrpd.8 $(DESTDIR)$(MANDIR)/man8/xvrrpd.8
	install -D -m 0644 $(BIN)/man/xvrrpctl.8 $(DESTDIR)$(MANDIR)/man8/xvrrpctl.8
	install -D -m 0644 $(BIN)/man/xvrrpd.bash $(DESTDIR)$(BASHCOMPDIR)/xvrrpd
	install -D -m 0644 $(BIN)/man/xvrrpctl.bash $(DESTDIR)$(BASHCOMPDIR)/xvrrpctl
	@if [ -z "$(DESTDIR)" ]; then echo "installed; then: systemctl daemon-reload && systemctl enable --now xvrrpd"; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/xvrrpd $(DESTDIR)$(SBINDIR)/xvrrpctl $(DESTDIR)$(UNITDIR)/xvrrpd.service \
		$(DESTDIR)$(MANDIR)/man8/xvrrpd.8 $(DESTDIR)$(MANDIR)/man8/xvrrpctl.8 \
		$(DESTDIR)$(BASHCOMPDIR)/xvrrpd $(DESTDIR)$(BASHCOMPDIR)/xvrrpctl

# docs regenerates the keyword table of docs/MIGRATING.md from the parser
# (vrrp/config/decode.go); check-docs fails when it is stale (a unit test in
# internal/docgen checks the same).
docs:
	$(GO) run ./internal/docgen/gendocs keywords -root .
check-docs:
	$(GO) run ./internal/docgen/gendocs keywords -root . -check

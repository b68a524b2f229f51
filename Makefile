# Cairn — the only commands anyone needs.
#   make demo    install what is missing, build, back up and restore a sample Redis data dir
#   make test    install what is missing, build, run every test
#   make bench   compare with restic on generated Redis-like data (release build)
#   make bench-micro    throughput of each pipeline stage, to find the bottleneck
#   make redis-timings  time live capture (files, replication) and redis-restore on ~1 GB
#   make bench-objectstore  backup/restore throughput to Swift and S3 (local SAIO) vs local, ~1 GB (MB=1024)
#   make install install /usr/local/bin/cairn and shell completions
#   make lint    build with layer-import checks and warnings as errors

# The toolchain's swift, not OpenStack's client that may be first on PATH.
SWIFT ?= $(shell for c in "$$(dirname "$$(readlink -f "$$(command -v swiftc 2>/dev/null)" 2>/dev/null)" 2>/dev/null)/swift" /opt/swift/usr/bin/swift /usr/share/swift/usr/bin/swift; do \
             if [ -x "$$c" ] && "$$c" build --help >/dev/null 2>&1; then echo "$$c"; break; fi; done)
PREFIX ?= /usr/local
APT_PACKAGES := libzstd-dev libsqlite3-dev pkg-config redis-server redis-tools swift-proxy swift-account swift-container swift-object memcached
BENCH_PACKAGES := restic borgbackup rdiff-backup zstd time
# A real Keystone v3 for the object-store tests (scripts/objectstore/keystone.sh; no system service);
# python3-cryptography for scripts/format/cairn-read.py, the independent reader IndependentReaderTests runs;
# openssl for the certificates RedisTLSTests makes.
TEST_PACKAGES := python3-keystone python3-keystonemiddleware python3-cryptography openssl

# Release builds link the Swift runtime and Foundation into the binary: `make install` then puts one
# file on a Redis host that needs no Swift toolchain (only libc, libstdc++, libzstd, libsqlite3 and
# libxml2 from Debian), and it starts in about half the time from a cold page cache (a restore after
# a reboot opens 11 shared objects instead of 26).
RELEASE_FLAGS := -c release --static-swift-stdlib

.PHONY: all deps build release test demo bench bench-micro redis-timings bench-objectstore install lint clean check-swift

all: build

check-swift:
	@if [ -z "$(SWIFT)" ]; then echo "error: no Swift toolchain found (install Swift 6 and put swiftc on PATH, or set SWIFT=/path/to/swift)" >&2; exit 1; fi

# Installs the Debian packages that are missing (needs root, or sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "error: apt-get install$$missing failed" >&2; exit 1; }; \
	fi

build: deps check-swift
	$(SWIFT) build

release: deps check-swift
	$(SWIFT) build $(RELEASE_FLAGS)

test: EXTRA_PACKAGES=$(TEST_PACKAGES)
test: deps check-swift
	$(SWIFT) build --build-tests
	CAIRN_BINARY=$(CURDIR)/.build/debug/cairn $(SWIFT) test --skip-build

demo: release
	CAIRN_BINARY=$(CURDIR)/.build/release/cairn bash scripts/demo.sh

bench: EXTRA_PACKAGES=$(BENCH_PACKAGES)
bench: release
	CAIRN_BINARY=$(CURDIR)/.build/release/cairn bash scripts/bench.sh $(PROFILE)

# Throughput of each pipeline stage on one core (chunking, hashing, zstd, AES-GCM, CRC64, catalog).
bench-micro: deps check-swift
	$(SWIFT) build $(RELEASE_FLAGS) --product cairn-bench-micro
	$(CURDIR)/.build/release/cairn-bench-micro

# Capture via files and via replication, a nightly re-capture and redis-restore on ~1 GB (MB=1024).
redis-timings: release
	CAIRN_BINARY=$(CURDIR)/.build/release/cairn bash scripts/redis-timings.sh $(MB)

# Backup, restore and check --read-data to swift:// and s3:// (a Swift All-In-One on loopback) next to
# a local repository, in one run on ~1 GB of real Redis data (MB=1024; MB=100 for a quick run).
bench-objectstore: EXTRA_PACKAGES=time zstd
bench-objectstore: release
	CAIRN_BINARY=$(CURDIR)/.build/release/cairn bash scripts/bench-objectstore.sh $(MB)

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 .build/release/cairn $(DESTDIR)$(PREFIX)/bin/cairn
	install -d $(DESTDIR)/usr/share/bash-completion/completions $(DESTDIR)/usr/share/zsh/vendor-completions $(DESTDIR)/usr/share/fish/vendor_completions.d
	.build/release/cairn --generate-completion-script bash > $(DESTDIR)/usr/share/bash-completion/completions/cairn
	.build/release/cairn --generate-completion-script zsh > $(DESTDIR)/usr/share/zsh/vendor-completions/_cairn
	.build/release/cairn --generate-completion-script fish > $(DESTDIR)/usr/share/fish/vendor_completions.d/cairn.fish

lint: deps check-swift
	$(SWIFT) build --explicit-target-dependency-import-check error -Xswiftc -warnings-as-errors

clean:
	rm -rf .build

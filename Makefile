# Caboose: one non-recursive Makefile (STYLE.md point 11).
#   make            build/caboose.elf, the kernel image
#   make iso        build/caboose.iso, a GRUB rescue image
#   make run        boot Caboose in QEMU (installs missing Debian packages)
#   make run-smoke  boot make run's QEMU command in the background, curl it
#   make test       every test tier; ends with "N passed, N failed"
#   make matrix     the issue 11 reproductions RUNS times on every CPU, queue and
#                   network configuration; a JSON summary on stdout
#   make soak       SOAK_MINUTES of mixed load (SMP CPUs); a JSON summary on stdout
#   make crash      CUTS seeded power cuts of an ext3 write workload (SEED=N
#                   replays a run); a JSON summary on stdout
#   make check-layers  the include rules of the layers (tools/check-layers)
#   make disk       build/disk.img, an ext3 image of DISK_DIR (DISK_FS=ext2: writable)
#   make bench      benchmarks (bench/), figures on stdout

BUILD    := build
CC       := gcc
LD       := ld
HOSTCC   := gcc

KCFLAGS  := -std=c11 -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
            -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -mno-sse -mno-mmx \
            -mno-80387 -fno-omit-frame-pointer -fno-common -fno-strict-aliasing \
            -fcf-protection=none -fno-asynchronous-unwind-tables \
            -O2 -g -Wall -Wextra -Werror -I. -MMD -MP
KASFLAGS := -I. -MMD -MP -D__ASSEMBLY__ -g
KLDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments \
            -T kernel/arch/x86_64/linker.ld

# ---- kernel sources, one list per folder ----
ARCH_SRCS := \
	kernel/arch/x86_64/boot.S \
	kernel/arch/x86_64/trampoline.S \
	kernel/arch/x86_64/trap_entry.S \
	kernel/arch/x86_64/switch.S \
	kernel/arch/x86_64/user_entry.S \
	kernel/arch/x86_64/user.c \
	kernel/arch/x86_64/start.c \
	kernel/arch/x86_64/cpu.c \
	kernel/arch/x86_64/trap.c \
	kernel/arch/x86_64/mmu.c \
	kernel/arch/x86_64/lapic.c \
	kernel/arch/x86_64/ioapic.c \
	kernel/arch/x86_64/acpi.c \
	kernel/arch/x86_64/time.c \
	kernel/arch/x86_64/profile.c \
	kernel/arch/x86_64/smp.c \
	kernel/arch/x86_64/multiboot.c \
	kernel/arch/x86_64/serial.c \
	kernel/arch/x86_64/pci_conf.c \
	kernel/arch/x86_64/rtc.c

LIB_SRCS := \
	kernel/lib/string.c \
	kernel/lib/format.c \
	kernel/lib/civil.c \
	kernel/lib/cmdline.c \
	kernel/lib/hist.c \
	kernel/lib/random.c \
	kernel/lib/param.c

CONSOLE_SRCS := \
	kernel/console/printk.c \
	kernel/console/panic.c \
	kernel/console/ksyms.c

BOOT_SRCS := \
	kernel/boot/main.c \
	kernel/boot/settings.c

MM_SRCS := \
	kernel/mm/page.c \
	kernel/mm/slab.c \
	kernel/mm/kstack.c \
	kernel/mm/mm_init.c \
	kernel/mm/mm_repl.c

SCHED_SRCS := \
	kernel/sched/sched.c \
	kernel/sched/thread.c \
	kernel/sched/waitq.c \
	kernel/sched/timer.c \
	kernel/sched/sched_repl.c

# the GC heap: the portable core (also built on the host) and its kernel side
GC_PORTABLE := \
	kernel/gc/gc_heap.c \
	kernel/gc/gc_mark.c \
	kernel/gc/gc_resv.c
GC_SRCS := $(GC_PORTABLE) \
	kernel/gc/gc_kernel.c \
	kernel/gc/gc_repl.c

SYNC_SRCS := \
	kernel/sync/spinlock.c \
	kernel/sync/mutex.c \
	kernel/sync/cond.c \
	kernel/sync/sem.c \
	kernel/sync/rcu.c

NIC_SRCS := \
	nic/pci.c \
	nic/virtio_pci.c \
	nic/virtio_net.c \
	nic/nic.c \
	nic/nictest.c

# the block layer and disk drivers (beside nic/ in the layers)
BLK_SRCS := \
	fs/blk/blk.c \
	fs/blk/blk_repl.c \
	fs/blk/virtio_blk.c \
	fs/blk/kt_blk.c

# the portable part builds on the host too (unit tests, fuzzers)
NET_PORTABLE := \
	netstack/netif.c \
	netstack/checksum.c \
	netstack/ether.c \
	netstack/arp.c \
	netstack/route.c \
	netstack/ipv4.c \
	netstack/ip_frag.c \
	netstack/icmp.c \
	netstack/udp.c \
	netstack/socket.c \
	netstack/dhcp.c \
	netstack/tcp.c \
	netstack/tcp_sock.c \
	netstack/tcp_isn.c \
	netstack/tcp_input.c \
	netstack/tcp_output.c \
	netstack/tcp_timer.c \
	netstack/tcp_cc.c \
	netstack/tcp_sack.c
NET_SRCS := $(NET_PORTABLE) \
	netstack/net_init.c \
	netstack/net_repl.c

# the kernel-resident services (apps/kernel/: netstack/net.h and fs/vfs.h only); the
# iperf3 parameter parser and the HTTP responder's request targets are portable
# (host tests; the parser has a fuzzer)
APPS_KERNEL_PORTABLE := \
	apps/kernel/iperf_json.c \
	apps/kernel/http_path.c
APPS_KERNEL_SRCS := $(APPS_KERNEL_PORTABLE) \
	apps/kernel/services.c \
	apps/kernel/metrics.c \
	apps/kernel/iperf.c

# the RAM root from the initial archive and ext2/ext3's on-disk format
# (portable: host unit tests, the fuzzer)
EXT2_PORTABLE := \
	fs/ext2/ext2.c \
	fs/ext2/ext2_dir.c \
	fs/ext2/ext2_write.c \
	fs/ext2/ext2_orphan.c \
	fs/ext2/jbd2_recover.c \
	fs/ext2/jbd2_commit.c
FS_PORTABLE := \
	fs/ramfs.c \
	$(EXT2_PORTABLE)
FS_SRCS := $(FS_PORTABLE) \
	fs/vfs.c \
	fs/vfs_boot.c \
	fs/perm.c \
	fs/memfs.c \
	fs/dev.c \
	fs/pipe.c \
	fs/eventfd.c \
	fs/vfs_repl.c \
	fs/pagecache.c \
	fs/dcache.c \
	fs/ext2/ext2_vfs.c \
	fs/kt_vfs.c \
	fs/kt_pagecache.c \
	fs/kt_dcache.c

PROC_SRCS := \
	kernel/proc/vm.c \
	kernel/proc/fd.c \
	kernel/proc/share.c \
	kernel/proc/signal.c \
	kernel/proc/itimer.c \
	kernel/proc/cred.c \
	kernel/proc/tty.c \
	kernel/proc/futex.c \
	kernel/proc/exec.c \
	kernel/proc/elf.c \
	kernel/proc/clock.c \
	kernel/proc/vdso_image.S \
	kernel/proc/proc.c \
	kernel/proc/init.c \
	kernel/proc/procfs.c \
	kernel/proc/kt_proc.c

SYSCALL_SRCS := \
	kernel/syscall/syscall.c \
	kernel/syscall/sys_io.c \
	kernel/syscall/sys_async.c \
	kernel/syscall/sys_fs.c \
	kernel/syscall/sys_proc.c \
	kernel/syscall/sys_mm.c \
	kernel/syscall/sys_select.c \
	kernel/syscall/sys_net.c \
	kernel/syscall/sys_sockopt.c \
	kernel/syscall/sys_unix.c \
	kernel/syscall/sys_epoll.c \
	kernel/syscall/sys_misc.c \
	kernel/syscall/sys_cred.c

REPL_SRCS := \
	kernel/repl/repl.c

PROF_SRCS := \
	kernel/prof/prof.c \
	kernel/prof/prof_repl.c

ZEROCOPY_SRCS := \
	zerocopy/frame.c \
	zerocopy/pkb.c \
	zerocopy/pkb_repl.c

KTEST_SRCS := \
	kernel/test/ktest.c \
	kernel/test/kt_mm.c \
	kernel/test/kt_sched.c \
	kernel/test/kt_sync.c \
	kernel/test/kt_rcu.c \
	kernel/test/kt_time.c \
	kernel/test/kt_fault.c \
	kernel/test/kt_repl.c \
	kernel/test/kt_prof.c \
	kernel/test/kt_gc.c

KERNEL_SRCS := $(ARCH_SRCS) $(LIB_SRCS) $(CONSOLE_SRCS) $(BOOT_SRCS) $(MM_SRCS) \
               $(SCHED_SRCS) $(SYNC_SRCS) $(GC_SRCS) $(REPL_SRCS) $(PROF_SRCS) $(ZEROCOPY_SRCS) \
               $(NIC_SRCS) $(BLK_SRCS) \
               $(NET_SRCS) $(FS_SRCS) $(PROC_SRCS) $(SYSCALL_SRCS) \
               $(APPS_KERNEL_SRCS) $(KTEST_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/%.o,$(KERNEL_SRCS))

.PHONY: check-layers fuzz all iso run run-cmd run-smoke repl test test-host test-qemu bench clean \
        deps-run deps-test deps-bench matrix soak crash
all: $(BUILD)/caboose.elf

# flags live here: a change to this file rebuilds everything
$(KERNEL_OBJS): Makefile

# quiet by default; make V=1 shows the commands
Q := $(if $(V),,@)

$(BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<" >&2)
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<" >&2)
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# The vDSO: user-mode code (kernel/proc/vdso/), linked as a shared object
# of its own and embedded in the kernel image as bytes (vdso_image.S)
VDSO_SO := $(BUILD)/vdso/vdso.so
VDSO_CFLAGS := -std=gnu11 -I. -O2 -g0 -Wall -Wextra -Werror -fPIC -shared -nostdlib \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-builtin -mno-red-zone \
	-Wl,--version-script=kernel/proc/vdso/vdso.map -Wl,-soname=linux-vdso.so.1 \
	-Wl,--hash-style=both -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code \
	-Wl,-z,norelro -Wl,--build-id=none
$(VDSO_SO): kernel/proc/vdso/vdso.c kernel/proc/vdso/vdso_data.h kernel/proc/vdso/vdso.map
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  VDSO    $@" >&2)
	$(Q)$(CC) $(VDSO_CFLAGS) -o $@ $<
$(BUILD)/kernel/proc/vdso_image.S.o: $(VDSO_SO)
$(BUILD)/kernel/proc/vdso_image.S.o: KASFLAGS += -DVDSO_SO='"$(VDSO_SO)"'

# Two links: the first gives the symbol table, which the second embeds in
# .ksyms, placed last so that no other address moves (checked).
$(BUILD)/caboose.pass1.elf: $(KERNEL_OBJS) kernel/arch/x86_64/linker.ld
	@$(if $(Q),echo "  LD      $@" >&2)
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KERNEL_OBJS)

$(BUILD)/ksyms.S: $(BUILD)/caboose.pass1.elf tools/mksyms.sh
	$(Q)sh tools/mksyms.sh $< > $@

$(BUILD)/ksyms.o: $(BUILD)/ksyms.S
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

$(BUILD)/caboose.elf: $(BUILD)/caboose.pass1.elf $(BUILD)/ksyms.o tools/check-image.sh
	@$(if $(Q),echo "  LD      $@ (with symbols)" >&2)
	$(Q)$(LD) $(KLDFLAGS) -o $@.tmp $(KERNEL_OBJS) $(BUILD)/ksyms.o
	$(Q)sh tools/check-image.sh $(BUILD)/caboose.pass1.elf $@.tmp
	$(Q)mv $@.tmp $@

# ---- GRUB ISO ----
iso: $(BUILD)/caboose.iso
$(BUILD)/caboose.iso: $(BUILD)/caboose.elf tools/grub.cfg
	@mkdir -p $(BUILD)/iso/boot/grub
	cp $(BUILD)/caboose.elf $(BUILD)/iso/boot/caboose.elf
	cp tools/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2> $(BUILD)/grub-mkrescue.log || \
		{ cat $(BUILD)/grub-mkrescue.log >&2; exit 1; }

# ---- running ----
QEMU      := qemu-system-x86_64
SMP       ?= 2
MEM       ?= 512M
CMDLINE   ?= console=ttyS0 services=http,echo,discard,metrics
HTTP_PORT ?= 8080
METRICS_PORT ?= 9100
REPL_SOCK ?= $(BUILD)/repl.sock
RUN_KERNEL ?= $(BUILD)/caboose.elf
# make run's QEMU command, the one source for `make run` and for the smoke
# check that boots it (`make run-smoke`, the test tier "smoke": it reads the
# command with `make -s run-cmd` and picks free ports, its own REPL_SOCK and
# the kernel image of its run)
RUN_QEMU = $(QEMU) -accel tcg,thread=multi -smp $(SMP) -m $(MEM) -display none -no-reboot \
	-kernel $(RUN_KERNEL) -append "$(CMDLINE)" \
	-chardev socket,id=repl,path=$(REPL_SOCK),server=on,wait=off \
	-serial mon:stdio -serial chardev:repl \
	-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$(HTTP_PORT)-:80,hostfwd=tcp:127.0.0.1:$(METRICS_PORT)-:9100 \
	-device virtio-net-pci,netdev=n0 \
	-device isa-debug-exit,iobase=0xf4,iosize=4
run: deps-run $(BUILD)/caboose.elf
	@echo "Caboose in QEMU: console below; quit with Ctrl-A then X." >&2
	@echo "The REPL is on $(REPL_SOCK): run 'make repl' in another terminal." >&2
	$(RUN_QEMU)

# the command above, as a shell would run it (for tools/run_smoke.py)
run-cmd:
	@printf '%s\n' '$(strip $(RUN_QEMU))'

# boots `make run`'s command with -smp 1 and 2, fetches / and /metrics
# through the forwarded ports with curl, stops QEMU by its PID
run-smoke: deps-run $(BUILD)/caboose.elf
	@python3 tools/run_smoke.py

repl:
	@python3 tools/repl.py $(REPL_SOCK)

# An ext3 image of a directory, for -drive file=build/disk.img,if=virtio,format=raw:
# Caboose mounts it read-only at /mnt/vda (DISK_FS=ext2: read-write, as ext3
# is written only once its journal is). DISK_SIZE as truncate -s takes it.
DISK_FS   ?= ext3
DISK_DIR  ?= apps
DISK_IMG  ?= $(BUILD)/disk.img
DISK_SIZE ?= 64M
.PHONY: disk
disk:
	@command -v mke2fs >/dev/null 2>&1 || command -v /sbin/mke2fs >/dev/null 2>&1 || \
		{ echo "make disk: mke2fs not found (apt-get install e2fsprogs, or make deps-test)" >&2; exit 1; }
	@test -d "$(DISK_DIR)" || { echo "make disk: DISK_DIR=$(DISK_DIR) is not a directory" >&2; exit 1; }
	@mkdir -p $(dir $(DISK_IMG))
	rm -f $(DISK_IMG)
	truncate -s $(DISK_SIZE) $(DISK_IMG)
	PATH="$$PATH:/sbin:/usr/sbin" mke2fs -q -F -t $(DISK_FS) -L caboose -d $(DISK_DIR) $(DISK_IMG)
	@echo "$(DISK_IMG): $(DISK_FS) of $(DISK_DIR); boot with -drive file=$(DISK_IMG),if=virtio,format=raw" >&2

deps-run:
	@sh tools/deps.sh run

deps-test:
	@sh tools/deps.sh test

deps-bench:
	@sh tools/deps.sh bench

# ---- tests ----
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -DCABOOSE_HOST -g -O1 -Wall -Wextra -Werror -I. \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer -pthread
HOST_PORTABLE := kernel/lib/string.c kernel/lib/format.c kernel/lib/civil.c kernel/lib/cmdline.c kernel/lib/hist.c \
                 kernel/console/ksyms.c kernel/mm/page.c kernel/mm/slab.c \
                 kernel/sync/spinlock.c zerocopy/pkb.c zerocopy/frame.c $(NET_PORTABLE) $(APPS_KERNEL_PORTABLE) \
                 $(FS_PORTABLE) fs/perm.c $(GC_PORTABLE)
HOST_TESTS := $(wildcard tests/host/test_*.c)
HOST_SUPPORT := tests/host/host_arch.c tests/host/host_net.c tests/host/host_gc.c
# what several test files share (they use Criterion: the unit tests only, not the fuzzers)
HOST_TEST_SUPPORT := tests/host/tcp_peer.c tests/host/pkb_check.c tests/host/ext2_img.c
$(BUILD)/host/unit: $(HOST_TESTS) $(HOST_SUPPORT) $(HOST_TEST_SUPPORT) $(HOST_PORTABLE) $(wildcard kernel/*/*.h zerocopy/*.h netstack/*.h apps/kernel/*.h nic/*.h fs/*.h fs/ext2/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(HOST_TESTS) $(HOST_SUPPORT) $(HOST_TEST_SUPPORT) $(HOST_PORTABLE) \
		-lcriterion

# libFuzzer targets (clang): the stack's input path, from the real code
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DCABOOSE_HOST -g -O1 -Wall -Wextra -Werror -I. \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_NAMES := frames ipv4 dhcp iperf httpd ext2 httppath
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
# the iperf3 parameter parser has a target of its own
$(BUILD)/fuzz/fuzz_iperf: tests/fuzz/fuzz_iperf.c apps/kernel/iperf_json.c kernel/lib/string.c \
                          apps/kernel/services.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_iperf.c apps/kernel/iperf_json.c kernel/lib/string.c
# the HTTP responder's request targets (apps/kernel/http_path.c) have theirs
$(BUILD)/fuzz/fuzz_httppath: tests/fuzz/fuzz_httppath.c apps/kernel/http_path.c kernel/lib/string.c \
                             apps/kernel/services.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_httppath.c apps/kernel/http_path.c kernel/lib/string.c
# the ext2/ext3 reader (fs/ext2/) has its own: mounting and reading an image
$(BUILD)/fuzz/fuzz_ext2: tests/fuzz/fuzz_ext2.c $(HOST_SUPPORT) $(HOST_PORTABLE) \
                         $(wildcard kernel/*/*.h fs/ext2/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_ext2.c $(HOST_SUPPORT) $(HOST_PORTABLE)
fuzz_id = $(if $(filter frames,$1),0,$(if $(filter ipv4,$1),1,2))
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_net.c $(HOST_SUPPORT) $(HOST_PORTABLE) $(wildcard kernel/*/*.h zerocopy/*.h netstack/*.h nic/*.h tests/host/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -DFUZZ_TARGET=$(call fuzz_id,$*) -o $@ tests/fuzz/fuzz_net.c \
		$(HOST_SUPPORT) $(HOST_PORTABLE)

# longer fuzzing than make test does (FUZZ_SECONDS per target)
FUZZ_SECONDS ?= 300
fuzz: deps-test $(FUZZ_BINS)
	python3 tests/fuzz/run.py --seconds $(FUZZ_SECONDS)


# bench/loadgen: the pacing, histogram and sweep logic, tested on the host
# with a fake clock (tests/host/loadgen/)
LOADGEN_CORE := bench/loadgen/hist.c bench/loadgen/pace.c bench/loadgen/engine.c \
                bench/loadgen/http.c bench/loadgen/sweep.c
LOADGEN_SRCS := $(LOADGEN_CORE) bench/loadgen/net.c bench/loadgen/loadgen.c
LOADGEN_TESTS := $(wildcard tests/host/loadgen/test_*.c)
$(BUILD)/host/loadgen-unit: $(LOADGEN_TESTS) $(LOADGEN_CORE) $(wildcard bench/loadgen/*.h) \
                            $(wildcard tests/host/loadgen/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(LOADGEN_TESTS) $(LOADGEN_CORE) -lcriterion -lm

test: deps-test $(BUILD)/caboose.elf $(BUILD)/caboose.iso $(BUILD)/host/unit \
      $(BUILD)/host/loadgen-unit $(FUZZ_BINS) $(BUILD)/apps/httpd $(BUILD)/host/httpd-unit \
      $(BUILD)/bench/loadgen
	python3 tests/run.py

# issue 11, longer than make test runs them (needs root: network namespaces).
# make matrix: the two reproductions of the issue RUNS times in a row on each
# configuration of tests/integration/matrix_test.py (MATRIX_CONFIGS: a comma-
# separated subset; MATRIX_LOADS=full adds the load checks); one JSON
# summary on stdout. make soak: SOAK_MINUTES of mixed load against one guest
# with SMP CPUs (tests/integration/soak_test.py); one JSON summary on stdout.
RUNS ?= 10
MATRIX_CONFIGS ?= all
MATRIX_LOADS ?= none
SOAK_MINUTES ?= 30
matrix: deps-test $(BUILD)/caboose.elf
	@python3 tests/integration/matrix_test.py --runs $(RUNS) --configs $(MATRIX_CONFIGS) \
		--loads $(MATRIX_LOADS)

soak: deps-test $(BUILD)/caboose.elf $(BUILD)/bench/loadgen
	@python3 tests/integration/soak_test.py --minutes $(SOAK_MINUTES) --smp $(SMP)

# issue 14: CUTS power cuts (QEMU killed at moments drawn from SEED, random
# unless given) of a write workload on ext3; after each, e2fsck's and
# Caboose's replays are clean and every fsync'd file is intact
# (tests/integration/ext2_test.py run_crash; make test runs 4)
CUTS ?= 100
crash: deps-test $(BUILD)/caboose.elf user
	@python3 tests/integration/ext2_test.py --crash $(CUTS) $(if $(SEED),--seed $(SEED))

# the layers of DESIGN.md (also the first tier of make test)
check-layers:
	@python3 tools/check-layers

# ---- user programs (apps/): static musl binaries that also run on Linux ----
# apps/httpd, the web server; its parser and heads are tested on the host
# (build/host/httpd-unit, Criterion) and fuzzed (build/fuzz/fuzz_httpd)
MUSLCC := musl-gcc
APP_CFLAGS := -std=c11 -D_GNU_SOURCE -static -O2 -g -Wall -Wextra -Werror -pthread
HTTPD_PURE := apps/httpd/parse.c apps/httpd/resp.c
HTTPD_SRCS := $(HTTPD_PURE) apps/httpd/main.c apps/httpd/worker.c apps/httpd/file.c \
              apps/httpd/log.c
$(BUILD)/apps/httpd: $(HTTPD_SRCS) $(wildcard apps/httpd/*.h) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MUSLCC  $@" >&2)
	$(Q)$(MUSLCC) $(APP_CFLAGS) -o $@ $(HTTPD_SRCS)
$(BUILD)/host/httpd-unit: $(wildcard tests/host/httpd/test_*.c) $(HTTPD_PURE) \
                          $(wildcard apps/httpd/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(wildcard tests/host/httpd/test_*.c) $(HTTPD_PURE) \
		-lcriterion
$(BUILD)/fuzz/fuzz_httpd: tests/fuzz/fuzz_httpd.c $(HTTPD_PURE) $(wildcard apps/httpd/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_httpd.c $(HTTPD_PURE)

# ---- benchmarks ----
$(BUILD)/bench/loadgen: $(LOADGEN_SRCS) $(wildcard bench/loadgen/*.h) Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@" >&2)
	$(Q)$(HOSTCC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. -o $@ \
		$(LOADGEN_SRCS) -lm

# Each benchmark prints one JSON document on stdout (seven documents in a
# row); bench/nic, bench/net, bench/tcp and bench/run need root for their
# network namespaces. bench/tcp: iperf3 both ways and wrk, Caboose and the
# Linux guest. bench/run: the same programs (nginx, apps/httpd) on the Linux
# guest and on Caboose, and Caboose's in-kernel responder (wrk, loadgen).
# bench/sys: system-call costs in guest instructions (-icount shift=0),
# apps/tests/sysbench from the user tier's initrd on Caboose and on Linux.
# bench/disk: file-system throughput on copies of one ext3 image,
# apps/tests/diskbench on Caboose and on Linux.
# QUICK=1: one short load of each kind (about 3 minutes): checks that every
# benchmark still works (the bench tier of make test runs the same), not a
# measurement.
BENCH_FLAGS := $(if $(filter-out 0,$(QUICK)),--quick)
bench: deps-bench $(BUILD)/caboose.elf $(BUILD)/bench/loadgen $(BUILD)/apps/httpd user
	@python3 bench/boot $(BENCH_FLAGS)
	@python3 bench/nic $(BENCH_FLAGS)
	@python3 bench/net $(BENCH_FLAGS)
	@python3 bench/tcp $(BENCH_FLAGS)
	@python3 bench/run $(BENCH_FLAGS)
	@python3 bench/sys $(BENCH_FLAGS)
	@python3 bench/disk $(BENCH_FLAGS)

clean:
	rm -rf $(BUILD)

# (not the unpacked Debian packages: their /etc has folders named *.d)
-include $(shell find $(BUILD) -path $(BUILD)/user/debian -prune -o -path $(BUILD)/linux-guest -prune -o -name '*.d' -type f -print 2>/dev/null)

# ---- test programs: static musl binaries (apps/tests) in the initial archive ----
USER_TEST_NAMES := $(basename $(notdir $(wildcard apps/tests/*.c)))
USER_TEST_BINS := $(patsubst %,$(BUILD)/user/tests/%,$(USER_TEST_NAMES))
# the thread tests also with glibc's static pthreads (gcc -static): tests/NAME-glibc
USER_GLIBC_NAMES := threads futex spawn
USER_TEST_BINS += $(patsubst %,$(BUILD)/user/tests/%-glibc,$(USER_GLIBC_NAMES))
# small test programs also linked dynamically against glibc (gcc without
# -static): tests/NAME-dyn, run by the libc6 the next list brings
USER_DYN_NAMES := hello args procs threads
USER_TEST_BINS += $(patsubst %,$(BUILD)/user/tests/%-dyn,$(USER_DYN_NAMES))
USER_INITRD := $(BUILD)/user/initrd.cpio
# Debian's dynamically linked coreutils, unchanged from the .debs, with
# libc6 and the other libraries they need (tools/debroot.py: apt-get
# download into build/user/debian/debs, dpkg -x), in /usr/bin (busybox's
# links hold /bin)
DEB_PACKAGES := coreutils
# (and libgcc_s, which glibc's pthread_exit and cancellation dlopen)
DEB_PROGRAMS := bin/ls:usr/bin/ls,usr/bin/sha256sum,usr/bin/sort,bin/date:usr/bin/date
DEB_PROGRAMS := $(DEB_PROGRAMS),lib/x86_64-linux-gnu/libgcc_s.so.1
USER_DEB_SPECS := $(BUILD)/user/debian.specs
# Debian's static busybox (package busybox-static, tools/deps.sh) and the
# shell scripts it runs in the user tier
BUSYBOX := /bin/busybox
USER_SCRIPTS := $(wildcard apps/tests/sh/*.sh)
# a link in /bin for each of its applets (as `busybox --install -s /bin`)
BUSYBOX_APPLETS := $(filter-out busybox,$(if $(wildcard $(BUSYBOX)),$(shell $(BUSYBOX) --list)))
# the device nodes programs expect, for the Linux guest (whose initramfs
# has only /dev/console); Caboose makes the same ones itself; and an empty
# /proc, where Caboose mounts its own and Linux's programs may mount one
USER_DEV_NODES := proc=@dir dev/console=@chr:5:1:0600 dev/null=@chr:1:3:0666 dev/zero=@chr:1:5:0666 \
	dev/urandom=@chr:1:9:0666 dev/ttyS0=@chr:4:64:0660 dev/tty=@chr:5:0:0666

$(BUILD)/user/tests/%: apps/tests/%.c apps/tests/show.h apps/tests/lo.h apps/tests/probe.h Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MUSLCC  $<" >&2)
	$(Q)$(MUSLCC) $(APP_CFLAGS) -o $@ $<

$(BUILD)/user/tests/%-glibc: apps/tests/%.c apps/tests/show.h apps/tests/lo.h apps/tests/probe.h Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GLIBCC  $<" >&2)
	$(Q)gcc $(APP_CFLAGS) -o $@ $<

$(BUILD)/user/tests/%-dyn: apps/tests/%.c Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GLIBCC  $< (dynamic)" >&2)
	$(Q)gcc $(filter-out -static,$(APP_CFLAGS)) -o $@ $<

$(USER_DEB_SPECS): tools/debroot.py tests/lib/debs.py Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  DEBROOT $(DEB_PACKAGES)" >&2)
	$(Q)python3 tools/debroot.py $@ $(BUILD)/user/debian $(DEB_PACKAGES) $(DEB_PROGRAMS)

$(USER_INITRD): $(USER_TEST_BINS) apps/tests/script $(USER_SCRIPTS) tools/mkcpio.py $(USER_DEB_SPECS)
	@$(if $(Q),echo "  CPIO    $@" >&2)
	$(Q)python3 tools/mkcpio.py $@ $(foreach b,$(USER_TEST_BINS),tests/$(notdir $(b))=$(b)) \
		@$(USER_DEB_SPECS) \
		tests/script=apps/tests/script $(USER_DEV_NODES) tmp=@dir:1777 \
		$(foreach s,$(USER_SCRIPTS),tests/sh/$(notdir $(s))=$(s)) \
		$(if $(wildcard $(BUSYBOX)),bin/busybox=$(BUSYBOX) \
		$(foreach a,$(BUSYBOX_APPLETS),bin/$(a)=@lnk:busybox))

.PHONY: user
user: $(USER_INITRD)
test: $(USER_INITRD)

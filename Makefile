# chime — non-recursive GNU Makefile.
#
#   make            build chimed, chimectl and the test tools into build/
#   make check      unit, simulator, system, clknetsim and fuzz-smoke suites;
#                   ends with "N passed, N failed, N skipped"
#   make check-clknetsim  only the real chimed under clknetsim (CLKNETSIM=path,
#                   default ../shared/clknetsim; skipped when it is absent)
#   make asan       the whole suite again under ASan+UBSan (build/asan/)
#   make tsan       the threaded suites (workers, NTS-KE) under TSan (build/tsan/)
#   make demo       a local server and a client syncing to it, clock untouched
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS (default 60) each
#   make bench      loopback fan-ins, ntpperf plain and NTS (if ../shared/ntpperf), NTS on
#                   loopback and idle memory against chronyd, same run, alternating rounds
#   make bench-accuracy  the simulator's standard scenarios, 24 h x 3 seeds
#   make bench-clknetsim LAN and WAN in clknetsim, chimed and chronyd as clients,
#                   24 h x 3 seeds, beside chime-sim's figures
#   make bench-restrict  100,000 restrict lines against 10: start-up, replies/s, reload
#   make install    PREFIX=/usr/local DESTDIR= (config in $(DESTDIR)/etc)
#   make deb        the Debian package, into build/deb/
#
# Missing Debian packages are installed by mk/deps.sh (as root, via apt-get).

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# chime-tls.so: chimed looks for it in ../lib/chime from its own directory
MODDIR    := $(SBINDIR)/../lib/chime

B         ?= build
CC        ?= cc
CSTD      := -std=c17
WARN      := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wvla
OPT       ?= -O2 -g
SANITIZE  ?=
CPPFLAGS  += -D_GNU_SOURCE -DCHIME_VERSION='"$(VERSION)"' -Isrc
CFLAGS    += $(CSTD) $(WARN) $(OPT) $(SANITIZE) -fno-strict-aliasing -MMD -MP
LDFLAGS   += $(SANITIZE)
LDLIBS    += -lssl -lcrypto -lnettle -lcap -lseccomp -lm -pthread
# chimed itself maps no OpenSSL (sys/tlsmod.h): its TLS is chime-tls.so.
DAEMON_LDLIBS := -lnettle -lcap -lseccomp -lm -pthread -ldl

# ---- sources ---------------------------------------------------------------
# Everything under src/ except the program mains goes into one static library,
# so unit tests, tools, fuzzers and the daemon all link the same objects.
LIB_SRC   := $(wildcard src/core/*.c src/monitor/*.c src/conf/*.c src/sys/*.c src/daemon/engine*.c src/daemon/ctl_server.c \
             src/daemon/stats.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB       := $(B)/libchime.a

CHIMED    := $(B)/chimed
# NTS-KE's TLS, the module chimed loads when a configuration uses NTS:
# the same sources as in the library, position-independent, everything
# hidden but the module's table. chimed links every library object but
# these (not the archive: the module calls back into any of them) and
# exports its symbols to the module.
TLS_SRC   := src/sys/ntske_tls.c src/sys/ntske_server.c
TLSMOD    := $(B)/chime-tls.so
TLSMOD_OBJ := $(patsubst %.c,$(B)/obj-pic/%.o,$(TLS_SRC) src/tlsmod/module.c)
DAEMON_OBJ := $(filter-out $(TLS_SRC:%.c=$(B)/obj/%.o),$(LIB_OBJ)) \
             $(B)/obj/src/daemon/tlsmod.o $(B)/obj/src/daemon/chimed.o
# The simulator: sim/*.c around the same library the daemon links.
SIM_SRC   := $(wildcard sim/*.c)
SIM       := $(B)/chime-sim
CHIMECTL  := $(B)/chimectl
TOOLS_SRC := $(wildcard tests/tools/*.c bench/*.c)
TOOLS     := $(patsubst %.c,$(B)/%,$(notdir $(TOOLS_SRC)))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNITS     := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRC))
PROGRAMS  := $(CHIMED) $(TLSMOD) $(if $(wildcard src/ctl/chimectl.c),$(CHIMECTL)) $(SIM)
FAKECLOCK := $(B)/libfakeclock.so

ALL_OBJ   := $(LIB_OBJ) $(B)/obj/src/daemon/chimed.o $(B)/obj/src/ctl/chimectl.o \
             $(B)/obj/src/daemon/tlsmod.o $(TLSMOD_OBJ) \
             $(TOOLS_SRC:%.c=$(B)/obj/%.o) $(UNIT_SRC:%.c=$(B)/obj/%.o) \
             $(SIM_SRC:%.c=$(B)/obj/%.o)

# Keep intermediate objects (test mains, tools) so rebuilds stay incremental.
.SECONDARY:

.PHONY: all programs deps check check-run check-clknetsim asan tsan demo fuzz fuzz-smoke bench \
        bench-accuracy bench-clknetsim bench-restrict \
        install deb clean
all: $(PROGRAMS) $(TOOLS) $(UNITS) $(FAKECLOCK)
# What gets installed (the Debian build makes only this: no cmocka needed).
programs: $(PROGRAMS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(CHIMED): $(DAEMON_OBJ)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(DAEMON_LDLIBS)

$(B)/obj-pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(TLSMOD): $(TLSMOD_OBJ)
	$(CC) $(LDFLAGS) -shared -o $@ $^ -lssl -lcrypto -pthread

$(CHIMECTL): $(B)/obj/src/ctl/chimectl.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(SIM): $(SIM_SRC:%.c=$(B)/obj/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/%: $(B)/obj/tests/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/%: $(B)/obj/bench/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit/%: $(B)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The fake kernel clock is LD_PRELOADed into test processes: PIC, shared,
# and never sanitized (a preloaded ASan object would have to come first).
$(FAKECLOCK): tests/fakeclock/fakeclock.c tests/fakeclock/fakedev.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CSTD) $(WARN) $(OPT) -fPIC -shared -pthread -o $@ $^ -ldl -lm

-include $(ALL_OBJ:.o=.d)

# ---- dependencies from Debian -----------------------------------------------
deps:
	@sh mk/deps.sh build

# ---- tests ------------------------------------------------------------------
# check: build, then run every suite through one TAP runner that prints the
# final "N passed, N failed, N skipped" line and fails if anything failed.
check:
	@sh mk/deps.sh build test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check-run

check-run:
	@B=$(B) sh tests/run.sh

check-clknetsim:
	@sh mk/deps.sh build test
	@$(MAKE) --no-print-directory all
	@B=$(B) SUITES=clknetsim sh tests/run.sh

asan:
	@sh mk/deps.sh build test
	@$(MAKE) --no-print-directory B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		B=build/asan CHIME_ASAN=1 sh tests/run.sh

# The suites with threads (server workers, NTS-KE) under ThreadSanitizer.
# -Wno-tsan: the SHM refclock reader's fences order reads of memory another
# process writes, which TSan cannot see anyway.
TSAN_TESTS ?= t_threads t_nts_fleet t_nts_ke_limits
tsan:
	@sh mk/deps.sh build test
	@$(MAKE) --no-print-directory B=build/tsan OPT="-O1 -g" SANITIZE="-fsanitize=thread -Wno-tsan" all
	@TSAN_OPTIONS=halt_on_error=1:exitcode=66 B=build/tsan SUITES=system TESTS="$(TSAN_TESTS)" \
		CHIME_TEST_LANES=1 sh tests/run.sh

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 60
FUZZ_B       := build/fuzz
FUZZERS      := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(FUZZ_SRC))

# Parsers and formatters live in core/, monitor/ and conf/, which touch no
# syscalls: fuzz them alone.
# They are compiled once and linked into every harness (compiling them
# again per harness was most of the fuzz smoke run's time).
FUZZ_LIB_SRC := $(wildcard src/core/*.c src/monitor/*.c src/conf/*.c)
FUZZ_OBJ     := $(patsubst src/%.c,$(FUZZ_B)/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_CFLAGS  := $(CSTD) -g -O1 -D_GNU_SOURCE -Isrc -fno-sanitize-recover=all
$(FUZZ_B)/obj/%.o: src/%.c $(wildcard src/*/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
$(FUZZ_B)/%: tests/fuzz/%.c $(FUZZ_OBJ) $(wildcard src/*/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) -lm

fuzz:
	@sh mk/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZERS)
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $(FUZZ_B)/corpus-$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(FUZZ_B)/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz-build:
	@$(MAKE) --no-print-directory $(FUZZERS)

# ---- demo, bench, install ------------------------------------------------------
demo:
	@sh mk/deps.sh build
	@$(MAKE) --no-print-directory all
	@B=$(B) sh mk/demo.sh

# The full 24 h standard scenarios, 3 seeds each, against the peers'
# figures from issue 4; the table also lands in build/bench/accuracy.txt.
bench-restrict: $(CHIMED) $(TOOLS)
	@B=$(B) sh bench/restrict.sh

bench-accuracy: $(SIM)
	@B=$(B) sh bench/accuracy.sh

bench-clknetsim:
	@sh mk/deps.sh build test
	@$(MAKE) --no-print-directory all
	@B=$(B) sh bench/clknetsim.sh

bench:
	@sh mk/deps.sh build bench
	@$(MAKE) --no-print-directory all
	@B=$(B) sh bench/run.sh

# Every docs/NAME.N page goes to manN; chime-sim is installed when it has
# been built. An existing $(SYSCONFDIR)/chime.conf is the admin's: kept.
install: $(PROGRAMS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(CHIMED) $(DESTDIR)$(SBINDIR)/chimed
	install -d $(DESTDIR)$(MODDIR)
	install -m 0644 $(TLSMOD) $(DESTDIR)$(MODDIR)/chime-tls.so
	install -m 0755 $(CHIMECTL) $(DESTDIR)$(BINDIR)/chimectl
	install -m 0755 $(SIM) $(DESTDIR)$(BINDIR)/chime-sim
	for p in docs/*.[1-8]; do s=$${p##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/chime.conf ] || \
		install -m 0644 packaging/chime.conf $(DESTDIR)$(SYSCONFDIR)/chime.conf
	sed 's|/usr/sbin/chimed|$(SBINDIR)/chimed|; s|/etc/chime.conf|$(SYSCONFDIR)/chime.conf|' \
		packaging/chime.service >$(DESTDIR)$(UNITDIR)/chime.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/chime.service
	install -m 0644 packaging/chime.tmpfiles $(DESTDIR)$(TMPFILESDIR)/chime.conf

# The Debian package (debian/), built out of a copy of the tree so that
# nothing lands outside build/: the .deb, .buildinfo and .changes end up
# in build/deb/.
deb:
	@sh mk/deps.sh build deb
	@sh mk/deb.sh

clean:
	rm -rf build

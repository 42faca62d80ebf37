# cvmctl: one non-recursive GNU Makefile. Everything builds into $(BUILD).
#   make                 build cvmctl, the runtimes and the example images
#   make check           install what is missing, build, run every test (gcc, then clang +
#                        SANITIZE=address,undefined); the last line is prove's summary
#   make demo            build and run the example deployments
#   make bench           run the benchmarks in bench/
#   make fuzz            build libFuzzer targets with clang into build/fuzz
#   make format          clang-format the tree; make check-format checks it

BUILD ?= build
CC ?= cc
SANITIZE ?=
PKGS := yaml-0.1 jansson
# Opened with dlopen() by the commands that need them (pkg/base/dlib.h): headers only at build
# time, and their sonames, read from the libraries themselves, so headers and library agree.
# libcrypto only signs and verifies (SHA-256 is pkg/base's own): linking it would cost every
# process ~2 ms of relocation page faults. libzstd only compresses at build and fills the layer
# cache (~0.15 ms a process).
LAZY_PKGS := libarchive libcurl libcrypto libzstd
soname = $(shell objdump -p "$$($(CC) -print-file-name=$(1))" 2>/dev/null | \
           awk '$$1 == "SONAME" { print $$2 }')
LIBARCHIVE_SONAME := $(call soname,libarchive.so)
LIBCURL_SONAME := $(call soname,libcurl.so)
LIBCRYPTO_SONAME := $(call soname,libcrypto.so)
LIBZSTD_SONAME := $(call soname,libzstd.so)

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
        -Wwrite-strings -fno-common
ifeq ($(shell $(CC) --version 2>/dev/null | grep -c clang),0)
WARN += -Wjump-misses-init
endif

SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(LAZY_PKGS) 2>/dev/null) \
             $(if $(LIBARCHIVE_SONAME),-DCVM_LIBARCHIVE_SONAME='"$(LIBARCHIVE_SONAME)"') \
             $(if $(LIBCURL_SONAME),-DCVM_LIBCURL_SONAME='"$(LIBCURL_SONAME)"') \
             $(if $(LIBCRYPTO_SONAME),-DCVM_LIBCRYPTO_SONAME='"$(LIBCRYPTO_SONAME)"') \
             $(if $(LIBZSTD_SONAME),-DCVM_LIBZSTD_SONAME='"$(LIBZSTD_SONAME)"')
# libyaml and jansson, which every run needs, are linked from their static archives when the
# system has them (Debian's -dev packages do): the dynamic linker then opens, maps and relocates
# two libraries fewer, ~0.3 ms of a ~4.5 ms `cvmctl run` here. `make STATIC_PKGS=` links them
# as shared libraries, as a distribution package would.
STATIC_PKGS ?= yaml-0.1 jansson
static_archives = $(foreach l,$(shell pkg-config --libs-only-l $(1) 2>/dev/null),\
                    $(if $(wildcard $(shell $(CC) -print-file-name=lib$(l:-l%=%).a)),$(l)))
STATIC_LIBS := $(strip $(call static_archives,$(filter $(STATIC_PKGS),$(PKGS))))
comma := ,
PKG_LIBS = $(if $(strip $(STATIC_LIBS)),-Wl$(comma)-Bstatic $(STATIC_LIBS) -Wl$(comma)-Bdynamic) \
           $(filter-out $(STATIC_LIBS),$(shell pkg-config --libs $(PKGS) 2>/dev/null))
INCLUDES := -Ipkg/base -Ipkg/image -Ipkg/monitor -Ipkg/runtime
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(SAN_FLAGS) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lpthread -ldl

# Code that runs inside cVMs: freestanding, position-independent, no sanitizers, only
# R_X86_64_RELATIVE relocations (hidden visibility + -Bsymbolic resolve everything locally).
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -fPIC -fvisibility=hidden \
                -fno-asynchronous-unwind-tables -Wall -Wextra -Ipkg/monitor/abi -Iruntimes/baremetal
GUEST_LDFLAGS := -shared -nostdlib -Wl,-Bsymbolic -Wl,-e,_start -Wl,-z,noexecstack \
                 -Wl,--no-undefined -Wl,--hash-style=gnu

all: deps $(BUILD)/cvmctl images

# ---- dependencies -------------------------------------------------------------------------
.PHONY: deps
deps:
	@scripts/install-deps.sh --if-missing

# ---- host libraries -----------------------------------------------------------------------
BASE_SRC := $(wildcard pkg/base/*.c)
MONITOR_SRC := $(wildcard pkg/monitor/*.c) $(wildcard pkg/monitor/arch/*/*.c) \
               pkg/monitor/arch/x86_64/switch.S
IMAGE_SRC := $(wildcard pkg/image/*.c)
RUNTIME_SRC := $(wildcard pkg/runtime/*.c)
CMD_SRC := $(wildcard cmd/cvmctl/*.c)

objs = $(patsubst %,$(BUILD)/obj/%.o,$(1))

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libcvm_base.a: $(call objs,$(BASE_SRC))
$(BUILD)/libcvm_monitor.a: $(call objs,$(MONITOR_SRC))
$(BUILD)/libcvm_image.a: $(call objs,$(IMAGE_SRC))
$(BUILD)/libcvm_runtime.a: $(call objs,$(RUNTIME_SRC))
$(BUILD)/libcvm_%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

LIBCVM = $(BUILD)/libcvm_runtime.a $(BUILD)/libcvm_image.a $(BUILD)/libcvm_monitor.a \
         $(BUILD)/libcvm_base.a

$(BUILD)/cvmctl: $(call objs,$(CMD_SRC)) $(LIBCVM)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# ---- guest code ----------------------------------------------------------------------------
BAREMETAL_SRC := $(wildcard runtimes/baremetal/*.c)
BAREMETAL_OBJ := $(patsubst %.c,$(BUILD)/guest/%.o,$(BAREMETAL_SRC))

$(BUILD)/guest/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

# guest_so(output, sources): a baremetal runtime linked with the crt; a target-specific
# GUEST_EXTRA_LDFLAGS adds link options.
define guest_so
$(1): $(patsubst %.c,$(BUILD)/guest/%.o,$(2)) $(BAREMETAL_OBJ)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(GUEST_CFLAGS) $$(GUEST_LDFLAGS) $$(GUEST_EXTRA_LDFLAGS) -o $$@ $$^
endef

# Example images: images/<name>/<name>.yaml plus one lib<prog>.so per images/<name>/<prog>.c.
IMAGES := $(patsubst images/%/,%,$(wildcard images/*/))
image_sos = $(patsubst images/$(1)/%.c,$(BUILD)/images/$(1)/lib%.so,$(wildcard images/$(1)/*.c))
$(foreach img,$(IMAGES),$(foreach src,$(wildcard images/$(img)/*.c),\
  $(eval $(call guest_so,$(BUILD)/images/$(img)/lib$(basename $(notdir $(src))).so,$(src)))))
$(BUILD)/images/%.yaml:
	@mkdir -p $(dir $@)
	cp $< $@
$(foreach img,$(IMAGES),$(eval $(BUILD)/images/$(img)/$(img).yaml: images/$(img)/$(img).yaml))
# The folder is also the image's build context: `cvmctl build -t NAME build/images/<name>`.
$(foreach img,$(IMAGES),$(eval $(BUILD)/images/$(img)/cvm.yaml: images/$(img)/cvm.yaml))

.PHONY: images
images: $(foreach img,$(IMAGES),$(call image_sos,$(img)) $(BUILD)/images/$(img)/$(img).yaml \
          $(BUILD)/images/$(img)/cvm.yaml)

# The LibOS runtime (runtimes/libos) and the images of unmodified musl programs that run on it.
include runtimes/libos/libos.mk
include images/musl.mk

# ---- tests ---------------------------------------------------------------------------------
# Test runtimes: tests/runtimes/<name>.c -> lib<name>.so; a few need special link options.
TEST_RT_SRC := $(wildcard tests/runtimes/*.c)
TEST_RT := $(patsubst tests/runtimes/%.c,$(BUILD)/tests/runtimes/lib%.so,$(TEST_RT_SRC))
$(foreach src,$(TEST_RT_SRC),$(eval $(call guest_so,$(patsubst tests/runtimes/%.c,$(BUILD)/tests/runtimes/lib%.so,$(src)),$(src))))
# librelr.so packs its relocations as DT_RELR.
$(BUILD)/tests/runtimes/librelr.so: GUEST_EXTRA_LDFLAGS := -Wl,-z,pack-relative-relocs
# libplt.so calls an exported function through the PLT: linked without -Bsymbolic, lazily.
$(BUILD)/tests/runtimes/libplt.so: GUEST_LDFLAGS := -shared -nostdlib -Wl,-e,_start -Wl,-z,lazy \
    -Wl,--no-undefined

UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
$(BUILD)/tests/unit/test-%: $(BUILD)/obj/tests/unit/test-%.c.o $(BUILD)/obj/tests/unit/tap.c.o $(LIBCVM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# This test writes its hostile tars with libarchive directly.
$(BUILD)/tests/unit/test-layout-tar: LIBS += $(shell pkg-config --libs libarchive 2>/dev/null)
# It writes keys in forms cvmctl never writes (encrypted, other curves) with OpenSSL itself.
$(BUILD)/tests/unit/test-sign: LIBS += $(shell pkg-config --libs libcrypto 2>/dev/null)

# Unmodified musl programs for Linux cVMs: static PIEs linked with musl's rcrt1.o.
MUSL_LIB := /usr/lib/x86_64-linux-musl
MUSL_CFLAGS := -std=gnu11 -O2 -g -fPIE -nostdinc -isystem /usr/include/x86_64-linux-musl \
               -isystem $(shell gcc -print-file-name=include) -Wall -Wextra
# static_pie(output, sources)
define static_pie
$(1): $(2)
	@mkdir -p $$(dir $$@)
	gcc $$(MUSL_CFLAGS) -static-pie -nostdlib -o $$@ $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o \
	  $$^ $(MUSL_LIB)/libc.a $$(shell gcc -print-libgcc-file-name) $(MUSL_LIB)/crtn.o
endef
LINUX_TEST_SRC := $(wildcard tests/linux/*.c)
LINUX_TEST := $(patsubst tests/linux/%.c,$(BUILD)/tests/linux/%,$(LINUX_TEST_SRC))
$(foreach src,$(LINUX_TEST_SRC),$(eval $(call static_pie,$(patsubst tests/linux/%.c,$(BUILD)/tests/linux/%,$(src)),$(src))))

FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))
$(BUILD)/tests/fuzz/fuzz-%: $(BUILD)/obj/tests/fuzz/fuzz-%.c.o $(BUILD)/obj/tests/fuzz/replay.c.o $(LIBCVM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

HOSTCALL_TABLE := $(BUILD)/tools/hostcall-table
$(HOSTCALL_TABLE): $(BUILD)/obj/tools/hostcall-table.c.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

.PHONY: test-bins check check-one
test-bins: all $(TEST_RT) $(LINUX_TEST) $(UNIT_BIN) $(FUZZ_REPLAY) $(HOSTCALL_TABLE)

check-one: test-bins
	CVM_BUILD=$(BUILD) prove -j2 $(UNIT_BIN) tests/e2e/t*.sh

check: deps check-format
	@$(MAKE) --no-print-directory check-one
	@$(MAKE) --no-print-directory BUILD=build/sanitize CC=clang SANITIZE=address,undefined check-one

# ---- demo, benchmarks, fuzzing ------------------------------------------------------------
.PHONY: demo bench fuzz
demo: all
	@scripts/demo.sh $(BUILD)

BENCH_BIN := $(BUILD)/bench/bench-monitor
$(BENCH_BIN): $(BUILD)/obj/bench/bench-monitor.c.o $(LIBCVM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -ldl
# Cross-cVM streams against a pipe and a unix socket (bench/stream).
-include bench/stream/stream.mk
bench: all $(TEST_RT) $(BENCH_BIN) libos-bench stream-bench
	$(BENCH_BIN) $(BUILD)
	bench/bench-image.sh $(BUILD)
	bench/bench-registry.sh $(BUILD)
	bench/bench-run.sh $(BUILD)
	bench/bench-libos.sh $(BUILD)
	bench/bench-stream.sh $(BUILD)

fuzz: deps
	$(MAKE) BUILD=build/fuzz CC=clang SANITIZE=fuzzer-no-link,address,undefined \
	  $(subst $(BUILD)/,build/fuzz/,$(LIBCVM))
	@mkdir -p build/fuzz/bin
	for f in $(FUZZ_SRC); do \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(INCLUDES) \
	    -Iruntimes/libos $(PKG_CFLAGS) $$f $(LIBOS_HOST_SRC) -o build/fuzz/bin/$$(basename $$f .c) \
	    $(subst $(BUILD)/,build/fuzz/,$(LIBCVM)) $(LIBS) || exit 1; \
	done
	@echo "run e.g.: build/fuzz/bin/fuzz-elf tests/fuzz/corpus/elf"

# ---- formatting -----------------------------------------------------------------------------
FORMAT_SRC = $(shell git ls-files '*.c' '*.h')
.PHONY: format check-format clean
format:
	clang-format -i $(FORMAT_SRC)
check-format:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build

# Object files of tests are intermediates of chained rules: keep them.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

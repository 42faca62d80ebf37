# Images of unmodified musl programs (images/musl-*): built with Debian's musl-gcc.
# Each build context build/images/<name>/ gets the program, libos.so (the cVM that serves its
# syscalls), and where the image has them the rootfs folder and musl's ld.so. C sources live
# in images/<name>/app/ (and lib/), out of reach of the baremetal rule for images/<name>/*.c.

MUSL_CC := musl-gcc
MUSL_LIBDIR := /usr/lib/x86_64-linux-musl
MUSL_LDSO := /lib/ld-musl-x86_64.so.1
MUSL_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wvla -Wwrite-strings -fno-common -Wjump-misses-init
# musl-gcc's specs link a static program or a dynamic PIE, never a static-pie: the crt files
# are named here (rcrt1.o relocates the program itself) and the driver adds nothing of its own.
# Debug sections (musl's crt objects bring some) are dropped: nothing in a cVM reads them.
MUSL_STATIC_PIE_LDFLAGS := -fPIE -static -nostdlib -Wl,-pie -Wl,--no-dynamic-linker -Wl,-z,text \
                           -Wl,-z,noexecstack -Wl,--strip-debug
musl_static_pie_start = $(MUSL_LIBDIR)/rcrt1.o $(MUSL_LIBDIR)/crti.o \
                        $(shell $(MUSL_CC) -print-file-name=crtbeginS.o)
musl_static_pie_end = -Wl,--start-group -lc -lgcc -lgcc_eh -Wl,--end-group \
                      $(shell $(MUSL_CC) -print-file-name=crtendS.o) $(MUSL_LIBDIR)/crtn.o
MUSL_PIE_LDFLAGS := -fPIE -pie -Wl,-z,noexecstack -Wl,--strip-debug
MUSL_SHARED_LDFLAGS := -fPIC -shared -Wl,-z,noexecstack -Wl,--strip-debug

# The monitor loads a static-pie as it is and a dynamic PIE through the image's ldso, so the
# build checks which it made: a static-pie is ET_DYN without PT_INTERP, a dynamic PIE is ET_DYN
# and names musl's ld.so as PT_INTERP.
musl_check_static_pie = readelf -hW $(1) | grep -q '^ *Type: *DYN ' && \
    ! readelf -lW $(1) | grep -q INTERP || \
    { echo "$(1): not a static-pie (ET_DYN without PT_INTERP)" >&2; rm -f $(1); exit 1; }
musl_check_pie = readelf -hW $(1) | grep -q '^ *Type: *DYN ' && \
    readelf -lW $(1) | grep -qF '[Requesting program interpreter: $(MUSL_LDSO)]' || \
    { echo "$(1): not a PIE whose PT_INTERP is $(MUSL_LDSO)" >&2; rm -f $(1); exit 1; }

MUSL_STATIC_PIES := $(BUILD)/images/musl-hello/hello $(BUILD)/images/musl-pthreads/pthreads \
                    $(BUILD)/images/cap-stream/cap_stream $(BUILD)/bench/libos/libos-bench
$(BUILD)/images/musl-hello/hello: images/musl-hello/app/hello.c
$(BUILD)/images/musl-pthreads/pthreads: images/musl-pthreads/app/pthreads.c
# cap_stream drives the LibOS's /cap devices through their header.
$(BUILD)/images/cap-stream/cap_stream: images/cap-stream/app/cap_stream.c runtimes/libos/cvm-cap.h
$(BUILD)/images/cap-stream/cap_stream: MUSL_CFLAGS += -Iruntimes/libos
$(BUILD)/bench/libos/libos-bench: bench/libos/libos-bench.c
$(MUSL_STATIC_PIES):
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) $(MUSL_STATIC_PIE_LDFLAGS) -o $@ $(musl_static_pie_start) $< \
	    $(musl_static_pie_end)
	@$(call musl_check_static_pie,$@)

$(BUILD)/images/musl-libhello/main: images/musl-libhello/app/main.c
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) $(MUSL_PIE_LDFLAGS) -o $@ $<
	@$(call musl_check_pie,$@)

$(BUILD)/images/musl-libhello/rootfs/usr/lib/libhello.so: images/musl-libhello/lib/libhello.c
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) $(MUSL_SHARED_LDFLAGS) -o $@ $<

$(BUILD)/images/musl-libhello/ld-musl-x86_64.so.1: $(MUSL_LDSO)
	@mkdir -p $(dir $@)
	cp $< $@

# Every deployment's LibOS.
MUSL_LIBOS := $(BUILD)/images/musl-hello/libos.so $(BUILD)/images/musl-pthreads/libos.so \
              $(BUILD)/images/musl-libhello/libos.so $(BUILD)/images/cap-stream/libos.so \
              $(BUILD)/bench/libos/libos.so
$(MUSL_LIBOS): $(LIBOS_SO)
	@mkdir -p $(dir $@)
	cp $< $@

# The rootfs folders, file by file; tmp/ is made here, as git keeps no empty folder.
MUSL_ROOTFS_SRC := $(shell find images/musl-*/rootfs -type f 2>/dev/null)
MUSL_ROOTFS := $(patsubst images/%,$(BUILD)/images/%,$(MUSL_ROOTFS_SRC))
$(MUSL_ROOTFS): $(BUILD)/images/%: images/%
	@mkdir -p $(dir $@)
	cp $< $@
MUSL_TMPDIRS := $(BUILD)/images/musl-hello/rootfs/tmp $(BUILD)/bench/libos/rootfs/tmp
$(MUSL_TMPDIRS):
	mkdir -p $@

# cap-stream's second deployment, dual: its build file and its monitor YAML.
MUSL_EXTRA_YAML := $(BUILD)/images/cap-stream/cvm-dual.yaml \
                   $(BUILD)/images/cap-stream/cap-stream-dual.yaml
$(MUSL_EXTRA_YAML): $(BUILD)/images/%: images/%
	@mkdir -p $(dir $@)
	cp $< $@

images: $(BUILD)/images/musl-hello/hello $(BUILD)/images/musl-pthreads/pthreads \
        $(BUILD)/images/musl-libhello/main $(BUILD)/images/musl-libhello/ld-musl-x86_64.so.1 \
        $(BUILD)/images/musl-libhello/rootfs/usr/lib/libhello.so \
        $(BUILD)/images/cap-stream/cap_stream $(MUSL_EXTRA_YAML) \
        $(filter $(BUILD)/images/%,$(MUSL_LIBOS) $(MUSL_TMPDIRS)) $(MUSL_ROOTFS)

# The LibOS benchmark's files (bench/bench-libos.sh BUILD runs it): the program, which also
# runs natively, and its deployment with the LibOS and a rootfs holding only tmp/.
$(BUILD)/bench/libos/libos-bench.yaml: bench/libos/libos-bench.yaml
	@mkdir -p $(dir $@)
	cp $< $@
.PHONY: libos-bench
libos-bench: $(BUILD)/bench/libos/libos-bench $(BUILD)/bench/libos/libos-bench.yaml \
             $(BUILD)/bench/libos/libos.so $(BUILD)/bench/libos/rootfs/tmp

/* libarchive, opened on first use (see dlib.h): only build, save and load read or write
 * archives, and the library with its dependencies would otherwise double cvmctl's start-up.
 * Call cvm_archive_lib_load() before any sym_archive_* function. */
#ifndef CVM_IMAGE_ARCHIVE_LIB_H
#define CVM_IMAGE_ARCHIVE_LIB_H

#include <archive.h>
#include <archive_entry.h>

struct cvm_error;

/* The libarchive functions cvmctl calls. */
#define CVM_ARCHIVE_FUNCTIONS(X)                                                                   \
    X(archive_entry_clear)                                                                         \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_free)                                                                          \
    X(archive_entry_hardlink)                                                                      \
    X(archive_entry_new)                                                                           \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_pathname_utf8)                                                                 \
    X(archive_entry_set_dev)                                                                       \
    X(archive_entry_set_filetype)                                                                  \
    X(archive_entry_set_gid)                                                                       \
    X(archive_entry_set_ino)                                                                       \
    X(archive_entry_set_mode)                                                                      \
    X(archive_entry_set_mtime)                                                                     \
    X(archive_entry_set_nlink)                                                                     \
    X(archive_entry_set_pathname)                                                                  \
    X(archive_entry_set_perm)                                                                      \
    X(archive_entry_set_rdev)                                                                      \
    X(archive_entry_set_size)                                                                      \
    X(archive_entry_set_symlink)                                                                   \
    X(archive_entry_set_uid)                                                                       \
    X(archive_entry_size)                                                                          \
    X(archive_entry_size_is_set)                                                                   \
    X(archive_entry_sparse_count)                                                                  \
    X(archive_entry_symlink)                                                                       \
    X(archive_error_string)                                                                        \
    X(archive_filter_bytes)                                                                        \
    X(archive_format)                                                                              \
    X(archive_format_name)                                                                         \
    X(archive_read_data)                                                                           \
    X(archive_read_data_skip)                                                                      \
    X(archive_read_free)                                                                           \
    X(archive_read_new)                                                                            \
    X(archive_read_next_header)                                                                    \
    X(archive_read_open)                                                                           \
    X(archive_read_open_memory)                                                                    \
    X(archive_read_support_filter_none)                                                            \
    X(archive_read_support_format_cpio)                                                            \
    X(archive_read_support_format_tar)                                                             \
    X(archive_set_error)                                                                           \
    X(archive_write_add_filter_none)                                                               \
    X(archive_write_close)                                                                         \
    X(archive_write_data)                                                                          \
    X(archive_write_fail)                                                                          \
    X(archive_write_finish_entry)                                                                  \
    X(archive_write_free)                                                                          \
    X(archive_write_header)                                                                        \
    X(archive_write_new)                                                                           \
    X(archive_write_open)                                                                          \
    X(archive_write_set_bytes_in_last_block)                                                       \
    X(archive_write_set_bytes_per_block)                                                           \
    X(archive_write_set_format_cpio_newc)                                                          \
    X(archive_write_set_format_pax_restricted)

#define CVM_ARCHIVE_DECLARE(f) extern __typeof__(f) *sym_##f;
CVM_ARCHIVE_FUNCTIONS(CVM_ARCHIVE_DECLARE)
#undef CVM_ARCHIVE_DECLARE

/* Opens libarchive (once); CVM_E_UNSUPPORTED when it is missing or lacks a function. */
int cvm_archive_lib_load(struct cvm_error **err);

#endif

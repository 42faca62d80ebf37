/* Path helpers that never touch the file system. */
#ifndef CVM_BASE_PATH_H
#define CVM_BASE_PATH_H

#include <stddef.h>

/* The last component of path (a pointer into path; "" for a trailing slash). */
const char *cvm_path_basename(const char *path);

/* Joins dir and rel unless rel is absolute or dir is empty; returns a malloc'd string. */
char *cvm_path_resolve(const char *dir, const char *rel);

/* The folder part of path as a malloc'd string ("." when there is none). */
char *cvm_path_dirname(const char *path);

#endif

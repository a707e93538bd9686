// An LD_PRELOAD shim that makes reads of one file fail with EIO, as a failing disk would.
//
// Built by Tests/ImgpackCLITests/ReadErrorTests.swift with `cc -shared -fPIC -o eio-shim.so
// eio-shim.c -ldl`; not part of any target. Environment:
//   EIO_PATH    the file whose reads fail (compared with the descriptor's /proc/self/fd link)
//   EIO_OFFSET  a byte offset: a read whose range covers it fails with EIO; other reads pass
// pread, pread64 and read (at the descriptor's current position) are covered.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int covers(int fd, off_t offset, size_t count) {
    const char *path = getenv("EIO_PATH");
    const char *at = getenv("EIO_OFFSET");
    if (path == NULL || at == NULL || count == 0) return 0;
    long long target = atoll(at);
    if (target < (long long)offset || target >= (long long)offset + (long long)count) return 0;
    char link[64], resolved[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, resolved, sizeof resolved - 1);
    if (n < 0) return 0;
    resolved[n] = 0;
    return strcmp(resolved, path) == 0;
}

ssize_t pread64(int fd, void *buffer, size_t count, off_t offset) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
    if (covers(fd, offset, count)) { errno = EIO; return -1; }
    return real(fd, buffer, count, offset);
}

ssize_t pread(int fd, void *buffer, size_t count, off_t offset) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
    if (covers(fd, offset, count)) { errno = EIO; return -1; }
    return real(fd, buffer, count, offset);
}

ssize_t read(int fd, void *buffer, size_t count) {
    static ssize_t (*real)(int, void *, size_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    off_t position = lseek(fd, 0, SEEK_CUR);
    if (position >= 0 && covers(fd, position, count)) { errno = EIO; return -1; }
    return real(fd, buffer, count);
}

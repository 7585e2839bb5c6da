// The few system calls wharf needs that Node.js does not offer: mknod and extended attributes
// (overlay whiteouts and opaque directories in image layers), mount and umount (spawning the
// mount binaries cost milliseconds on every container start), lookups inside a running
// container's root (chroot on a thread of their own), and a client for conmon's
// SOCK_SEQPACKET attach socket, which libuv cannot open. The attach socket is bridged to a
// SOCK_STREAM socketpair by a small relay thread so Node can use the other end as a net.Socket.
// And malloc_trim, so memory that ended threads freed goes back to the system.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, const char *path) {
  char msg[4200];
  int err = errno;
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, path ? path : "", strerror(err));
  napi_value error, message;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  // The JS side names the errno (err.code) with Node's own table.
  napi_value errnum;
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return -1;
  }
  if (n >= len - 1) {
    napi_throw_range_error(env, NULL, "string too long");
    return -1;
  }
  return 0;
}

// mknod(path, mode, major, minor)
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  uint32_t mode, major, minor;
  if (get_string(env, argv[0], path, sizeof path) < 0) return NULL;
  CHECK(napi_get_value_uint32(env, argv[1], &mode));
  CHECK(napi_get_value_uint32(env, argv[2], &major));
  CHECK(napi_get_value_uint32(env, argv[3], &minor));
  if (mknod(path, mode, makedev(major, minor)) < 0) return throw_errno(env, "mknod", path);
  return NULL;
}

struct overlay_mount {
  const char *cwd, *options, *target;
  int err;
};

// Overlay resolves relative lowerdirs against the caller's working directory, which is shared by
// the whole process; this thread gets its own (unshare CLONE_FS) so Node's never changes.
static void *overlay_mount_main(void *arg) {
  struct overlay_mount *m = arg;
  m->err = 0;
  if (unshare(CLONE_FS) < 0 || chdir(m->cwd) < 0 || mount("overlay", m->target, "overlay", 0, m->options) < 0) m->err = errno;
  return NULL;
}

// mountOverlay(cwd, options, target)
static napi_value js_mount_overlay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char cwd[4096], options[4096], target[4096];
  if (get_string(env, argv[0], cwd, sizeof cwd) < 0 || get_string(env, argv[1], options, sizeof options) < 0 ||
      get_string(env, argv[2], target, sizeof target) < 0)
    return NULL;
  struct overlay_mount m = {cwd, options, target, 0};
  pthread_t t;
  int rc = pthread_create(&t, NULL, overlay_mount_main, &m);
  if (rc != 0) {
    errno = rc;
    return throw_errno(env, "mount", target);
  }
  pthread_join(t, NULL);
  if (m.err) {
    errno = m.err;
    return throw_errno(env, "mount", target);
  }
  return NULL;
}

// umount(target, detach)
static napi_value js_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char target[4096];
  bool detach = false;
  if (get_string(env, argv[0], target, sizeof target) < 0) return NULL;
  CHECK(napi_get_value_bool(env, argv[1], &detach));
  if (umount2(target, detach ? MNT_DETACH : 0) < 0) return throw_errno(env, "umount", target);
  return NULL;
}

// Rejects a promise with an Error like throw_errno's: the message, and errno for the JS side to name.
static void reject_errno(napi_env env, napi_deferred deferred, const char *msg, int err) {
  napi_value error, message, errnum;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_reject_deferred(env, deferred, error);
}

// Queues `execute` on the thread pool and returns the promise that `complete` settles; NULL
// (a pending exception) when that cannot be done.
static napi_value queue_promise_work(napi_env env, const char *what, napi_async_execute_callback execute, napi_async_complete_callback complete,
                                     void *data, napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, name;
  if (napi_create_promise(env, deferred, &promise) != napi_ok || napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, data, work) != napi_ok || napi_queue_async_work(env, *work) != napi_ok)
    return NULL;
  return promise;
}

struct umount_work {
  napi_async_work work;
  napi_deferred deferred;
  char target[4096];
  int flags, err;
};

static void umount_execute(napi_env env, void *data) {
  (void)env;
  struct umount_work *w = data;
  w->err = umount2(w->target, w->flags) < 0 ? errno : 0;
}

static void umount_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  struct umount_work *w = data;
  if (w->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, w->deferred, undef);
  } else {
    char msg[4200];
    snprintf(msg, sizeof msg, "umount %s: %s", w->target, strerror(w->err));
    reject_errno(env, w->deferred, msg, w->err);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

// umountAsync(target, detach) -> Promise: the last unmount of an overlay syncs its upper file
// system, which takes as long as writing back what the container wrote (a second or more for a
// GB); on the thread pool that wait does not stop the daemon's other requests.
static napi_value js_umount_async(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct umount_work *w = calloc(1, sizeof *w);
  if (!w) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  bool detach = false;
  if (get_string(env, argv[0], w->target, sizeof w->target) < 0 || napi_get_value_bool(env, argv[1], &detach) != napi_ok) {
    free(w);
    return NULL;
  }
  w->flags = detach ? MNT_DETACH : 0;
  napi_value promise = queue_promise_work(env, "umount", umount_execute, umount_complete, w, &w->work, &w->deferred);
  if (!promise) free(w);
  return promise;
}

struct lookup_work {
  napi_async_work work;
  napi_deferred deferred;
  char root[4096], path[4096], link[4096];
  const char *failed;
  struct stat st;
  int err;
  // openDirIn: open the directory instead of lstat; the descriptor is handed over in fd.
  int open_dir;
  int fd;
};

// The lookup's own thread takes the container's root as its root (unshare CLONE_FS first, so no
// other thread's changes): the kernel then resolves every `..` and symlink of the path inside it,
// and a container that swaps a directory for a link cannot lead the lookup out.
static void *lookup_main(void *arg) {
  struct lookup_work *w = arg;
  if (unshare(CLONE_FS) < 0 || chroot(w->root) < 0 || chdir("/") < 0) {
    w->failed = "chroot";
    w->err = errno;
    return NULL;
  }
  if (w->open_dir) {
    // A descriptor outlives the thread's root: what is opened through it later stays below it.
    w->fd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->fd < 0) {
      w->failed = "open";
      w->err = errno;
    }
    return NULL;
  }
  if (lstat(w->path, &w->st) < 0) {
    w->failed = "lstat";
    w->err = errno;
    return NULL;
  }
  if (S_ISLNK(w->st.st_mode)) {
    ssize_t n = readlink(w->path, w->link, sizeof w->link - 1);
    if (n < 0) {
      w->failed = "readlink";
      w->err = errno;
      return NULL;
    }
    w->link[n] = 0;
  }
  return NULL;
}

static void lookup_execute(napi_env env, void *data) {
  (void)env;
  struct lookup_work *w = data;
  pthread_t t;
  int rc = pthread_create(&t, NULL, lookup_main, w);
  if (rc != 0) {
    w->failed = "pthread_create";
    w->err = rc;
    return;
  }
  pthread_join(t, NULL);
}

static void set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

static void lookup_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  struct lookup_work *w = data;
  if (w->err == 0 && w->open_dir) {
    napi_value fd;
    napi_create_int32(env, w->fd, &fd);
    napi_resolve_deferred(env, w->deferred, fd);
  } else if (w->err == 0) {
    napi_value out;
    napi_create_object(env, &out);
    set_number(env, out, "mode", w->st.st_mode);
    set_number(env, out, "size", (double)w->st.st_size);
    set_number(env, out, "mtimeSec", (double)w->st.st_mtim.tv_sec);
    set_number(env, out, "mtimeNsec", (double)w->st.st_mtim.tv_nsec);
    if (S_ISLNK(w->st.st_mode)) {
      napi_value link;
      napi_create_string_utf8(env, w->link, NAPI_AUTO_LENGTH, &link);
      napi_set_named_property(env, out, "link", link);
    }
    napi_resolve_deferred(env, w->deferred, out);
  } else {
    char msg[8300];
    snprintf(msg, sizeof msg, "%s %s: %s", w->failed, strcmp(w->failed, "chroot") == 0 ? w->root : w->path, strerror(w->err));
    reject_errno(env, w->deferred, msg, w->err);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

// lookupIn(root, path) -> Promise<{mode, size, mtimeSec, mtimeNsec, link?}>: lstat(2), and
// readlink(2) for a symlink, of `path` as seen with `root` as `/` (a running container's
// /proc/PID/root, which carries its mounts). On the thread pool, so a path on a hung network
// mount stalls a pool thread, not the daemon.
static napi_value lookup_in(napi_env env, napi_callback_info info, int open_dir) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct lookup_work *w = calloc(1, sizeof *w);
  if (!w) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (get_string(env, argv[0], w->root, sizeof w->root) < 0 || get_string(env, argv[1], w->path, sizeof w->path) < 0) {
    free(w);
    return NULL;
  }
  w->open_dir = open_dir;
  napi_value promise = queue_promise_work(env, open_dir ? "openDirIn" : "lookupIn", lookup_execute, lookup_complete, w, &w->work, &w->deferred);
  if (!promise) free(w);
  return promise;
}

static napi_value js_lookup_in(napi_env env, napi_callback_info info) {
  return lookup_in(env, info, 0);
}

// openDirIn(root, path) -> Promise<fd>: the directory `path` opened as lookupIn resolves it
// (inside `root`), close-on-exec. The caller closes it.
static napi_value js_open_dir_in(napi_env env, napi_callback_info info) {
  return lookup_in(env, info, 1);
}

static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096], name[256];
  if (get_string(env, argv[0], path, sizeof path) < 0) return NULL;
  if (get_string(env, argv[1], name, sizeof name) < 0) return NULL;
  void *data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  if (lsetxattr(path, name, data, len, 0) < 0) return throw_errno(env, "lsetxattr", path);
  return NULL;
}

// The file an xattr call names: an open descriptor (*fd set), else a path (*fd left -1). -1 with a
// pending exception when it is neither.
static int get_path_or_fd(napi_env env, napi_value v, char *path, size_t size, int *fd) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return -1;
  *fd = -1;
  if (type == napi_number) return napi_get_value_int32(env, v, fd) == napi_ok ? 0 : -1;
  return get_string(env, v, path, size) < 0 ? -1 : 0;
}

// lgetxattr(path | fd, name) -> Buffer | undefined when the attribute is absent; given a descriptor,
// fgetxattr of it: no path to look up again.
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096] = "", name[256];
  int fd;
  if (get_path_or_fd(env, argv[0], path, sizeof path, &fd) < 0) return NULL;
  if (get_string(env, argv[1], name, sizeof name) < 0) return NULL;
  char buf[65536];
  ssize_t n = fd >= 0 ? fgetxattr(fd, name, buf, sizeof buf) : lgetxattr(path, name, buf, sizeof buf);
  napi_value result;
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) {
      napi_get_undefined(env, &result);
      return result;
    }
    return throw_errno(env, fd >= 0 ? "fgetxattr" : "lgetxattr", fd >= 0 ? name : path);
  }
  void *out;
  CHECK(napi_create_buffer_copy(env, (size_t)n, buf, &out, &result));
  return result;
}

// llistxattr(path | fd) -> the names of its extended attributes ([] where the file system has
// none); given a descriptor, flistxattr of it.
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096] = "";
  int fd;
  if (get_path_or_fd(env, argv[0], path, sizeof path, &fd) < 0) return NULL;
  char buf[65536];
  ssize_t n = fd >= 0 ? flistxattr(fd, buf, sizeof buf) : llistxattr(path, buf, sizeof buf);
  if (n < 0 && errno != ENOTSUP) return throw_errno(env, fd >= 0 ? "flistxattr" : "llistxattr", path);
  napi_value names;
  CHECK(napi_create_array(env, &names));
  uint32_t count = 0;
  for (ssize_t at = 0; at < n;) {
    size_t len = strnlen(buf + at, (size_t)(n - at));
    napi_value name;
    CHECK(napi_create_string_utf8(env, buf + at, len, &name));
    CHECK(napi_set_element(env, names, count++, name));
    at += (ssize_t)len + 1;
  }
  return names;
}

struct relay {
  int seq;  // conmon's attach socket
  int str;  // our end of the socketpair
};

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

// Copies packets from conmon to the stream, each behind a 4-byte big-endian length, and stream bytes to conmon as packets, passing
// half-closes through in both directions, until both directions are done or either peer is gone.
static void *relay_main(void *arg) {
  struct relay r = *(struct relay *)arg;
  free(arg);
  int seq_open = 1, str_open = 1;
  char buf[65536];
  while (seq_open || str_open) {
    struct pollfd fds[2] = {{r.seq, seq_open ? POLLIN : 0, 0}, {r.str, str_open ? POLLIN : 0, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (seq_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = recv(r.seq, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        seq_open = 0;
        shutdown(r.str, SHUT_WR);
        // Output is what matters: once conmon is done sending, stop.
        break;
      }
      // Packet boundaries carry meaning (the first byte names the stream), so frame each one.
      unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
      if (write_all(r.str, (const char *)hdr, 4) < 0 || write_all(r.str, buf, (size_t)n) < 0) break;
    }
    if (str_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      // conmon reads stdin in small buffers; keep each packet well under them.
      ssize_t n = recv(r.str, buf, 4096, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        str_open = 0;
        shutdown(r.seq, SHUT_WR);
        // POLLHUP: our side was closed, not just half-closed; nobody will read conmon's output.
        if (n < 0 || (fds[1].revents & POLLHUP)) break;
        continue;
      }
      if (write_all(r.seq, buf, (size_t)n) < 0) break;
    }
  }
  close(r.seq);
  close(r.str);
  return NULL;
}

// seqpacketConnect(path) -> fd of a SOCK_STREAM socket relayed to the SOCK_SEQPACKET socket at path
static napi_value js_seqpacket_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  if (get_string(env, argv[0], path, sizeof path) < 0) return NULL;

  int seq = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (seq < 0) return throw_errno(env, "socket", path);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  // Long paths are reached through /proc/self/fd of their directory, as conmon itself does.
  int dirfd = -1;
  if (strlen(path) >= sizeof addr.sun_path) {
    char *slash = strrchr(path, '/');
    if (!slash) {
      close(seq);
      errno = ENAMETOOLONG;
      return throw_errno(env, "connect", path);
    }
    *slash = '\0';
    dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    if (dirfd < 0) {
      int e = errno;
      close(seq);
      errno = e;
      return throw_errno(env, "open", path);
    }
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, slash + 1);
  } else {
    strcpy(addr.sun_path, path);
  }
  int rc = connect(seq, (struct sockaddr *)&addr, sizeof addr);
  int e = errno;
  if (dirfd >= 0) close(dirfd);
  if (rc < 0) {
    close(seq);
    errno = e;
    return throw_errno(env, "connect", path);
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    e = errno;
    close(seq);
    errno = e;
    return throw_errno(env, "socketpair", path);
  }
  struct relay *r = malloc(sizeof *r);
  r->seq = seq;
  r->str = pair[1];
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  if (pthread_create(&t, &attr, relay_main, r) != 0) {
    pthread_attr_destroy(&attr);
    free(r);
    close(seq);
    close(pair[0]);
    close(pair[1]);
    errno = EAGAIN;
    return throw_errno(env, "pthread_create", path);
  }
  pthread_attr_destroy(&attr);
  napi_value result;
  CHECK(napi_create_int32(env, pair[0], &result));
  return result;
}

// pipe() -> [read fd, write fd], both close-on-exec: Node's own stdio "pipes" are socket pairs,
// and a process whose stdout is a socket cannot open /dev/stdout.
static napi_value js_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return throw_errno(env, "pipe2", NULL);
  napi_value result, r, w;
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_create_int32(env, fds[0], &r));
  CHECK(napi_create_int32(env, fds[1], &w));
  CHECK(napi_set_element(env, result, 0, r));
  CHECK(napi_set_element(env, result, 1, w));
  return result;
}

// A malloc'd copy of a JS string; NULL (with a pending exception) when it is not one.
static char *dup_string(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *s = malloc(n + 1);
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  return s;
}

// A NULL-terminated, malloc'd array of the strings of a JS array (argv, envp).
static char **dup_strings(napi_env env, napi_value arr) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char **out = calloc(n + 1, sizeof *out);
  if (!out) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !(out[i] = dup_string(env, v))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_strings(char **list) {
  if (!list) return;
  for (char **p = list; *p; p++) free(*p);
  free(list);
}

struct child_wait {
  pid_t pid;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
};

static void child_exited(napi_env env, napi_value cb, void *context, void *data) {
  (void)cb;
  (void)context;
  struct child_wait *c = data;
  if (env) {
    // Reaped here, on the JS thread, not by the waiting thread: until this point the pid is our
    // zombie, so a kill() from JS can never reach another process that took the pid meanwhile.
    int st = 0;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {
    }
    napi_value out, code, sig;
    napi_create_object(env, &out);
    if (WIFEXITED(st)) napi_create_int32(env, WEXITSTATUS(st), &code);
    else napi_get_null(env, &code);
    if (WIFSIGNALED(st)) napi_create_int32(env, WTERMSIG(st), &sig);
    else napi_get_null(env, &sig);
    napi_set_named_property(env, out, "code", code);
    napi_set_named_property(env, out, "signal", sig);
    napi_resolve_deferred(env, c->deferred, out);
  }
  free(c);
}

// One thread per child, blocked until that pid alone has exited (libuv waits only for the pids
// it spawned, so the two never take each other's children); WNOWAIT leaves the reaping to
// child_exited.
static void *child_wait_main(void *arg) {
  struct child_wait *c = arg;
  napi_threadsafe_function tsfn = c->tsfn;
  siginfo_t si;
  while (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  napi_call_threadsafe_function(tsfn, c, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

// spawn(file, argv, envp | null, cwd | null, fds, setsid) -> {pid, exited}: runs a program with
// posix_spawn, whose vfork-style clone shares the daemon's memory until the exec. libuv forks,
// and a fork copies the page tables of the whole daemon and write-protects its heap: 2-4 ms of a
// blocked event loop per helper (ip, iptables-restore, nsenter, runc, conmon) at every container
// start. The child's fd i is fds[i] (-1: /dev/null). `exited` resolves to {code, signal}, one null.
static napi_value js_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype envType, cwdType;
  CHECK(napi_typeof(env, argv[2], &envType));
  CHECK(napi_typeof(env, argv[3], &cwdType));
  bool setsid = false;
  CHECK(napi_get_value_bool(env, argv[5], &setsid));
  uint32_t nfds;
  CHECK(napi_get_array_length(env, argv[4], &nfds));
  if (nfds < 3 || nfds > 16) {
    napi_throw_range_error(env, NULL, "spawn takes 3 to 16 fds");
    return NULL;
  }
  int fds[16], moved[16];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    CHECK(napi_get_element(env, argv[4], i, &v));
    CHECK(napi_get_value_int32(env, v, &fds[i]));
    moved[i] = -1;
  }
  char *file = dup_string(env, argv[0]);
  char **args = file ? dup_strings(env, argv[1]) : NULL;
  char **envp = args && envType == napi_object ? dup_strings(env, argv[2]) : NULL;
  char *cwd = args && cwdType == napi_string ? dup_string(env, argv[3]) : NULL;
  napi_value result = NULL;
  if (!args || (envType == napi_object && !envp) || (cwdType == napi_string && !cwd)) goto out;

  // The dup2s run in order, so a source below nfds could be overwritten by an earlier one before
  // its own turn (a daemon started with fd 0 closed gets pipes at 0): lift those above nfds first.
  for (uint32_t i = 0; i < nfds; i++) {
    if (fds[i] >= 0 && fds[i] < (int)nfds) {
      if ((moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, (int)nfds)) < 0) {
        throw_errno(env, "fcntl", file);
        goto out;
      }
      fds[i] = moved[i];
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (uint32_t i = 0; i < nfds; i++) {
    if (fds[i] >= 0) posix_spawn_file_actions_adddup2(&actions, fds[i], (int)i);
    else posix_spawn_file_actions_addopen(&actions, (int)i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  if (cwd) posix_spawn_file_actions_addchdir_np(&actions, cwd);
  // Node ignores SIGPIPE and may block signals on its threads; a child must start with neither.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (setsid ? POSIX_SPAWN_SETSID : 0));
  pid_t pid;
  int rc = posix_spawnp(&pid, file, &actions, &attr, args, envp ? envp : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    throw_errno(env, "spawn", file);
    goto out;
  }

  struct child_wait *c = calloc(1, sizeof *c);
  napi_value promise, name, pidValue;
  if (!c) {
    napi_throw_error(env, NULL, "out of memory");
    goto out;
  }
  c->pid = pid;
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok || napi_create_string_utf8(env, "spawn", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, child_exited, &c->tsfn) != napi_ok) {
    free(c);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "spawn: the child started but cannot be watched");
    goto out;
  }
  pthread_t t;
  pthread_attr_t tattr;
  pthread_attr_init(&tattr);
  pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
  // waitid needs little stack; the default 8 MB would be mapped (not used) per running child.
  pthread_attr_setstacksize(&tattr, 64 * 1024);
  rc = pthread_create(&t, &tattr, child_wait_main, c);
  pthread_attr_destroy(&tattr);
  if (rc != 0) {
    // The child runs on and is reaped by nobody until the daemon exits; say so rather than hang.
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    free(c);
    errno = rc;
    throw_errno(env, "pthread_create", file);
    goto out;
  }
  napi_create_object(env, &result);
  napi_create_int32(env, pid, &pidValue);
  napi_set_named_property(env, result, "pid", pidValue);
  napi_set_named_property(env, result, "exited", promise);
out:
  for (uint32_t i = 0; i < nfds; i++)
    if (moved[i] >= 0) close(moved[i]);
  free(file);
  free_strings(args);
  free_strings(envp);
  free(cwd);
  return result;
}

// Each thread that ever allocated keeps a malloc arena; what it freed there stays the process's
// until trimmed, so the memory of a pull's ended worker threads would outlive the pull.
static napi_value js_malloc_trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value released;
  CHECK(napi_get_boolean(env, malloc_trim(0) == 1, &released));
  return released;
}

void wharf_low_memory_notification(void);  // wharf_v8.cc

static napi_value js_low_memory_notification(napi_env env, napi_callback_info info) {
  (void)info;
  wharf_low_memory_notification();
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  return undefined;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
      {"mountOverlay", NULL, js_mount_overlay, NULL, NULL, NULL, napi_default, NULL},
      {"umount", NULL, js_umount, NULL, NULL, NULL, napi_default, NULL},
      {"umountAsync", NULL, js_umount_async, NULL, NULL, NULL, napi_default, NULL},
      {"lookupIn", NULL, js_lookup_in, NULL, NULL, NULL, napi_default, NULL},
      {"openDirIn", NULL, js_open_dir_in, NULL, NULL, NULL, napi_default, NULL},
      {"seqpacketConnect", NULL, js_seqpacket_connect, NULL, NULL, NULL, napi_default, NULL},
      {"pipe", NULL, js_pipe, NULL, NULL, NULL, napi_default, NULL},
      {"spawn", NULL, js_spawn, NULL, NULL, NULL, napi_default, NULL},
      {"mallocTrim", NULL, js_malloc_trim, NULL, NULL, NULL, napi_default, NULL},
      {"lowMemoryNotification", NULL, js_low_memory_notification, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

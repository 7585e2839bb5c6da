/*
 * wharf-nsexec: runs one process inside a running container, the way `runc exec` does, for an
 * exec whose client waits on it (issue 12). runc spends ~40 ms starting Go twice (runc, then
 * `runc init`); this does the same setup in a few hundred microseconds. Detached execs stay on
 * conmon, which outlives wharfd; this helper dies with it.
 *
 * wharfd writes the job to fd 3 as NUL-terminated "key=value" items and closes it:
 *   ns=PATH            a namespace file of the container's init (user first, mnt last)
 *   cgroup=PATH        a cgroup.procs file to join
 *   uid=N gid=N groups=N,N,...
 *   rlimit=RES SOFT HARD
 *   caps=BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT   (hex masks)
 *   nnp=1              no_new_privs
 *   cwd=PATH  arg=...  env=...
 *   sc-default=ACTION sc-arch=NAME sc-rule=ACTION NAME [INDEX OP A B]...
 *                      the container's seccomp filter (libseccomp action and operator values)
 * It answers on fd 4 with one line: "pid N" once the process runs (its pid on the host), or
 * "error CODE TEXT" when it could not start (TEXT in runc's words), then "exit CODE" when it ends.
 * The helper exits with the same code (128+n for a signal, as runc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOB_FD 3
#define STATUS_FD 4
#define MAX_ITEMS 4096

static char *job;
static char *items[MAX_ITEMS];
static int nitems;

static void die(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(STATUS_FD, "error 1 %.*s\n", n < 0 ? 0 : n, buf);
  _exit(255);
}

/*
 * Run from a sealed copy of ourselves: a process in the container could otherwise open
 * /proc/<pid>/exe of the forked child before it execs and write to the host's binary
 * (CVE-2019-5736, which runc answers the same way).
 */
static void run_from_memfd(char **argv) {
  char self[64];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    if (strncmp(self, "/memfd:", 7) == 0) return;
  }
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) die("open /proc/self/exe: %s", strerror(errno));
  struct stat st;
  if (fstat(src, &st) < 0) die("stat /proc/self/exe: %s", strerror(errno));
  int mem = memfd_create("wharf-nsexec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0) die("memfd_create: %s", strerror(errno));
  for (off_t off = 0; off < st.st_size;) {
    ssize_t w = sendfile(mem, src, &off, st.st_size - off);
    if (w <= 0) die("copy the helper: %s", strerror(errno));
  }
  close(src);
  if (fcntl(mem, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) die("seal the helper: %s", strerror(errno));
  extern char **environ;
  fexecve(mem, argv, environ);
  die("fexecve: %s", strerror(errno));
}

static void read_job(void) {
  size_t cap = 65536, len = 0;
  job = malloc(cap);
  if (!job) die("out of memory");
  for (;;) {
    if (len == cap) {
      cap *= 2;
      job = realloc(job, cap);
      if (!job) die("out of memory");
    }
    ssize_t r = read(JOB_FD, job + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read the job: %s", strerror(errno));
    if (r == 0) break;
    len += r;
  }
  close(JOB_FD);
  for (size_t i = 0; i < len;) {
    if (nitems == MAX_ITEMS) die("job has too many items");
    items[nitems++] = job + i;
    i += strnlen(job + i, len - i) + 1;
  }
  if (len && job[len - 1] != 0) die("job does not end with NUL");
}

/* The values of every item named key, in order. */
static int values(const char *key, char **out, int max) {
  size_t kl = strlen(key);
  int n = 0;
  for (int i = 0; i < nitems && n < max; i++)
    if (strncmp(items[i], key, kl) == 0 && items[i][kl] == '=') out[n++] = items[i] + kl + 1;
  return n;
}

static char *value(const char *key) {
  char *v = NULL;
  return values(key, &v, 1) ? v : NULL;
}

static void join_cgroups(pid_t self) {
  char *paths[64];
  int n = values("cgroup", paths, 64);
  for (int i = 0; i < n; i++) {
    int fd = open(paths[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) die("join cgroup %s: %s", paths[i], strerror(errno));
    if (dprintf(fd, "%d\n", self) < 0) die("join cgroup %s: %s", paths[i], strerror(errno));
    close(fd);
  }
}

static void join_namespaces(void) {
  char *paths[16];
  int n = values("ns", paths, 16);
  int fds[16];
  /* Open them all first: joining the mount namespace changes what /proc paths mean. */
  for (int i = 0; i < n; i++) {
    fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) die("open %s: %s", paths[i], strerror(errno));
  }
  for (int i = 0; i < n; i++) {
    if (setns(fds[i], 0) < 0) die("setns %s: %s", paths[i], strerror(errno));
    close(fds[i]);
  }
}

/* strerror as Go words it (syscall.Errno): the same text, lower-case first. */
static const char *goerr(int e) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(e));
  if (buf[0] >= 'A' && buf[0] <= 'Z') buf[0] += 'a' - 'A';
  return buf;
}

/* The child's failure: runc's words for it, and the exit code the docker CLI shows. */
static void child_fail(int errpipe, int code, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(errpipe, "%d %.*s", code, n < 0 ? 0 : n, buf);
  _exit(code);
}

static void set_rlimits(int errpipe) {
  char *rl[64];
  int n = values("rlimit", rl, 64);
  for (int i = 0; i < n; i++) {
    int res;
    unsigned long long soft, hard;
    if (sscanf(rl[i], "%d %llu %llu", &res, &soft, &hard) != 3) child_fail(errpipe, 126, "bad rlimit %s", rl[i]);
    struct rlimit r = {soft, hard};
    if (setrlimit(res, &r) < 0) child_fail(errpipe, 126, "error setting rlimit type %d: %s", res, goerr(errno));
  }
}

static int last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = {0};
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) < 0) buf[0] = 0;
    close(fd);
  }
  int last = atoi(buf);
  return last > 0 ? last : CAP_LAST_CAP;
}

struct caps {
  unsigned long long bounding, effective, permitted, inheritable, ambient;
};

static void drop_bounding(int errpipe, const struct caps *c) {
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++)
    if (!(c->bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      child_fail(errpipe, 126, "drop capability %d from the bounding set: %s", cap, goerr(errno));
}

static void apply_caps(int errpipe, const struct caps *c) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable},
      {(uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32), (uint32_t)(c->inheritable >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) child_fail(errpipe, 126, "capset: %s", goerr(errno));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) child_fail(errpipe, 126, "clear ambient capabilities: %s", goerr(errno));
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++)
    if ((c->ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      child_fail(errpipe, 126, "raise ambient capability %d: %s", cap, goerr(errno));
}

static void set_user(int errpipe) {
  char *u = value("uid"), *g = value("gid"), *gs = value("groups");
  uid_t uid = u ? (uid_t)strtoul(u, NULL, 10) : 0;
  gid_t gid = g ? (gid_t)strtoul(g, NULL, 10) : 0;
  gid_t groups[NGROUPS_MAX];
  int ng = 0;
  for (char *p = gs; p && *p && ng < NGROUPS_MAX;) {
    groups[ng++] = (gid_t)strtoul(p, &p, 10);
    if (*p == ',') p++;
  }
  if (setgroups(ng, groups) < 0) child_fail(errpipe, 126, "setgroups: %s", goerr(errno));
  if (setresgid(gid, gid, gid) < 0) child_fail(errpipe, 126, "setgid %u: %s", gid, goerr(errno));
  if (setresuid(uid, uid, uid) < 0) child_fail(errpipe, 126, "setuid %u: %s", uid, goerr(errno));
}

/*
 * The container's filter, built as runc builds it: libseccomp compiles the rules, and a
 * prefix answers system calls newer than any the profile names with ENOSYS rather than the
 * default action, so that libc falls back to an older call it can see (runc's patchbpf).
 */
static struct sock_fprog filter;
static int have_filter;

/*
 * libseccomp takes ~17 ms to compile Docker's profile, four times the rest of an exec; a
 * container's filter never changes, so the first exec keeps the program in its bundle.
 */
static int read_cached_filter(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter) || st.st_size > 65535 * (off_t)sizeof(struct sock_filter)) {
    close(fd);
    return 0;
  }
  struct sock_filter *prog = malloc(st.st_size);
  if (!prog || read(fd, prog, st.st_size) != st.st_size) {
    free(prog);
    close(fd);
    return 0;
  }
  close(fd);
  filter = (struct sock_fprog){(unsigned short)(st.st_size / sizeof(struct sock_filter)), prog};
  return 1;
}

/* Written whole under another name and renamed, so a concurrent exec reads all of it or none. */
static void save_filter(const char *path) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.%d", path, getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  size_t size = filter.len * sizeof(struct sock_filter);
  int ok = write(fd, filter.filter, size) == (ssize_t)size;
  close(fd);
  if (!ok || rename(tmp, path) < 0) unlink(tmp);
}

static void compile_seccomp(void) {
  char *def = value("sc-default");
  if (!def) return;
  have_filter = 1;
  char *cache = value("sc-cache");
  if (cache && read_cached_filter(cache)) return;
  uint32_t defact = (uint32_t)strtoul(def, NULL, 0);
  scmp_filter_ctx ctx = seccomp_init(defact);
  if (!ctx) die("seccomp_init failed");
  /* no_new_privs is the job's own choice, made before this. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  char *arches[8];
  int na = values("sc-arch", arches, 8);
  uint32_t arch_tokens[8];
  for (int i = 0; i < na; i++) {
    arch_tokens[i] = seccomp_arch_resolve_name(arches[i]);
    if (!arch_tokens[i]) die("unknown seccomp architecture %s", arches[i]);
    int rc = seccomp_arch_add(ctx, arch_tokens[i]);
    if (rc < 0 && rc != -EEXIST) die("seccomp architecture %s: %s", arches[i], goerr(-rc));
  }
  int max_nr[8];
  for (int i = 0; i < 8; i++) max_nr[i] = -1;
  static char *rules[4096];
  int nr = values("sc-rule", rules, 4096);
  for (int i = 0; i < nr; i++) {
    char name[128];
    unsigned long act;
    int used = 0;
    if (sscanf(rules[i], "%lu %127s%n", &act, name, &used) < 2) die("bad seccomp rule %s", rules[i]);
    int sys = seccomp_syscall_resolve_name(name);
    for (int a = 0; a < na; a++) {
      int n = seccomp_syscall_resolve_name_arch(arch_tokens[a], name);
      if (n != __NR_SCMP_ERROR && n >= 0 && n > max_nr[a]) max_nr[a] = n;
    }
    /* A name this libseccomp does not know is skipped, as runc skips it. */
    if (sys == __NR_SCMP_ERROR || (uint32_t)act == defact) continue;
    struct scmp_arg_cmp cmp[6];
    int nc = 0, same_index = 0;
    const char *p = rules[i] + used;
    unsigned int idx, op;
    unsigned long long a, b;
    int adv;
    while (nc < 6 && sscanf(p, " %u %u %llu %llu%n", &idx, &op, &a, &b, &adv) == 4) {
      for (int k = 0; k < nc; k++) same_index |= cmp[k].arg == idx;
      cmp[nc++] = (struct scmp_arg_cmp){idx, (enum scmp_compare)op, a, b};
      p += adv;
    }
    int rc;
    if (same_index) {
      /* libseccomp cannot AND two tests of one argument: runc adds one rule per test. */
      for (int k = 0; k < nc; k++)
        if ((rc = seccomp_rule_add_array(ctx, (uint32_t)act, sys, 1, &cmp[k])) < 0) die("seccomp rule %s: %s", name, goerr(-rc));
    } else if ((rc = seccomp_rule_add_array(ctx, (uint32_t)act, sys, nc, cmp)) < 0) {
      die("seccomp rule %s: %s", name, goerr(-rc));
    }
  }
  int mem = memfd_create("wharf-seccomp", MFD_CLOEXEC);
  if (mem < 0 || seccomp_export_bpf(ctx, mem) < 0) die("export seccomp filter");
  seccomp_release(ctx);
  off_t size = lseek(mem, 0, SEEK_END);
  size_t ninsn = (size_t)size / sizeof(struct sock_filter);
  /* The prefix, per architecture: when the call is this architecture's and above the highest
   * the profile names, answer ENOSYS; else fall through to libseccomp's program, which loads
   * what it needs itself. No prefix when the default allows: then new calls are allowed too. */
  size_t prefix_max = (size_t)na * 6;
  struct sock_filter *prog = calloc(prefix_max + ninsn, sizeof(struct sock_filter));
  if (!prog) die("out of memory");
  size_t k = 0;
  int stub = defact != SCMP_ACT_ALLOW && defact != SCMP_ACT_LOG;
  for (int i = 0; stub && i < na; i++) {
    uint32_t audit = arch_tokens[i];
    if (max_nr[i] < 0 || audit == SCMP_ARCH_X32) continue;
    int x86_64 = audit == SCMP_ARCH_X86_64;
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, audit, 0, x86_64 ? 4 : 3);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    /* x32 calls come through the x86-64 arch with bit 30 set; their own rules decide them. */
    if (x86_64) prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 2, 0);
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max_nr[i], 0, 1);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  }
  if (pread(mem, prog + k, (size_t)size, 0) != size) die("read seccomp filter");
  close(mem);
  filter = (struct sock_fprog){(unsigned short)(k + ninsn), prog};
  if (cache) save_filter(cache);
}

static void load_seccomp(int errpipe) {
  if (have_filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) < 0)
    child_fail(errpipe, 126, "load seccomp filter: %s", goerr(errno));
}

/* Go's exec.LookPath, which runc uses, with the process's own PATH. */
static const char *look_path(int errpipe, const char *file, char **env, char *buf, size_t len) {
  struct stat st;
  if (strchr(file, '/')) {
    if (stat(file, &st) < 0) child_fail(errpipe, 127, "exec: \"%s\": stat %s: %s", file, file, goerr(errno));
    if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) child_fail(errpipe, 126, "exec: \"%s\": permission denied", file);
    return file;
  }
  const char *path = "";
  for (char **e = env; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  for (const char *p = path;;) {
    const char *end = strchrnul(p, ':');
    int dl = (int)(end - p);
    snprintf(buf, len, "%.*s%s%s", dl, dl ? p : ".", "/", file);
    if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111)) return buf;
    if (!*end) break;
    p = end + 1;
  }
  child_fail(errpipe, 127, "exec: \"%s\": executable file not found in $PATH", file);
  return NULL;
}

/* In the container's namespaces and cgroups: become the exec's process. Never returns. */
static void child(int errpipe) {
  char *caps_s = value("caps");
  struct caps c = {0};
  if (!caps_s || sscanf(caps_s, "%llx %llx %llx %llx %llx", &c.bounding, &c.effective, &c.permitted, &c.inheritable, &c.ambient) != 5)
    child_fail(errpipe, 126, "bad capabilities %s", caps_s ? caps_s : "(none)");
  static char *args[MAX_ITEMS], *env[MAX_ITEMS];
  int na = values("arg", args, MAX_ITEMS - 1);
  int ne = values("env", env, MAX_ITEMS - 1);
  args[na] = NULL;
  env[ne] = NULL;
  if (na == 0) child_fail(errpipe, 126, "no command");
  char *cwd = value("cwd");
  int nnp = value("nnp") != NULL;

  set_rlimits(errpipe);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(errpipe, 126, "set no_new_privs: %s", goerr(errno));
  /* Without no_new_privs a filter needs CAP_SYS_ADMIN, which the capabilities below may drop. */
  if (!nnp) load_seccomp(errpipe);
  drop_bounding(errpipe, &c);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail(errpipe, 126, "keep capabilities: %s", goerr(errno));
  set_user(errpipe);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) child_fail(errpipe, 126, "keep capabilities: %s", goerr(errno));
  apply_caps(errpipe, &c);
  if (cwd && chdir(cwd) < 0) child_fail(errpipe, errno == ENOENT ? 127 : 126, "chdir to cwd (\"%s\") set in config.json failed: %s", cwd, goerr(errno));
  char buf[PATH_MAX];
  const char *file = look_path(errpipe, args[0], env, buf, sizeof buf);
  if (nnp) load_seccomp(errpipe);
  execve(file, args, env);
  child_fail(errpipe, errno == ENOENT ? 127 : 126, "exec: \"%s\": %s", args[0], goerr(errno));
}

int main(int argc, char **argv) {
  (void)argc;
  /* wharfd gone: nobody reads the process's output or waits for its code. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  run_from_memfd(argv);
  read_job();
  /* Non-dumpable: /proc/<pid> of the forked child stays closed to the container until it execs. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  compile_seccomp();
  join_cgroups(getpid());
  join_namespaces();

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    close(errpipe[0]);
    /* Nothing of wharfd's beyond stdio and the error pipe (close-on-exec) reaches the process. */
    close(STATUS_FD);
    syscall(SYS_close_range, 3, ~0U, 1U << 2 /* CLOSE_RANGE_CLOEXEC */);
    child(errpipe[1]);
  }
  close(errpipe[1]);
  /* The process holds stdio now: its output ends when it (and what it started) closes them. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2; fd++) dup2(devnull, fd);

  char msg[1100];
  ssize_t n, got = 0;
  while ((n = read(errpipe[0], msg + got, sizeof msg - 1 - got)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) got += n;
  msg[got] = 0;
  int status;
  if (got) {
    /* The child failed before execve and is exiting: reap it. A child that did exec is waited for below. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char *text = strchr(msg, ' ');
    int code = atoi(msg);
    dprintf(STATUS_FD, "error %d %s\n", code ? code : 126, text ? text + 1 : "exec failed");
    return code ? code : 126;
  }
  dprintf(STATUS_FD, "pid %d\n", pid);
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("wait: %s", strerror(errno));
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  dprintf(STATUS_FD, "exit %d\n", code);
  return code;
}

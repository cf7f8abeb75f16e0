/* cgexec: join a cgroup, note the time, exec a program (bench/run.sh --lambda-sizes).
 *
 *   cgexec PROCS_FILE PROGRAM [ARG...]
 *
 * Writes its own pid to PROCS_FILE (a cgroup's cgroup.procs, v1 or v2; "-" for none), then
 * writes "MONOTONIC_NS CPU_NS" to fd 3 when that is open (CLOCK_MONOTONIC, what Python's
 * time.perf_counter_ns reads, and the CPU time this process has used so far, so the harness
 * can subtract it), closes fd 3 and execs PROGRAM with the environment it was given.
 * Writing cgroup.procs can block for tens of milliseconds (cgroup v1 waits for an RCU grace
 * period), longer than the cold start being measured: the harness times from the exec, and
 * the program starts inside its CPU quota. Exit 126 when joining or exec fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: cgexec PROCS_FILE PROGRAM [ARG...]\n");
        return 126;
    }
    if (strcmp(argv[1], "-") != 0) {
        int fd = open(argv[1], O_WRONLY | O_CLOEXEC);
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
        if (fd < 0 || write(fd, pid, (size_t)n) != n) {
            fprintf(stderr, "cgexec: joining %s: %s\n", argv[1], strerror(errno));
            return 126;
        }
        close(fd);
    }
    /* This thread's CPU time so far (the launcher's share, not the program's). */
    long long cpu_ns = 0;
    FILE *schedstat = fopen("/proc/thread-self/schedstat", "r");
    if (schedstat) {
        if (fscanf(schedstat, "%lld", &cpu_ns) != 1) cpu_ns = 0;
        fclose(schedstat);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (fcntl(3, F_GETFD) != -1) {
        char stamp[64];
        int n = snprintf(stamp, sizeof stamp, "%lld %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
                         cpu_ns);
        if (write(3, stamp, (size_t)n) != n) {
            return 126;
        }
        close(3);
    }
    execv(argv[2], argv + 2);
    fprintf(stderr, "cgexec: exec %s: %s\n", argv[2], strerror(errno));
    return 126;
}

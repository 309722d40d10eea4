/*
 * Bare libfcgi responder: the benchmark's baseline for "nginx + FastCGI with
 * no application work". Threaded the same way as edmo: FCGX_Init() first, one
 * listening Unix socket, N pthreads each looping FCGX_Accept_r on it, no
 * accept mutex (Debian's libfcgi is built without USE_LOCKING and concurrent
 * accept() is fine on Linux).
 *
 * Build: cc -O2 -o hello bench/hello.c -lfcgi -lpthread
 * Usage: hello SOCKET_PATH THREADS
 * Stops on SIGTERM/SIGINT (blocked in the workers, sigwait in main; pitfall 2).
 */
#include <fcgiapp.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_fd = -1;

static const char response[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 11\r\n"
    "\r\n"
    "{\"ok\":true}";

static void *worker(void *arg) {
    (void)arg;
    FCGX_Request *req = calloc(1, sizeof *req); /* stable address (pitfall 4) */
    if (req == NULL || FCGX_InitRequest(req, listen_fd, 0) != 0) {
        fprintf(stderr, "hello: FCGX_InitRequest failed\n");
        return NULL;
    }
    while (FCGX_Accept_r(req) >= 0) {
        FCGX_PutStr(response, (int)(sizeof response - 1), req->out);
        FCGX_Finish_r(req);
    }
    FCGX_Free(req, 1);
    free(req);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET_PATH THREADS\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > 4096) {
        fprintf(stderr, "hello: THREADS must be 1..4096\n");
        return 2;
    }

    if (FCGX_Init() != 0) { /* before any thread (pitfall 8) */
        fprintf(stderr, "hello: FCGX_Init failed\n");
        return 1;
    }
    listen_fd = FCGX_OpenSocket(path, 1024);
    if (listen_fd < 0) {
        fprintf(stderr, "hello: cannot listen on %s\n", path);
        return 1;
    }
    if (chmod(path, 0666) != 0) { /* nginx workers run as nobody (pitfall 10) */
        fprintf(stderr, "hello: chmod %s: %s\n", path, strerror(errno));
        return 1;
    }

    /* Workers inherit a mask with TERM/INT blocked; only main takes them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (tids == NULL) return 1;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tids[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "hello: pthread_create failed\n");
            return 1;
        }
    }

    int sig = 0;
    sigwait(&stop, &sig);
    FCGX_ShutdownPending();
    shutdown(listen_fd, SHUT_RDWR); /* wakes the threads blocked in accept() */
    close(listen_fd);
    unlink(path);
    /* In-flight requests are microseconds long; do not wait on threads that
     * may be blocked reading a half-open connection. */
    return 0;
}

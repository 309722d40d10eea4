// fcgiapp.h only: fcgi_stdio.h redefines printf, FILE and stdin.
#include <fcgiapp.h>
#include <sys/socket.h>
// The connection loop watches kept connections with epoll; Glibc's Swift module does not carry these.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

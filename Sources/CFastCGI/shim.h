// fcgiapp.h only: fcgi_stdio.h redefines printf, FILE and stdin.
#include <fcgiapp.h>
#include <sys/socket.h>

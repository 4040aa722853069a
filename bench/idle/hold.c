#define _GNU_SOURCE
/* The idle-peer rows' two ends (bench/idle/rows.mjs), separate processes so the bench's own
   descriptors are not the limit. Both exit when their stdin reaches end of file.
   echo:    hold -l <port>               listen on 127.0.0.1, print "ready", echo every peer
   clients: hold <port> <n> <seconds>    open n connections to 127.0.0.1:<port> one after the
                                         other, each sending one byte and waiting for it back
                                         (so each is relayed end to end), print "ready <n>",
                                         then hold them all open and idle until stdin closes.
                                         Exits 1 saying which connection failed, or if the n
                                         are not open within <seconds>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
static struct sockaddr_in loop(int port){struct sockaddr_in a={0};a.sin_family=AF_INET;a.sin_port=htons(port);a.sin_addr.s_addr=htonl(0x7f000001);return a;}
static int echo(int port){
  struct sockaddr_in a=loop(port); int l=socket(AF_INET,SOCK_STREAM,0),one=1;
  setsockopt(l,SOL_SOCKET,SO_REUSEADDR,&one,sizeof one);
  if(bind(l,(void*)&a,sizeof a)||listen(l,4096)){perror("hold: bind");return 1;}
  int ep=epoll_create1(0); struct epoll_event e={.events=EPOLLIN};
  e.data.fd=l; epoll_ctl(ep,EPOLL_CTL_ADD,l,&e); e.data.fd=0; epoll_ctl(ep,EPOLL_CTL_ADD,0,&e);
  printf("ready\n"); fflush(stdout);
  struct epoll_event ev[256]; char buf[4096];
  for(;;){
    int n=epoll_wait(ep,ev,256,-1);
    if(n<0&&errno==EINTR) continue;
    if(n<0){perror("hold: epoll_wait");return 1;}
    for(int i=0;i<n;i++){
      int fd=ev[i].data.fd;
      if(fd==0){ if(read(0,buf,sizeof buf)<=0) return 0; continue; }
      if(fd==l){ int c=accept4(l,0,0,SOCK_NONBLOCK); if(c<0) continue;
        struct epoll_event ce={.events=EPOLLIN,.data.fd=c}; epoll_ctl(ep,EPOLL_CTL_ADD,c,&ce); continue; }
      ssize_t r=read(fd,buf,sizeof buf);
      if(r>0){ if(write(fd,buf,r)!=r){close(fd);} }
      else if(r==0||errno!=EAGAIN) close(fd);
    }
  }
}
int main(int argc,char**argv){
  if(argc==3&&!strcmp(argv[1],"-l")) return echo(atoi(argv[2]));
  if(argc<4){fprintf(stderr,"usage: hold -l <port> | hold <port> <n> <seconds>\n");return 2;}
  int port=atoi(argv[1]); long n=atol(argv[2]); double secs=atof(argv[3]);
  time_t end=time(0)+(time_t)secs; struct timeval tv={10,0}; char b='i';
  for(long i=0;i<n;i++){
    if(time(0)>end){fprintf(stderr,"hold: only %ld of %ld connections open after %.0f s\n",i,n,secs);return 1;}
    struct sockaddr_in a=loop(port); int s=socket(AF_INET,SOCK_STREAM,0);
    if(s<0){fprintf(stderr,"hold: connection %ld: socket: %s\n",i,strerror(errno));return 1;}
    setsockopt(s,SOL_SOCKET,SO_RCVTIMEO,&tv,sizeof tv); setsockopt(s,SOL_SOCKET,SO_SNDTIMEO,&tv,sizeof tv);
    if(connect(s,(void*)&a,sizeof a)){fprintf(stderr,"hold: connection %ld: connect: %s\n",i,strerror(errno));return 1;}
    if(write(s,&b,1)!=1||read(s,&b,1)!=1){fprintf(stderr,"hold: connection %ld: no echo through the relay (%s)\n",i,strerror(errno));return 1;}
  }
  printf("ready %ld\n",n); fflush(stdout);
  char buf[64]; while(read(0,buf,sizeof buf)>0){}
  return 0;
}

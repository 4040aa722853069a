/* The zero-copy rows' load generator (bench/zero-copy/rows.mjs): a sender and a sink, separate
   processes in C, faster than any relay on loopback, so the relay is what the rows measure.
   source: blast <port|/unix/path> <bytes>  connect (127.0.0.1 or a UNIX socket), send the bytes,
                                            shut down writing, read to EOF; prints its CPU seconds
   sink:   blast -l <port>                  listen on 127.0.0.1, print "ready", accept one, read to
                                            EOF; prints bytes, seconds from first byte to EOF, CPU s */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(void){struct rusage u;getrusage(RUSAGE_SELF,&u);
  return u.ru_utime.tv_sec+u.ru_utime.tv_usec/1e6+u.ru_stime.tv_sec+u.ru_stime.tv_usec/1e6;}
int main(int argc,char**argv){
  static char buf[1<<20]; memset(buf,'x',sizeof buf);
  if(argc<3){fprintf(stderr,"usage: blast <port|path> <bytes> | blast -l <port>\n");return 2;}
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_addr.s_addr=htonl(0x7f000001);
  if(!strcmp(argv[1],"-l")){
    a.sin_port=htons(atoi(argv[2]));
    int s=socket(AF_INET,SOCK_STREAM,0),one=1; setsockopt(s,SOL_SOCKET,SO_REUSEADDR,&one,4);
    if(bind(s,(void*)&a,sizeof a)||listen(s,1)){perror("bind");return 1;}
    printf("ready\n");fflush(stdout);
    int c=accept(s,0,0); double t0=0; long long n=0; ssize_t r;
    if(c<0){perror("accept");return 1;}
    while((r=read(c,buf,sizeof buf))>0){ if(!n) t0=now(); n+=r; }
    printf("%lld %.6f %.6f\n",n,n?now()-t0:0,cpu()); return 0;
  }
  long long left=atoll(argv[2]); int s;
  if(argv[1][0]=='/'){ struct sockaddr_un u={0}; u.sun_family=AF_UNIX; strncpy(u.sun_path,argv[1],sizeof u.sun_path-1);
    s=socket(AF_UNIX,SOCK_STREAM,0); if(connect(s,(void*)&u,sizeof u)){perror("connect");return 1;} }
  else { a.sin_port=htons(atoi(argv[1])); s=socket(AF_INET,SOCK_STREAM,0); if(connect(s,(void*)&a,sizeof a)){perror("connect");return 1;} }
  while(left>0){ ssize_t w=write(s,buf,left<(long long)sizeof buf?left:(long long)sizeof buf); if(w<0){perror("write");return 1;} left-=w; }
  shutdown(s,SHUT_WR); while(read(s,buf,sizeof buf)>0){}
  printf("%.6f\n",cpu()); return 0;
}

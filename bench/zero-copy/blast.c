/* The zero-copy bench's load generator (run.py): a sender and a sink faster than any relay on loopback. */
/* source: blast <port> <bytes>  — connect to 127.0.0.1:port, send bytes, shutdown, wait for close
   sink:   blast -l <port>       — accept one, read to EOF, print bytes and seconds, exit */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  static char buf[1<<20]; memset(buf,'x',sizeof buf);
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_addr.s_addr=htonl(0x7f000001);
  if(!strcmp(argv[1],"-l")){
    a.sin_port=htons(atoi(argv[2]));
    int s=socket(AF_INET,SOCK_STREAM,0),one=1; setsockopt(s,SOL_SOCKET,SO_REUSEADDR,&one,4);
    if(bind(s,(void*)&a,sizeof a)||listen(s,1)){perror("bind");return 1;}
    printf("ready\n");fflush(stdout);
    int c=accept(s,0,0); double t0=0; long long n=0; ssize_t r;
    while((r=read(c,buf,sizeof buf))>0){ if(!n) t0=now(); n+=r; }
    printf("%lld %.6f\n",n,now()-t0); return 0;
  }
  long long left=atoll(argv[2]); int s;
  if(argv[1][0]=='/'){ struct sockaddr_un u={0}; u.sun_family=AF_UNIX; strncpy(u.sun_path,argv[1],sizeof u.sun_path-1);
    s=socket(AF_UNIX,SOCK_STREAM,0); if(connect(s,(void*)&u,sizeof u)){perror("connect");return 1;} }
  else { a.sin_port=htons(atoi(argv[1])); s=socket(AF_INET,SOCK_STREAM,0); if(connect(s,(void*)&a,sizeof a)){perror("connect");return 1;} }
  while(left>0){ ssize_t w=write(s,buf,left<(long long)sizeof buf?left:(long long)sizeof buf); if(w<0){perror("write");return 1;} left-=w; }
  shutdown(s,SHUT_WR); while(read(s,buf,sizeof buf)>0){} return 0;
}

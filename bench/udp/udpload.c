/* The UDP rate row's load generator (bench/run.mjs, udpRate): an echo and a client, separate
   processes in C, so the relay, not the generator, is what the row measures.
   echo:   udpload -e                          bind 127.0.0.1:0, print the port, send every packet
                                               back to its sender until killed
   client: udpload <port> <packets> <size> <window>
                                               keep <window> packets of <size> bytes in flight to
                                               127.0.0.1:<port>, one more per reply (all again after
                                               200 ms without one), until <packets> replies; prints
                                               "<replies> <seconds> <cpu seconds>" */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(void){struct rusage u;getrusage(RUSAGE_SELF,&u);
  return u.ru_utime.tv_sec+u.ru_utime.tv_usec/1e6+u.ru_stime.tv_sec+u.ru_stime.tv_usec/1e6;}
int main(int argc,char**argv){
  static char buf[65536]; memset(buf,'a',sizeof buf);
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_addr.s_addr=htonl(0x7f000001);
  int s=socket(AF_INET,SOCK_DGRAM,0);
  if(argc==2&&!strcmp(argv[1],"-e")){
    socklen_t l=sizeof a;
    if(bind(s,(void*)&a,sizeof a)||getsockname(s,(void*)&a,&l)){perror("bind");return 1;}
    printf("%d\n",ntohs(a.sin_port));fflush(stdout);
    for(;;){ struct sockaddr_in f; socklen_t fl=sizeof f;
      ssize_t r=recvfrom(s,buf,sizeof buf,0,(void*)&f,&fl); if(r<0) continue;
      sendto(s,buf,r,0,(void*)&f,fl); }
  }
  if(argc<5){fprintf(stderr,"usage: udpload -e | udpload <port> <packets> <size> <window>\n");return 2;}
  long want=atol(argv[2]); size_t size=atol(argv[3]); int window=atoi(argv[4]);
  a.sin_port=htons(atoi(argv[1]));
  if(connect(s,(void*)&a,sizeof a)){perror("connect");return 1;}
  long got=0; int inflight=0; double t0=now(), last=t0;
  struct pollfd p={s,POLLIN,0};
  while(got<want){
    while(inflight<window){ if(send(s,buf,size,0)<0&&0){} inflight++; }
    int n=poll(&p,1,200);
    if(n==0||now()-last>0.2){ inflight=0; last=now(); continue; }
    while(recv(s,buf,sizeof buf,MSG_DONTWAIT)>=0){ got++; inflight--; last=now(); if(got>=want) break; }
  }
  printf("%ld %.6f %.6f\n",got,now()-t0,cpu()); return 0;
}

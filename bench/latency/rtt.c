/* The latency rows' client (bench/latency/rows.mjs): one TCP connection to 127.0.0.1:<port>
   (TCP_NODELAY), <warmup> uncounted and then <count> timed round trips of <size> bytes: write
   them, read until as many came back. Prints "<median µs> <p99 µs> <count>" on success; on a
   failure (or a reply slower than 10 s) says which round trip on stderr and exits 1.
   usage: rtt <port> <count> <warmup> <size> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
static double now_us(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static int cmp(const void*a,const void*b){double x=*(const double*)a,y=*(const double*)b;return (x>y)-(x<y);}
int main(int argc,char**argv){
  if(argc<5){fprintf(stderr,"usage: rtt <port> <count> <warmup> <size>\n");return 2;}
  int port=atoi(argv[1]); long count=atol(argv[2]),warm=atol(argv[3]),size=atol(argv[4]);
  if(port<=0||count<=0||warm<0||size<=0||size>65536){fprintf(stderr,"rtt: bad arguments\n");return 2;}
  char out[65536],in[65536]; memset(out,'r',size);
  double*t=malloc(count*sizeof *t); if(!t){perror("malloc");return 1;}
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_port=htons(port); a.sin_addr.s_addr=htonl(0x7f000001);
  int s=socket(AF_INET,SOCK_STREAM,0),one=1; setsockopt(s,IPPROTO_TCP,TCP_NODELAY,&one,sizeof one);
  struct timeval tv={10,0}; setsockopt(s,SOL_SOCKET,SO_RCVTIMEO,&tv,sizeof tv);
  if(connect(s,(void*)&a,sizeof a)){perror("rtt: connect");return 1;}
  for(long i=0;i<warm+count;i++){
    double t0=now_us();
    if(write(s,out,size)!=size){fprintf(stderr,"rtt: write failed at round trip %ld\n",i);return 1;}
    long got=0;
    while(got<size){ssize_t r=read(s,in+got,size-got);
      if(r<=0){fprintf(stderr,"rtt: %s at round trip %ld\n",r?"read failed or timed out":"end of file",i);return 1;} got+=r;}
    if(i>=warm) t[i-warm]=now_us()-t0;
  }
  qsort(t,count,sizeof *t,cmp);
  long p99=(long)(count*0.99); if(p99>=count) p99=count-1;
  printf("%.1f %.1f %ld\n",t[count/2],t[p99],count); return 0;
}

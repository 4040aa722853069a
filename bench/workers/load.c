/* The --workers rows' load (bench/workers/rows.mjs), in C and in processes of its own, so the
   relay is what the rows measure:
   load echo <port> <procs>                    listen on 127.0.0.1, print "ready"; <procs> processes
                                               each accept, read once, write that back, close
   load sink <port> <procs>                    the same, reading each connection to EOF
   load send <port> <bytes> <streams>          <streams> processes each send <bytes>, shut down
                                               writing, read to EOF; prints the wall seconds
   load churn <port> <conns> <parallel>        <parallel> processes share <conns> exchanges (connect,
                                               16 bytes out and back, close); prints the wall seconds */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <signal.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static struct sockaddr_in at(int port){struct sockaddr_in a={0};a.sin_family=AF_INET;a.sin_addr.s_addr=htonl(0x7f000001);a.sin_port=htons(port);return a;}
static int dial(int port){struct sockaddr_in a=at(port);int s=socket(AF_INET,SOCK_STREAM,0);
  if(connect(s,(void*)&a,sizeof a)){perror("connect");exit(1);}return s;}
static void children(int n,void(*fn)(int,char**),char**argv){
  for(int i=0;i<n;i++) if(fork()==0){fn(i,argv);_exit(0);}
  int st,bad=0; while(wait(&st)>0) if(!WIFEXITED(st)||WEXITSTATUS(st)) bad=1;
  if(bad){fprintf(stderr,"a load process failed\n");exit(1);}
}
static char buf[1<<18];
static void serve(int s,int sink){for(;;){int c=accept(s,0,0);if(c<0)continue;ssize_t r;
  if(sink){while((r=read(c,buf,sizeof buf))>0){}}else if((r=read(c,buf,sizeof buf))>0) write(c,buf,r);
  close(c);}}
static void send1(int i,char**argv){(void)i;long long left=atoll(argv[3]);int s=dial(atoi(argv[2]));
  while(left>0){ssize_t w=write(s,buf,left<(long long)sizeof buf?left:(long long)sizeof buf);if(w<0){perror("write");exit(1);}left-=w;}
  shutdown(s,SHUT_WR);while(read(s,buf,sizeof buf)>0){}close(s);}
static void churn1(int i,char**argv){int port=atoi(argv[2]),n=atoi(argv[3]),p=atoi(argv[4]);
  for(int k=i;k<n;k+=p){int s=dial(port);char m[16];memset(m,'x',16);if(write(s,m,16)!=16){perror("write");exit(1);}
    int got=0;ssize_t r;while(got<16&&(r=read(s,m,16))>0)got+=r;if(got<16){fprintf(stderr,"short echo\n");exit(1);}close(s);}}
int main(int argc,char**argv){
  memset(buf,'x',sizeof buf);
  if(argc<4||(argc<5&&strcmp(argv[1],"echo")&&strcmp(argv[1],"sink"))){fprintf(stderr,"usage: see load.c\n");return 2;}
  if(!strcmp(argv[1],"echo")||!strcmp(argv[1],"sink")){
    struct sockaddr_in a=at(atoi(argv[2]));int s=socket(AF_INET,SOCK_STREAM,0),one=1;
    setsockopt(s,SOL_SOCKET,SO_REUSEADDR,&one,4);
    if(bind(s,(void*)&a,sizeof a)||listen(s,512)){perror("bind");return 1;}
    printf("ready\n");fflush(stdout);
    /* the helpers end with the first process: the bench stops that one, by its pid */
    for(int i=1;i<atoi(argv[3]);i++) if(fork()==0){prctl(PR_SET_PDEATHSIG,SIGTERM);break;}
    serve(s,argv[1][0]=='s');
  }
  double t0=now();
  if(!strcmp(argv[1],"send")) children(atoi(argv[4]),send1,argv);
  else children(atoi(argv[4]),churn1,argv);
  printf("%.6f\n",now()-t0);return 0;
}

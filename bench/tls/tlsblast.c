/* The TLS row's load generator (bench/tls/rows.mjs): a TLS sender and a TLS sink, separate
   processes in C over OpenSSL, so the row measures the relay, not the bench's own Node process.
   source: tlsblast <port> <bytes>                TLS to 127.0.0.1:<port> (no certificate check), send
                                                  the bytes in 1 MiB SSL_write calls, send close_notify,
                                                  shut down writing, read to EOF; prints its CPU seconds
   sink:   tlsblast -l <port> <cert.pem> <key.pem> listen on 127.0.0.1, print "ready", accept one, TLS,
                                                  read to EOF; prints bytes, seconds from first byte to
                                                  EOF, CPU seconds (the bare-OpenSSL reference) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(void){struct rusage u;getrusage(RUSAGE_SELF,&u);
  return u.ru_utime.tv_sec+u.ru_utime.tv_usec/1e6+u.ru_stime.tv_sec+u.ru_stime.tv_usec/1e6;}
static int fail(const char*what){fprintf(stderr,"%s: ",what);ERR_print_errors_fp(stderr);fprintf(stderr,"\n");return 1;}
int main(int argc,char**argv){
  static char buf[1<<20]; memset(buf,'x',sizeof buf);
  if(argc<3){fprintf(stderr,"usage: tlsblast <port> <bytes> | tlsblast -l <port> <cert> <key>\n");return 2;}
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_addr.s_addr=htonl(0x7f000001);
  if(!strcmp(argv[1],"-l")){
    if(argc<5){fprintf(stderr,"usage: tlsblast -l <port> <cert> <key>\n");return 2;}
    SSL_CTX*ctx=SSL_CTX_new(TLS_server_method());
    if(!ctx||SSL_CTX_use_certificate_chain_file(ctx,argv[3])!=1||SSL_CTX_use_PrivateKey_file(ctx,argv[4],SSL_FILETYPE_PEM)!=1) return fail("certificate");
    a.sin_port=htons(atoi(argv[2]));
    int s=socket(AF_INET,SOCK_STREAM,0),one=1; setsockopt(s,SOL_SOCKET,SO_REUSEADDR,&one,4);
    if(bind(s,(void*)&a,sizeof a)||listen(s,1)){perror("bind");return 1;}
    printf("ready\n");fflush(stdout);
    int c=accept(s,0,0); double t0=0; long long n=0; int r;
    if(c<0){perror("accept");return 1;}
    SSL*ssl=SSL_new(ctx); SSL_set_fd(ssl,c);
    if(SSL_accept(ssl)!=1) return fail("SSL_accept");
    while((r=SSL_read(ssl,buf,sizeof buf))>0){ if(!n) t0=now(); n+=r; }
    double secs=n?now()-t0:0;
    SSL_shutdown(ssl);
    printf("%lld %.6f %.6f\n",n,secs,cpu()); return 0;
  }
  long long left=atoll(argv[2]);
  SSL_CTX*ctx=SSL_CTX_new(TLS_client_method()); if(!ctx) return fail("SSL_CTX_new");
  a.sin_port=htons(atoi(argv[1])); int s=socket(AF_INET,SOCK_STREAM,0);
  if(connect(s,(void*)&a,sizeof a)){perror("connect");return 1;}
  SSL*ssl=SSL_new(ctx); SSL_set_fd(ssl,s);
  if(SSL_connect(ssl)!=1) return fail("SSL_connect");
  while(left>0){ int w=SSL_write(ssl,buf,left<(long long)sizeof buf?(int)left:(int)sizeof buf); if(w<=0) return fail("SSL_write"); left-=w; }
  SSL_shutdown(ssl); shutdown(s,SHUT_WR); while(read(s,buf,sizeof buf)>0){}
  printf("%.6f\n",cpu()); return 0;
}

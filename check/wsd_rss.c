/*
 * wsd_rss.c: a client for check/wsd-rss.sh: opens N WebSockets to a
 * websocketd on loopback, reads each until it has received the given number
 * of bytes, and prints websocketd's peak RSS and its RSS 5 s after closing.
 * Usage: wsd_rss PORT N PID BYTES.  Not a Check suite.
 */
#include "compat.h"
#include <poll.h>
#include "ws.h"
static long rss(long pid){char p[64],l[256];long v=-1;FILE*f;snprintf(p,64,"/proc/%ld/status",pid);if(!(f=fopen(p,"r")))return -1;while(fgets(l,256,f))if(!strncmp(l,"VmRSS:",6))v=strtol(l+6,0,10);fclose(f);return v;}
int main(int argc,char**argv){int port=(int)strtol(argv[1],0,10),n=(int)strtol(argv[2],0,10);long pid=strtol(argv[3],0,10);size_t want=(size_t)strtol(argv[4],0,10);
 static struct ws w[64];size_t got[64]={0};long peak=0,r0=rss(pid);char buf[65536];int done=0;double t0;
 for(int i=0;i<n;i++){if(!ws_open(&w[i],port,"/x","127.0.0.1",NULL,NULL)){printf("open %d failed\n",i);return 1;}got[i]=w[i].rlen;}
 printf("rss idle %d conns: %ld KiB (start %ld)\n",n,rss(pid),r0);
 t0=clock();
 while(done<n){struct pollfd p[64];for(int i=0;i<n;i++){p[i].fd=got[i]>=want?-1:w[i].fd;p[i].events=POLLIN;}
  poll(p,(nfds_t)n,500);for(int i=0;i<n;i++)if(p[i].fd>=0&&(p[i].revents&POLLIN)){ssize_t k=read(w[i].fd,buf,sizeof buf);if(k<=0){got[i]=want;done++;continue;}got[i]+=(size_t)k;if(got[i]>=want)done++;}
  long r=rss(pid);if(r>peak)peak=r;}
 printf("rss peak during push: %ld KiB\n",peak);
 for(int i=0;i<n;i++)ws_close(&w[i]);
 sleep(5);printf("rss 5 s after close: %ld KiB\n",rss(pid));(void)t0;return 0;}

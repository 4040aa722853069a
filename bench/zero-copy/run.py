"""
The zero-copy path against the buffered one and socat (docs/architecture.md, "The zero-copy path").
Fork relays TCP-LISTEN -> TCP and UNIX-LISTEN -> TCP, a C sender and sink (blast.c) as separate
processes, runs interleaved in random order; reports MB/s and relay CPU s/GB (utime + stime of the
relay and its reaped children), medians. Needs gcc and socat.
  gcc -O2 -o /tmp/blast bench/zero-copy/blast.c && python3 bench/zero-copy/run.py [runs] [bytes]
"""
import subprocess, time, os, sys, statistics, random, json
TS=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','..','bin','tsocat.js')
BLAST=os.environ.get('BLAST','/tmp/blast')
N=int(sys.argv[1]) if len(sys.argv)>1 else 5
SIZE=int(sys.argv[2]) if len(sys.argv)>2 else 2_000_000_000
HZ=os.sysconf('SC_CLK_TCK')
def cpu(pid):
    f=open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split()
    return sum(int(x) for x in f[11:15])/HZ   # utime stime cutime cstime
base=20000+random.randint(0,8000)
UX='/tmp/tsocat-zc-'
import glob
for f in glob.glob(UX+'*'): os.unlink(f)
variants={
 'UNIX->TCP tsocat splice': lambda p,q: (['node',TS,f'UNIX-LISTEN:{UX}{p},fork',f'TCP:127.0.0.1:{q}'],{}),
 'UNIX->TCP tsocat buffered': lambda p,q: (['node',TS,f'UNIX-LISTEN:{UX}{p},fork',f'TCP:127.0.0.1:{q}'],{'TSOCAT_SPLICE':'off'}),
 'UNIX->TCP socat': lambda p,q: (['socat',f'UNIX-LISTEN:{UX}{p},fork',f'TCP:127.0.0.1:{q}'],{}),
 'UNIX->TCP socat -b 65536': lambda p,q: (['socat','-b','65536',f'UNIX-LISTEN:{UX}{p},fork',f'TCP:127.0.0.1:{q}'],{}),
 'tsocat splice': lambda p,q: (['node',TS,f'TCP-LISTEN:{p},fork,reuseaddr',f'TCP:127.0.0.1:{q}'],{}),
 'tsocat buffered (TSOCAT_SPLICE=off)': lambda p,q: (['node',TS,f'TCP-LISTEN:{p},fork,reuseaddr',f'TCP:127.0.0.1:{q}'],{'TSOCAT_SPLICE':'off'}),
 'socat': lambda p,q: (['socat',f'TCP-LISTEN:{p},fork,reuseaddr',f'TCP:127.0.0.1:{q}'],{}),
 'socat -b 65536': lambda p,q: (['socat','-b','65536',f'TCP-LISTEN:{p},fork,reuseaddr',f'TCP:127.0.0.1:{q}'],{}),
}
procs={}; ports={}
for i,(name,mk) in enumerate(variants.items()):
    p=base+10*i; q=p+1; cmd,env=mk(p,q)
    procs[name]=subprocess.Popen(cmd,env={**os.environ,**env},stderr=subprocess.DEVNULL); ports[name]=(p,q)
def listening(port):
    hexport=f':{port:04X}'
    return any(l.split()[1].endswith(hexport) and l.split()[3]=='0A' for l in open('/proc/net/tcp').readlines()[1:])
deadline=time.time()+20
for name,(p,q) in ports.items():
    while not (os.path.exists(f'{UX}{p}') if name.startswith('UNIX') else listening(p)):
        if time.time()>deadline: sys.exit(f'{name} does not listen')
        time.sleep(0.05)
res={k:[] for k in list(variants)+['direct']}
def one(port_src, port_sink, pid):
    sink=subprocess.Popen([BLAST,'-l',str(port_sink)],stdout=subprocess.PIPE,text=True)
    sink.stdout.readline()
    c0=cpu(pid) if pid else 0
    t0=time.time()
    if subprocess.run([BLAST,str(port_src),str(SIZE)]).returncode!=0: sink.kill(); raise SystemExit('sender failed')
    out=sink.communicate()[0].split(); t1=time.time()
    assert int(out[0])==SIZE, out
    time.sleep(0.4)
    c1=cpu(pid) if pid else 0
    return SIZE/1e6/(t1-t0), (c1-c0)/(SIZE/1e9)
try:
    for r in range(N):
        order=list(variants)+['direct']; random.shuffle(order)
        for name in order:
            if name=='direct':
                p=base+100; mbps,c=one(p,p,None)
            else:
                p,q=ports[name]; mbps,c=one(f'{UX}{p}' if name.startswith('UNIX') else p,q,procs[name].pid)
            res[name].append((mbps,c)); print(f'{r} {name}: {mbps:.0f} MB/s, {c:.3f} CPU s/GB',flush=True)
finally:
    for pr in procs.values(): pr.terminate()
print('\nmedians over',N,'runs of',SIZE/1e9,'GB')
med={}
for name,v in res.items():
    m=statistics.median(x[0] for x in v); c=statistics.median(x[1] for x in v); med[name]=(m,c)
    print(f'{name:40s} {m:7.0f} MB/s  (min {min(x[0] for x in v):.0f}, max {max(x[0] for x in v):.0f})  relay CPU {c:.3f} s/GB')
u=med['UNIX->TCP tsocat splice'][0]
print(f"UNIX->TCP splice / socat = {u/med['UNIX->TCP socat'][0]:.2f}x ; / socat -b 65536 = {u/med['UNIX->TCP socat -b 65536'][0]:.2f}x ; / buffered = {u/med['UNIX->TCP tsocat buffered'][0]:.2f}x")
s=med['tsocat splice'][0]
print(f"splice / socat = {s/med['socat'][0]:.2f}x ; / socat -b 65536 = {s/med['socat -b 65536'][0]:.2f}x ; / buffered = {s/med['tsocat buffered (TSOCAT_SPLICE=off)'][0]:.2f}x ; / direct = {s/med['direct'][0]:.2f}")


#!/usr/bin/python3
"""The measurement of the images/hello deployment for a given runtime ELF file, recomputed
from specs/measurement.md independently of the monitor's loader: an oracle for the tests.
    hello-measurement.py LIBHELLO.SO  ->  measurement: sha256:<hex>
"""
import hashlib, subprocess, sys
path = sys.argv[1]
data = open(path, 'rb').read()
out = subprocess.run(['readelf', '-lW', path], capture_output=True, text=True).stdout
loads = [f for f in (l.split() for l in out.splitlines()) if f and f[0] == 'LOAD']
img = bytearray(max(int(f[2], 16) + int(f[5], 16) for f in loads))
for f in loads:
    off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
    img[vaddr:vaddr + filesz] = data[off:off + filesz]
rt = hashlib.sha256(img).hexdigest()
ns = lambda k, s: f"{k} {len(s.encode())}:{s}\n"
log = ("cvm-measurement-v1\n" + ns("name", "hello") + f"runtime sha256:{rt}\n" +
       "ldso none\nrootfs none\nwindow 0x20000000 0x10000000\nheap clean-room\n" +
       "callback_out monitor\ncallback_in none\nwait -1\nargc 1\n" + ns("arg", "libhello.so") +
       "envc 0\n")
cvm = hashlib.sha256(log.encode()).hexdigest()
data = hashlib.sha256(b"Hello world\n").hexdigest()
dep = ("cvm-deployment-v1\ncvms 1\n" + f"cvm sha256:{cvm}\n" + "capfiles 1\n" +
       ns("capfile", "test1") + "size 32\n" + f"data sha256:{data}\n")
print("measurement: sha256:" + hashlib.sha256(dep.encode()).hexdigest())

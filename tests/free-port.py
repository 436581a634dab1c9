#!/usr/bin/env python3
"""Prints a TCP port free on 127.0.0.1 now, picked at random below the kernel's ephemeral range, so that no
outgoing connection takes it before the server binds it, and two test runs on one machine do not pick the same
one (as they did with fixed ports). Usage: tests/free-port.py"""
import random
import socket
import sys

if len(sys.argv) > 1:
    if sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    print(f"free-port.py: unknown argument '{sys.argv[1]}' (it takes none; see --help)", file=sys.stderr)
    sys.exit(2)
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
top = low if low > 12000 else 65536
for _ in range(500):
    port = random.randrange(10000, top)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
print("free-port.py: no free port found in 500 tries", file=sys.stderr)
sys.exit(1)

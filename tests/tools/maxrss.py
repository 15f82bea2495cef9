#!/usr/bin/python3
"""Run a command and report its exit status and peak resident set size.

    maxrss.py COMMAND [ARG...]      (stdin, stdout, stderr are passed on)

Writes "STATUS KIB" to the file named by the MAXRSS_OUT environment
variable (ru_maxrss of the child, in KiB on Linux).
"""
import os
import resource
import subprocess
import sys

status = subprocess.call(sys.argv[1:])
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(os.environ["MAXRSS_OUT"], "w") as f:
    f.write("%d %d\n" % (status, peak_kib))
sys.exit(0)

#!/usr/bin/python3
"""modmap.py HACKING.md SRCDIR OBJDIR: check doc/HACKING.md's module map against the
objects. For every module src/X.c, the calls the compiler made (its undefined
symbols that another module of src/ defines, from nm) must be exactly the
modules its row lists in the "calls" column; every module has a row, and
every row a module. util.c, log.c and error.c serve every step (DESIGN.md)
and are not listed. Prints TAP-ready lines: "0<TAB>text" or "1<TAB>text"
with "#" details after a failure."""

import os
import re
import subprocess
import sys

SERVE_ALL = {"util.c", "log.c", "error.c"}


def symbols(obj, flag):
    out = subprocess.run(["nm", flag, obj], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if parts:
            names.add(parts[-1])
    return names


def main():
    hacking, srcdir, objdir = sys.argv[1:4]
    # The modules are the sources there are (an old object is not one).
    objs = {}
    for name in sorted(os.listdir(srcdir)):
        if name.endswith(".c"):
            obj = os.path.join(objdir, name[:-2] + ".o")
            if not os.path.exists(obj):
                print("1\t%s is built (%s)" % (name, obj))
                continue
            objs[name] = obj
    defined = {}
    for mod, obj in objs.items():
        for sym in symbols(obj, "--defined-only"):
            defined.setdefault(sym, mod)
    actual = {}
    for mod, obj in objs.items():
        calls = {defined[s] for s in symbols(obj, "-u") if s in defined} - {mod} - SERVE_ALL
        actual[mod] = calls

    rows = {}
    for line in open(hacking, encoding="utf-8"):
        m = re.match(r"^\| `([a-z_0-9]+\.c)` \|.*\| ([^|]*) \|\s*$", line)
        if m:
            rows[m.group(1)] = set(re.findall(r"`([a-z_0-9]+\.c)`", m.group(2)))

    failed = 0
    for mod in sorted(actual):
        if mod in SERVE_ALL:
            continue
        if mod not in rows:
            print("1\t%s has a row in the module map" % mod)
            failed += 1
            continue
        missing = actual[mod] - rows[mod]
        extra = rows[mod] - actual[mod]
        ok = not missing and not extra
        print("%d\tthe map says whom %s calls" % (0 if ok else 1, mod))
        if missing:
            print("#   it calls, unlisted: " + ", ".join(sorted(missing)))
        if extra:
            print("#   listed, not called: " + ", ".join(sorted(extra)))
        failed += not ok
    for mod in sorted(set(rows) - set(actual)):
        print("1\tthe map's %s is a module of src/" % mod)
        failed += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

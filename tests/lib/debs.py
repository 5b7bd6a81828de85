"""Debian packages for guests, without installing them: `apt-get download`
into a cache folder under build/, the library packages (Section: libs)
they depend on, transitively, and the DT_NEEDED closure of a program in
the tree `dpkg -x` made of them.  Used by bench/linux-guest (the Linux
guest's nginx and iperf3) and tools/debroot (Debian's dynamically linked
coreutils in the user tier's initial archive), so both take the same
packages the same way.  Needs apt-get, apt-cache, dpkg-deb and objdump.
Progress goes to the log function given (stderr)."""
import glob
import os
import subprocess
import sys

# where a program's libraries are looked for in an unpacked tree (ld.so's
# default paths on Debian x86-64)
LIBDIRS = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "lib", "usr/lib"]
LD_SO = "lib64/ld-linux-x86-64.so.2"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def download(debs, names, log):
    """apt-get download NAMES into DEBS, skipping ones already there."""
    have = {os.path.basename(p).split("_")[0] for p in glob.glob(os.path.join(debs, "*.deb"))}
    want = [n for n in names if n not in have]
    if not want:
        return
    log("apt-get download " + " ".join(want))
    r = subprocess.run(["apt-get", "download"] + want, cwd=debs, stdout=sys.stderr,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        if "Unable to locate" in r.stderr or "no installation candidate" in r.stderr:
            log("apt-get update (package lists out of date)")
            run(["apt-get", "update", "-q"], stdout=sys.stderr)
            r = subprocess.run(["apt-get", "download"] + want, cwd=debs, stdout=sys.stderr,
                               stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise SystemExit("apt-get download %s failed" % " ".join(want))


def deb_path(debs, name):
    """The newest downloaded .deb of package NAME in DEBS."""
    hits = sorted(glob.glob(os.path.join(debs, name + "_*.deb")))
    if not hits:
        raise SystemExit("no %s package in %s" % (name, debs))
    return hits[-1]


def deb_version(path):
    return run(["dpkg-deb", "-f", path, "Version"], capture_output=True,
               text=True).stdout.strip()


def needed(elf):
    out = run(["objdump", "-p", elf], capture_output=True, text=True).stdout
    return [l.split()[1] for l in out.splitlines() if l.strip().startswith("NEEDED")]


def find_lib(root, name):
    for d in LIBDIRS:
        p = os.path.join(root, d, name)
        if os.path.exists(p):
            return p
    return None


def depends(deb):
    """Package names in DEB's Depends and Pre-Depends (first of each choice)."""
    out = []
    for field in ("Pre-Depends", "Depends"):
        r = run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True).stdout
        for item in r.split(","):
            name = item.split("|")[0].strip().split(" ")[0].split(":")[0]
            if name:
                out.append(name)
    return out


def is_library(name):
    r = run(["apt-cache", "show", "--no-all-versions", name], capture_output=True,
            text=True).stdout
    return any(l.strip() in ("Section: libs", "Section: oldlibs") for l in r.splitlines())


def lib_packages(debs, start, log):
    """The library packages (Section: libs) that START needs, transitively:
    downloaded into DEBS as found.  lib_closure checks afterwards that
    every DT_NEEDED of the programs taken is among them."""
    found, todo = [], list(start)
    seen = set(todo)
    while todo:
        for dep in depends(deb_path(debs, todo.pop())):
            if dep in seen:
                continue
            seen.add(dep)
            if is_library(dep):
                download(debs, [dep], log)
                found.append(dep)
                todo.append(dep)
    return sorted(found)


def unpack(debs, names, root, log):
    for n in names:
        p = deb_path(debs, n)
        log("dpkg -x " + os.path.basename(p))
        run(["dpkg", "-x", p, root])


def resolve(root, rel):
    """The file ROOT/REL names, following symbolic links inside ROOT (an
    absolute target is ROOT's, not the host's: libc6's /lib64/ld-linux-x86-64.so.2
    points to /lib/x86_64-linux-gnu/...)."""
    path = rel
    for _ in range(40):
        full = os.path.join(root, path)
        if not os.path.islink(full):
            parent = os.path.realpath(os.path.join(root, os.path.dirname(path)))
            return os.path.join(parent, os.path.basename(path))
        target = os.readlink(full)
        path = target.lstrip("/") if target.startswith("/") else \
            os.path.normpath(os.path.join(os.path.dirname(path), target))
    raise SystemExit("%s: too many symbolic links" % rel)


def lib_closure(root, rel):
    """REL (a path in the unpacked tree ROOT) and every shared library it
    needs, recursively, with the dynamic loader: paths relative to ROOT."""
    todo, done = [rel], []
    while todo:
        r = todo.pop()
        if r in done:
            continue
        done.append(r)
        for lib in needed(resolve(root, r)):
            p = find_lib(root, lib)
            if p is None:
                raise SystemExit("%s needs %s, not in the unpacked packages" % (r, lib))
            todo.append(os.path.relpath(p, root))
    return done + [LD_SO]

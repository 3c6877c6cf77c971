"""Files below an SSH host's work dir, read without ever following a symbolic link.

The same rules as src/hosts/safe-files.ts on the local host (what a harness leaves below the work
dir is not trusted): each component of a path is opened relative to its parent's descriptor with
O_NOFOLLOW and O_PATH (which names a file without opening it); a link, on the way or at the end, is
refused; and only once fstat on that descriptor says "regular file" is the file opened for reading,
through the same descriptor (/proc/self/fd), so a FIFO or a device is never opened, and nothing can
be swapped in between the check and the read.

Run by the worker over SSH with `python3 -c <this file> MODE WORK_DIR ...` (so that it never depends
on what an older worker left on the host), in one of two modes:

serve WORK_DIR
    Requests on stdin, one JSON object a line; one answer each, in order: a JSON line, then as many
    raw bytes as its "bytes" says. Paths are relative to WORK_DIR.
      {"op": "read", "path": P, "offset": N, "max": N}  -> {"bytes": N} + data | {"missing": true}
      {"op": "size", "path": P}                         -> {"size": N} | {"missing": true}
      {"op": "list", "path": P, "limit": N|null}        -> {"names": [...]}
      {"op": "write", "path": P, "data": S}             -> {}   (a small file of ours; text)
      {"op": "rmdir", "path": P}                        -> {}   (if empty; no error otherwise)
    A refused path answers {"refused": "link"|"special"}; any other failure {"error": "..."}.

pack WORK_DIR REL MAX_BYTES MAX_FILES MAX_FILE_BYTES
    Directory REL as a tar stream on stdout: regular files and directories only, with plain modes,
    breadth first and within the limits (see copyBelow in safe-files.ts); then a last line on stderr,
    `safe-files-report <JSON>`, says what was left out. Exit 3 if REL does not exist.
"""

import json
import os
import stat
import sys
import tarfile

MAX_REPORTED = 100
O_PATH_NOFOLLOW = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
REPORT_PREFIX = "safe-files-report "


class Refused(Exception):
    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


def components(rel):
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError("path %s leaves the work dir" % rel)
    return parts


def find_below(root, rel):
    """An O_PATH descriptor of REL below ROOT (the caller closes it) and its stat; None if missing."""
    parts = components(rel)
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            try:
                nxt = os.open(part, O_PATH_NOFOLLOW, dir_fd=fd)
            except (FileNotFoundError, NotADirectoryError):
                return None
            os.close(fd)
            fd = nxt
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode):
                raise Refused("link")
            if i < len(parts) - 1 and not stat.S_ISDIR(mode):
                if stat.S_ISREG(mode):
                    return None
                raise Refused("special")
        found = (fd, os.fstat(fd))
        fd = -1
        return found
    finally:
        if fd >= 0:
            os.close(fd)


def reopen(fd, flags=os.O_RDONLY):
    """The file behind an O_PATH descriptor, opened for reading: the same inode that was checked."""
    return os.open("/proc/self/fd/%d" % fd, flags | os.O_CLOEXEC)


def entries_of(fd):
    """The names in the directory behind an O_PATH descriptor, as the directory yields them."""
    dfd = reopen(fd, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # scandir works on a duplicate of the descriptor, and closes only that.
        with os.scandir(dfd) as entries:
            for entry in entries:
                yield entry.name
    finally:
        os.close(dfd)


def read_at(fd, offset, want):
    chunks = []
    while want > 0:
        data = os.pread(fd, want, offset)
        if not data:
            break
        chunks.append(data)
        offset += len(data)
        want -= len(data)
    return b"".join(chunks)


def op_read(root, rel, offset, most):
    found = find_below(root, rel)
    if found is None:
        return {"missing": True}, b""
    fd, st = found
    try:
        if not stat.S_ISREG(st.st_mode):
            raise Refused("special")
        want = min(most, st.st_size - offset)
        if want <= 0:
            return {"bytes": 0}, b""
        rfd = reopen(fd)
        try:
            data = read_at(rfd, offset, want)
        finally:
            os.close(rfd)
        return {"bytes": len(data)}, data
    finally:
        os.close(fd)


def op_size(root, rel):
    found = find_below(root, rel)
    if found is None:
        return {"missing": True}
    fd, st = found
    os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Refused("special")
    return {"size": st.st_size}


def op_list(root, rel, limit):
    found = find_below(root, rel)
    if found is None:
        return {"names": []}
    fd, st = found
    try:
        if not stat.S_ISDIR(st.st_mode):
            if stat.S_ISREG(st.st_mode):
                return {"names": []}
            raise Refused("special")
        names = []
        for name in entries_of(fd):
            if limit is not None and len(names) >= limit:
                break
            names.append(name)
        return {"names": sorted(names)}
    finally:
        os.close(fd)


def parent_of(root, rel):
    """The O_PATH descriptor of REL's directory (reached without links) and REL's last name."""
    parts = components(rel)
    if not parts:
        raise ValueError("no file name in %r" % rel)
    found = find_below(root, "/".join(parts[:-1]))
    if found is None:
        raise FileNotFoundError(rel)
    fd, st = found
    if not stat.S_ISDIR(st.st_mode):
        os.close(fd)
        raise NotADirectoryError(rel)
    return fd, parts[-1]


def op_write(root, rel, data):
    parent, name = parent_of(root, rel)
    try:
        dfd = reopen(parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            fd = os.open(name, flags, 0o644, dir_fd=dfd)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise Refused("special")
                os.write(fd, data.encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        finally:
            os.close(dfd)
    finally:
        os.close(parent)
    return {}


def op_rmdir(root, rel):
    try:
        parent, name = parent_of(root, rel)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    try:
        dfd = reopen(parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.rmdir(name, dir_fd=dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)
    finally:
        os.close(parent)
    return {}


def answer(root, request):
    op = request.get("op")
    rel = request["path"]
    if op == "read":
        return op_read(root, rel, int(request["offset"]), int(request["max"]))
    if op == "size":
        return op_size(root, rel), b""
    if op == "list":
        return op_list(root, rel, request.get("limit")), b""
    if op == "write":
        return op_write(root, rel, request["data"]), b""
    if op == "rmdir":
        return op_rmdir(root, rel), b""
    raise ValueError("unknown op %r" % op)


def serve(root):
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        data = b""
        try:
            header, data = answer(root, json.loads(line))
        except Refused as err:
            header = {"refused": err.kind}
        except Exception as err:  # one request failed: say so, and go on serving
            header = {"error": "%s: %s" % (type(err).__name__, err)}
        out.write(json.dumps(header).encode("utf-8", "surrogateescape") + b"\n")
        out.write(data)
        out.flush()


class Exactly:
    """SIZE bytes of a file for tarfile: what it has now, zeros if it shrank since it was checked."""

    def __init__(self, fd, size):
        self.fd = fd
        self.left = size

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        chunks = []
        want = n
        while want > 0:
            data = os.read(self.fd, want)
            if not data:
                chunks.append(b"\0" * want)
                break
            chunks.append(data)
            want -= len(data)
        self.left -= n
        return b"".join(chunks)


def file_mode(mode):
    return 0o755 if mode & 0o111 else 0o644


def pack(root, rel, max_bytes, max_files, max_file_bytes):
    report = {"files": 0, "bytes": 0, "leftOut": [], "leftOutCount": 0, "stoppedAt": None}

    def leave_out(name, why):
        report["leftOutCount"] += 1
        if len(report["leftOut"]) < MAX_REPORTED:
            report["leftOut"].append({"path": name, "why": why})

    top = find_below(root, rel)
    if top is None:
        sys.stderr.write("%s does not exist\n" % rel)
        return 3
    os.close(top[0])
    if not stat.S_ISDIR(top[1].st_mode):
        raise Refused("special")
    tar = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
    looked = 0
    queue = [""]
    while queue and report["stoppedAt"] is None:
        sub = queue.pop(0)
        try:
            found = find_below(root, os.path.join(rel, sub) if sub else rel)
        except Refused as err:
            leave_out(sub, err.kind)
            continue
        if found is None:
            continue
        dfd = found[0]
        try:
            entries = entries_of(dfd)
            for entry in entries:
                if looked >= max_files:
                    report["stoppedAt"] = looked
                    break
                looked += 1
                name = sub + "/" + entry if sub else entry
                try:
                    fd = os.open(entry, O_PATH_NOFOLLOW, dir_fd=dfd)
                except FileNotFoundError:
                    continue
                try:
                    st = os.fstat(fd)
                    info = tarfile.TarInfo(name)
                    info.mtime = int(st.st_mtime)
                    if stat.S_ISDIR(st.st_mode):
                        info.type = tarfile.DIRTYPE
                        info.mode = 0o755
                        tar.addfile(info)
                        queue.append(name)
                    elif stat.S_ISLNK(st.st_mode):
                        leave_out(name, "link")
                    elif not stat.S_ISREG(st.st_mode):
                        leave_out(name, "special")
                    elif st.st_size > max_file_bytes:
                        leave_out(name, "too large")
                    elif report["bytes"] + st.st_size > max_bytes:
                        leave_out(name, "over the byte limit")
                    else:
                        info.size = st.st_size
                        info.mode = file_mode(st.st_mode)
                        rfd = reopen(fd)
                        try:
                            tar.addfile(info, Exactly(rfd, st.st_size))
                        finally:
                            os.close(rfd)
                        report["files"] += 1
                        report["bytes"] += st.st_size
                finally:
                    os.close(fd)
            entries.close()
        finally:
            os.close(dfd)
    tar.close()
    sys.stdout.buffer.flush()
    sys.stderr.write(REPORT_PREFIX + json.dumps(report) + "\n")
    return 0


def main(argv):
    mode, root = argv[1], argv[2]
    if mode == "serve":
        serve(root)
        return 0
    if mode == "pack":
        try:
            return pack(root, argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
        except Refused as err:
            sys.stderr.write("%s: refused (%s)\n" % (argv[3], err.kind))
            return 4
    sys.stderr.write("unknown mode %r\n" % mode)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

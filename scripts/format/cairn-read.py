#!/usr/bin/env python3
"""cairn-read: an independent reader for Cairn repositories, written from docs/FORMAT.md only.

It lists the snapshots of a local repository and restores one of them without the cairn binary,
verifying as it goes: every object's name, every pack against its index entry, every chunk's
keyed id, and every file's size. Any mismatch ends it with a message and exit status 1.

    CAIRN_PASSWORD=pw cairn-read.py --repo REPO list
    cairn-read.py --repo REPO --password-file F restore SNAPSHOT-ID-OR-PREFIX TARGET

Dependencies: Python 3.11, python3-cryptography, libzstd.so.1 (through ctypes).
Section names below follow docs/FORMAT.md.
"""

import argparse
import base64
import ctypes
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class FormatError(Exception):
    """Anything that does not match docs/FORMAT.md."""


def fail(message):
    raise FormatError(message)


# ---------------------------------------------------------------------------------------------
# Envelope

ALG_NONE, ALG_AES_256_GCM = 0x00, 0x01


def open_envelope(sealed, key, what):
    """algorithm id (1) | nonce (12) | ciphertext | tag (16); or 0x00 | plaintext."""
    if not sealed:
        fail(f"{what}: empty envelope")
    alg = sealed[0]
    if alg not in (ALG_NONE, ALG_AES_256_GCM):
        fail(f"{what}: unknown algorithm id {alg:#04x}")
    if (alg == ALG_NONE) != (key is None):  # a plaintext object in an encrypted repository is forged
        fail(f"{what}: algorithm id {alg:#04x} does not match the repository's encryption")
    if alg == ALG_NONE:
        return sealed[1:]
    if len(sealed) < 1 + 12 + 16:
        fail(f"{what}: envelope of {len(sealed)} bytes is too short")
    try:
        return AESGCM(key).decrypt(sealed[1:13], sealed[13:], None)
    except InvalidTag:
        fail(f"{what}: authentication failed (wrong key or damaged data)")


# ---------------------------------------------------------------------------------------------
# Keys

class MasterKey:
    """96 bytes: encryption key (32), id key (32), chunker seed (32)."""

    def __init__(self, raw):
        if len(raw) != 96:
            fail(f"master key is {len(raw)} bytes, not 96")
        self.encryption_key, self.id_key, self.chunker_seed = raw[:32], raw[32:64], raw[64:]

    def chunk_id(self, plaintext):
        return hmac.new(self.id_key, plaintext, hashlib.sha256).digest()


# The fixed, public master key of repositories made with --insecure-no-encryption (FORMAT.md, Keys):
# byte i is (73 * i + 41) mod 256.
UNENCRYPTED_MASTER_KEY = bytes((73 * i + 41) % 256 for i in range(96))


def read_password(args):
    if args.password_file:
        with open(args.password_file, "rb") as f:
            return f.read().split(b"\n", 1)[0]           # the first line, as cairn reads it
    if "CAIRN_PASSWORD" in os.environ:
        return os.environ["CAIRN_PASSWORD"].encode()
    fail("no password: set CAIRN_PASSWORD or pass --password-file")


def unwrap_key_file(path, password):
    """keys/<id>: the master key sealed with scrypt(password, salt, N=2^log_n, r, p, 32)."""
    raw = read_file(path)
    check_name(path, raw)
    wrapped = json.loads(raw)["wrapped"]
    if wrapped["kdf"] != "scrypt":
        fail(f"{path}: unknown kdf {wrapped['kdf']!r}")
    if not 10 <= wrapped["log_n"] <= 22 or wrapped["r"] < 1 or wrapped["p"] < 1:
        fail(f"{path}: scrypt parameters out of range")
    n, r, p = 1 << wrapped["log_n"], wrapped["r"], wrapped["p"]
    wrapping_key = hashlib.scrypt(password, salt=base64.b64decode(wrapped["salt"]), n=n, r=r, p=p,
                                  maxmem=256 * r * n + (1 << 20), dklen=32)
    try:
        return open_envelope(base64.b64decode(wrapped["data"]), wrapping_key, path)
    except FormatError:
        return None                                      # not this password's key file


def unlock(repo, config, args):
    if config.get("encryption") == "none":
        return None, MasterKey(UNENCRYPTED_MASTER_KEY)
    key_dir = os.path.join(repo, "keys")
    names = sorted(os.listdir(key_dir)) if os.path.isdir(key_dir) else []
    if not names:
        fail("no key files in keys/")
    password = read_password(args)
    for name in names:
        raw = unwrap_key_file(os.path.join(key_dir, name), password)
        if raw is not None:
            master = MasterKey(raw)
            return master.encryption_key, master
    fail("wrong password: no key file opens with it")


# ---------------------------------------------------------------------------------------------
# config

KNOWN_VERSIONS = (1, 2)


def read_config(repo):
    config = json.loads(read_file(os.path.join(repo, "config")))
    if config.get("version") not in KNOWN_VERSIONS:
        fail(f"config: format version {config.get('version')!r} is not one this reader knows")
    if config.get("encryption") not in ("aes-256-gcm", "none"):
        fail(f"config: unknown encryption {config.get('encryption')!r}")
    return config


# ---------------------------------------------------------------------------------------------
# Helpers: objects named by the SHA-256 of their bytes, little-endian integers, zstd

def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def check_name(path, raw):
    if hashlib.sha256(raw).hexdigest() != os.path.basename(path):
        fail(f"{path}: content does not match its name (SHA-256)")


class Reader:
    def __init__(self, data, what):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n):
        if self.pos + n > len(self.data):
            fail(f"{self.what}: truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def varint(self):
        """Unsigned LEB128: 7 bits a byte, least significant first, high bit = more."""
        value, shift = 0, 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                fail(f"{self.what}: varint longer than 64 bits at byte {self.pos}")

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def bytes_(self):
        return self.take(self.varint())

    def at_end(self):
        return self.pos == len(self.data)


_zstd = ctypes.CDLL("libzstd.so.1")
_zstd.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
_zstd.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_zstd.ZSTD_decompress.restype = ctypes.c_size_t
_zstd.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
_zstd.ZSTD_isError.restype = ctypes.c_uint
_zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]


def zstd_decompress(frame, what):
    size = _zstd.ZSTD_getFrameContentSize(frame, len(frame))
    if size >= (1 << 64) - 2:
        fail(f"{what}: zstd frame without a readable content size")
    out = ctypes.create_string_buffer(max(size, 1))
    got = _zstd.ZSTD_decompress(out, size, frame, len(frame))
    if _zstd.ZSTD_isError(got) or got != size:
        fail(f"{what}: zstd frame does not decode")
    return out.raw[:size]


# ---------------------------------------------------------------------------------------------
# Packs and Index objects

KIND_DATA, KIND_TREE = 0, 1
COMPRESSION_NONE, COMPRESSION_ZSTD = 0, 1
PACK_LAYOUTS = {b"CPK1": 1, b"CPK2": 2}         # magic -> layout (format version)
INDEX_LAYOUTS = {b"CIX1": 1, b"CIX2": 2}


class Entry:
    __slots__ = ("kind", "compression", "chunk_id", "offset", "stored", "raw", "in_blob", "pack")


def read_entries(r, count, layout):
    entries = []
    for _ in range(count):
        e = Entry()
        e.kind, e.compression = r.u8(), r.u8()
        e.chunk_id, e.offset, e.stored, e.raw = r.take(32), r.u64(), r.u32(), r.u32()
        e.in_blob = r.u32() if layout == 2 else 0
        entries.append(e)
    return entries


def read_index_objects(repo, enc_key):
    """index/<id>: per pack its id, size and entries. Returns {chunk id: Entry}, {pack id: (size, entries)}."""
    chunks, packs = {}, {}
    index_dir = os.path.join(repo, "index")
    for name in sorted(os.listdir(index_dir)):
        path = os.path.join(index_dir, name)
        sealed = read_file(path)
        check_name(path, sealed)
        r = Reader(open_envelope(sealed, enc_key, path), path)
        layout = INDEX_LAYOUTS.get(r.take(4))
        if layout is None:
            fail(f"{path}: not an index object (magic {r.data[:4]!r})")
        for _ in range(r.u32()):
            pack_id, size = r.take(32).hex(), r.u64()
            entries = read_entries(r, r.u32(), layout)
            packs[pack_id] = (size, entries)
            for e in entries:
                e.pack = pack_id
                chunks.setdefault(e.chunk_id, e)
        if not r.at_end():
            fail(f"{path}: {len(r.data) - r.pos} bytes after the last pack")
    return chunks, packs


def pack_path(repo, pack_id):
    return os.path.join(repo, "data", pack_id[:2], pack_id)


def check_pack(repo, pack_id, size, index_entries, enc_key):
    """blob 0 | … | blob n-1 | sealed header | header length (u32 LE); header = index entries."""
    path = pack_path(repo, pack_id)
    data = read_file(path)
    check_name(path, data)
    if len(data) != size:
        fail(f"{path}: {len(data)} bytes, the index says {size}")
    (header_len,) = struct.unpack("<I", data[-4:])
    if header_len + 4 > len(data):
        fail(f"{path}: header length {header_len} is larger than the pack")
    r = Reader(open_envelope(data[-4 - header_len:-4], enc_key, f"{path} header"), f"{path} header")
    layout = PACK_LAYOUTS.get(r.take(4))
    if layout is None:
        fail(f"{path}: header magic {r.data[:4]!r}")
    entries = read_entries(r, r.u32(), layout)
    if not r.at_end():
        fail(f"{path}: bytes after the header entries")
    fields = ("kind", "compression", "chunk_id", "offset", "stored", "raw", "in_blob")
    as_tuples = [tuple(getattr(e, f) for f in fields) for e in entries]
    if as_tuples != [tuple(getattr(e, f) for f in fields) for e in index_entries]:
        fail(f"{path}: the pack header and its index entry disagree")
    for e in entries:
        if e.offset + e.stored > len(data) - 4 - header_len:
            fail(f"{path}: a blob runs into the header")
    return data


class Store:
    """Reads chunks by id, keeping the last decoded frame (the chunks of a file come in order)."""

    def __init__(self, repo, enc_key, master):
        self.repo, self.enc_key, self.master = repo, enc_key, master
        self.chunks, self.packs = read_index_objects(repo, enc_key)
        self.pack_data, self.frame_key, self.frame = {}, None, b""

    def pack(self, pack_id):
        if pack_id not in self.pack_data:
            if len(self.pack_data) > 4:
                self.pack_data.clear()
            size, entries = self.packs[pack_id]
            self.pack_data[pack_id] = check_pack(self.repo, pack_id, size, entries, self.enc_key)
        return self.pack_data[pack_id]

    def chunk(self, chunk_id, kind):
        e = self.chunks.get(chunk_id)
        if e is None:
            fail(f"chunk {chunk_id.hex()} is in no index object")
        if e.kind != kind:
            fail(f"chunk {chunk_id.hex()}: blob kind {e.kind}, expected {kind}")
        what = f"blob at {e.offset} of pack {e.pack}"
        if self.frame_key != (e.pack, e.offset):
            data = self.pack(e.pack)
            plain = open_envelope(data[e.offset:e.offset + e.stored], self.enc_key, what)
            if e.compression == COMPRESSION_ZSTD:
                plain = zstd_decompress(plain, what)
            elif e.compression != COMPRESSION_NONE:
                fail(f"{what}: unknown compression id {e.compression}")
            self.frame_key, self.frame = (e.pack, e.offset), plain
        if e.in_blob + e.raw > len(self.frame):
            fail(f"{what}: chunk {chunk_id.hex()} lies outside its frame")
        out = self.frame[e.in_blob:e.in_blob + e.raw]
        if not hmac.compare_digest(self.master.chunk_id(out), chunk_id):
            fail(f"chunk {chunk_id.hex()}: content does not match its id (HMAC-SHA-256)")
        return out


# ---------------------------------------------------------------------------------------------
# Snapshots

def read_snapshots(repo, enc_key):
    out = []
    snap_dir = os.path.join(repo, "snapshots")
    for name in sorted(os.listdir(snap_dir)):
        path = os.path.join(snap_dir, name)
        sealed = read_file(path)
        check_name(path, sealed)
        snap = json.loads(open_envelope(sealed, enc_key, path))
        if snap.get("version") != 1:
            fail(f"{path}: snapshot version {snap.get('version')!r}")
        out.append((name, snap))
    return sorted(out, key=lambda s: s[1]["time"])


def find_snapshot(snapshots, wanted):
    if wanted == "latest" and snapshots:
        return snapshots[-1]
    matches = [s for s in snapshots if s[0].startswith(wanted)]
    if len(matches) != 1:
        fail(f"snapshot {wanted!r}: {len(matches)} snapshots match")
    return matches[0]


# ---------------------------------------------------------------------------------------------
# The tree stream

FILE, DIRECTORY, SYMLINK, HARDLINK = 1, 2, 3, 4
NODE_MARKER = 0x4E


class Node:
    __slots__ = ("kind", "path", "mode", "uid", "gid", "size", "mtime", "mtime_ns", "target", "chunks")


def read_tree_stream(store, snapshot):
    stream = b"".join(store.chunk(bytes.fromhex(t), KIND_TREE) for t in snapshot["tree"])
    r = Reader(stream, "tree stream")
    while not r.at_end():
        if r.u8() != NODE_MARKER:
            fail(f"tree stream: no node marker at byte {r.pos - 1}")
        n = Node()
        n.kind, n.path = r.u8(), r.bytes_()
        if n.kind not in (FILE, DIRECTORY, SYMLINK, HARDLINK):
            fail(f"tree stream: unknown node kind {n.kind} for {n.path!r}")
        n.mode, n.uid, n.gid, n.size = r.varint(), r.varint(), r.varint(), r.zigzag()
        n.mtime, n.mtime_ns = r.zigzag(), r.varint()
        r.zigzag(), r.varint(), r.varint(), r.varint()          # ctime, inode, device: not restored
        n.target, n.chunks = r.bytes_(), []
        if n.kind == FILE:
            while (count := r.varint()) != 0:
                n.chunks.extend(r.take(32) for _ in range(count))
        yield n


# ---------------------------------------------------------------------------------------------
# Restore

def safe_join(target, rel):
    parts = rel.split(b"/") if rel else []
    if any(p in (b"", b".", b"..") for p in parts) or rel.startswith(b"/"):
        fail(f"tree stream: unsafe path {rel!r}")
    return os.path.join(os.fsencode(target), *parts) if parts else os.fsencode(target)


def set_metadata(path, n, as_root):
    if as_root:
        os.lchown(path, n.uid, n.gid)
    if n.kind != SYMLINK:
        os.chmod(path, n.mode & 0o7777)
    ns = n.mtime * 1_000_000_000 + n.mtime_ns
    os.utime(path, ns=(ns, ns), follow_symlinks=False)


def write_sparse(f, data, block=4096):
    """Writes data, leaving holes for blocks of zeros (the caller truncates to the size at the end)."""
    for start in range(0, len(data), block):
        piece = data[start:start + block]
        if piece.count(0) == len(piece):
            f.seek(len(piece), os.SEEK_CUR)
        else:
            f.write(piece)


def restore(store, snapshot, target):
    as_root = os.geteuid() == 0
    os.makedirs(target, mode=0o700, exist_ok=True)
    directories, files, total = [], 0, 0
    for n in read_tree_stream(store, snapshot):
        path = safe_join(target, n.path)
        if n.kind == DIRECTORY:
            os.makedirs(path, mode=0o700, exist_ok=True)
            directories.append((path, n))
            continue
        if n.kind == SYMLINK:
            os.symlink(n.target, path)
        elif n.kind == HARDLINK:
            os.link(safe_join(target, n.target), path)
            continue                      # the first name carries the metadata
        else:
            written = 0
            with open(path, "wb") as f:
                for chunk_id in n.chunks:
                    data = store.chunk(chunk_id, KIND_DATA)
                    write_sparse(f, data)
                    written += len(data)
                f.truncate(written)
            if written != n.size:
                fail(f"{os.fsdecode(n.path)}: {written} bytes from its chunks, the tree says {n.size}")
            files, total = files + 1, total + written
        set_metadata(path, n, as_root)
    for path, n in reversed(directories):  # children first, so their writes keep the mtimes
        set_metadata(path, n, as_root)
    return files, total


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True, help="local repository directory")
    ap.add_argument("--password-file", help="file whose first line is the password")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list snapshots")
    rp = sub.add_parser("restore", help="restore a snapshot into an empty or new directory")
    rp.add_argument("snapshot", help="snapshot id, unique prefix, or 'latest'")
    rp.add_argument("target")
    args = ap.parse_args()
    try:
        config = read_config(args.repo)
        enc_key, master = unlock(args.repo, config, args)
        snapshots = read_snapshots(args.repo, enc_key)
        if args.command == "list":
            for sid, snap in snapshots:
                print(f"{sid}  {snap['time']}  {' '.join(snap['paths'])}")
            return 0
        sid, snap = find_snapshot(snapshots, args.snapshot)
        if os.path.exists(args.target) and os.listdir(args.target):
            fail(f"{args.target}: not empty")
        files, total = restore(Store(args.repo, enc_key, master), snap, args.target)
        print(f"restored snapshot {sid[:8]}: {files} files, {total} bytes, "
              f"{len(snap['tree'])} tree blobs, into {args.target}")
        return 0
    except FormatError as e:
        print(f"cairn-read: error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as e:
        print(f"cairn-read: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Interop check of the backup-folder building blocks (issue 13, not yet a kcbackup command):
Manifest.db, MBFile records and encrypted file blobs, written and read here from the layout in
shared/design/formats.md ("Backup folder") with Python's sqlite3 and plistlib and Debian's
python3-cryptography, independently of kcbackup's C++ code, against tests/interop/
folder_blocks_tool (the engine's modules).

  cxx-to-python   the tool writes a folder from a spec; this reader opens every file in it
  python-to-cxx   this writer makes a folder (another $objects order); the tool reads it back;
                  a blob with broken padding and a wrong Manifest key are refused

Usage: folder_blocks.py CHECK --tool BIN --work DIR. Exit 0 pass, 1 fail.
"""

import argparse
import hashlib
import json
import os
import plistlib
import shutil
import sqlite3
import struct
import subprocess
import sys

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

SCHEMA = [
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
    "flags INTEGER, file BLOB)",
    "CREATE INDEX FilesDomainIdx ON Files(domain)",
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath)",
    "CREATE INDEX FilesFlagsIdx ON Files(flags)",
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)",
]
FILE, DIRECTORY = 1, 2


class CheckFailed(Exception):
    pass


def file_id(domain, path):
    return hashlib.sha1((domain + "-" + path).encode("utf-8")).hexdigest()


def cbc_encrypt(key, plain):
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return enc.update(padded) + enc.finalize()


def cbc_decrypt(key, blob):
    dec = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    padded = dec.update(blob) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def spec():
    files = [
        ("KeychainDomain", "keychain-backup.plist", FILE, 1, b"bplist00" + bytes(range(200))),
        ("AppDomain-com.example.app", "Documents", DIRECTORY, 0, None),
        ("AppDomain-com.example.app", "Documents/notes \u00fc.txt", FILE, 3, b"hello, folder\n"),
        ("HomeDomain", "Library/empty", FILE, 4, b""),
        ("HomeDomain", "Library/sixteen", FILE, 2, b"0123456789abcdef"),
        ("HomeDomain", "Library/large.sqlite", FILE, 3, os.urandom(100 * 1024 + 3)),
    ]
    out = []
    for domain, path, flags, cls, content in files:
        f = {"domain": domain, "path": path, "flags": flags, "protection_class": cls}
        if content is not None:
            f["content_hex"] = content.hex()
        out.append(f)
    return {"manifest_key": os.urandom(32).hex(), "class_key": os.urandom(32).hex(), "files": out}


# ---- reader ----

def resolve(objects, value, depth=0):
    if depth > 8:
        raise CheckFailed("UID chain too long")
    if isinstance(value, plistlib.UID):
        return None if value.data == 0 else resolve(objects, objects[value.data], depth + 1)
    return value


def unwrap_data(objects, value):
    value = resolve(objects, value)
    if isinstance(value, dict):
        value = resolve(objects, value["NS.data"])
    return value


def read_mbfile(blob):
    archive = plistlib.loads(blob)
    if archive.get("$archiver") != "NSKeyedArchiver" or archive.get("$version") != 100000:
        raise CheckFailed("not an NSKeyedArchiver archive: %r" % archive.get("$archiver"))
    objects = archive["$objects"]
    if objects[0] != "$null":
        raise CheckFailed("$objects[0] is %r" % objects[0])
    root = resolve(objects, archive["$top"]["root"])
    cls = resolve(objects, root["$class"])
    if cls["$classname"] != "MBFile":
        raise CheckFailed("class %r" % cls["$classname"])
    record = {"path": resolve(objects, root["RelativePath"]),
              "protection_class": root["ProtectionClass"], "size": root["Size"]}
    if "EncryptionKey" in root:
        key = unwrap_data(objects, root["EncryptionKey"])
        if len(key) != 44:
            raise CheckFailed("EncryptionKey of %d bytes" % len(key))
        record["key_class"] = struct.unpack("<I", key[:4])[0]
        record["wrapped_key"] = key[4:]
    return record


def read_folder(folder, manifest_key, class_key):
    with open(os.path.join(folder, "Manifest.db"), "rb") as f:
        db = cbc_decrypt(manifest_key, f.read())
    con = sqlite3.connect(":memory:")
    con.deserialize(db)
    schema = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    if schema != SCHEMA:
        raise CheckFailed("schema %r" % schema)
    files = []
    for fid, domain, path, flags, blob in con.execute(
            "SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY rowid"):
        if fid != file_id(domain, path):
            raise CheckFailed("%s-%s: fileID %s" % (domain, path, fid))
        record = read_mbfile(blob)
        if record["path"] != path:
            raise CheckFailed("%s: MBFile path %r" % (fid, record["path"]))
        f = {"domain": domain, "path": path, "flags": flags,
             "protection_class": record["protection_class"]}
        if flags == FILE:
            if record["key_class"] != record["protection_class"]:
                raise CheckFailed("%s: key class %d" % (fid, record["key_class"]))
            file_key = aes_key_unwrap(class_key, record["wrapped_key"])
            with open(os.path.join(folder, fid[:2], fid), "rb") as b:
                content = cbc_decrypt(file_key, b.read())
            if record["size"] != len(content):
                raise CheckFailed("%s: Size %d for %d bytes" % (fid, record["size"], len(content)))
            f["content_hex"] = content.hex()
        files.append(f)
    return {"files": files}


# ---- writer: the same layout with $objects in another order than Apple's ----

def write_mbfile(path, cls, size, mode, wrapped=None):
    root = {"$class": plistlib.UID(1), "RelativePath": plistlib.UID(3), "Size": size,
            "Mode": mode, "UserID": 501, "GroupID": 501, "InodeNumber": 7, "Flags": 0,
            "Birth": 1700000000, "LastModified": 1700000001, "LastStatusChange": 1700000002,
            "ProtectionClass": cls, "SomeFutureField": "ignored by readers"}
    objects = ["$null", {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]},
               {"$classname": "NSMutableData", "$classes": ["NSMutableData", "NSData", "NSObject"]},
               path]
    if wrapped is not None:
        objects.append({"NS.data": struct.pack("<I", cls) + wrapped, "$class": plistlib.UID(2)})
        root["EncryptionKey"] = plistlib.UID(len(objects) - 1)
    objects.append(root)
    archive = {"$archiver": "NSKeyedArchiver", "$version": 100000,
               "$top": {"root": plistlib.UID(len(objects) - 1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def write_folder(folder, s):
    manifest_key = bytes.fromhex(s["manifest_key"])
    class_key = bytes.fromhex(s["class_key"])
    con = sqlite3.connect(":memory:")
    for sql in SCHEMA:
        con.execute(sql)
    for f in s["files"]:
        fid = file_id(f["domain"], f["path"])
        if f["flags"] == FILE:
            content = bytes.fromhex(f["content_hex"])
            file_key = os.urandom(32)
            os.makedirs(os.path.join(folder, fid[:2]), exist_ok=True)
            with open(os.path.join(folder, fid[:2], fid), "wb") as b:
                b.write(cbc_encrypt(file_key, content))
            record = write_mbfile(f["path"], f["protection_class"], len(content), 0o100644,
                                  aes_key_wrap(class_key, file_key))
        else:
            record = write_mbfile(f["path"], 0, 0, 0o40755)
        con.execute("INSERT INTO Files VALUES (?,?,?,?,?)",
                    (fid, f["domain"], f["path"], f["flags"], record))
    con.commit()
    with open(os.path.join(folder, "Manifest.db"), "wb") as out:
        out.write(cbc_encrypt(manifest_key, con.serialize()))


# ---- checks ----

def fresh(work, name):
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def save_spec(work, s):
    path = os.path.join(work, "spec.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def tool(args, *argv, ok=True):
    run = subprocess.run([args.tool, *argv], capture_output=True, text=True, timeout=60)
    if ok and run.returncode != 0:
        raise CheckFailed("%s: exit %d: %s" % (" ".join(argv), run.returncode, run.stderr))
    return run


def expect_same(got, s):
    if got["files"] != s["files"]:
        for a, b in zip(got["files"], s["files"]):
            if a != b:
                raise CheckFailed("read %r\n  expected %r" % (
                    {k: v for k, v in a.items() if k != "content_hex"},
                    {k: v for k, v in b.items() if k != "content_hex"}))
        raise CheckFailed("read %d files, expected %d" % (len(got["files"]), len(s["files"])))


def check_cxx_to_python(args):
    s = spec()
    folder = fresh(args.work, "folder")
    tool(args, "write", save_spec(args.work, s), folder)
    expect_same(read_folder(folder, bytes.fromhex(s["manifest_key"]),
                            bytes.fromhex(s["class_key"])), s)


def check_python_to_cxx(args):
    s = spec()
    folder = fresh(args.work, "folder")
    write_folder(folder, s)
    spec_path = save_spec(args.work, s)
    expect_same(json.loads(tool(args, "read", spec_path, folder).stdout), s)
    # A wrong Manifest key: refused (bad padding or not SQLite), exit 2, never a crash.
    wrong = dict(s, manifest_key=os.urandom(32).hex())
    run = tool(args, "read", save_spec(args.work, wrong), folder, ok=False)
    if run.returncode != 2 or "Manifest.db" not in run.stderr:
        raise CheckFailed("wrong manifest key: exit %d: %s" % (run.returncode, run.stderr))
    # A blob whose last block is replaced: the padding check names the file.
    fid = file_id("HomeDomain", "Library/sixteen")
    path = os.path.join(folder, fid[:2], fid)
    with open(path, "rb") as f:
        blob = bytearray(f.read())
    blob[-16:] = bytes(16)
    with open(path, "wb") as f:
        f.write(blob)
    run = tool(args, "read", save_spec(args.work, s), folder, ok=False)
    if run.returncode != 2 or fid not in run.stderr:
        raise CheckFailed("tampered blob: exit %d: %s" % (run.returncode, run.stderr))


CHECKS = {"cxx-to-python": check_cxx_to_python, "python-to-cxx": check_python_to_cxx}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("check", choices=sorted(CHECKS))
    p.add_argument("--tool", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    try:
        CHECKS[args.check](args)
    except CheckFailed as e:
        print("FAIL %s: %s" % (args.check, e))
        return 1
    print("ok %s" % args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""An independent reader and writer of the real iOS backup folder (Finder / iTunes /
idevicebackup2 layout, iOS 10.2 and later), written from shared/design/formats.md ("Backup
folder" and the keybag / item blob sections), never from kcbackup's C++ code.

It reuses reference.py (this directory) for what that file already implements independently:
RFC 3394, the two-step password KDF, key 0x835, the v3 item blob with AES-GCM under an empty IV,
and the DER attribute dictionary. Everything about the folder itself is here: the VERS 5 backup
keybag with classes 1-11, Manifest.plist and its ManifestKey, Manifest.db (AES-256-CBC, zero IV,
PKCS#7 under the ManifestKey), the NSKeyedArchiver MBFile records, the per-file keys, the blobs
at XX/<fileID>, Info.plist, Status.plist and the keychain at 51/51a4616e...

  ios_folder.py write OUT --spec SPEC.json (--password P | --unencrypted)
                (--uid-hex HEX | --device DEV) [--iter N --dpic N] [--r14] [--apple-order]
                [--no-wal] [--keys-out FILE]
  ios_folder.py read DIR [--password P | --password-file F] [--uid-hex HEX | --device DEV]

SPEC.json: {"items": [reference.py's items], "files": [{"domain", "path", "text" | "content_hex",
"protection_class", "flags"}], "udid": "...", "keychain_protection_class": 1}.

The writer deliberately orders things differently from an Apple writer wherever the spec leaves
the order open (keybag header records, the records inside a class group, Manifest.db rows,
$objects with forward references, plist dictionary keys), and writes Manifest.db with the WAL
bytes a real Mac leaves in its header, so that a reader that only copes with its own writer's
output fails here.

Exit codes (kcbackup's convention): 0 ok, 2 invalid input, 3 authentication failed.
"""

import argparse
import datetime
import hashlib
import json
import os
import plistlib
import sqlite3
import struct
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402  (an independent keybag / blob / DER implementation)

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

FormatError, AuthError = ref.FormatError, ref.AuthError
EXIT_OK, EXIT_INPUT, EXIT_AUTH = 0, 2, 3

KEYCHAIN_DOMAIN, KEYCHAIN_PATH = "KeychainDomain", "keychain-backup.plist"
FILE, DIRECTORY, SYMLINK = 1, 2, 4
ITEM_CLASSES = ("genp", "inet", "cert", "keys")
# Our own pdmn -> class table for the classes a backup carries (akpu, class 12, never leaves the
# device: R1), kept separate from kcbackup's on purpose.
PDMN_CLASS = {"ak": 6, "ck": 7, "dk": 8, "aku": 9, "cku": 10, "dku": 11}
# formats.md, "Keybag of a real backup": WRAP per class.
WRAP_ENCRYPTED = {1: 2, 2: 2, 3: 2, 4: 2, 5: 3, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3}
WRAP_UNENCRYPTED = {1: 2, 2: 2, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 3, 11: 3}
MANIFEST_KEY_CLASS = 4  # the class real backups wrap the Manifest.db key under

SCHEMA = [
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
    "flags INTEGER, file BLOB)",
    "CREATE INDEX FilesDomainIdx ON Files(domain)",
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath)",
    "CREATE INDEX FilesFlagsIdx ON Files(flags)",
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)",
]

MAX_PLIST = 1 << 20            # Info/Manifest/Status.plist
MAX_MANIFEST_DB = 1 << 30
MAX_BLOB = 256 << 20
MAX_OBJECTS = 4096             # NSKeyedArchiver $objects of one MBFile
SHOW_CONTENT = 4096            # files up to this size are printed in full (hex)


def file_id(domain, path):
    return hashlib.sha1((domain + "-" + path).encode("utf-8")).hexdigest()


def uuid_text(raw16):
    return str(uuidlib.UUID(bytes=bytes(raw16)))


# ---------------------------------------------------------------------------------------------
# AES-256-CBC, zero IV, PKCS#7 (always padded): Manifest.db and every file blob.


def cbc_seal(key, plain):
    pad = 16 - len(plain) % 16
    padded = plain + bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return enc.update(padded) + enc.finalize()


def cbc_open(key, blob, what):
    if not blob or len(blob) % 16:
        raise FormatError("%s: %d bytes, not a positive multiple of 16" % (what, len(blob)))
    dec = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    padded = dec.update(blob) + dec.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
        raise FormatError("%s: bad PKCS#7 padding (last byte 0x%02x)" % (what, pad))
    return padded[:-pad]


def cbc_seal_bad_padding(key, plain):
    """What a damaged writer leaves: the pad bytes are zeros, so the last byte (0) is no pad
    length. For the refusal checks; deterministic, unlike flipping ciphertext bits."""
    padded = plain + bytes(16 - len(plain) % 16)
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return enc.update(padded) + enc.finalize()


def read_bytes(path, cap, what):
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise FormatError("%s: missing (%s)" % (what, path))
    if size > cap:
        raise FormatError("%s: %d bytes, over the cap of %d" % (what, size, cap))
    with open(path, "rb") as f:
        return f.read(cap + 1)


def load_plist(data, what):
    try:
        value = plistlib.loads(data)
    except Exception as e:  # plistlib raises several types on malformed input
        raise FormatError("%s: not a property list: %s" % (what, e))
    if not isinstance(value, dict):
        raise FormatError("%s: top level is %s, expected a dictionary"
                          % (what, type(value).__name__))
    return value


def field(d, key, kind, what, required=True):
    """d[key] checked to be of `kind` (bool, int, bytes, str, dict; a bool is not an int)."""
    if key not in d:
        if required:
            raise FormatError("%s: no %s" % (what, key))
        return None
    value = d[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError("%s: %s is %s, expected %s" % (what, key, type(value).__name__,
                                                         kind.__name__))
    return value


# ---------------------------------------------------------------------------------------------
# Backup keybag: VERS 5, TYPE 1, classes 1-11, each group exactly UUID CLAS WRAP KTYP WPKY.


def tlv(tag, value):
    if isinstance(value, int):
        value = struct.pack(">I", value)
    return tag.encode("ascii") + struct.pack(">I", len(value)) + value


def write_backup_keybag(password, device_key, encrypted, iterations, dp_iterations, apple_order):
    """(bag bytes, bag UUID, {class: key}, {class: wrap})."""
    wraps = WRAP_ENCRYPTED if encrypted else WRAP_UNENCRYPTED
    salt, dp_salt, bag_uuid = os.urandom(20), os.urandom(20), os.urandom(16)
    if encrypted:
        password_key = ref.derive_password_key(password, salt, iterations, dp_salt, dp_iterations)
    else:  # formats.md: the empty password, PBKDF2-SHA1 only, no DPWT/DPIC/DPSL
        password_key = ref.derive_password_key(b"", salt, iterations)
    hmck = ref.key_wrap(password_key, os.urandom(32))
    dp = [tlv("DPWT", 1), tlv("DPIC", dp_iterations), tlv("DPSL", dp_salt)] if encrypted else []
    if apple_order:
        head = [tlv("VERS", 5), tlv("TYPE", 1), tlv("UUID", bag_uuid), tlv("HMCK", hmck),
                tlv("WRAP", 3), tlv("SALT", salt), tlv("ITER", iterations)] + dp
    else:
        # Any order the spec allows: the header is everything before the second UUID.
        head = [tlv("VERS", 5)] + dp + [tlv("SALT", salt), tlv("ITER", iterations),
                                        tlv("TYPE", 1), tlv("UUID", bag_uuid), tlv("WRAP", 3),
                                        tlv("HMCK", hmck)]
    out, keys = head, {}
    for number in sorted(wraps) if apple_order else sorted(wraps, reverse=True):
        key, wrap = os.urandom(32), wraps[number]
        keys[number] = key
        wpky = ref.wrap_class_key(key, wrap, password_key, device_key)
        group = {"UUID": os.urandom(16), "CLAS": number, "WRAP": wrap, "KTYP": 0, "WPKY": wpky}
        # A group starts with its UUID; the rest in Apple's order or another one.
        order = ("CLAS", "WRAP", "KTYP", "WPKY") if apple_order else ("KTYP", "WPKY", "WRAP",
                                                                      "CLAS")
        out += [tlv("UUID", group["UUID"])] + [tlv(t, group[t]) for t in order]
    return b"".join(out), bag_uuid, keys, dict(wraps)


def unlock_backup_keybag(bag, password, password_key, device_key):
    """{class: key or None (locked: needs the device key)}, the password key used."""
    h = bag["header"]
    if password_key is None and any(c["WRAP"] & 2 for c in bag["classes"]):
        dp = "DPSL" in h and "DPIC" in h
        password_key = ref.derive_password_key(password, h["SALT"], h["ITER"],
                                               h["DPSL"] if dp else None, h.get("DPIC"))
    keys, seen = {}, set()
    for c in bag["classes"]:
        number, wrap, wpky = c["CLAS"], c["WRAP"], c["WPKY"]
        if number in seen:
            raise FormatError("keybag: class %d twice" % number)
        seen.add(number)
        if wrap not in (1, 2, 3):
            raise FormatError("keybag: class %d: WRAP %d" % (number, wrap))
        if len(wpky) != (40 if wrap & 2 else 32):
            raise FormatError("keybag: class %d: WPKY of %d bytes for WRAP %d"
                              % (number, len(wpky), wrap))
        key = wpky
        if wrap & 2:
            key = ref.key_unwrap(password_key, key)
            if key is None:
                raise AuthError("keybag: class %d does not unwrap: wrong password" % number)
        if wrap & 1:
            key = None if device_key is None else ref.aes_cbc_zero_iv(device_key, key, False)
        keys[number] = key
    return keys, password_key


# ---------------------------------------------------------------------------------------------
# MBFile: an NSKeyedArchiver binary plist.


class Archive:
    """$objects with bounded, cycle-free UID resolution."""

    def __init__(self, blob, what):
        self.what = what
        top = load_plist(blob, what)
        if top.get("$archiver") != "NSKeyedArchiver":
            raise FormatError("%s: $archiver is %r" % (what, top.get("$archiver")))
        if top.get("$version") != 100000:
            raise FormatError("%s: $version %r" % (what, top.get("$version")))
        self.objects = top.get("$objects")
        if not isinstance(self.objects, list) or not 1 <= len(self.objects) <= MAX_OBJECTS:
            raise FormatError("%s: $objects is not a list of 1..%d" % (what, MAX_OBJECTS))
        roots = top.get("$top")
        if not isinstance(roots, dict) or not isinstance(roots.get("root"), plistlib.UID):
            raise FormatError("%s: $top has no root UID" % what)
        self.root = self.deref(roots["root"], "root")

    def deref(self, value, name, seen=()):
        while isinstance(value, plistlib.UID):
            index = value.data
            if index >= len(self.objects):
                raise FormatError("%s: %s: UID %d past $objects (%d)"
                                  % (self.what, name, index, len(self.objects)))
            if index in seen:
                raise FormatError("%s: %s: UID cycle through %d" % (self.what, name, index))
            seen = seen + (index,)
            value = self.objects[index]
        return value

    def string(self, d, name, required=True):
        value = self.deref(d.get(name), name) if name in d else None
        if isinstance(value, dict) and "NS.string" in value:
            value = self.deref(value["NS.string"], name)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise FormatError("%s: %s: expected a string, found %s"
                              % (self.what, name, type(value).__name__))
        return value

    def data(self, d, name):
        if name not in d:
            return None
        value = self.deref(d[name], name)
        if isinstance(value, dict) and "NS.data" in value:
            value = self.deref(value["NS.data"], name)
        if not isinstance(value, bytes):
            raise FormatError("%s: %s: expected data, found %s"
                              % (self.what, name, type(value).__name__))
        return value

    def integer(self, d, name):
        value = self.deref(d.get(name, 0), name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise FormatError("%s: %s: expected an integer, found %s"
                              % (self.what, name, type(value).__name__))
        return value


def decode_mbfile(blob, what):
    a = Archive(blob, what)
    root = a.root
    if not isinstance(root, dict):
        raise FormatError("%s: root is not a dictionary" % what)
    cls = a.deref(root.get("$class"), "$class")
    if not isinstance(cls, dict) or cls.get("$classname") != "MBFile":
        raise FormatError("%s: root class is %r, expected MBFile"
                          % (what, cls.get("$classname") if isinstance(cls, dict) else cls))
    record = {"path": a.string(root, "RelativePath"),
              "size": a.integer(root, "Size"), "mode": a.integer(root, "Mode"),
              "protection_class": a.integer(root, "ProtectionClass"),
              "target": a.string(root, "Target", required=False)}
    key = a.data(root, "EncryptionKey")
    if key is not None:
        if len(key) != 44:
            raise FormatError("%s: EncryptionKey of %d bytes, expected 44" % (what, len(key)))
        record["key_class"] = struct.unpack("<I", key[:4])[0]
        record["wrapped_key"] = key[4:]
    return record


def encode_mbfile(path, protection_class, size, mode, inode, wrapped=None, digest=None,
                  target=None):
    """$objects in an order of our own: the key data before the classes, forward UIDs, the root
    last; extra fields a reader must ignore."""
    now = int(datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc).timestamp())
    objects = ["$null"]

    def add(obj):
        objects.append(obj)
        return plistlib.UID(len(objects) - 1)

    key_uid = None
    if wrapped is not None:
        # NS.data and a $class that points forward, at an object not yet written.
        key_obj = {"NS.data": struct.pack("<I", protection_class) + wrapped}
        key_uid = add(key_obj)
    mbfile_class = add({"$classes": ["MBFile", "NSObject"], "$classname": "MBFile"})
    path_uid = add(path)
    if key_uid is not None:
        key_obj["$class"] = add({"$classes": ["NSMutableData", "NSData", "NSObject"],
                                 "$classname": "NSMutableData"})
    root = {"ProtectionClass": protection_class, "Size": size, "Mode": mode,
            "LastStatusChange": now + 2, "LastModified": now + 1, "Birth": now,
            "InodeNumber": inode, "GroupID": 501, "UserID": 501, "Flags": 0,
            "RelativePath": path_uid, "$class": mbfile_class}
    if key_uid is not None:
        root["EncryptionKey"] = key_uid
    if digest is not None:
        root["Digest"] = add(digest)
    if target is not None:
        root["Target"] = add(target)
    root["ExtendedAttributes"] = add(plistlib.dumps({"com.apple.interop": b"\x01"},
                                                    fmt=plistlib.FMT_BINARY))
    top = add(root)
    archive = {"$version": 100000, "$objects": objects, "$top": {"root": top},
               "$archiver": "NSKeyedArchiver"}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Manifest.db


def open_manifest_db(image):
    if not image.startswith(b"SQLite format 3\x00"):
        raise FormatError("Manifest.db: not an SQLite database (wrong key, or not decrypted)")
    image = bytearray(image)
    if image[18:20] == b"\x02\x02":
        image[18:20] = b"\x01\x01"  # a real Mac's file is in WAL mode; memory can't open WAL
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA trusted_schema = OFF")
    try:
        con.deserialize(bytes(image))
        rows = con.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as e:
        raise FormatError("Manifest.db: %s" % e)
    allowed = {("table", "Files"), ("table", "Properties"), ("index", "FilesDomainIdx"),
               ("index", "FilesRelativePathIdx"), ("index", "FilesFlagsIdx"),
               ("index", "sqlite_autoindex_Files_1"), ("index", "sqlite_autoindex_Properties_1")}
    for kind, name, _ in rows:
        if (kind, name) not in allowed:
            raise FormatError("Manifest.db: unexpected %s %r in the schema" % (kind, name))
    columns = [r[1] for r in con.execute("PRAGMA table_info(Files)")]
    if columns != ["fileID", "domain", "relativePath", "flags", "file"]:
        raise FormatError("Manifest.db: Files has columns %s" % columns)
    return con


def write_manifest_db(rows, wal):
    con = sqlite3.connect(":memory:")
    for sql in SCHEMA:
        con.execute(sql)
    # Rows in descending fileID order: neither Apple's insertion order nor a sorted one.
    for row in sorted(rows, key=lambda r: r[0], reverse=True):
        con.execute("INSERT INTO Files (fileID, domain, relativePath, flags, file) "
                    "VALUES (?, ?, ?, ?, ?)", row)
    con.execute("INSERT INTO Properties VALUES (?, ?)", ("WrittenBy", b"ios_folder.py interop"))
    con.commit()
    image = bytearray(con.serialize())
    if wal:
        image[18:20] = b"\x02\x02"
    return bytes(image)


# ---------------------------------------------------------------------------------------------
# Reader


def read_folder(folder, password=b"", password_key=None, device_key=None):
    """Everything the folder holds, as JSON-ready data. FormatError / AuthError on refusal."""
    if not os.path.exists(os.path.join(folder, "Manifest.db")) and \
            os.path.exists(os.path.join(folder, "Manifest.mbdb")):
        raise FormatError("Manifest.mbdb: iOS 9 and earlier backups are not supported")
    manifest = load_plist(read_bytes(os.path.join(folder, "Manifest.plist"), MAX_PLIST,
                                     "Manifest.plist"), "Manifest.plist")
    status = load_plist(read_bytes(os.path.join(folder, "Status.plist"), MAX_PLIST,
                                   "Status.plist"), "Status.plist")
    if status.get("SnapshotState") != "finished":
        raise FormatError("Status.plist: SnapshotState %r: the backup did not finish"
                          % status.get("SnapshotState"))
    info = None
    if os.path.exists(os.path.join(folder, "Info.plist")):
        info = load_plist(read_bytes(os.path.join(folder, "Info.plist"), MAX_PLIST,
                                     "Info.plist"), "Info.plist")
    encrypted = field(manifest, "IsEncrypted", bool, "Manifest.plist", required=False) or False
    lockdown = field(manifest, "Lockdown", dict, "Manifest.plist", required=False) or {}
    bag = ref.parse_keybag(field(manifest, "BackupKeyBag", bytes, "Manifest.plist"))
    header = bag["header"]
    if header["TYPE"] & 0x3FFFFFFF != 1:
        raise FormatError("BackupKeyBag: TYPE %d, expected 1 (backup)" % header["TYPE"])
    if encrypted and not password and password_key is None:
        raise AuthError("the backup is encrypted: a password is needed")
    keys, used_key = unlock_backup_keybag(bag, password if encrypted else b"", password_key,
                                          device_key)
    bag_uuid = uuid_text(header["UUID"])

    db_path = os.path.join(folder, "Manifest.db")
    db = read_bytes(db_path, MAX_MANIFEST_DB, "Manifest.db")
    if encrypted:
        mk = field(manifest, "ManifestKey", bytes, "Manifest.plist")
        if len(mk) != 44:
            raise FormatError("Manifest.plist: ManifestKey of %d bytes, expected 44" % len(mk))
        mk_class = struct.unpack("<I", mk[:4])[0]
        if keys.get(mk_class) is None:
            raise FormatError("ManifestKey: class %d is not open" % mk_class)
        db_key = ref.key_unwrap(keys[mk_class], mk[4:])
        if db_key is None:
            raise FormatError("ManifestKey: does not unwrap under class %d" % mk_class)
        db = cbc_open(db_key, db, "Manifest.db")
    con = open_manifest_db(db)

    files, keychain_plain = [], None
    try:
        rows = con.execute("SELECT fileID, domain, relativePath, flags, file FROM Files "
                           "ORDER BY domain, relativePath").fetchall()
    except sqlite3.DatabaseError as e:
        raise FormatError("Manifest.db: Files: %s" % e)
    for fid, domain, path, flags, blob in rows:
        what = "Manifest.db: fileID %s" % fid
        if not (isinstance(fid, str) and isinstance(domain, str) and isinstance(path, str)
                and isinstance(flags, int) and isinstance(blob, bytes)):
            raise FormatError("%s: a column of the wrong type" % what)
        if fid != file_id(domain, path):
            raise FormatError("%s: not SHA-1(%s-%s)" % (what, domain, path))
        if flags not in (FILE, DIRECTORY, SYMLINK):
            raise FormatError("%s: flags %d" % (what, flags))
        record = decode_mbfile(blob, "MBFile %s" % fid)
        if record["path"] != path:
            raise FormatError("MBFile %s: RelativePath %r, row says %r"
                              % (fid, record["path"], path))
        entry = {"file_id": fid, "domain": domain, "path": path, "flags": flags,
                 "protection_class": record["protection_class"], "recorded_size": record["size"]}
        if flags == FILE:
            blob_name = os.path.join(fid[:2], fid)
            content = read_bytes(os.path.join(folder, blob_name), MAX_BLOB,
                                 "blob %s (%s-%s)" % (blob_name, domain, path))
            if encrypted:
                if "wrapped_key" not in record:
                    raise FormatError("MBFile %s: no EncryptionKey in an encrypted backup" % fid)
                key_class = record["key_class"]
                class_key = keys.get(key_class)
                if key_class not in keys:
                    raise FormatError("MBFile %s: EncryptionKey class %d not in the keybag"
                                      % (fid, key_class))
                if class_key is None:
                    entry.update(opened=False, reason="class %d needs the source device"
                                 % key_class)
                    files.append(entry)
                    continue
                file_key = ref.key_unwrap(class_key, record["wrapped_key"])
                if file_key is None:
                    entry.update(opened=False, reason="file key does not unwrap (class %d)"
                                 % key_class)
                    files.append(entry)
                    continue
                content = cbc_open(file_key, content, "blob %s" % blob_name)
            entry.update(opened=True, size=len(content),
                         sha256=hashlib.sha256(content).hexdigest())
            if len(content) <= SHOW_CONTENT and domain != KEYCHAIN_DOMAIN:
                entry["content_hex"] = content.hex()
            if (domain, path) == (KEYCHAIN_DOMAIN, KEYCHAIN_PATH):
                keychain_plain = content
        files.append(entry)

    out = {"schema": "ios_folder.read.v1",
           "manifest": {"encrypted": encrypted,
                        "unique_device_id": lockdown.get("UniqueDeviceID"),
                        "product_version": lockdown.get("ProductVersion"),
                        "version": manifest.get("Version"), "journey": manifest.get("Journey")},
           "info": {"target_identifier": info.get("Target Identifier")} if info else None,
           "status": {"snapshot_state": status.get("SnapshotState"),
                      "is_full_backup": status.get("IsFullBackup")},
           "keybag": {"uuid": bag_uuid, "version": header["VERS"], "iterations": header["ITER"],
                      "dp_iterations": header.get("DPIC"),
                      "classes": [{"class": c["CLAS"], "wrap": c["WRAP"],
                                   "unlocked": keys[c["CLAS"]] is not None,
                                   "records": [t for t in c if t != "UUID"]}
                                  for c in bag["classes"]]},
           "password_key_hex": used_key.hex() if used_key else None,
           "files": files, "items": [], "warnings": []}
    if keychain_plain is None:
        raise FormatError("Manifest.db lists no %s/%s (or its class is locked)"
                          % (KEYCHAIN_DOMAIN, KEYCHAIN_PATH))
    read_keychain(keychain_plain, bag_uuid, keys, out)
    return out


def read_keychain(plain, bag_uuid, keys, out):
    archive = load_plist(plain, "keychain-backup.plist")
    kb = archive.get("keybag-uuid")
    out["keychain"] = {"keybag_uuid": kb, "classes": sorted(k for k in archive
                                                            if k in ITEM_CLASSES)}
    if kb is not None:
        if not isinstance(kb, str) or kb.lower() != bag_uuid.lower():
            raise FormatError("keychain-backup.plist: keybag-uuid %r is not the keybag's %s"
                              % (kb, bag_uuid))
    for name in archive:
        if name == "identity":
            raise FormatError("keychain-backup.plist: an identity class")
        if name not in ITEM_CLASSES and name != "keybag-uuid":
            out["warnings"].append("unknown top-level key %r ignored" % name)
    for item_class in ITEM_CLASSES:
        entries = archive.get(item_class, [])
        if isinstance(entries, dict):
            entries = [entries]  # R14: a dictionary stands for one item
        if not isinstance(entries, list):
            out["warnings"].append("%s is neither an array nor a dictionary" % item_class)
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("v_Data"), bytes):
                raise FormatError("keychain-backup.plist: %s[%d] has no v_Data" % (item_class,
                                                                                  index))
            pref = entry.get("v_PersistentRef", b"")
            fate = {"class": item_class, "index": index,
                    "persistent_ref_hex": pref.hex() if isinstance(pref, bytes) else None}
            try:
                parsed = ref.parse_blob(entry["v_Data"])
            except FormatError as e:
                fate.update(outcome="lost", reason="corrupt: %s" % e)
                out["items"].append(fate)
                continue
            fate.update(key_class=parsed["key_class"], keyclass_field=parsed["keyclass_field"])
            key = keys.get(parsed["key_class"])
            if key is None:
                reason = ("class %d locked: needs the source device's key 0x835"
                          % parsed["key_class"] if parsed["key_class"] in keys
                          else "class %d not in the keybag" % parsed["key_class"])
                fate.update(outcome="lost", reason=reason)
            else:
                plaintext, reason = ref.open_blob(parsed, key)
                if plaintext is None:
                    fate.update(outcome="lost", reason=reason)
                else:
                    attrs = ref.der_decode(plaintext)
                    secret = attrs.pop("v_Data", b"")
                    fate.update(outcome="opened", accessible=attrs.get("pdmn"),
                                account=text_of(attrs.get("acct")),
                                service=text_of(attrs.get("svce")),
                                access_group=attrs.get("agrp", ""), secret_hex=secret.hex(),
                                attributes=ref.value_to_json(attrs),
                                der_canonical=ref.der_encode(dict(attrs, v_Data=secret))
                                == plaintext)
            out["items"].append(fate)


def text_of(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + value.hex()
    return value if value is not None else ""


# ---------------------------------------------------------------------------------------------
# Writer


def write_folder(out, spec, password, device_key, encrypted=True, iterations=ref.REAL_ITER,
                 dp_iterations=ref.REAL_DPIC, r14=False, apple_order=False, wal=True):
    if os.path.exists(out) and os.listdir(out):
        raise FormatError("%s: not empty" % out)
    os.makedirs(out, exist_ok=True)
    bag, bag_uuid, keys, wraps = write_backup_keybag(password, device_key, encrypted, iterations,
                                                     dp_iterations, apple_order)
    udid = spec.get("udid") or hashlib.sha1(b"ios_folder.py").hexdigest()

    # The keychain: v3 blobs under classes 6-11.
    by_class = {}
    for n, item in enumerate(spec.get("items", [])):
        attrs = ref._item_plaintext(item)
        if attrs.get("pdmn") not in PDMN_CLASS:
            raise FormatError("item %d: pdmn %r does not go into a backup" % (n, attrs.get("pdmn")))
        number = PDMN_CLASS[attrs["pdmn"]]
        item_class = item.get("class", "genp")
        entries = by_class.setdefault(item_class, [])
        # Old-style (class + 8-byte rowid) and UUID-style (class + 16 bytes) references, mixed.
        if len(entries) % 2:
            pref = item_class.encode() + uuidlib.uuid4().bytes
        else:
            pref = item_class.encode() + struct.pack(">Q", 100 + len(entries))
        blob = ref.seal_blob(number | (item.get("keyclass_flags", 0) << 4), keys[number],
                             ref.der_encode(attrs))
        entries.append({"v_PersistentRef": pref, "v_Data": blob})
    if r14 and "inet" in by_class:
        raise FormatError("--r14: the old archive has no inet array; give no inet items")
    archive = {}
    for item_class in ("keys", "genp", "cert", "inet"):  # a class with no items is omitted
        if item_class in by_class:
            archive[item_class] = by_class[item_class]
    if not r14:
        archive["keybag-uuid"] = uuid_text(bag_uuid)  # lower case, as Apple writes it
    keychain = plistlib.dumps(archive, fmt=plistlib.FMT_BINARY, sort_keys=False)

    files = [{"domain": KEYCHAIN_DOMAIN, "path": KEYCHAIN_PATH, "flags": FILE,
              "protection_class": spec.get("keychain_protection_class", 1),
              "content": keychain}]
    for f in spec.get("files", []):
        content = None
        if f.get("flags", FILE) == FILE:
            content = (bytes.fromhex(f["content_hex"]) if "content_hex" in f
                       else f.get("text", "").encode("utf-8"))
        files.append({"domain": f["domain"], "path": f["path"], "flags": f.get("flags", FILE),
                      "protection_class": f.get("protection_class",
                                                3 if f.get("flags", FILE) == FILE else 0),
                      "content": content,
                      "target": f.get("target")})
    rows, written, file_keys = [], [], {}
    for inode, f in enumerate(files, start=1000):
        fid = file_id(f["domain"], f["path"])
        wrapped = None
        if f["flags"] == FILE:
            content = f["content"]
            if encrypted:
                file_key = os.urandom(32)
                file_keys[fid] = file_key.hex()
                wrapped = ref.key_wrap(keys[f["protection_class"]], file_key)
                blob = cbc_seal(file_key, content)
            else:
                blob = content
            os.makedirs(os.path.join(out, fid[:2]), exist_ok=True)
            with open(os.path.join(out, fid[:2], fid), "wb") as b:
                b.write(blob)
            record = encode_mbfile(f["path"], f["protection_class"], len(content), 0o100644,
                                   inode, wrapped, hashlib.sha1(content).digest() if inode % 2
                                   else None)
        elif f["flags"] == DIRECTORY:
            record = encode_mbfile(f["path"], f["protection_class"], 0, 0o40755, inode)
        else:
            record = encode_mbfile(f["path"], f["protection_class"], 0, 0o120755, inode,
                                   target=f["target"])
        rows.append((fid, f["domain"], f["path"], f["flags"], record))
        written.append({"file_id": fid, "domain": f["domain"], "path": f["path"],
                        "flags": f["flags"], "protection_class": f["protection_class"],
                        "sha256": hashlib.sha256(f["content"]).hexdigest()
                        if f["content"] is not None else None})

    now = datetime.datetime(2026, 12, 2, 15, 0, 0)  # plistlib takes naive UTC datetimes
    lockdown = {"SerialNumber": "F2LINTEROP13", "DeviceName": "Interop phone",
                "ProductType": "iPhone15,2", "BuildVersion": "21F90", "ProductVersion": "17.5.1",
                "UniqueDeviceID": udid}
    info = {"Unique Identifier": udid.upper(), "Target Type": "Device", "Target Identifier": udid,
            "Serial Number": lockdown["SerialNumber"], "Product Version": "17.5.1",
            "Product Type": "iPhone15,2", "Last Backup Date": now, "GUID": uuidlib.uuid4().hex,
            "Display Name": "Interop phone", "Device Name": "Interop phone",
            "Build Version": "21F90", "Installed Applications": ["com.example.app"]}
    with open(os.path.join(out, "Info.plist"), "wb") as f:
        plistlib.dump(info, f, fmt=plistlib.FMT_XML, sort_keys=False)
    db = write_manifest_db(rows, wal)
    manifest = {"Applications": {"com.example.app": {"CFBundleIdentifier": "com.example.app"}},
                "WasPasscodeSet": True, "Date": now, "Version": "10.0",
                "SystemDomainsVersion": "24.0", "Lockdown": lockdown, "IsEncrypted": encrypted,
                "BackupKeyBag": bag}
    keys_out = {"class_keys": {str(n): k.hex() for n, k in keys.items()}, "wraps": wraps,
                "file_keys": file_keys}
    if encrypted:
        db_key = os.urandom(32)
        manifest["ManifestKey"] = struct.pack("<I", MANIFEST_KEY_CLASS) + \
            ref.key_wrap(keys[MANIFEST_KEY_CLASS], db_key)
        db = cbc_seal(db_key, db)
        keys_out["manifest_key"] = db_key.hex()
    with open(os.path.join(out, "Manifest.db"), "wb") as f:
        f.write(db)
    with open(os.path.join(out, "Manifest.plist"), "wb") as f:
        plistlib.dump(manifest, f, fmt=plistlib.FMT_BINARY, sort_keys=False)
    status = {"Version": "3.3", "UUID": str(uuidlib.uuid4()).upper(), "SnapshotState": "finished",
              "IsFullBackup": False, "Date": now, "BackupState": "new"}
    with open(os.path.join(out, "Status.plist"), "wb") as f:  # last: the commit mark
        plistlib.dump(status, f, fmt=plistlib.FMT_BINARY, sort_keys=False)
    return {"keybag_uuid": uuid_text(bag_uuid), "encrypted": encrypted, "files": written,
            "iterations": iterations, "dp_iterations": dp_iterations if encrypted else None,
            "udid": udid}, keys_out


# ---------------------------------------------------------------------------------------------
# Command line


def device_key_from(args):
    uid = None
    if getattr(args, "device", None):
        uid = read_bytes(os.path.join(args.device, "uid"), 64, "device uid")
    elif getattr(args, "uid_hex", None):
        uid = bytes.fromhex(args.uid_hex)
    return None if uid is None else ref.device_key_835(uid)


def password_from(args):
    if getattr(args, "password_file", None):
        with open(args.password_file, "rb") as f:
            return f.read().rstrip(b"\r\n")
    return (args.password or "").encode("utf-8")


def cmd_write(args):
    with open(args.spec) as f:
        spec = json.load(f)
    device_key = device_key_from(args)
    if device_key is None:
        raise FormatError("write: give the source device (--device DEV or --uid-hex)")
    encrypted = not args.unencrypted
    password = password_from(args)
    if encrypted and not password:
        raise FormatError("write: an encrypted folder needs --password or --password-file")
    made, keys = write_folder(args.out, spec, password, device_key, encrypted, args.iter,
                              args.dpic, args.r14, args.apple_order, not args.no_wal)
    if args.keys_out:
        with open(args.keys_out, "w") as f:
            json.dump(keys, f)
    print(json.dumps(made, indent=1))
    return EXIT_OK


def cmd_read(args):
    key = bytes.fromhex(args.key_hex) if args.key_hex else None
    out = read_folder(args.folder, password_from(args), key, device_key_from(args))
    print(json.dumps(out, indent=1))
    return EXIT_OK


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("write", help="write a backup folder from SPEC.json")
    s.add_argument("out")
    s.add_argument("--spec", required=True)
    s.add_argument("--password")
    s.add_argument("--password-file")
    s.add_argument("--unencrypted", action="store_true", help="a local (unencrypted) backup")
    s.add_argument("--uid-hex")
    s.add_argument("--device", help="a kcbackup device folder: its uid file")
    s.add_argument("--iter", type=int, default=ref.REAL_ITER)
    s.add_argument("--dpic", type=int, default=ref.REAL_DPIC)
    s.add_argument("--r14", action="store_true",
                   help="an older keychain-backup.plist: no keybag-uuid (and no inet array)")
    s.add_argument("--apple-order", action="store_true",
                   help="keybag records in the order Apple writes them")
    s.add_argument("--no-wal", action="store_true", help="leave Manifest.db's header as SQLite "
                   "writes it (a real Mac's says WAL)")
    s.add_argument("--keys-out", help="write the class keys and the Manifest.db key here (JSON)")
    s.set_defaults(run=cmd_write)
    s = sub.add_parser("read", help="open a backup folder; print files and items as JSON")
    s.add_argument("folder")
    s.add_argument("--password")
    s.add_argument("--password-file")
    s.add_argument("--key-hex", help="the derived password key instead of the password")
    s.add_argument("--uid-hex")
    s.add_argument("--device", help="a kcbackup device folder: its uid gives key 0x835")
    s.set_defaults(run=cmd_read)
    args = p.parse_args(argv)
    try:
        return args.run(args)
    except AuthError as e:
        print("ios_folder: %s" % e, file=sys.stderr)
        return EXIT_AUTH
    except (FormatError, KeyError, ValueError, OSError) as e:
        print("ios_folder: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""A second, independent implementation of the byte formats in shared/design/formats.md.

Written from the spec (and the interface docs docs/formats.md, docs/der.md and the engine
headers), never from engine/*.cc, so that the interop tests compare two readings of one spec:
a keybag or a blob that one side writes must open on the other.

Subset: keybag TLV (write, parse, unlock; WRAP 1, 2 and 3; the two-step password KDF), the v3
item blob (AES-256-GCM with an EMPTY IV, implemented here from NIST SP 800-38D on top of AES-ECB,
item key wrapped by RFC 3394) and the DER dictionary subset of item attributes. The backup folder
itself (Manifest.plist, Manifest.db, the file blobs) is ios_folder.py's, built on these.

Only the standard library plus python3-cryptography (AES block, CBC, RFC 3394 key wrap).

Exit codes follow the kcbackup convention: 0 ok, 1 a self-test failed, 2 invalid input,
3 authentication failed (wrong password).
"""

import argparse
import datetime
import hashlib
import json
import os
import plistlib
import struct
import sys
import uuid as uuidlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import keywrap

EXIT_OK, EXIT_CHECK, EXIT_INPUT, EXIT_AUTH = 0, 1, 2, 3


class FormatError(Exception):
    """Malformed input; exit 2."""


class AuthError(Exception):
    """Wrong password; exit 3."""


# ---------------------------------------------------------------------------------------------
# Accessibility. An independent table on purpose: this file must not share the engine's.
# pdmn -> key class number (formats.md: classes 6..12).
PDMN_TO_CLASS = {"ak": 6, "ck": 7, "dk": 8, "aku": 9, "cku": 10, "dku": 11, "akpu": 12}
ITEM_CLASSES = ("genp", "inet", "cert", "keys")
CLASS_MASK = 0xF  # blob keyclass: the class number is in the low 4 bits, upper bits are flags

WRAP_DEVICE, WRAP_PASSWORD = 1, 2
REAL_ITER, REAL_DPIC = 10_000, 10_000_000
MAX_ROUNDS = 10_000_000  # a bag asking for more is refused before any derivation

# ---------------------------------------------------------------------------------------------
# AES building blocks.


def aes_ecb_encrypt_block(key, block):
    assert len(block) == 16
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def device_key_835(uid):
    """Key 0x835: AES-256-ECB(UID, 16 x 0x01); the 16-byte result is an AES-128 key."""
    if len(uid) != 32:
        raise FormatError("UID must be 32 bytes, got %d" % len(uid))
    return aes_ecb_encrypt_block(uid, b"\x01" * 16)


def aes_cbc_zero_iv(key, data, encrypt):
    if len(data) % 16:
        raise FormatError("CBC data of %d bytes is not a whole number of blocks" % len(data))
    cipher = Cipher(algorithms.AES(key), modes.CBC(b"\x00" * 16))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def key_wrap(kek, key):
    return keywrap.aes_key_wrap(kek, key)


def key_unwrap(kek, wrapped):
    """None when the RFC 3394 integrity check fails (wrong key)."""
    try:
        return keywrap.aes_key_unwrap(kek, wrapped)
    except keywrap.InvalidUnwrap:
        return None


# ---------------------------------------------------------------------------------------------
# AES-GCM from NIST SP 800-38D, any IV length including zero.

_R = 0xE1 << 120


def _gf_mult(x, y):
    """Multiplication in GF(2^128) with GCM's bit order (SP 800-38D, Algorithm 1)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def _ghash(h, data):
    assert len(data) % 16 == 0
    y = 0
    for i in range(0, len(data), 16):
        y = _gf_mult(y ^ int.from_bytes(data[i : i + 16], "big"), h)
    return y


def _pad16(data):
    return data + b"\x00" * (-len(data) % 16)


def _inc32(block):
    prefix, counter = block[:12], int.from_bytes(block[12:], "big")
    return prefix + ((counter + 1) & 0xFFFFFFFF).to_bytes(4, "big")


def _gctr(key, icb, data):
    out, cb = bytearray(), icb
    for i in range(0, len(data), 16):
        chunk = data[i : i + 16]
        ks = aes_ecb_encrypt_block(key, cb)
        out += bytes(a ^ b for a, b in zip(chunk, ks))
        cb = _inc32(cb)
    return bytes(out)


def _gcm_j0(h, iv):
    if len(iv) == 12:
        return iv + b"\x00\x00\x00\x01"
    # Any other length, zero included: J0 = GHASH(IV || 0^(s+64) || [len(IV)]_64).
    block = _pad16(iv) + b"\x00" * 8 + struct.pack(">Q", 8 * len(iv))
    return _ghash(h, block).to_bytes(16, "big")


def _gcm_tag(key, h, j0, aad, ciphertext):
    lengths = struct.pack(">QQ", 8 * len(aad), 8 * len(ciphertext))
    s = _ghash(h, _pad16(aad) + _pad16(ciphertext) + lengths)
    return _gctr(key, j0, s.to_bytes(16, "big"))


def gcm_encrypt(key, iv, plaintext, aad=b""):
    h = int.from_bytes(aes_ecb_encrypt_block(key, b"\x00" * 16), "big")
    j0 = _gcm_j0(h, iv)
    ciphertext = _gctr(key, _inc32(j0), plaintext)
    return ciphertext, _gcm_tag(key, h, j0, aad, ciphertext)


def gcm_decrypt(key, iv, ciphertext, tag, aad=b""):
    """None when the tag does not match."""
    h = int.from_bytes(aes_ecb_encrypt_block(key, b"\x00" * 16), "big")
    j0 = _gcm_j0(h, iv)
    if _gcm_tag(key, h, j0, aad, ciphertext) != tag:
        return None
    return _gctr(key, _inc32(j0), ciphertext)


# ---------------------------------------------------------------------------------------------
# DER dictionary subset (der_plist).

T_BOOL, T_INT, T_DATA, T_NULL, T_STR, T_UTCTIME, T_GENTIME, T_SEQ, T_SET = (
    0x01, 0x02, 0x04, 0x05, 0x0C, 0x17, 0x18, 0x30, 0x31)
MAX_DEPTH = 32


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag, content):
    return bytes([tag]) + _der_len(len(content)) + content


def _date_text(d):
    if d.tzinfo is None:
        raise FormatError("dates must be timezone-aware (UTC)")
    d = d.astimezone(datetime.timezone.utc)
    text = d.strftime("%Y%m%d%H%M%S")
    # Year < 1000: strftime pads differently on some platforms; build it by hand.
    text = "%04d%s" % (d.year, text[-10:])
    millis = d.microsecond // 1000
    if millis:
        text += ("." + "%03d" % millis).rstrip("0")
    return text + "Z"


def der_encode(value, depth=1):
    if depth > MAX_DEPTH:
        raise FormatError("DER: nesting deeper than %d" % MAX_DEPTH)
    if isinstance(value, bool):  # before int: bool is an int in Python
        return _tlv(T_BOOL, b"\x01" if value else b"\x00")  # Apple writes true as 0x01
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise FormatError("DER: integer %d does not fit int64" % value)
        n = (value if value >= 0 else ~value).bit_length() // 8 + 1
        return _tlv(T_INT, value.to_bytes(n, "big", signed=True))
    if isinstance(value, (bytes, bytearray)):
        return _tlv(T_DATA, bytes(value))
    if isinstance(value, str):
        return _tlv(T_STR, value.encode("utf-8"))
    if value is None:
        return _tlv(T_NULL, b"")
    if isinstance(value, datetime.datetime):
        return _tlv(T_GENTIME, _date_text(value).encode("ascii"))
    if isinstance(value, list):
        return _tlv(T_SEQ, b"".join(der_encode(v, depth + 1) for v in value))
    if isinstance(value, dict):
        entries = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise FormatError("DER: dictionary key %r is not a string" % (k,))
            entries.append(_tlv(T_SEQ, der_encode(k, depth + 2) + der_encode(v, depth + 2)))
        entries.sort()  # bytes compare like memcmp, a prefix first
        return _tlv(T_SET, b"".join(entries))
    raise FormatError("DER: cannot encode %s" % type(value).__name__)


def _read_tlv(data, pos, end):
    if pos >= end:
        raise FormatError("DER: offset %d: truncated tag" % pos)
    tag = data[pos]
    if pos + 1 >= end:
        raise FormatError("DER: offset %d: truncated length" % (pos + 1))
    first = data[pos + 1]
    p = pos + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise FormatError("DER: offset %d: indefinite length" % (pos + 1))
    else:
        n = first & 0x7F
        if n > 4 or p + n > end:
            raise FormatError("DER: offset %d: bad length field" % (pos + 1))
        length = int.from_bytes(data[p : p + n], "big")
        if length < 0x80 or data[p] == 0:
            raise FormatError("DER: offset %d: non-minimal length" % (pos + 1))
        p += n
    if length > end - p:
        raise FormatError("DER: offset %d: length %d past the end" % (pos + 1, length))
    return tag, p, p + length


def _parse_date(text, offset):
    body = text[:-1] if text.endswith("Z") else None
    if body is None or len(body) < 14 or not body[:14].isdigit():
        raise FormatError("DER: offset %d: bad GeneralizedTime %r" % (offset, text))
    millis = 0
    if len(body) > 14:
        frac = body[14:]
        if (frac[0] != "." or not 2 <= len(frac) <= 4 or not frac[1:].isdigit()
                or frac.endswith("0")):
            raise FormatError("DER: offset %d: bad fraction in %r" % (offset, text))
        millis = int(frac[1:].ljust(3, "0"))
    try:
        return datetime.datetime(int(body[0:4]), int(body[4:6]), int(body[6:8]), int(body[8:10]),
                                 int(body[10:12]), int(body[12:14]), millis * 1000,
                                 tzinfo=datetime.timezone.utc)
    except ValueError as e:
        raise FormatError("DER: offset %d: impossible date %r: %s" % (offset, text, e))


def _der_value(data, pos, end, depth):
    if depth > MAX_DEPTH:
        raise FormatError("DER: offset %d: nesting deeper than %d" % (pos, MAX_DEPTH))
    tag, start, stop = _read_tlv(data, pos, end)
    body = data[start:stop]
    if tag == T_BOOL:
        if body not in (b"\x00", b"\x01"):
            raise FormatError("DER: offset %d: BOOLEAN must be 00 or 01" % start)
        return body == b"\x01", stop
    if tag == T_INT:
        if not body or len(body) > 8:
            raise FormatError("DER: offset %d: INTEGER of %d bytes" % (start, len(body)))
        if len(body) > 1 and ((body[0] == 0 and body[1] < 0x80) or
                              (body[0] == 0xFF and body[1] >= 0x80)):
            raise FormatError("DER: offset %d: non-minimal INTEGER" % start)
        return int.from_bytes(body, "big", signed=True), stop
    if tag == T_DATA:
        return bytes(body), stop
    if tag == T_STR:
        try:
            return bytes(body).decode("utf-8"), stop
        except UnicodeDecodeError:
            raise FormatError("DER: offset %d: invalid UTF-8" % start)
    if tag == T_NULL:
        if body:
            raise FormatError("DER: offset %d: NULL with content" % start)
        return None, stop
    if tag == T_GENTIME:
        return _parse_date(bytes(body).decode("ascii", "replace"), start), stop
    if tag == T_UTCTIME:
        raise FormatError("DER: offset %d: UTCTime is not read" % pos)
    if tag == T_SEQ:
        out, p = [], start
        while p < stop:
            v, p = _der_value(data, p, stop, depth + 1)
            out.append(v)
        return out, stop
    if tag == T_SET:
        out, p, previous = {}, start, None
        while p < stop:
            etag, estart, estop = _read_tlv(data, p, stop)
            if etag != T_SEQ:
                raise FormatError("DER: offset %d: dictionary entry is not a SEQUENCE" % p)
            encoded = bytes(data[p:estop])
            if previous is not None and encoded <= previous:
                raise FormatError("DER: offset %d: dictionary entries not sorted/unique" % p)
            previous = encoded
            if data[estart] != T_STR:
                raise FormatError("DER: offset %d: dictionary key is not a UTF8String" % estart)
            key, q = _der_value(data, estart, estop, depth + 1)
            value, q = _der_value(data, q, estop, depth + 1)
            if q != estop:
                raise FormatError("DER: offset %d: trailing bytes in dictionary entry" % q)
            if key in out:
                raise FormatError("DER: offset %d: duplicate key %r" % (p, key))
            out[key] = value
            p = estop
        return out, stop
    raise FormatError("DER: offset %d: unsupported tag 0x%02X" % (pos, tag))


def der_decode(data):
    value, end = _der_value(memoryview(data), 0, len(data), 1)
    if end != len(data):
        raise FormatError("DER: offset %d: trailing bytes" % end)
    return value


# JSON <-> plist values, in the same shapes as kcbackup's JSON (data_hex, date).


def value_from_json(v):
    if isinstance(v, dict) and set(v) == {"data_hex"}:
        return bytes.fromhex(v["data_hex"])
    if isinstance(v, dict) and set(v) == {"date"}:
        text = v["date"]
        d = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return d.astimezone(datetime.timezone.utc)
    if isinstance(v, dict):
        return {k: value_from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value_from_json(x) for x in v]
    return v


def value_to_json(v):
    if isinstance(v, (bytes, bytearray)):
        return {"data_hex": bytes(v).hex()}
    if isinstance(v, datetime.datetime):
        return {"date": v.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (v.microsecond // 1000)}
    if isinstance(v, dict):
        return {k: value_to_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value_to_json(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------
# Encrypted item blob, version 3 (little-endian u32 header).

BLOB_HEADER = struct.Struct("<III")


def seal_blob(keyclass, class_key, plaintext):
    item_key = os.urandom(32)
    ciphertext, tag = gcm_encrypt(item_key, b"", plaintext)  # EMPTY IV, no AAD
    wrapped = key_wrap(class_key, item_key)
    return BLOB_HEADER.pack(3, keyclass, len(wrapped)) + wrapped + ciphertext + tag


def parse_blob(blob):
    if len(blob) < BLOB_HEADER.size:
        raise FormatError("blob: %d bytes, shorter than its header" % len(blob))
    version, keyclass, wrapped_len = BLOB_HEADER.unpack_from(blob)
    if version != 3:
        raise FormatError("blob: unsupported version %d" % version)
    if wrapped_len != 40:
        raise FormatError("blob: wrapped_key_len %d, expected 40" % wrapped_len)
    if len(blob) < BLOB_HEADER.size + 40 + 16:
        raise FormatError("blob: truncated (%d bytes)" % len(blob))
    return {"keyclass_field": keyclass, "key_class": keyclass & CLASS_MASK,
            "wrapped_key": blob[12:52], "ciphertext": blob[52:-16], "tag": blob[-16:]}


def open_blob(parsed, class_key):
    """(plaintext, None) or (None, reason)."""
    item_key = key_unwrap(class_key, parsed["wrapped_key"])
    if item_key is None:
        return None, "item key unwrap failed (wrong class key)"
    plaintext = gcm_decrypt(item_key, b"", parsed["ciphertext"], parsed["tag"])
    if plaintext is None:
        return None, "GCM tag mismatch"
    return plaintext, None


# ---------------------------------------------------------------------------------------------
# Keybag TLV: 4 ASCII tag bytes, u32 BIG-endian length, value; 4-byte values are BE integers.

HEADER_TAGS = {"VERS", "TYPE", "UUID", "HMCK", "WRAP", "SALT", "ITER", "DPWT", "DPIC", "DPSL"}
INT_TAGS = {"VERS", "TYPE", "WRAP", "ITER", "DPWT", "DPIC", "CLAS", "KTYP"}
FIXED_LENGTHS = {"UUID": 16, "SALT": 20, "DPSL": 20, "HMCK": 40}


def _record(tag, value):
    if isinstance(value, int):
        value = struct.pack(">I", value)
    return tag.encode("ascii") + struct.pack(">I", len(value)) + value


def derive_password_key(password, salt, iterations, dp_salt=None, dp_iterations=None):
    k1 = password
    if dp_salt is not None:
        k1 = hashlib.pbkdf2_hmac("sha256", password, dp_salt, dp_iterations, 32)
    return hashlib.pbkdf2_hmac("sha1", k1, salt, iterations, 32)


def wrap_class_key(key, wrap, password_key, device_key):
    """Writer order: device layer (CBC with 0x835) first, then RFC 3394 with the password key."""
    out = key
    if wrap & WRAP_DEVICE:
        if device_key is None:
            raise FormatError("WRAP %d needs a device key (--uid-hex)" % wrap)
        out = aes_cbc_zero_iv(device_key, out, encrypt=True)
    if wrap & WRAP_PASSWORD:
        out = key_wrap(password_key, out)
    return out


def write_keybag(classes, password, device_key, iterations, dp_iterations, bag_type=1):
    """classes: list of (class_number, wrap). Returns (bytes, info) with the class keys in info."""
    salt, dp_salt, bag_uuid = os.urandom(20), os.urandom(20), os.urandom(16)
    password_key = derive_password_key(password, salt, iterations,
                                       dp_salt if dp_iterations else None, dp_iterations)
    header_wrap = 0
    for _, wrap in classes:
        header_wrap |= wrap
    out = [_record("VERS", 4), _record("TYPE", bag_type), _record("UUID", bag_uuid),
           _record("HMCK", key_wrap(password_key, os.urandom(32))), _record("WRAP", header_wrap),
           _record("SALT", salt), _record("ITER", iterations)]
    if dp_iterations:
        out += [_record("DPWT", 1), _record("DPIC", dp_iterations), _record("DPSL", dp_salt)]
    keys = []
    for number, wrap in classes:
        key = os.urandom(32)
        # Each class group starts with its own UUID: a fresh one per class here (the engine writes
        # the bag's UUID again); a reader must accept both.
        out += [_record("UUID", os.urandom(16)), _record("CLAS", number), _record("WRAP", wrap),
                _record("KTYP", 0),
                _record("WPKY", wrap_class_key(key, wrap, password_key, device_key))]
        keys.append({"class": number, "wrap": wrap, "key_hex": key.hex()})
    info = {"uuid": str(uuidlib.UUID(bytes=bag_uuid)).upper(), "iterations": iterations,
            "dp_iterations": dp_iterations, "classes": keys}
    return b"".join(out), info, keys


def parse_keybag(data):
    if len(data) > 64 * 1024:
        raise FormatError("keybag: %d bytes, over 64 KiB" % len(data))
    header, classes, current, pos = {}, [], None, 0
    while pos < len(data):
        if pos + 8 > len(data):
            raise FormatError("keybag: offset %d: truncated record header" % pos)
        raw_tag = data[pos : pos + 4]
        if not all(0x20 <= b < 0x7F for b in raw_tag):
            raise FormatError("keybag: offset %d: tag is not printable ASCII" % pos)
        tag = raw_tag.decode("ascii")
        (length,) = struct.unpack_from(">I", data, pos + 4)
        if length > len(data) - pos - 8:
            raise FormatError("keybag: record '%s' at offset %d runs past the end" % (tag, pos))
        value = bytes(data[pos + 8 : pos + 8 + length])
        if tag in INT_TAGS and length != 4:
            raise FormatError("keybag: record '%s' at offset %d: length %d, expected 4"
                              % (tag, pos, length))
        if tag in FIXED_LENGTHS and length != FIXED_LENGTHS[tag]:
            raise FormatError("keybag: record '%s' at offset %d: length %d, expected %d"
                              % (tag, pos, length, FIXED_LENGTHS[tag]))
        decoded = struct.unpack(">I", value)[0] if tag in INT_TAGS else value
        if tag == "UUID" and "UUID" in header:
            current = {"UUID": value}
            classes.append(current)
        elif current is not None:
            if tag in current and tag in {"CLAS", "WRAP", "KTYP", "WPKY", "PBKY"}:
                raise FormatError("keybag: duplicate '%s' at offset %d" % (tag, pos))
            current.setdefault(tag, decoded)
        else:
            if tag in header and tag in HEADER_TAGS:
                raise FormatError("keybag: duplicate '%s' at offset %d" % (tag, pos))
            header.setdefault(tag, decoded)
        pos += 8 + length
    for tag in ("VERS", "TYPE", "UUID", "WRAP", "SALT", "ITER"):
        if tag not in header:
            raise FormatError("keybag: header has no '%s'" % tag)
    for c in classes:
        for tag in ("CLAS", "WRAP", "WPKY"):
            if tag not in c:
                raise FormatError("keybag: class group has no '%s'" % tag)
    if not 0 < header["ITER"] <= MAX_ROUNDS:
        raise FormatError("keybag: ITER %d outside 1..%d" % (header["ITER"], MAX_ROUNDS))
    if "DPIC" in header and not 0 < header["DPIC"] <= MAX_ROUNDS:
        raise FormatError("keybag: DPIC %d outside 1..%d" % (header["DPIC"], MAX_ROUNDS))
    return {"header": header, "classes": classes}


def unlock_keybag(bag, password, device_key):
    """{class_number: key or None (needs the device key)}; AuthError for a wrong password."""
    h = bag["header"]
    password_key = None
    if any(c["WRAP"] & WRAP_PASSWORD for c in bag["classes"]):
        dp = "DPSL" in h and "DPIC" in h
        password_key = derive_password_key(password, h["SALT"], h["ITER"],
                                           h["DPSL"] if dp else None, h.get("DPIC"))
    keys = {}
    for c in bag["classes"]:
        key, wrap = c["WPKY"], c["WRAP"]
        if wrap & ~3 or wrap == 0:
            raise FormatError("keybag: class %d: unsupported WRAP %d" % (c["CLAS"], wrap))
        if wrap & WRAP_PASSWORD:
            key = key_unwrap(password_key, key)
            if key is None:
                raise AuthError("keybag: class %d does not unwrap: wrong password" % c["CLAS"])
        if wrap & WRAP_DEVICE:
            key = None if device_key is None else aes_cbc_zero_iv(device_key, key, encrypt=False)
        keys[c["CLAS"]] = key
    return keys


# ---------------------------------------------------------------------------------------------
# Commands.


def _uid_and_device_key(uid_hex):
    if not uid_hex:
        return None
    uid = bytes.fromhex(uid_hex)
    return device_key_835(uid)


def _parse_classes(spec):
    out = []
    for part in spec.split(","):
        number, wrap = part.split(":")
        out.append((int(number), int(wrap)))
    return out


def cmd_make_keybag(args):
    bag, info, _ = write_keybag(_parse_classes(args.classes), args.password.encode(),
                                _uid_and_device_key(args.uid_hex), args.iter, args.dpic)
    with open(args.out, "wb") as f:
        f.write(bag)
    print(json.dumps(info, indent=2))
    return EXIT_OK


def cmd_unlock_keybag(args):
    with open(args.file, "rb") as f:
        data = f.read()
    if data.startswith(b"bplist"):
        data = plistlib.loads(data)["BackupKeyBag"]
    keys = unlock_keybag(parse_keybag(data), args.password.encode(),
                         _uid_and_device_key(args.uid_hex))
    print(json.dumps({"classes": [{"class": n, "unlocked": k is not None,
                                   "key_hex": k.hex() if k else None}
                                  for n, k in keys.items()]}, indent=2))
    return EXIT_OK


def _item_plaintext(item):
    attrs = value_from_json(item.get("attributes", {}))
    if "secret_hex" in item:
        attrs["v_Data"] = bytes.fromhex(item["secret_hex"])
    elif "secret" in item:
        attrs["v_Data"] = item["secret"].encode("utf-8")
    return attrs


def cmd_self_test(_args):
    """Known answers for the primitives this file builds itself (GCM) or composes (0x835)."""
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append("%s: got %s, want %s" % (name, got.hex(), want.hex()))

    # McGrew/Viega GCM test case 2 (AES-128, 96-bit IV).
    c, t = gcm_encrypt(bytes(16), bytes(12), bytes(16))
    check("gcm tc2 ciphertext", c, bytes.fromhex("0388dace60b6a392f328c2b971b2fe78"))
    check("gcm tc2 tag", t, bytes.fromhex("ab6e47d42cec13bdf53a67b21257bddf"))
    # The library's GCM for IV lengths that go through GHASH (8 and 60 bytes) and 12 bytes: our
    # J0 derivation must agree with it, since the empty IV takes the same path with len 0.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    for iv_len in (8, 12, 60):
        for key_len in (16, 32):
            key, iv, aad, pt = (os.urandom(key_len), os.urandom(iv_len), os.urandom(20),
                                os.urandom(61))
            c, t = gcm_encrypt(key, iv, pt, aad)
            if iv_len == 12:
                lib = AESGCM(key).encrypt(iv, pt, aad)
            else:
                enc = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
                enc.authenticate_additional_data(aad)
                lib = enc.update(pt) + enc.finalize() + enc.tag
            check("gcm vs library iv=%d key=%d" % (iv_len, key_len), c + t, lib)
            if gcm_decrypt(key, iv, c, t, aad) != pt:
                failures.append("gcm decrypt round trip iv=%d" % iv_len)
    # Empty IV: J0 = GHASH(0^128) = 0, so the tag mask is E(K, 0) = H and counting starts at 0..01.
    key = bytes(range(32))
    c, t = gcm_encrypt(key, b"", b"")
    check("gcm empty iv, empty text: tag = E(K, 0^128)",
          t, aes_ecb_encrypt_block(key, bytes(16)))
    c, _ = gcm_encrypt(key, b"", bytes(16))
    check("gcm empty iv: first keystream block = E(K, 0..01)", c,
          aes_ecb_encrypt_block(key, bytes(15) + b"\x01"))
    # RFC 3394 section 4.6: 256-bit key data with a 256-bit KEK.
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    data = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
    check("rfc3394 4.6", key_wrap(kek, data), bytes.fromhex(
        "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"))
    # DER: sorting by encoded bytes puts a shorter entry first.
    check("der order", der_encode({"svce": "b", "aaaaa": "x", "acct": "a"}),
          bytes.fromhex("31 22 30 09 0c 04 61636374 0c 01 61 30 09 0c 04 73766365 0c 01 62"
                        " 30 0a 0c 05 6161616161 0c 01 78".replace(" ", "")))
    # The same 32 bytes through CBC with one key and back with another differ (WRAP 1 has no
    # integrity check: the "wrong but unlocked" class key).
    k1, k2 = device_key_835(bytes(32)), device_key_835(b"\x01" * 32)
    x = os.urandom(32)
    if aes_cbc_zero_iv(k2, aes_cbc_zero_iv(k1, x, True), False) == x:
        failures.append("CBC under two device keys gave the same class key")
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    print(json.dumps({"self_test": "failed" if failures else "passed",
                      "failures": len(failures)}))
    return EXIT_CHECK if failures else EXIT_OK


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("self-test", help="known-answer tests of the primitives")
    s.set_defaults(run=cmd_self_test)

    s = sub.add_parser("make-keybag", help="write a raw TLV backup keybag; print its class keys")
    s.add_argument("out")
    s.add_argument("--password", required=True)
    s.add_argument("--uid-hex", help="the device UID (64 hex digits) for WRAP & 1 classes")
    s.add_argument("--classes", default="6:2,7:2,8:2,9:3,10:3,11:3",
                   help="CLASS:WRAP,... (default: an encrypted backup's layout)")
    s.add_argument("--iter", type=int, default=REAL_ITER)
    s.add_argument("--dpic", type=int, default=REAL_DPIC, help="0: no double protection")
    s.set_defaults(run=cmd_make_keybag)

    s = sub.add_parser("unlock-keybag", help="unlock a keybag (or Manifest.plist); print keys")
    s.add_argument("file")
    s.add_argument("--password", required=True)
    s.add_argument("--uid-hex")
    s.set_defaults(run=cmd_unlock_keybag)

    args = p.parse_args(argv)
    try:
        return args.run(args)
    except AuthError as e:
        print("reference: %s" % e, file=sys.stderr)
        return EXIT_AUTH
    except (FormatError, KeyError, ValueError, OSError) as e:
        print("reference: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Known answers for the seeded Random (engine/random.cc), computed without OpenSSL.

The construction (engine/random.cc): the key is SHA-256 of the seed as 8 little-endian bytes,
and the bytes are the ChaCha20 keystream (RFC 8439: block counter from 0, all-zero nonce).
ChaCha20 is implemented here from RFC 8439 section 2.3 and checked first against its test
vector (section 2.3.2). Prints, per seed, keystream bytes [0, 32) and [300, 332), the values
SeededRandom.KeystreamKnownAnswers in tests/crypto_test.cc holds.

Standard library only.
"""

import hashlib
import struct


def _rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def _quarter_round(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce):
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    w = state[:]
    for _ in range(10):
        _quarter_round(w, 0, 4, 8, 12)
        _quarter_round(w, 1, 5, 9, 13)
        _quarter_round(w, 2, 6, 10, 14)
        _quarter_round(w, 3, 7, 11, 15)
        _quarter_round(w, 0, 5, 10, 15)
        _quarter_round(w, 1, 6, 11, 12)
        _quarter_round(w, 2, 7, 8, 13)
        _quarter_round(w, 3, 4, 9, 14)
    return struct.pack("<16I", *[(a + b) & 0xFFFFFFFF for a, b in zip(w, state)])


def seeded_keystream(seed, length):
    key = hashlib.sha256(struct.pack("<Q", seed)).digest()
    blocks = (length + 63) // 64
    return b"".join(chacha20_block(key, i, bytes(12)) for i in range(blocks))[:length]


def main():
    # RFC 8439 section 2.3.2: key 00..1f, counter 1, nonce 00000009 0000004a 00000000.
    vector = chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert vector.hex().startswith("10f1e7e4d13b5915500fdd1fa32071c4"), vector.hex()
    for seed in (0, 42, 2**64 - 1):
        stream = seeded_keystream(seed, 332)
        print(seed, stream[:32].hex(), stream[300:332].hex())


if __name__ == "__main__":
    main()

// engine/file_crypto.h: the AES-256-CBC core against NIST SP 800-38A, the zero-IV PKCS#7 blob
// format against vectors from an independent implementation, and every way a hostile blob can
// break the padding or the block structure (Corruption naming what and the offset).
#include "engine/file_crypto.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "tests/test_support.h"

namespace kcb {
namespace {

using test_support::hex;

Bytes key_0_to_31() {
  Bytes k(32);
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(i);
  return k;
}

constexpr std::array<uint8_t, 16> kZeroIv{};

// NIST SP 800-38A, F.2.5 / F.2.6 (CBC-AES256.Encrypt / .Decrypt): four blocks, explicit IV.
TEST(FileCrypto, NistSp800_38aCbcAes256) {
  const Bytes key = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  std::array<uint8_t, 16> iv;
  for (size_t i = 0; i < iv.size(); ++i)
    iv[i] = static_cast<uint8_t>(i);
  const Bytes plain =
      hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const std::string cipher =
      "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
      "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b";
  auto encrypted = aes256_cbc_encrypt_blocks(key, iv, plain);
  ASSERT_TRUE(encrypted.ok()) << encrypted.status().to_string();
  EXPECT_EQ(to_hex(*encrypted), cipher);
  auto decrypted = aes256_cbc_decrypt_blocks(key, iv, hex(cipher));
  ASSERT_TRUE(decrypted.ok());
  EXPECT_EQ(to_hex(decrypted->view()), to_hex(plain));
}

// Zero IV, PKCS#7, key 00 01 .. 1f. Expected bytes made once with Debian's python3-cryptography
// 38.0.4 (/usr/bin/python3): padding.PKCS7(128).padder() over the plaintext, then
// Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor(). Empty and block-sized plaintexts
// show the always-present pad (a whole block of 0x10).
TEST(FileCrypto, ZeroIvPkcs7KnownAnswers) {
  const struct {
    std::string_view plain, cipher;
  } cases[] = {
      {"", "9f3b7504926f8bd36e3118e903a4cd4a"},
      {"kcbackup file blob", "f67494c61f2efe81980fd56dbed46633a30ceba8b2162e15bbfbc92cd4a7cbc3"},
      {"0123456789abcdef", "d8c95758e3353e530fa52bd10e73b9864f6ba30222074c4d477c3f294f12a82f"},
  };
  for (const auto& c : cases) {
    auto encrypted = encrypt_file_blob(key_0_to_31(), as_bytes(c.plain));
    ASSERT_TRUE(encrypted.ok());
    EXPECT_EQ(to_hex(*encrypted), c.cipher) << c.plain;
    auto decrypted = decrypt_file_blob(key_0_to_31(), hex(c.cipher), "blob");
    ASSERT_TRUE(decrypted.ok()) << decrypted.status().to_string();
    EXPECT_EQ(to_hex(decrypted->view()), to_hex(as_bytes(c.plain)));
  }
}

TEST(FileCrypto, EveryLengthRoundTripsAcrossChunkBoundaries) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1} << 20,
                   (size_t{1} << 20) + 5}) {
    Bytes plain(n);
    for (size_t i = 0; i < n; ++i)
      plain[i] = static_cast<uint8_t>(i * 7 + 3);
    auto encrypted = encrypt_file_blob(key_0_to_31(), plain);
    ASSERT_TRUE(encrypted.ok());
    EXPECT_EQ(encrypted->size(), (n / 16 + 1) * 16);
    auto decrypted = decrypt_file_blob(key_0_to_31(), *encrypted, "blob");
    ASSERT_TRUE(decrypted.ok()) << n << ": " << decrypted.status().to_string();
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), decrypted->data(),
                           decrypted->data() + decrypted->size()))
        << n;
    EXPECT_EQ(decrypted->size(), n);
  }
}

// encrypt_file_blob encrypts the whole blocks in place and the padded tail as one more block
// (issue 17): the same bytes as CBC over the padded copy, built here, at every tail length and
// across the 1 MiB chunks.
TEST(FileCrypto, BlobIsCbcOfThePaddedFile) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{31},
                   size_t{32768}, (size_t{1} << 20) - 1, (size_t{1} << 20) + 5}) {
    Bytes plain(n);
    for (size_t i = 0; i < n; ++i)
      plain[i] = static_cast<uint8_t>(i * 13 + 1);
    Bytes padded = plain;
    const size_t pad = 16 - n % 16;
    padded.insert(padded.end(), pad, static_cast<uint8_t>(pad));
    auto expected = aes256_cbc_encrypt_blocks(key_0_to_31(), kZeroIv, padded);
    auto blob = encrypt_file_blob(key_0_to_31(), plain);
    ASSERT_TRUE(expected.ok() && blob.ok()) << n;
    EXPECT_EQ(*blob, *expected) << n;
  }
}

// A blob whose decryption is exactly `last_block` (one block, zero IV): how a hostile writer
// would make the padding say what it likes.
Bytes blob_decrypting_to(std::string_view last_block_hex) {
  auto c = aes256_cbc_encrypt_blocks(key_0_to_31(), kZeroIv, hex(last_block_hex));
  KCB_ASSERT(c.ok());
  return *c;
}

TEST(FileCrypto, BadPadRefusedWithTheOffsetOfTheBadByte) {
  const struct {
    std::string_view block, message;
  } cases[] = {
      {"41414141414141414141414141414100",
       "Manifest.db: bad PKCS#7 padding: final byte 0x00 at offset 15 is not a pad length 1..16"},
      {"41414141414141414141414141414111",
       "Manifest.db: bad PKCS#7 padding: final byte 0x11 at offset 15 is not a pad length 1..16"},
      {"41414141414141414141410505050405",
       "Manifest.db: bad PKCS#7 padding: byte 0x04 at offset 14, expected 0x05"},
      {"41414141414141414141410405050505",
       "Manifest.db: bad PKCS#7 padding: byte 0x04 at offset 11, expected 0x05"},
      {"10101010101010101010101010101010", ""},  // a whole block of padding: valid, empty
      {"0f101010101010101010101010101010",
       "Manifest.db: bad PKCS#7 padding: byte 0x0f at offset 0, expected 0x10"},
  };
  for (const auto& c : cases) {
    auto got = decrypt_file_blob(key_0_to_31(), blob_decrypting_to(c.block), "Manifest.db");
    if (c.message.empty()) {
      ASSERT_TRUE(got.ok()) << got.status().to_string();
      EXPECT_EQ(got->size(), 0u);
      continue;
    }
    ASSERT_FALSE(got.ok()) << c.block;
    EXPECT_EQ(got.status().code(), Code::kCorruption);
    EXPECT_EQ(got.status().message().rfind(c.message, 0), 0u) << got.status().message();
  }
}

TEST(FileCrypto, PaddingIsCheckedInTheLastBlockOfALongBlob) {
  Bytes plain(64, 0x41);
  plain.back() = 0x02;  // pad length 2, but the byte before it is 0x41
  auto c = aes256_cbc_encrypt_blocks(key_0_to_31(), kZeroIv, plain);
  ASSERT_TRUE(c.ok());
  auto got = decrypt_file_blob(key_0_to_31(), *c, "AppDomain-x/Documents/a");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "AppDomain-x/Documents/a: bad PKCS#7 padding: byte 0x41 at offset 62, expected 0x02 "
            "(a wrong key, or altered bytes)");
}

TEST(FileCrypto, LengthNotAWholeNumberOfBlocksIsCorruptionWithTheOffset) {
  auto partial = decrypt_file_blob(key_0_to_31(), Bytes(33), "Manifest.db");
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.status().code(), Code::kCorruption);
  EXPECT_EQ(partial.status().message(), "Manifest.db: 33 bytes: a partial AES block at offset 32");
  auto tiny = decrypt_file_blob(key_0_to_31(), Bytes(5), "f");
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.status().message(), "f: 5 bytes: a partial AES block at offset 0");
  auto empty = decrypt_file_blob(key_0_to_31(), Bytes(), "f");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kCorruption);
  EXPECT_EQ(empty.status().message(),
            "f: 0 bytes: no AES block (PKCS#7 padding needs at least one)");
}

TEST(FileCrypto, WrongKeyIsCaughtByThePaddingAlmostAlways) {
  // A wrong key makes the last block random: valid padding then has probability about 1/256
  // (0x01) + 1/65536 (0x0202) + ..., so among 64 fixed keys at most a couple pass.
  auto encrypted = encrypt_file_blob(key_0_to_31(), as_bytes("a secret file of some length"));
  ASSERT_TRUE(encrypted.ok());
  int passed = 0;
  for (uint8_t k = 1; k <= 64; ++k) {
    passed += decrypt_file_blob(Bytes(32, k), *encrypted, "f").ok() ? 1 : 0;
  }
  EXPECT_LE(passed, 2);
}

TEST(FileCrypto, KeyOfTheWrongSizeIsInvalidArgument) {
  for (size_t n : {0, 16, 24, 31, 33}) {
    auto e = encrypt_file_blob(Bytes(n), as_bytes("x"));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(e.status().message(),
              "AES-256-CBC encrypt: key of " + std::to_string(n) + " bytes, expected 32");
    auto d = decrypt_file_blob(Bytes(n), Bytes(16), "f");
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
  }
  auto odd = aes256_cbc_encrypt_blocks(key_0_to_31(), kZeroIv, Bytes(17));
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().message(), "AES-256-CBC encrypt: 17 bytes, expected a multiple of 16");
}

}  // namespace
}  // namespace kcb

// The v3 item blob: layout, round trip, and what each kind of damage turns into. Tests are named
// after the failure they provoke.
#include "engine/blob.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/crypto.h"

namespace kcb {
namespace {

const Bytes kClassKey(32, 0x11);
const Bytes kOtherClassKey(32, 0x12);

Bytes seal(ByteView plaintext, uint32_t keyclass = 7, uint64_t seed = 1) {
  auto random = make_seeded_random(seed);
  auto blob = seal_blob(keyclass, kClassKey, plaintext, *random);
  KCB_ASSERT(blob.ok());
  return *blob;
}

Result<SecretBytes> parse_and_open(ByteView blob, ByteView class_key) {
  KCB_ASSIGN_OR_RETURN(ParsedBlob parsed, parse_blob(blob));
  return open_blob(parsed, class_key);
}

void put_le32(Bytes& b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[offset + i] = uint8_t(v >> (8 * i));
}

TEST(Blob, LayoutIsVersionKeyclassLengthWrappedKeyCiphertextTag) {
  const std::string text = "a DER dictionary would be here";
  const Bytes blob = seal(as_bytes(text), 0x00000009);
  ASSERT_EQ(blob.size(), 12 + 40 + text.size() + 16);
  EXPECT_EQ(to_hex(ByteView(blob).first(12)), "030000000900000028000000");
  auto parsed = parse_blob(blob);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key_class, 9u);
  EXPECT_EQ(parsed->wrapped_key.data(), blob.data() + 12);
  EXPECT_EQ(parsed->ciphertext.size(), text.size());
  EXPECT_EQ(parsed->tag.data(), blob.data() + blob.size() - 16);
  // The item key is the first 32 bytes the Random gives: unwrap it and open GCM by hand, with the
  // empty IV and no AAD, to pin the construction independently of open_blob.
  auto random = make_seeded_random(1);
  Bytes item_key(32);
  random->fill(item_key);
  auto unwrapped = aes_key_unwrap(kClassKey, parsed->wrapped_key);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_EQ(to_hex(unwrapped->view()), to_hex(item_key));
  Bytes pt(parsed->ciphertext.size());
  ASSERT_TRUE(aes_gcm_open(item_key, {}, {}, parsed->ciphertext,
                           std::span<const uint8_t, 16>(parsed->tag.data(), 16), pt)
                  .ok());
  EXPECT_EQ(std::string(pt.begin(), pt.end()), text);
}

TEST(Blob, RoundTripsIncludingEmptyPlaintext) {
  for (size_t n : {0, 1, 16, 300, 5000}) {
    Bytes pt(n);
    for (size_t i = 0; i < n; ++i)
      pt[i] = uint8_t(i);
    auto opened = parse_and_open(seal(pt), kClassKey);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    EXPECT_EQ(to_hex(opened->view()), to_hex(pt));
  }
}

TEST(Blob, SameSeedSameBytesDifferentSeedDifferentBytes) {
  EXPECT_EQ(seal(as_bytes("x"), 7, 5), seal(as_bytes("x"), 7, 5));
  EXPECT_NE(seal(as_bytes("x"), 7, 5), seal(as_bytes("x"), 7, 6));
}

TEST(Blob, KeyClassMasksGenerationFlags) {
  EXPECT_EQ(key_class_of(0x00000007), 7u);
  EXPECT_EQ(key_class_of(0x4000000B), 11u);
  EXPECT_EQ(key_class_of(0xFFFFFFF6), 6u);
  const Bytes blob = seal(as_bytes("secret"), 0x10000006);
  auto parsed = parse_blob(blob);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->keyclass_field, 0x10000006u);
  EXPECT_EQ(parsed->key_class, 6u);
}

TEST(Blob, WrongClassKeyFailsTheItemKeyUnwrap) {
  auto r = parse_and_open(seal(as_bytes("secret")), kOtherClassKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find("RFC 3394"), std::string::npos) << r.status().message();
}

// An altered wrapped key cannot be told from a wrong class key (DataLoss: the key does not open
// it); an altered ciphertext or tag under a key that unwrapped is Corruption.
TEST(Blob, AlteredWrappedKeyIsDataLossAlteredCiphertextOrTagIsCorruption) {
  const Bytes good = seal(as_bytes("a secret of some length, over one block"));
  constexpr size_t kWrappedKeyEnd = kBlobHeaderSize + kWrappedItemKeySize;
  for (size_t i = 12; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    auto r = parse_and_open(bad, kClassKey);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), i < kWrappedKeyEnd ? Code::kDataLoss : Code::kCorruption)
        << "byte " << i;
  }
}

TEST(Blob, GcmFailureNamesTheTagOffset) {
  Bytes bad = seal(as_bytes("0123456789"));
  bad.back() ^= 0x80;
  auto r = parse_and_open(bad, kClassKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "blob: GCM tag at offset 62 does not match (altered ciphertext or tag)");
}

TEST(Blob, KeyclassFieldIsNotAuthenticated) {
  Bytes blob = seal(as_bytes("secret"), 7);
  put_le32(blob, 4, 8);
  EXPECT_TRUE(parse_and_open(blob, kClassKey).ok());
}

// The status of parsing a sealed blob whose 32-bit field at `offset` says `value` instead.
Status parse_with_field(size_t offset, uint32_t value) {
  Bytes blob = seal(as_bytes("secret"));
  put_le32(blob, offset, value);
  return parse_blob(blob).status();
}

TEST(Blob, UnsupportedVersionIsRefused) {
  for (uint32_t v : {0u, 2u, 6u, 7u, 8u, 0x03000000u}) {
    const Status st = parse_with_field(0, v);
    EXPECT_EQ(st.code(), Code::kUnsupported) << v;
    EXPECT_NE(st.message().find("unsupported blob version " + std::to_string(v)), std::string::npos)
        << st.message();
  }
}

TEST(Blob, WrongWrappedKeyLengthIsCorruption) {
  for (uint32_t len : {0u, 24u, 39u, 41u, 48u, 0xFFFFFFFFu}) {
    const Status st = parse_with_field(8, len);
    EXPECT_EQ(st.code(), Code::kCorruption) << len;
    EXPECT_EQ(st.message(),
              "blob: wrapped_key_len at offset 8 is " + std::to_string(len) + ", expected 40");
  }
}

TEST(Blob, EveryTruncationIsCorruptionWithOffset) {
  const Bytes good = seal({});
  ASSERT_EQ(good.size(), 68u);
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = parse_blob(ByteView(good).first(n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << n;
    EXPECT_EQ(r.status().message().rfind("blob: truncated at offset ", 0), 0u)
        << r.status().message();
  }
  EXPECT_EQ(parse_blob(ByteView(good).first(30)).status().message(),
            "blob: truncated at offset 12: wrapped key (40) and tag (16) needs 56 bytes, 18 left");
  EXPECT_EQ(parse_blob(ByteView(good).first(2)).status().message(),
            "blob: truncated at offset 0: version needs 4 bytes, 2 left");
}

TEST(Blob, OversizedBlobIsRefusedBeforeWork) {
  const Bytes huge(kMaxBlobSize + 1, 0);
  EXPECT_EQ(parse_blob(huge).status().code(), Code::kResourceExhausted);
}

TEST(Blob, WrongSizeClassKeyIsInvalidArgument) {
  auto random = make_seeded_random(1);
  EXPECT_EQ(seal_blob(7, Bytes(16, 0), as_bytes("x"), *random).status().code(),
            Code::kInvalidArgument);
  auto parsed = parse_blob(seal(as_bytes("x")));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(open_blob(*parsed, Bytes(16, 0)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace kcb

// Keybags: writer -> parser -> serializer round trip, unlock with right and wrong password and
// device key, and hostile bags that must be refused quickly with a precise error. Tests use tiny
// KDF counts; the real ones (DPIC 10,000,000, ITER 10,000) cost seconds.
#include "engine/keybag.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "engine/blob.h"
#include "engine/crypto.h"

namespace kcb {
namespace {

const KeybagKdf kTinyKdf{/*iterations=*/3, /*double_protection=*/true, /*dp_iterations=*/2};

SecretBytes device_key_of(uint8_t uid_byte) {
  auto k = derive_device_key_835(Bytes(32, uid_byte));
  KCB_ASSERT(k.ok());
  return std::move(k).value();
}

NewKeybag make_bag(std::string_view password, const std::vector<NewClassKey>& classes,
                   std::optional<ByteView> device_key, uint64_t seed = 1,
                   KeybagType type = KeybagType::kBackup) {
  auto random = make_seeded_random(seed);
  auto bag = create_keybag(type, classes, as_bytes(password), device_key, kTinyKdf, *random);
  KCB_ASSERT(bag.ok());
  return std::move(bag).value();
}

std::vector<NewClassKey> classes(std::initializer_list<std::pair<uint32_t, uint32_t>> list) {
  std::vector<NewClassKey> out;
  for (auto [n, wrap] : list)
    out.push_back(NewClassKey{n, wrap, std::nullopt});
  return out;
}

// ---- hand-built TLV for hostile bags ----

struct Tlv {
  std::string tag;
  Bytes value;
};

Bytes be32(uint32_t v) {
  Bytes out;
  append_be(out, v);
  return out;
}

Bytes build(const std::vector<Tlv>& records) {
  Bytes out;
  for (const Tlv& r : records) {
    out.insert(out.end(), r.tag.begin(), r.tag.end());
    const Bytes len = be32(static_cast<uint32_t>(r.value.size()));
    out.insert(out.end(), len.begin(), len.end());
    out.insert(out.end(), r.value.begin(), r.value.end());
  }
  return out;
}

// Offsets: VERS 0, TYPE 12, UUID 24, HMCK 48, WRAP 96, SALT 108, ITER 136; 148 bytes in all.
std::vector<Tlv> header(uint32_t iter = 1) {
  return {{"VERS", be32(4)},         {"TYPE", be32(1)}, {"UUID", Bytes(16, 0xAA)},
          {"HMCK", Bytes(40, 0x01)}, {"WRAP", be32(2)}, {"SALT", Bytes(20, 0x02)},
          {"ITER", be32(iter)}};
}

std::vector<Tlv> group(uint32_t clas, uint32_t wrap = 2, size_t wpky = 40) {
  return {{"UUID", Bytes(16, 0xBB)},
          {"CLAS", be32(clas)},
          {"WRAP", be32(wrap)},
          {"KTYP", be32(0)},
          {"WPKY", Bytes(wpky, 0x03)}};
}

std::vector<Tlv> operator+(std::vector<Tlv> a, const std::vector<Tlv>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Status parse_status(ByteView bytes, const KeybagLimits& limits = {}) {
  return parse_keybag(bytes, limits).status();
}

void expect_refused(ByteView bytes, Code code, const std::string& message) {
  const auto start = std::chrono::steady_clock::now();
  const Status s = parse_status(bytes);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_EQ(s.message(), message);
  EXPECT_LT(elapsed, std::chrono::milliseconds(100));
}

// ---- writer, parser, serializer ----

TEST(Keybag, WriteParseSerializeIsByteIdentical) {
  const SecretBytes dk = device_key_of(0xA1);
  const NewKeybag nb =
      make_bag("pw", classes({{6, 3}, {7, 2}, {8, 3}, {9, 2}, {10, 1}, {11, 3}}), dk.view());
  const Bytes bytes = serialize_keybag(nb.bag);
  auto parsed = parse_keybag(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(serialize_keybag(*parsed), bytes);
  EXPECT_EQ(parsed->version, 5u);  // VERS 5 in a backup bag, as real backups since iOS 12
  EXPECT_EQ(parsed->type(), uint32_t(KeybagType::kBackup));
  EXPECT_EQ(parsed->iterations, 3u);
  EXPECT_TRUE(parsed->double_protection);
  EXPECT_EQ(parsed->dp_iterations, 2u);
  EXPECT_EQ(parsed->dp_salt.size(), 20u);
  EXPECT_EQ(parsed->hmac_key.size(), 40u);
  ASSERT_EQ(parsed->classes.size(), 6u);
  EXPECT_EQ(parsed->find_class(10)->wrap, 1u);
  EXPECT_EQ(parsed->find_class(10)->wrapped_key.size(), 32u);
  EXPECT_EQ(parsed->find_class(7)->wrapped_key.size(), 40u);
  EXPECT_EQ(parsed->find_class(5), nullptr);
  // Header starts VERS, TYPE, UUID as on iOS.
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "VERS");
}

TEST(Keybag, SameSeedSameBytes) {
  EXPECT_EQ(serialize_keybag(make_bag("pw", classes({{7, 2}}), std::nullopt, 4).bag),
            serialize_keybag(make_bag("pw", classes({{7, 2}}), std::nullopt, 4).bag));
  EXPECT_NE(serialize_keybag(make_bag("pw", classes({{7, 2}}), std::nullopt, 4).bag),
            serialize_keybag(make_bag("pw", classes({{7, 2}}), std::nullopt, 5).bag));
}

// Pins the derivation and the layer order independently of unlock_keybag.
TEST(Keybag, PasswordKeyIsSha256ThenSha1AndLayersAreCbcThenKeyWrap) {
  const SecretBytes dk = device_key_of(0xA1);
  const NewKeybag nb = make_bag("secret", classes({{6, 3}}), dk.view());
  const Keybag& bag = nb.bag;
  auto k1 = pbkdf2_hmac_sha256(as_bytes("secret"), bag.dp_salt, bag.dp_iterations, 32);
  ASSERT_TRUE(k1.ok());
  auto k = pbkdf2_hmac_sha1(k1->view(), bag.salt, bag.iterations, 32);
  ASSERT_TRUE(k.ok());
  auto derived = derive_password_key(bag, as_bytes("secret"));
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(to_hex(derived->view()), to_hex(k->view()));

  auto device_layer = aes_key_unwrap(k->view(), bag.classes[0].wrapped_key);
  ASSERT_TRUE(device_layer.ok());
  auto class_key = aes128_cbc_decrypt_zero_iv(dk.view(), device_layer->view());
  ASSERT_TRUE(class_key.ok());
  EXPECT_EQ(to_hex(class_key->view()), to_hex(nb.keys.key_for(6)->view()));
}

TEST(Keybag, WithoutDoubleProtectionPasswordKeyIsSha1Only) {
  auto random = make_seeded_random(2);
  KeybagKdf kdf{5, false, 0};
  auto nb = create_keybag(KeybagType::kSystem, classes({{7, 2}}), as_bytes("pc"), std::nullopt, kdf,
                          *random);
  ASSERT_TRUE(nb.ok()) << nb.status().to_string();
  EXPECT_FALSE(nb->bag.double_protection);
  const Bytes bytes = serialize_keybag(nb->bag);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()).find("DPIC"), std::string::npos);
  auto k = pbkdf2_hmac_sha1(as_bytes("pc"), nb->bag.salt, 5, 32);
  EXPECT_EQ(to_hex(derive_password_key(nb->bag, as_bytes("pc"))->view()), to_hex(k->view()));
  auto unlocked = unlock_keybag(nb->bag, as_bytes("pc"), std::nullopt);
  ASSERT_TRUE(unlocked.ok());
  EXPECT_EQ(*unlocked->key_for(7), *nb->keys.key_for(7));
}

// ---- unlock ----

TEST(Keybag, RightPasswordUnlocksEveryClassToTheWrittenKey) {
  const SecretBytes dk = device_key_of(0xA1);
  const NewKeybag nb = make_bag("pw", classes({{6, 3}, {7, 2}, {10, 1}}), dk.view());
  auto unlocked = unlock_keybag(nb.bag, as_bytes("pw"), dk.view());
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().to_string();
  for (uint32_t n : {6u, 7u, 10u}) {
    ASSERT_TRUE(unlocked->is_unlocked(n)) << n;
    EXPECT_EQ(unlocked->key_for(n)->size(), 32u);
    EXPECT_EQ(*unlocked->key_for(n), *nb.keys.key_for(n)) << n;
  }
  EXPECT_FALSE(unlocked->is_unlocked(8));
}

TEST(Keybag, WrongPasswordIsPermissionDenied) {
  const NewKeybag nb = make_bag("pw", classes({{6, 2}, {7, 2}}), std::nullopt);
  auto r = unlock_keybag(nb.bag, as_bytes("pW"), std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("wrong backup password"), std::string::npos);
  EXPECT_EQ(unlock_keybag(nb.bag, {}, std::nullopt).status().code(), Code::kPermissionDenied);
}

TEST(Keybag, BagWithoutPasswordUsesTheEmptyPassword) {
  const NewKeybag nb = make_bag("", classes({{7, 2}}), std::nullopt);
  auto r = unlock_keybag(nb.bag, {}, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->key_for(7), *nb.keys.key_for(7));
  EXPECT_EQ(unlock_keybag(nb.bag, as_bytes("x"), std::nullopt).status().code(),
            Code::kPermissionDenied);
}

TEST(Keybag, DeviceLayerWithoutDeviceKeyLeavesThatClassLocked) {
  const SecretBytes dk = device_key_of(0xA1);
  const NewKeybag nb = make_bag("pw", classes({{6, 3}, {7, 2}, {10, 1}}), dk.view());
  auto r = unlock_keybag(nb.bag, as_bytes("pw"), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->is_unlocked(6));
  EXPECT_FALSE(r->is_unlocked(10));
  EXPECT_TRUE(r->is_unlocked(7));
  EXPECT_EQ(r->classes.size(), 3u);
}

// The heart of "gone": another device's key 0x835 passes the password layer, silently yields a
// wrong class key, and the blob's item key then fails its RFC 3394 integrity check.
TEST(Keybag, OtherDeviceKeyGivesWrongClassKeyThatCannotOpenBlobs) {
  const SecretBytes device_a = device_key_of(0xA1);
  const SecretBytes device_b = device_key_of(0xB2);
  const NewKeybag nb = make_bag("pw", classes({{6, 3}, {7, 2}}), device_a.view());
  auto random = make_seeded_random(3);
  auto blob6 = seal_blob(6, nb.keys.key_for(6)->view(), as_bytes("this-device-only"), *random);
  auto blob7 = seal_blob(7, nb.keys.key_for(7)->view(), as_bytes("migratable"), *random);
  ASSERT_TRUE(blob6.ok() && blob7.ok());

  auto on_b = unlock_keybag(nb.bag, as_bytes("pw"), device_b.view());
  ASSERT_TRUE(on_b.ok()) << "a wrong device key is not detected by the keybag";
  ASSERT_TRUE(on_b->is_unlocked(6));
  EXPECT_NE(*on_b->key_for(6), *nb.keys.key_for(6));
  auto lost = open_blob(*parse_blob(*blob6), on_b->key_for(6)->view());
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), Code::kDataLoss);
  auto kept = open_blob(*parse_blob(*blob7), on_b->key_for(7)->view());
  ASSERT_TRUE(kept.ok());

  auto on_a = unlock_keybag(nb.bag, as_bytes("pw"), device_a.view());
  ASSERT_TRUE(on_a.ok());
  auto opened = open_blob(*parse_blob(*blob6), on_a->key_for(6)->view());
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(std::string(opened->view().begin(), opened->view().end()), "this-device-only");
}

TEST(Keybag, GivenClassKeysAreKeptAndPasswordKeyCanBeReused) {
  const SecretBytes existing(Bytes(32, 0x5C));
  std::vector<NewClassKey> cs;
  cs.push_back(NewClassKey{9, 2, existing});
  const NewKeybag nb = make_bag("pw", cs, std::nullopt);
  auto pk = derive_password_key(nb.bag, as_bytes("pw"));
  ASSERT_TRUE(pk.ok());
  auto r = unlock_keybag_with_password_key(nb.bag, pk->view(), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->key_for(9), existing);
}

TEST(Keybag, WriterRefusesBadRequests) {
  auto random = make_seeded_random(1);
  const SecretBytes dk = device_key_of(1);
  auto code = [&](const std::vector<NewClassKey>& cs, std::optional<ByteView> device,
                  KeybagKdf kdf = kTinyKdf) {
    return create_keybag(KeybagType::kBackup, cs, as_bytes("pw"), device, kdf, *random)
        .status()
        .code();
  };
  EXPECT_EQ(code(classes({{7, 2}, {7, 3}}), dk.view()), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{9, 2}, {8, 2}, {10, 2}, {9, 2}}), dk.view()), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{7, 0}}), dk.view()), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{7, 4}}), dk.view()), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{7, 3}}), std::nullopt), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{7, 2}}), Bytes(15, 0)), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{7, 2}}), std::nullopt, KeybagKdf{0, true, 1}), Code::kInvalidArgument);
  EXPECT_EQ(code(classes({{7, 2}}), std::nullopt, KeybagKdf{1, true, 0x80000000u}),
            Code::kInvalidArgument);
  std::vector<NewClassKey> bad_key;
  bad_key.push_back(NewClassKey{7, 2, SecretBytes(Bytes(16, 1))});
  EXPECT_EQ(code(bad_key, std::nullopt), Code::kInvalidArgument);
}

// ---- real-bag leniency: unknown tags, file classes, flags ----

TEST(Keybag, UnknownTagsAndFileClassesAreKeptAndWrittenBack) {
  std::vector<Tlv> records = header() + std::vector<Tlv>{{"ZZZZ", be32(7)}, {"ZZZZ", {}}};
  for (uint32_t n = 1; n <= 5; ++n) {
    records = records + group(n, 3);
    records.push_back({"PBKY", Bytes(32, uint8_t(n))});
  }
  records = records + group(11, 1, 32);
  records.push_back({"SIGN", Bytes(20, 0xEE)});
  const Bytes bytes = build(records);
  auto bag = parse_keybag(bytes);
  ASSERT_TRUE(bag.ok()) << bag.status().to_string();
  EXPECT_EQ(serialize_keybag(*bag), bytes);
  EXPECT_EQ(bag->classes.size(), 6u);
  EXPECT_EQ(bag->header_records.size(), 9u);
  EXPECT_EQ(bag->classes.back().records.back().tag, "SIGN");
  EXPECT_FALSE(bag->double_protection);
}

// The parser dispatches on a tag's four bytes as one number: a tag one letter's case or one byte
// away from a known one is unknown, kept as it is and never decoded.
TEST(Keybag, TagsAreMatchedOnAllFourBytes) {
  std::vector<Tlv> records =
      header() + std::vector<Tlv>{{"uuid", Bytes(16, 1)}, {"WRAp", be32(9)}, {"VERs", be32(1)}};
  records = records + group(1, 3);
  records.push_back({"clas", be32(99)});
  records.push_back({"UUIe", Bytes(16, 2)});
  const Bytes bytes = build(records);
  auto bag = parse_keybag(bytes);
  ASSERT_TRUE(bag.ok()) << bag.status().to_string();
  EXPECT_EQ(bag->header_records.size(), header().size() + 3);
  ASSERT_EQ(bag->classes.size(), 1u);
  EXPECT_EQ(bag->classes[0].class_number, 1u);
  EXPECT_EQ(bag->classes[0].records.back().tag, "UUIe");
  EXPECT_EQ(serialize_keybag(*bag), bytes);
}

TEST(Keybag, TypeFlagsAreMasked) {
  std::vector<Tlv> records = header();
  records[1].value = be32(0x40000001);
  auto bag = parse_keybag(build(records));
  ASSERT_TRUE(bag.ok());
  EXPECT_EQ(bag->type_field, 0x40000001u);
  EXPECT_EQ(bag->type(), uint32_t(KeybagType::kBackup));
}

// ---- hostile bags ----

TEST(KeybagHostile, IterationCountOf2To31IsRefusedNotObeyed) {
  expect_refused(build(header(0x80000000u)), Code::kResourceExhausted,
                 "keybag: record 'ITER' at offset 136: 2147483648 rounds, more than the cap of "
                 "10000000");
}

TEST(KeybagHostile, DpicOf2To31IsRefusedNotObeyed) {
  const Bytes bytes =
      build(header() + std::vector<Tlv>{
                           {"DPWT", be32(1)}, {"DPIC", be32(0x80000000u)}, {"DPSL", Bytes(20, 0)}});
  expect_refused(bytes, Code::kResourceExhausted,
                 "keybag: record 'DPIC' at offset 160: 2147483648 rounds, more than the cap of "
                 "10000000");
}

TEST(KeybagHostile, ExplicitLimitsAllowMoreRounds) {
  const Bytes bytes = build(header(20'000'000));
  EXPECT_EQ(parse_status(bytes).code(), Code::kResourceExhausted);
  KeybagLimits generous;
  generous.max_iterations = 0xFFFFFFFFu;
  EXPECT_TRUE(parse_status(bytes, generous).ok());
}

TEST(KeybagHostile, ZeroRoundsIsCorruption) {
  expect_refused(build(header(0)), Code::kCorruption,
                 "keybag: record 'ITER' at offset 136: 0 rounds");
}

TEST(KeybagHostile, LengthPastTheEndIsCorruption) {
  Bytes bytes = build(header());
  bytes[136 + 4] = 0xFF;  // ITER's length: 0xFF000004
  expect_refused(bytes, Code::kCorruption,
                 "keybag: record 'ITER' at offset 136: length 4278190084 runs past the end (4 "
                 "bytes left)");
}

TEST(KeybagHostile, TruncatedRecordsAreCorruption) {
  const Bytes bytes = build(header() + group(7));
  for (size_t n = 1; n < bytes.size(); ++n) {
    const Status s = parse_status(ByteView(bytes).first(n));
    if (n == 148) {  // the header alone is a complete bag with no class keys
      EXPECT_TRUE(s.ok()) << s.to_string();
      continue;
    }
    EXPECT_EQ(s.code(), Code::kCorruption) << n << ": " << s.to_string();
  }
  expect_refused(ByteView(bytes).first(3), Code::kCorruption,
                 "keybag: truncated record header at offset 0: 3 bytes left, need 8");
  expect_refused(ByteView(bytes).first(150), Code::kCorruption,
                 "keybag: truncated record header at offset 148: 2 bytes left, need 8");
}

TEST(KeybagHostile, DuplicateHeaderTagIsCorruption) {
  std::vector<Tlv> records = header();
  records.push_back({"SALT", Bytes(20, 9)});
  expect_refused(build(records), Code::kCorruption,
                 "keybag: record 'SALT' at offset 148: duplicate (first at offset 108)");
  std::vector<Tlv> two_wraps = header();
  two_wraps.push_back({"WRAP", be32(1)});
  EXPECT_EQ(parse_status(build(two_wraps)).code(), Code::kCorruption);
}

TEST(KeybagHostile, ClassRecordWithoutItsUuidIsCorruption) {
  std::vector<Tlv> records = header();
  records.push_back({"CLAS", be32(7)});
  expect_refused(build(records), Code::kCorruption,
                 "keybag: record 'CLAS' at offset 148: class record before any class UUID (a "
                 "class group starts with its UUID)");
}

TEST(KeybagHostile, HeaderTagInsideClassGroupIsCorruption) {
  std::vector<Tlv> records = header() + group(7);
  records.push_back({"ITER", be32(1)});
  expect_refused(build(records), Code::kCorruption,
                 "keybag: record 'ITER' at offset 256: header record inside the class group at "
                 "offset 148");
}

TEST(KeybagHostile, DuplicateClassIsCorruption) {
  expect_refused(build(header() + group(7) + group(7)), Code::kCorruption,
                 "keybag: class group at offset 256: CLAS 7 already defined by the group at "
                 "offset 148");
}

TEST(KeybagHostile, DuplicateTagInsideGroupIsCorruption) {
  std::vector<Tlv> records = header() + group(7);
  records.push_back({"WPKY", Bytes(40, 0)});
  EXPECT_EQ(parse_status(build(records)).code(), Code::kCorruption);
}

TEST(KeybagHostile, MissingRecordsAreCorruption) {
  std::vector<Tlv> no_salt = header();
  no_salt.erase(no_salt.begin() + 5);
  expect_refused(build(no_salt), Code::kCorruption, "keybag: header has no 'SALT' record");
  expect_refused({}, Code::kCorruption, "keybag: header has no 'VERS' record");
  std::vector<Tlv> no_wpky = header() + group(7);
  no_wpky.pop_back();
  expect_refused(build(no_wpky), Code::kCorruption,
                 "keybag: class group at offset 148: no 'WPKY' record");
  std::vector<Tlv> partial_dp = header();
  partial_dp.push_back({"DPIC", be32(1)});
  expect_refused(build(partial_dp), Code::kCorruption,
                 "keybag: header has only some of 'DPWT', 'DPIC', 'DPSL'");
}

TEST(KeybagHostile, WrongValueLengthsAreCorruption) {
  std::vector<Tlv> records = header();
  records[6].value = Bytes(2, 0);
  expect_refused(build(records), Code::kCorruption,
                 "keybag: record 'ITER' at offset 136: length 2, expected 4");
  records = header();
  records[2].value = Bytes(15, 0);
  EXPECT_EQ(parse_status(build(records)).code(), Code::kCorruption);
  expect_refused(build(header() + group(7, 2, 39)), Code::kCorruption,
                 "keybag: class group at offset 148: CLAS 7: WPKY of 39 bytes, expected 40 for "
                 "WRAP 2");
  EXPECT_EQ(parse_status(build(header() + group(7, 1, 40))).code(), Code::kCorruption);
}

TEST(KeybagHostile, UnknownWrapIsUnsupported) {
  expect_refused(build(header() + group(7, 4)), Code::kUnsupported,
                 "keybag: class group at offset 148: CLAS 7: WRAP 4 is not 1, 2 or 3");
  EXPECT_EQ(parse_status(build(header() + group(7, 0))).code(), Code::kUnsupported);
}

TEST(KeybagHostile, NonAsciiTagIsCorruption) {
  Bytes bytes = build(header());
  bytes[0] = 0x00;
  expect_refused(bytes, Code::kCorruption,
                 "keybag: record at offset 0: tag 00455253 is not 4 ASCII characters");
}

TEST(KeybagHostile, CapsOnSizeRecordsLengthAndClasses) {
  Bytes big = build(header());
  big.resize(64 * 1024 + 1, 0);
  expect_refused(big, Code::kResourceExhausted, "keybag: 65537 bytes, more than the cap of 65536");

  std::vector<Tlv> many = header();
  for (int i = 0; i < 600; ++i)
    many.push_back({"ZZZZ", {}});
  EXPECT_EQ(parse_status(build(many)).code(), Code::kResourceExhausted);

  std::vector<Tlv> long_record = header();
  long_record.push_back({"ZZZZ", Bytes(2000, 0)});
  expect_refused(build(long_record), Code::kResourceExhausted,
                 "keybag: record 'ZZZZ' at offset 148: length 2000 is more than the cap of 1024");

  std::vector<Tlv> classes = header();
  for (uint32_t n = 0; n < 40; ++n)
    classes = classes + group(n);
  EXPECT_EQ(parse_status(build(classes)).code(), Code::kResourceExhausted);
}

TEST(KeybagHostile, RecordsWithHugeLengthsNeverAllocate) {
  // Every length in 0..2^32-1 that runs past the end is refused before any allocation.
  for (uint32_t len : {0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu, 1025u, 149u}) {
    Bytes bytes = build(header());
    const Bytes l = be32(len);
    std::copy(l.begin(), l.end(), bytes.begin() + 136 + 4);
    EXPECT_EQ(parse_status(bytes).code(), Code::kCorruption) << len;
  }
}

TEST(Keybag, TypeAndWrapNamesComeFromOneTable) {
  EXPECT_EQ(keybag_type_name(static_cast<uint32_t>(KeybagType::kSystem)), "system");
  EXPECT_EQ(keybag_type_name(static_cast<uint32_t>(KeybagType::kBackup)), "backup");
  EXPECT_EQ(keybag_type_name(static_cast<uint32_t>(KeybagType::kEscrow)), "escrow");
  EXPECT_EQ(keybag_type_name(static_cast<uint32_t>(KeybagType::kOta)), "ota");
  EXPECT_EQ(keybag_type_name(4), "unknown");
  EXPECT_EQ(keybag_wrap_name(kWrapDevice), "device");
  EXPECT_EQ(keybag_wrap_name(kWrapPassword), "password");
  EXPECT_EQ(keybag_wrap_name(kWrapDevice | kWrapPassword), "device+password");
  EXPECT_EQ(keybag_wrap_name(4), "4");
}

}  // namespace
}  // namespace kcb

namespace kcb {
namespace {

// The record values' byte string (engine/small_bytes.h), against Bytes doing the same edits, on
// each side of the inline size.
TEST(SmallBytes, DoesWhatBytesDoesOnEachSideOfItsInlineSize) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4}, SmallBytes::kInline - 1, SmallBytes::kInline,
                   SmallBytes::kInline + 1, size_t{300}}) {
    Bytes model(n);
    for (size_t i = 0; i < n; ++i)
      model[i] = static_cast<uint8_t>(i * 7 + 1);
    SmallBytes s(model);
    ASSERT_EQ(s.bytes(), model) << n;
    SmallBytes copy = s;
    EXPECT_TRUE(copy == s);
    SmallBytes moved = std::move(copy);
    EXPECT_EQ(moved.bytes(), model);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from value is empty
    for (size_t grow : {n + 3, n + SmallBytes::kInline, n / 2}) {
      Bytes m = model;
      m.resize(grow, 0xA5);
      SmallBytes g = s;
      g.resize(grow, 0xA5);
      EXPECT_EQ(g.bytes(), m) << n << " resized to " << grow;
    }
    SmallBytes self = s;
    if (n > 2) {
      self.assign(self.data() + 1, self.data() + n - 1);  // from its own bytes
      EXPECT_EQ(self.bytes(), Bytes(model.begin() + 1, model.end() - 1)) << n;
    }
    SmallBytes other(Bytes(5, 9));
    other = s;
    EXPECT_EQ(other.bytes(), model);
    EXPECT_FALSE(n > 0 && SmallBytes(Bytes(n, 0)) == s);
  }
}

}  // namespace
}  // namespace kcb

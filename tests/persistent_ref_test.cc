// Persistent references: the two byte layouts as known answers (formats.md, R11), their parser's
// refusals, the UUIDs a device draws, and a device's references through adds, switches of kind
// and a reopen of its folder.
#include "kcbackup/persistent_ref.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "kcbackup/device.h"
#include "kcbackup/env.h"

namespace kcb {
namespace {

Bytes text_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes counting_uuid() {
  Bytes uuid(16);
  for (size_t i = 0; i < uuid.size(); ++i)
    uuid[i] = static_cast<uint8_t>(i);
  return uuid;
}

TEST(PersistentRef, OldStyleIsTheClassNameAndTheBigEndianRowid) {
  EXPECT_EQ(make_persistent_ref(ItemClass::kGenp, 1),
            (Bytes{'g', 'e', 'n', 'p', 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(make_persistent_ref(ItemClass::kKeys, 0x0102030405060708),
            (Bytes{'k', 'e', 'y', 's', 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(kRowidPersistentRefBytes, 12u);
  auto parsed = parse_persistent_ref(make_persistent_ref(ItemClass::kCert, 300), ItemClass::kCert);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, (PersistentRef{ItemClass::kCert, PersistentRefKind::kRowid, 300, {}}));
}

TEST(PersistentRef, UuidBasedIsTheClassNameAndTheSixteenUuidBytes) {
  const Bytes ref = make_uuid_persistent_ref(ItemClass::kInet, counting_uuid());
  Bytes want = text_bytes("inet");
  for (uint8_t i = 0; i < 16; ++i)
    want.push_back(i);
  EXPECT_EQ(ref, want);
  EXPECT_EQ(kUuidPersistentRefBytes, 20u);
  auto parsed = parse_persistent_ref(ref, ItemClass::kInet);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed,
            (PersistentRef{ItemClass::kInet, PersistentRefKind::kUuid, 0, counting_uuid()}));
  // The old-style reader names the length it wants.
  auto rowid = rowid_of_persistent_ref(ref, ItemClass::kInet);
  ASSERT_FALSE(rowid.ok());
  EXPECT_EQ(rowid.status().message(), "v_PersistentRef: 20 bytes, expected 12");
}

TEST(PersistentRef, MalformedReferencesAreCorruptionNamingWhatIsWrong) {
  const std::pair<Bytes, std::string> bad[] = {
      {Bytes{}, "v_PersistentRef: 0 bytes, expected 12 (old-style) or 20 (UUID)"},
      {Bytes(13, 'x'), "v_PersistentRef: 13 bytes, expected 12 (old-style) or 20 (UUID)"},
      {make_persistent_ref(ItemClass::kGenp, 1),
       "v_PersistentRef: names class '67656e70' (hex), expected 'keys'"},
      {make_uuid_persistent_ref(ItemClass::kCert, counting_uuid()),
       "v_PersistentRef: names class '63657274' (hex), expected 'keys'"},
      {Bytes{'k', 'e', 'y', 's', 0x80, 0, 0, 0, 0, 0, 0, 0},
       "v_PersistentRef: row id 9223372036854775808 past INT64_MAX"},
  };
  for (const auto& [bytes, message] : bad) {
    auto parsed = parse_persistent_ref(bytes, ItemClass::kKeys);
    ASSERT_FALSE(parsed.ok()) << message;
    EXPECT_EQ(parsed.status().code(), Code::kCorruption);
    EXPECT_EQ(parsed.status().message(), message);
  }
}

// Version 4 (random) with the RFC 4122 variant, and every other bit from the injected Random.
TEST(PersistentRef, NewUuidsAreVersionFourFromTheInjectedRandom) {
  auto a = make_seeded_random(5);
  auto b = make_seeded_random(5);
  const Bytes first = new_persistent_ref_uuid(*a);
  ASSERT_EQ(first.size(), kPersistentRefUuidBytes);
  EXPECT_EQ(first[6] >> 4, 4);
  EXPECT_EQ(first[8] >> 6, 2);
  EXPECT_EQ(first, new_persistent_ref_uuid(*b)) << "the same seed gives the same UUID";
  EXPECT_NE(first, new_persistent_ref_uuid(*a));
  // Exactly the version and variant bits are forced: the rest is the stream's.
  auto c = make_seeded_random(5);
  Bytes raw(16);
  c->fill(raw);
  for (size_t i = 0; i < 16; ++i) {
    const uint8_t forced = i == 6 ? 0xF0 : i == 8 ? 0xC0 : 0x00;
    EXPECT_EQ(first[i] & ~forced & 0xFF, raw[i] & ~forced & 0xFF) << "byte " << i;
  }
}

NewItem named(std::string account) {
  NewItem n;
  n.account = std::move(account);
  n.service = "svc";
  n.secret = SecretBytes(as_bytes("s"));
  return n;
}

std::vector<Bytes> refs_of(const Device& d) {
  std::vector<Bytes> out;
  for (const StoredItem& s : *d.list())
    out.push_back(s.persistent_ref);
  return out;
}

TEST(PersistentRef, ADeviceHandsOutReferencesOfItsKind) {
  auto r = make_seeded_random(6);
  DeviceConfig rowid_config;
  auto old_style = Device::create_in_memory(rowid_config, *r);
  ASSERT_TRUE(old_style.ok());
  ASSERT_TRUE((*old_style)->add(named("a"), *r).ok());
  ASSERT_TRUE((*old_style)->add(named("b"), *r).ok());
  EXPECT_EQ(refs_of(**old_style), (std::vector<Bytes>{make_persistent_ref(ItemClass::kGenp, 1),
                                                      make_persistent_ref(ItemClass::kGenp, 2)}));

  DeviceConfig uuid_config;
  uuid_config.persistent_refs = PersistentRefKind::kUuid;
  auto modern = Device::create_in_memory(uuid_config, *r);
  ASSERT_TRUE(modern.ok());
  ASSERT_TRUE((*modern)->add(named("a"), *r).ok());
  ASSERT_TRUE((*modern)->add(named("b"), *r).ok());
  const std::vector<Bytes> refs = refs_of(**modern);
  ASSERT_EQ(refs.size(), 2u);
  for (const Bytes& ref : refs) {
    auto parsed = parse_persistent_ref(ref, ItemClass::kGenp);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->kind, PersistentRefKind::kUuid);
  }
  EXPECT_NE(refs[0], refs[1]);
  // The rows() metadata gives the same references.
  const auto rows = *(*modern)->rows();
  EXPECT_EQ(rows[0].persistent_ref, refs[0]);
  EXPECT_EQ(rows[1].persistent_ref, refs[1]);
  // An update keeps the reference.
  ItemUpdate label;
  label.label = "new label";
  ASSERT_TRUE((*modern)->update(ItemClass::kGenp, rows[0].rowid, label, *r).ok());
  EXPECT_EQ(refs_of(**modern), refs);
}

// A switch of kind applies to the rows inserted after it; every row keeps the reference it got
// (what an app stored still resolves), so one device can hold both layouts.
TEST(PersistentRef, SwitchingKindAppliesToNewRowsOnly) {
  auto r = make_seeded_random(7);
  auto d = Device::create_in_memory({}, *r);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->add(named("a"), *r).ok());
  ASSERT_TRUE((*d)->set_persistent_refs(PersistentRefKind::kUuid, *r).ok());
  EXPECT_EQ((*d)->persistent_refs(), PersistentRefKind::kUuid);
  ASSERT_TRUE((*d)->add(named("b"), *r).ok());
  const std::vector<Bytes> mixed = refs_of(**d);
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_EQ(mixed[0], make_persistent_ref(ItemClass::kGenp, 1));
  EXPECT_EQ(mixed[1].size(), kUuidPersistentRefBytes);
  ASSERT_TRUE((*d)->set_persistent_refs(PersistentRefKind::kRowid, *r).ok());
  ASSERT_TRUE((*d)->add(named("c"), *r).ok());
  const std::vector<Bytes> three = refs_of(**d);
  EXPECT_EQ(std::vector<Bytes>(three.begin(), three.begin() + 2), mixed);
  EXPECT_EQ(three[2], make_persistent_ref(ItemClass::kGenp, 3));
}

TEST(PersistentRef, KindSosAndReferencesSurviveReopeningTheFolder) {
  const auto dir = std::filesystem::path(::testing::TempDir()) /
                   ("kcb-persistent-ref-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto r = make_seeded_random(8);
  std::vector<Bytes> refs;
  {
    DeviceConfig config;
    config.persistent_refs = PersistentRefKind::kUuid;
    config.sos = true;
    auto d = Device::create_at(default_env(), dir, config, *r);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    ASSERT_TRUE((*d)->add(named("a"), *r).ok());
    refs = refs_of(**d);
  }
  auto d = Device::open(default_env(), dir);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ((*d)->persistent_refs(), PersistentRefKind::kUuid);
  EXPECT_TRUE((*d)->sos());
  EXPECT_EQ(refs_of(**d), refs);
  ASSERT_TRUE((*d)->set_sos(false).ok());
  ASSERT_TRUE((*d)->set_persistent_refs(PersistentRefKind::kRowid, *r).ok());
  EXPECT_EQ(refs_of(**d), refs) << "the rows keep their UUID references";
  d->reset();
  auto reopened = Device::open(default_env(), dir);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->persistent_refs(), PersistentRefKind::kRowid);
  EXPECT_FALSE((*reopened)->sos());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kcb

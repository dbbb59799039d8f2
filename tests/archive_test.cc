// Archive, Manifest.plist and backup-folder files: round trips, and precise refusals of malformed
// plists.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/archive_internal.h"
#include "engine/binary_plist_writer.h"
#include "input/property_list.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "tests/binary_plist_bytes.h"

namespace kcb {
namespace {

KeychainArchive sample_archive() {
  KeychainArchive a;
  a.keybag_uuid = "00112233-4455-6677-8899-AABBCCDDEEFF";
  a.items[0].push_back({Bytes{1, 2, 3}, make_persistent_ref(ItemClass::kGenp, 1)});
  a.items[0].push_back({Bytes{4, 5}, make_persistent_ref(ItemClass::kGenp, 2)});
  a.items[3].push_back({Bytes(100, 7), make_persistent_ref(ItemClass::kKeys, 9)});
  return a;
}

TEST(Archive, RoundTripsEveryClass) {
  const KeychainArchive a = sample_archive();
  auto back = read_keychain_archive(write_keychain_archive(a));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->keybag_uuid, a.keybag_uuid);
  for (size_t c = 0; c < 4; ++c) {
    ASSERT_EQ(back->items[c].size(), a.items[c].size());
    for (size_t i = 0; i < a.items[c].size(); ++i) {
      EXPECT_EQ(back->items[c][i].blob, a.items[c][i].blob);
      EXPECT_EQ(back->items[c][i].persistent_ref, a.items[c][i].persistent_ref);
    }
  }
  EXPECT_TRUE(back->warnings.empty());
}

TEST(Archive, PersistentRefIsClassNameAndBigEndianRowid) {
  const Bytes ref = make_persistent_ref(ItemClass::kInet, 0x0102);
  EXPECT_EQ(ref, (Bytes{'i', 'n', 'e', 't', 0, 0, 0, 0, 0, 0, 1, 2}));
  EXPECT_EQ(*rowid_of_persistent_ref(ref, ItemClass::kInet), 0x0102);
  const std::pair<Bytes, const char*> bad[] = {
      {Bytes(ref.begin(), ref.begin() + 3), "3 bytes, expected 12"},
      {make_persistent_ref(ItemClass::kGenp, 1), "names class '67656e70' (hex), expected 'inet'"},
      {Bytes{'i', 'n', 'e', 't', 0x80, 0, 0, 0, 0, 0, 0, 0}, "past INT64_MAX"},
  };
  for (const auto& [bytes, message] : bad) {
    auto rowid = rowid_of_persistent_ref(bytes, ItemClass::kInet);
    ASSERT_FALSE(rowid.ok()) << message;
    EXPECT_NE(rowid.status().message().find(message), std::string::npos)
        << rowid.status().message();
  }
}

TEST(Archive, UuidTextIsCanonicalUpperCase) {
  Bytes raw(16);
  for (int i = 0; i < 16; ++i)
    raw[i] = static_cast<uint8_t>(i * 17);
  EXPECT_EQ(uuid_text(raw), "00112233-4455-6677-8899-AABBCCDDEEFF");
  EXPECT_EQ(*parse_uuid_text("00112233-4455-6677-8899-aabbccddeeff"), raw);
  EXPECT_FALSE(parse_uuid_text("00112233445566778899AABBCCDDEEFF").ok());
  EXPECT_FALSE(parse_uuid_text("0011223-34455-6677-8899-AABBCCDDEEFF").ok());
  EXPECT_FALSE(parse_uuid_text("0011223G-4455-6677-8899-AABBCCDDEEFF").ok());
}

Bytes archive_with(const std::function<void(plist_t)>& edit) {
  PlistPtr root;
  {
    auto parsed = parse_plist(write_keychain_archive(sample_archive()), "test");
    root = std::move(parsed).value();
  }
  edit(root.get());
  return to_binary_plist(root.get());
}

TEST(Archive, RefusesMalformedDocumentsNamingTheField) {
  auto bad_type = read_keychain_archive(archive_with([](plist_t r) {
    plist_t item = plist_array_get_item(plist_dict_get_item(r, "genp"), 1);
    plist_dict_set_item(item, "v_Data", plist_new_string("not data"));
  }));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.status().code(), Code::kCorruption);
  EXPECT_NE(bad_type.status().message().find("genp[1].v_Data: expected data, found a string"),
            std::string::npos)
      << bad_type.status().message();

  auto identity = read_keychain_archive(
      archive_with([](plist_t r) { plist_dict_set_item(r, "idnt", plist_new_array()); }));
  ASSERT_FALSE(identity.ok());
  EXPECT_NE(identity.status().message().find("idnt"), std::string::npos);

  auto unknown = read_keychain_archive(
      archive_with([](plist_t r) { plist_dict_set_item(r, "extra", plist_new_bool(1)); }));
  ASSERT_TRUE(unknown.ok());
  ASSERT_EQ(unknown->warnings.size(), 1u);

  auto bad_uuid = read_keychain_archive(archive_with(
      [](plist_t r) { plist_dict_set_item(r, "keybag-uuid", plist_new_string("x")); }));
  ASSERT_FALSE(bad_uuid.ok());
  EXPECT_NE(bad_uuid.status().message().find("keybag-uuid"), std::string::npos);

  EXPECT_FALSE(read_keychain_archive(Bytes{}).ok());
  EXPECT_FALSE(read_keychain_archive(Bytes{'b', 'p', 'l', 'i', 's', 't', '0', '0', 1}).ok());
}

// R14, what a restore accepts (rules.md): each case on the reader, the restore's side in
// archive_acceptance_test.cc.
TEST(Archive, R14KeybagUuidIsOptionalAndAMissingClassIsEmpty) {
  auto old_style = read_keychain_archive(archive_with([](plist_t r) {
    plist_dict_remove_item(r, "keybag-uuid");
    plist_dict_remove_item(r, "inet");
    plist_dict_remove_item(r, "cert");
  }));
  ASSERT_TRUE(old_style.ok()) << old_style.status().to_string();
  EXPECT_EQ(old_style->keybag_uuid, "");
  EXPECT_EQ(old_style->items[0], sample_archive().items[0]);
  EXPECT_TRUE(old_style->items[1].empty());
  EXPECT_EQ(old_style->items[3], sample_archive().items[3]);
  EXPECT_TRUE(old_style->warnings.empty());
  // Written back without a keybag-uuid: the fuzz target's round trip (write, read) holds.
  auto again = read_keychain_archive(write_keychain_archive(*old_style));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->keybag_uuid, "");
  EXPECT_EQ(again->items, old_style->items);
}

TEST(Archive, R14AClassOfAnotherTypeIsIgnoredWithAWarning) {
  for (plist_t (*make)() :
       {+[] { return plist_new_string("x"); }, +[] { return plist_new_bool(1); },
        +[] { return plist_new_data("ab", 2); }}) {
    auto r = read_keychain_archive(archive_with([&](plist_t root) {
      plist_dict_set_item(root, "genp", make());  // replaces the two genp items
    }));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_TRUE(r->items[0].empty());
    EXPECT_EQ(r->items[3].size(), 1u);
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_NE(r->warnings[0].find("keychain-backup.plist: genp: "), std::string::npos)
        << r->warnings[0];
    EXPECT_NE(r->warnings[0].find("neither an array nor a dictionary of items: ignored"),
              std::string::npos)
        << r->warnings[0];
  }
}

TEST(Archive, R14ADictionaryStandsForOneItem) {
  auto r = read_keychain_archive(archive_with([](plist_t root) {
    plist_t one = plist_copy(plist_array_get_item(plist_dict_get_item(root, "genp"), 1));
    plist_dict_set_item(root, "inet", one);
  }));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->items[1].size(), 1u);
  EXPECT_EQ(r->items[1][0], sample_archive().items[0][1]);
  EXPECT_TRUE(r->warnings.empty());
  // Its errors are named as item 0 of the class.
  auto bad = read_keychain_archive(archive_with([](plist_t root) {
    plist_t one = plist_new_dict();
    plist_dict_set_item(one, "v_Data", plist_new_bool(1));
    plist_dict_set_item(root, "inet", one);
  }));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("inet[0].v_Data: expected data"), std::string::npos)
      << bad.status().message();
}

TEST(Archive, R14AnItemThatIsNotADictionaryFailsTheWholeArchive) {
  auto r = read_keychain_archive(archive_with([](plist_t root) {
    plist_array_append_item(plist_dict_get_item(root, "keys"), plist_new_string("junk"));
  }));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("keychain-backup.plist: keys[1]: expected a dictionary, "
                                      "found a string"),
            std::string::npos)
      << r.status().message();
}

// A million junk keys give a bounded list of warnings, not a million lines.
TEST(Archive, UnknownTopLevelKeysAreNamedUpToEightThenCounted) {
  auto r = read_keychain_archive(archive_with([](plist_t root) {
    for (int i = 0; i < 20; ++i)
      plist_dict_set_item(root, ("junk" + std::to_string(i)).c_str(), plist_new_bool(1));
  }));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->warnings.size(), 9u);
  EXPECT_NE(r->warnings[0].find("unknown top-level key 'junk"), std::string::npos);
  EXPECT_EQ(r->warnings[8], "keychain-backup.plist: 12 more unknown top-level keys ignored");
}

TEST(Archive, ADictionaryKeyThatAppearsTwiceIsRefused) {
  // The soak of the tamper property found it: one flipped bit in the top-level key references
  // made "cert" read "keys", and the cert array was restored as keys items.
  BinaryPlistWriter w;
  using Ref = BinaryPlistWriter::Ref;
  const Ref keys = w.string("keys");
  const Ref empty[] = {0};
  const std::pair<Ref, Ref> root[] = {
      {keys, w.array(std::span<const Ref>(empty, 0))},
      {keys, w.array(std::span<const Ref>(empty, 0))},
      {w.string("keybag-uuid"), w.string(sample_archive().keybag_uuid)}};
  auto twice = read_keychain_archive(w.finish(w.dict(root)));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), Code::kCorruption);
  EXPECT_NE(twice.status().message().find("dictionary key 'keys' appears twice"), std::string::npos)
      << twice.status().message();

  // libplist's XML parser keeps one entry of a repeated key itself (the last one), so an XML
  // document never reaches the readers with a key twice.
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict>"
      "<key>b</key><true/><key>b</key><false/></dict></plist>";
  auto parsed = parse_plist(as_bytes(xml), "doc");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(plist_dict_get_size(parsed->get()), 1u);
  EXPECT_FALSE(*plist_bool(plist_dict_get_item(parsed->get(), "b"), "b"));
}

Bytes binary_plist(const std::vector<std::string>& objects) {
  const std::string bytes = test::binary_plist_bytes(objects);
  return Bytes(bytes.begin(), bytes.end());
}

// Both readers of a binary archive: in place, and through libplist's tree.
std::array<Result<KeychainArchive>, 2> read_both_ways(const Bytes& bytes) {
  return {read_keychain_archive(bytes), read_keychain_archive_through_libplist(bytes)};
}

// A binary archive is read in place (property_list.h, BinaryPlist), every other one through
// libplist: the same bytes read through libplist give the same archive, and UTF-16 keys (which
// Apple's writer uses for any key that is not ASCII, and may use for any) name the same fields.
TEST(Archive, ABinaryArchiveReadsInPlaceAsThroughLibplist) {
  const std::vector<Bytes> documents = {
      write_keychain_archive(sample_archive()),
      archive_with([](plist_t r) { plist_dict_set_item(r, "extra", plist_new_bool(1)); }),
      archive_with([](plist_t r) { plist_dict_remove_item(r, "keybag-uuid"); }),
      archive_with([](plist_t r) {
        plist_t item = plist_array_get_item(plist_dict_get_item(r, "genp"), 0);
        plist_dict_set_item(r, "inet", plist_copy(item));       // one item as a dictionary (R14)
        plist_dict_set_item(r, "cert", plist_new_string("x"));  // ignored with a warning
      }),
  };
  for (size_t i = 0; i < documents.size(); ++i) {
    SCOPED_TRACE(i);
    auto in_place = read_keychain_archive(documents[i]);
    auto tree = read_keychain_archive_through_libplist(documents[i]);
    ASSERT_TRUE(in_place.ok() && tree.ok()) << in_place.status().to_string();
    EXPECT_EQ(in_place->items, tree->items);
    EXPECT_EQ(in_place->keybag_uuid, tree->keybag_uuid);
    EXPECT_EQ(in_place->warnings, tree->warnings);
  }
  EXPECT_EQ(read_keychain_archive(documents[0])->items, sample_archive().items);

  // {"genp" (UTF-16): [{"v_Data" (UTF-16): <42>, "v_PersistentRef": <78>}]}
  const Bytes utf16_keys = binary_plist({
      std::string("\xD1\x01\x02", 3),
      std::string("\x64\0g\0e\0n\0p", 9),
      std::string("\xA1\x03", 2),
      std::string("\xD2\x04\x05\x06\x07", 5),
      std::string("\x66\0v\0_\0D\0a\0t\0a", 13),
      std::string("\x5F\x10\x0Fv_PersistentRef", 18),
      std::string("\x41\x42", 2),
      std::string("\x41x", 2),
  });
  for (const Result<KeychainArchive>& a : read_both_ways(utf16_keys)) {
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    ASSERT_EQ(a->items[0].size(), 1u);
    EXPECT_EQ(a->items[0][0].blob, Bytes{0x42});
    EXPECT_EQ(a->items[0][0].persistent_ref, Bytes{'x'});
    EXPECT_TRUE(a->warnings.empty());
  }

  // A class written as a set (marker 0xC), which libplist reads as an array.
  const Bytes as_set = binary_plist({
      std::string("\xD1\x01\x02", 3),
      std::string("\x54genp", 5),
      std::string("\xC1\x03", 2),
      std::string("\xD1\x04\x05", 3),
      std::string("\x56v_Data", 7),
      std::string("\x41\x42", 2),
  });
  for (const Result<KeychainArchive>& a : read_both_ways(as_set)) {
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    ASSERT_EQ(a->items[0].size(), 1u);
    EXPECT_EQ(a->items[0][0].blob, Bytes{0x42});
  }

  // A keybag-uuid that is not text is refused, naming it, on both paths.
  const Bytes bad_text = binary_plist({
      std::string("\xD1\x01\x02", 3),
      std::string("\x5Bkeybag-uuid", 12),
      std::string("\x52\xC3\x28", 3),
  });
  for (const Result<KeychainArchive>& a : read_both_ways(bad_text)) {
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().to_string(),
              "corruption: keychain-backup.plist: keybag-uuid: not valid UTF-8 text");
  }
}

// {k00: v, k01: v, ...} with `keys` keys, every value the string "v"; `last` replaces the last key
// object (to repeat an earlier key in another spelling, or `same_object`: the last key references
// the first key's object).
Bytes large_dictionary(size_t keys, const std::string& last = "", bool same_object = false) {
  std::vector<std::string> objects;
  std::string dict = "\xDF\x10";
  dict += static_cast<char>(keys);
  for (size_t i = 0; i < keys; ++i)
    dict += static_cast<char>(same_object && i + 1 == keys ? 2 : 2 + i);
  for (size_t i = 0; i < keys; ++i)
    dict += '\x01';
  objects.push_back(dict);
  objects.push_back(std::string("\x51") + "v");
  for (size_t i = 0; i < keys; ++i) {
    const char name[] = {'k', static_cast<char>('0' + i / 10), static_cast<char>('0' + i % 10)};
    objects.push_back(i + 1 == keys && !last.empty() ? last
                                                     : std::string("\x53") + std::string(name, 3));
  }
  return binary_plist(objects);
}

// The repeated-key check of a large dictionary orders keys by fingerprint and compares those that
// share one; with 0 bits every key shares it and the check sorts by text alone (its worst case, a
// file made to collide), with 8 bits some do. Each way: distinct keys of one length pass, a key
// spelled twice (ASCII, or once in UTF-16) or one key object referenced twice is refused.
TEST(PropertyList, ALargeDictionaryRepeatingAKeyIsRefusedWhateverItsFingerprints) {
  const std::string k03_utf16(
      "\x63\0k\0"
      "0\0"
      "3",
      7);
  for (const unsigned bits : {32u, 8u, 0u}) {
    SCOPED_TRACE(bits);
    PlistLimits limits;
    limits.key_fingerprint_bits = bits;
    EXPECT_TRUE(parse_plist(large_dictionary(30), "d", limits).ok());
    for (const std::string& last : {std::string("\x53k03"), k03_utf16}) {
      auto r = parse_plist(large_dictionary(30, last), "d", limits);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().to_string(),
                "corruption: d: invalid binary property list: object 0: dictionary key 'k03' "
                "appears twice");
    }
    auto same = parse_plist(large_dictionary(30, "", true), "d", limits);
    ASSERT_FALSE(same.ok());
    EXPECT_NE(same.status().message().find("dictionary key 'k00' appears twice"), std::string::npos)
        << same.status().to_string();
  }
}

// The nesting cap counts every spelling libplist accepts as a container, and only those.
TEST(PropertyList, XmlNestingCapCountsEverySpellingOfAContainer) {
  auto nested = [](std::string_view open, std::string_view close, int depth) {
    std::string xml = "<?xml version=\"1.0\"?><plist version=\"1.0\">";
    for (int i = 0; i < depth; ++i)
      xml += open;
    for (int i = 0; i < depth; ++i)
      xml += close;
    return xml + "</plist>";
  };
  for (const auto& [open, close] : std::vector<std::pair<std::string, std::string>>{
           {"<array>", "</array>"}, {"<array >", "</array >"}, {"<array\n>", "</array\t>"}}) {
    EXPECT_TRUE(parse_plist(as_bytes(nested(open, close, 16)), "doc").ok()) << open;
    auto deep = parse_plist(as_bytes(nested(open, close, 17)), "doc");
    EXPECT_EQ(deep.status().code(), Code::kResourceExhausted) << open;
  }
  // Self-closing containers hold nothing: many of them side by side are not depth.
  std::string flat = "<?xml version=\"1.0\"?><plist version=\"1.0\"><array>";
  for (int i = 0; i < 40; ++i)
    flat += "<dict/><array />";
  EXPECT_TRUE(parse_plist(as_bytes(flat + "</array></plist>"), "doc").ok());
}

TEST(Archive, ItemCountCapIsEnforced) {
  ArchiveLimits limits;
  limits.max_items = 2;
  auto r = read_keychain_archive(write_keychain_archive(sample_archive()), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
}

TEST(Manifest, RoundTripsAndNamesMissingFields) {
  Manifest m;
  m.backup_keybag = Bytes{9, 9, 9};
  m.manifest_key = Bytes(44, 0x44);
  m.is_encrypted = true;
  m.lockdown = {
      "00008101-000a1b2c3d4e5f60", "iPhone14,2", "17.5", "21F90", "Test phone", "F2LXXXXXXXXX"};
  m.version = "10.0";
  m.date = 1'700'000'000;
  m.was_passcode_set = true;
  m.journey = "local-encrypted";
  auto back = read_manifest(write_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(back->lockdown.unique_device_id, "00008101-000a1b2c3d4e5f60");
  EXPECT_EQ(back->journey, "local-encrypted");

  auto parsed = parse_plist(write_manifest(m), "test");
  ASSERT_TRUE(parsed.ok());
  plist_dict_remove_item(plist_dict_get_item(parsed->get(), "Lockdown"), "UniqueDeviceID");
  // to_binary_plist writes only the node types of our archives, not dates; Date is optional.
  plist_dict_remove_item(parsed->get(), "Date");
  auto broken = read_manifest(to_binary_plist(parsed->get()));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("Lockdown.UniqueDeviceID"), std::string::npos);
}

// Both readings of a binary Manifest.plist agree wherever libplist parses it: the same manifest,
// or the same refusal (in place, objects never read are not refused: libplist's "not a property
// list" is the one answer the in-place reader need not give).
void expect_manifest_read_both_ways_alike(const Bytes& bytes) {
  const Result<Manifest> in_place = read_manifest(bytes);
  const Result<Manifest> tree = read_manifest_through_libplist(bytes);
  if (!tree.ok() && tree.status().message().find("not a property list") != std::string::npos) {
    return;
  }
  ASSERT_EQ(in_place.ok(), tree.ok())
      << (in_place.ok() ? tree.status().to_string() : in_place.status().to_string());
  if (tree.ok()) {
    EXPECT_EQ(*in_place, *tree);
  } else {
    EXPECT_EQ(in_place.status().to_string(), tree.status().to_string());
  }
}

// A big-endian IEEE double, as a binary plist stores a date's seconds since 2001.
std::string be_double(double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>(bits >> (56 - 8 * i));
  return out;
}

// {BackupKeyBag: <abc>, IsEncrypted: true, Lockdown: {UniqueDeviceID: "u", DeviceName: <name
// object, "é☃" in UTF-16 by default>}, Date: <date object>}, laid out by hand.
Bytes manifest_with_date(const std::string& date_object,
                         const std::string& name_object = std::string("\x62\x00\xE9\x26\x03", 5)) {
  return binary_plist({
      std::string("\xD4\x01\x02\x03\x04\x05\x06\x07\x08", 9),
      "\x5C"
      "BackupKeyBag",
      "\x5B"
      "IsEncrypted",
      "\x58"
      "Lockdown",
      "\x54"
      "Date",
      "\x43"
      "abc",
      "\x09",
      std::string("\xD2\x09\x0A\x0B\x0C", 5),
      date_object,
      "\x5E"
      "UniqueDeviceID",
      "\x5A"
      "DeviceName",
      "\x51"
      "u",
      name_object,
  });
}

TEST(Manifest, ABinaryManifestReadsInPlaceAsThroughLibplist) {
  Manifest m;
  m.backup_keybag = Bytes{1, 2, 3};
  m.manifest_key = Bytes(44, 0x44);
  m.is_encrypted = true;
  m.lockdown = {"udid", "iPhone14,2", "17.5", "21F90", "Test phone", "F2LXXXXXXXXX"};
  m.version = "10.0";
  m.date = 1'700'000'000;
  m.was_passcode_set = true;
  m.journey = "local-encrypted";
  expect_manifest_read_both_ways_alike(write_manifest(m));

  // Each field missing, or of another type, through the tree writer (which writes no dates).
  using Edit = std::function<void(plist_t root, plist_t lockdown)>;
  const std::vector<Edit> edits = {
      [](plist_t, plist_t) {},
      [](plist_t r, plist_t) { plist_dict_remove_item(r, "BackupKeyBag"); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "BackupKeyBag", plist_new_string("x")); },
      [](plist_t r, plist_t) { plist_dict_remove_item(r, "IsEncrypted"); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "IsEncrypted", plist_new_data("x", 1)); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "ManifestKey", plist_new_bool(1)); },
      [](plist_t r, plist_t) { plist_dict_remove_item(r, "ManifestKey"); },
      [](plist_t r, plist_t) { plist_dict_remove_item(r, "Lockdown"); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "Lockdown", plist_new_string("x")); },
      [](plist_t, plist_t l) { plist_dict_remove_item(l, "UniqueDeviceID"); },
      [](plist_t, plist_t l) { plist_dict_set_item(l, "UniqueDeviceID", plist_new_data("x", 1)); },
      [](plist_t, plist_t l) { plist_dict_set_item(l, "DeviceName", plist_new_bool(0)); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "Version", plist_new_data("x", 1)); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "WasPasscodeSet", plist_new_string("x")); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "Journey", plist_new_bool(1)); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "Date", plist_new_string("x")); },
      [](plist_t r, plist_t) { plist_dict_set_item(r, "Extra", plist_new_bool(1)); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE(i);
    auto parsed = parse_plist(write_manifest(m), "test");
    ASSERT_TRUE(parsed.ok());
    plist_dict_remove_item(parsed->get(), "Date");
    edits[i](parsed->get(), plist_dict_get_item(parsed->get(), "Lockdown"));
    expect_manifest_read_both_ways_alike(to_binary_plist(parsed->get()));
  }

  // Known answers for the paths (both readings build them alike): a member of another type, and
  // a missing one.
  auto parsed = parse_plist(write_manifest(m), "test");
  ASSERT_TRUE(parsed.ok());
  plist_dict_remove_item(parsed->get(), "Date");
  plist_dict_set_item(parsed->get(), "IsEncrypted", plist_new_data("x", 1));
  plist_dict_remove_item(plist_dict_get_item(parsed->get(), "Lockdown"), "UniqueDeviceID");
  EXPECT_EQ(read_manifest(to_binary_plist(parsed->get())).status().to_string(),
            "corruption: Manifest.plist: IsEncrypted: expected a boolean, found data");
  plist_dict_set_item(parsed->get(), "IsEncrypted", plist_new_bool(0));
  EXPECT_EQ(
      read_manifest(to_binary_plist(parsed->get())).status().to_string(),
      "corruption: Manifest.plist: Lockdown.UniqueDeviceID: expected a string, found nothing");

  // Dates as libplist hands them over (seconds toward zero, INT32_MIN out of range), a UTF-16
  // string, and a date whose eight bytes would run into the offset table.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double d : {700'000'000.75, -1.5, -2147483648.5, 2147483647.9, 3e9, -3e9, 1e300, nan}) {
    SCOPED_TRACE(d);
    const Bytes bytes = manifest_with_date("\x33" + be_double(d));
    expect_manifest_read_both_ways_alike(bytes);
    auto read = read_manifest(bytes);
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    EXPECT_EQ(read->lockdown.device_name, "\xC3\xA9\xE2\x98\x83");
    const int64_t seconds = std::isnan(d) || d >= 2147483648.0 || d <= -2147483649.0
                                ? INT32_MIN
                                : static_cast<int64_t>(std::trunc(d));
    EXPECT_EQ(read->date, seconds + kAppleEpochUnixSeconds);
  }
  expect_manifest_read_both_ways_alike(manifest_with_date("\x33\x41"));
  // A DeviceName that is not UTF-8 (ASCII marker, byte 0xFF), and one that is a lone surrogate.
  const std::string date = "\x33" + be_double(1.0);
  expect_manifest_read_both_ways_alike(manifest_with_date(date, "\x51\xFF"));
  EXPECT_FALSE(read_manifest(manifest_with_date(date, "\x51\xFF")).ok());
  // The one other difference: libplist drops a lone UTF-16 surrogate (the name reads ""), in
  // place it stays and the text is refused as not UTF-8, as the archive's keys are.
  const Bytes lone = manifest_with_date(date, std::string("\x61\xD8\x00", 3));
  auto lone_tree = read_manifest_through_libplist(lone);
  ASSERT_TRUE(lone_tree.ok()) << lone_tree.status().to_string();
  EXPECT_EQ(lone_tree->lockdown.device_name, "");
  EXPECT_EQ(read_manifest(lone).status().to_string(),
            "corruption: Manifest.plist: Lockdown.DeviceName: not valid UTF-8 text");
}

// Status.plist too: the writer's document, and one with a field of another type.
TEST(BackupStatusPlist, ReadsInPlaceAsThroughLibplist) {
  BackupStatus s;
  s.snapshot_state = "finished";
  s.is_full_backup = true;
  s.uuid = "uuid";
  s.version = "3.3";
  s.date = 1'700'000'000;
  const Bytes written = write_backup_status(s);
  auto in_place = read_backup_status(written);
  auto tree = read_backup_status_through_libplist(written);
  ASSERT_TRUE(in_place.ok() && tree.ok()) << in_place.status().to_string();
  EXPECT_EQ(in_place->snapshot_state, "finished");
  EXPECT_EQ(*in_place, s);
  EXPECT_EQ(*tree, s);

  auto parsed = parse_plist(written, "test");
  ASSERT_TRUE(parsed.ok());
  plist_dict_remove_item(parsed->get(), "Date");
  plist_dict_set_item(parsed->get(), "IsFullBackup", plist_new_string("yes"));
  const Bytes edited = to_binary_plist(parsed->get());
  auto bad_in_place = read_backup_status(edited);
  auto bad_tree = read_backup_status_through_libplist(edited);
  ASSERT_FALSE(bad_in_place.ok());
  EXPECT_EQ(bad_in_place.status().to_string(), bad_tree.status().to_string());
  EXPECT_NE(bad_in_place.status().message().find("Status.plist: IsFullBackup"), std::string::npos);
}

// write_backup_folder puts every file of a BackupFolder on disk under its name (blobs in their
// XX/ folder), DiskFolder reads them back, a second write into the same folder is refused and a
// missing folder is an I/O error, not a missing file.
TEST(BackupFolderFiles, WritesAndReadsADirectoryAndRefusesToOverwrite) {
  const auto dir = std::filesystem::temp_directory_path() / "kcb_archive_test_folder";
  std::filesystem::remove_all(dir);
  BackupFolder f;
  const std::string blob = "51/51a4616e576dd33cd2abadfea874eb8ff246bf0e";
  f.files[blob] = write_keychain_archive(sample_archive());
  f.files[kInfoPlistName] = Bytes{1};
  f.files[kManifestDbName] = Bytes{2};
  f.files[kManifestPlistName] = Bytes{3};
  f.files[kStatusPlistName] = Bytes{4};
  ASSERT_TRUE(write_backup_folder(default_env(), dir, f).ok());
  const DiskFolder disk(default_env(), dir);
  for (const auto& [name, bytes] : f.files) {
    auto back = disk.read(name, 1 << 20);
    ASSERT_TRUE(back.ok()) << name << ": " << back.status().to_string();
    EXPECT_EQ(*back, bytes) << name;
  }
  auto archive = read_keychain_archive(*disk.read(blob, 1 << 20));
  ASSERT_TRUE(archive.ok()) << archive.status().to_string();
  EXPECT_EQ(archive->items[0].size(), 2u);
  EXPECT_EQ(disk.read("Status.plist.tmp", 1 << 20).status().code(), Code::kNotFound);
  EXPECT_EQ(disk.read(kStatusPlistName, 0).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(write_backup_folder(default_env(), dir, f).code(), Code::kAlreadyExists);
  EXPECT_EQ(
      DiskFolder(default_env(), dir / "missing").read(kStatusPlistName, 1 << 20).status().code(),
      Code::kIOError);
  // A folder without its commit mark is not written at all past the blobs.
  BackupFolder unfinished = f;
  unfinished.files.erase(kStatusPlistName);
  EXPECT_EQ(write_backup_folder(default_env(), dir / "unfinished", unfinished).code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir / "unfinished" / kStatusPlistName));
  std::filesystem::remove_all(dir);
}

// bytes.h's byte-order helpers: the one implementation the parsers and writers share.
TEST(ByteOrder, LoadsAndStoresAreInversesInBothOrders) {
  uint8_t b[8] = {};
  store_be32(b, 0x01020304);
  EXPECT_EQ(Bytes(b, b + 4), (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(load_be32(b), 0x01020304u);
  EXPECT_EQ(load_le32(b), 0x04030201u);
  store_le32(b, 0xA1B2C3D4);
  EXPECT_EQ(Bytes(b, b + 4), (Bytes{0xD4, 0xC3, 0xB2, 0xA1}));
  Bytes out;
  append_be(out, uint64_t{0x0102030405060708});
  EXPECT_EQ(out, (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(load_be64(out.data()), 0x0102030405060708u);
  append_le(out, uint32_t{0xFFFFFFFE});
  EXPECT_EQ(Bytes(out.begin() + 8, out.end()), (Bytes{0xFE, 0xFF, 0xFF, 0xFF}));
  // A persistent ref's row id is big-endian, and reads back.
  const Bytes ref = make_persistent_ref(ItemClass::kInet, 0x0102);
  EXPECT_EQ(Bytes(ref.begin() + 4, ref.end()), (Bytes{0, 0, 0, 0, 0, 0, 1, 2}));
  EXPECT_EQ(*rowid_of_persistent_ref(ref, ItemClass::kInet), 0x0102);
}

}  // namespace
}  // namespace kcb

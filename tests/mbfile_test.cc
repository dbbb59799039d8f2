// engine/mbfile.h: the NSKeyedArchiver MBFile record. Round trips, Apple's layout checked field
// by field and byte for byte, a hand-built archive in an order no Apple writer uses, and the
// hostile catalog (UID past $objects, UID cycles, wrong types, a huge $objects, wrong key sizes):
// each refused with an error naming the field.
#include "engine/mbfile.h"

#include <gtest/gtest.h>
#include <plist/plist.h>

#include <string>

#include "engine/binary_plist_writer.h"
#include "input/property_list.h"
#include "tests/binary_plist_bytes.h"

namespace kcb {
namespace {

MBFile keychain_file() {
  MBFile f;
  f.relative_path = "keychain-backup.plist";
  f.size = 1620;
  f.mode = 0100600;
  f.user_id = 501;
  f.group_id = 501;
  f.inode_number = 162058;
  f.flags = 0;
  f.birth = 1610674653;
  f.last_modified = 1610674654;
  f.last_status_change = 1610674655;
  f.protection_class = 1;
  f.encryption_key = FileEncryptionKey{1, Bytes(kFileWrappedKeySize, 0xA7)};
  return f;
}

PlistPtr tree_of(const Bytes& bytes) {
  auto doc = parse_plist(bytes, "test");
  KCB_ASSERT(doc.ok());
  return std::move(doc).value();
}

plist_t objects_of(plist_t doc) {
  return plist_dict_get_item(doc, "$objects");
}
plist_t object(plist_t doc, uint32_t i) {
  return plist_array_get_item(objects_of(doc), i);
}

// Every record here is read both ways, in place and through libplist's tree (engine/mbfile.h):
// the same record, or the same refusal word for word.
Result<MBFile> decode_both_ways(const Bytes& bytes, const MBFileLimits& limits = {}) {
  Result<MBFile> in_place = decode_mbfile(bytes, limits);
  const Result<MBFile> tree = decode_mbfile_through_libplist(bytes, limits);
  EXPECT_EQ(in_place.ok() ? "(accepted)" : in_place.status().to_string(),
            tree.ok() ? "(accepted)" : tree.status().to_string());
  if (in_place.ok() && tree.ok()) EXPECT_EQ(*in_place, *tree);
  return in_place;
}

Result<MBFile> decode_tree(plist_t doc, const MBFileLimits& limits = {}) {
  return decode_both_ways(to_binary_plist(doc), limits);
}

std::string error_of(const Result<MBFile>& r) {
  return r.ok() ? "(accepted)" : r.status().to_string();
}

TEST(MBFile, RoundTripsEveryField) {
  MBFile f = keychain_file();
  f.target = "/var/mobile/Library/x";
  f.digest = Bytes(20, 0x3C);
  f.user_id = 4294967294u;  // Darwin's "nobody" (-2)
  f.birth = -5;
  f.inode_number = uint64_t{1} << 40;
  auto back = decode_mbfile(encode_mbfile(f));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, f);
  MBFile folder;
  folder.relative_path = "";
  folder.mode = 040755;
  auto folder_back = decode_mbfile(encode_mbfile(folder));
  ASSERT_TRUE(folder_back.ok()) << folder_back.status().to_string();
  EXPECT_EQ(*folder_back, folder);
}

TEST(MBFile, WritesApplesObjectLayout) {
  // The layout of the records in a real iOS 14 Manifest.db: $null, the MBFile, its path, the
  // NSMutableData holding EncryptionKey, that object's class, then MBFile's class.
  const PlistPtr doc = tree_of(encode_mbfile(keychain_file()));
  auto str = [](plist_t n) { return std::string(*plist_string(n, "t")); };
  auto uint = [](plist_t n) {
    uint64_t v = 0;
    KCB_ASSERT(plist_get_node_type(n) == PLIST_UINT);
    plist_get_uint_val(n, &v);
    return v;
  };
  auto uid = [](plist_t n) {
    uint64_t v = 0;
    KCB_ASSERT(plist_get_node_type(n) == PLIST_UID);
    plist_get_uid_val(n, &v);
    return v;
  };
  EXPECT_EQ(plist_dict_get_size(doc.get()), 4u);
  EXPECT_EQ(str(plist_dict_get_item(doc.get(), "$archiver")), "NSKeyedArchiver");
  EXPECT_EQ(uint(plist_dict_get_item(doc.get(), "$version")), 100000u);
  EXPECT_EQ(uid(plist_dict_get_item(plist_dict_get_item(doc.get(), "$top"), "root")), 1u);
  ASSERT_EQ(plist_array_get_size(objects_of(doc.get())), 6u);
  EXPECT_EQ(str(object(doc.get(), 0)), "$null");
  const plist_t root = object(doc.get(), 1);
  EXPECT_EQ(plist_dict_get_size(root), 13u);
  EXPECT_EQ(uid(plist_dict_get_item(root, "RelativePath")), 2u);
  EXPECT_EQ(uid(plist_dict_get_item(root, "EncryptionKey")), 3u);
  EXPECT_EQ(uid(plist_dict_get_item(root, "$class")), 5u);
  EXPECT_EQ(uint(plist_dict_get_item(root, "Mode")), 0100600u);
  EXPECT_EQ(uint(plist_dict_get_item(root, "ProtectionClass")), 1u);
  EXPECT_EQ(uint(plist_dict_get_item(root, "Size")), 1620u);
  EXPECT_EQ(uint(plist_dict_get_item(root, "LastStatusChange")), 1610674655u);
  EXPECT_EQ(str(object(doc.get(), 2)), "keychain-backup.plist");
  const plist_t key = object(doc.get(), 3);
  EXPECT_EQ(uid(plist_dict_get_item(key, "$class")), 4u);
  auto ns_data = plist_data(plist_dict_get_item(key, "NS.data"), "t");
  ASSERT_TRUE(ns_data.ok());
  EXPECT_EQ(to_hex(*ns_data), "01000000" + to_hex(Bytes(40, 0xA7)));  // class 1, little-endian
  EXPECT_EQ(str(plist_dict_get_item(object(doc.get(), 4), "$classname")), "NSMutableData");
  const plist_t classes = plist_dict_get_item(object(doc.get(), 4), "$classes");
  ASSERT_EQ(plist_array_get_size(classes), 3u);
  EXPECT_EQ(str(plist_array_get_item(classes, 1)), "NSData");
  EXPECT_EQ(str(plist_dict_get_item(object(doc.get(), 5), "$classname")), "MBFile");
}

TEST(MBFile, IntegerAndUidEncodingsByteForByte) {
  // Marker 0x1n: 2^n big-endian bytes (8 for negatives); 0x8n: n+1 bytes of UID (CFBinaryPList).
  BinaryPlistWriter w;
  const BinaryPlistWriter::Ref items[] = {
      w.integer(0x7F), w.integer(0x1234), w.integer(0x12345678), w.integer(int64_t{1} << 32),
      w.integer(-2),   w.uid(5),          w.uid(0x1234)};
  const Bytes out = w.finish(w.array(items));
  const std::string objects = to_hex(ByteView(out).subspan(8, out.size() - 8 - 8 - 32));
  EXPECT_EQ(objects,
            "107f"
            "111234"
            "1212345678"
            "130000000100000000"
            "13fffffffffffffffe"
            "8005"
            "811234"
            "a700010203040506");
}

TEST(MBFile, DecodesAHandBuiltArchiveInAnotherOrderWithWrappersAndUnknownFields) {
  // $objects: 0 $null, 1 MBFile's class, 2 NSMutableString {NS.string: UID 6}, 3 NSMutableData
  // {NS.data}, 4 the root, 5 a UID hop to 3, 6 the path text, 7 unknown extended attributes.
  PlistPtr doc(plist_new_dict());
  plist_dict_set_item(doc.get(), "$archiver", plist_new_string("NSKeyedArchiver"));
  plist_dict_set_item(doc.get(), "$version", plist_new_uint(100000));
  plist_dict_set_item(doc.get(), "$extra", plist_new_string("ignored"));
  plist_t top = plist_new_dict();
  plist_dict_set_item(top, "root", plist_new_uid(4));
  plist_dict_set_item(doc.get(), "$top", top);
  plist_t objects = plist_new_array();
  plist_array_append_item(objects, plist_new_string("$null"));
  plist_t cls = plist_new_dict();
  plist_dict_set_item(cls, "$classname", plist_new_string("MBFile"));
  plist_array_append_item(objects, cls);
  plist_t path = plist_new_dict();
  plist_dict_set_item(path, "NS.string", plist_new_uid(6));
  plist_array_append_item(objects, path);
  plist_t key = plist_new_dict();
  Bytes key_bytes = {4, 0, 0, 0};
  key_bytes.resize(44, 0x5E);
  plist_dict_set_item(key, "NS.data",
                      plist_new_data(reinterpret_cast<const char*>(key_bytes.data()), 44));
  plist_array_append_item(objects, key);
  plist_t root = plist_new_dict();
  plist_dict_set_item(root, "$class", plist_new_uid(1));
  plist_dict_set_item(root, "RelativePath", plist_new_uid(2));
  plist_dict_set_item(root, "EncryptionKey", plist_new_uid(5));
  plist_dict_set_item(root, "ProtectionClass", plist_new_uint(4));
  plist_dict_set_item(root, "Size", plist_new_uint(77));
  plist_dict_set_item(root, "ExtendedAttributes", plist_new_uid(7));
  plist_dict_set_item(root, "SomethingNew", plist_new_string("from a later iOS"));
  plist_array_append_item(objects, root);
  plist_array_append_item(objects, plist_new_uid(3));
  plist_array_append_item(objects, plist_new_string("Library/Preferences/x.plist"));
  plist_array_append_item(objects, plist_new_data("bplist00", 8));
  plist_dict_set_item(doc.get(), "$objects", objects);

  auto f = decode_tree(doc.get());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->relative_path, "Library/Preferences/x.plist");
  EXPECT_EQ(f->size, 77u);
  EXPECT_EQ(f->protection_class, 4u);
  ASSERT_TRUE(f->encryption_key.has_value());
  EXPECT_EQ(f->encryption_key->protection_class, 4u);
  EXPECT_EQ(f->encryption_key->wrapped_key, Bytes(40, 0x5E));
  EXPECT_EQ(f->mode, 0u);  // absent fields read as 0
  EXPECT_FALSE(f->target.has_value());
}

// ---- hostile archives: a valid record edited one way each ----

struct Edited {
  PlistPtr doc = tree_of(encode_mbfile(keychain_file()));
  plist_t root() { return object(doc.get(), 1); }
  std::string decode(const MBFileLimits& limits = {}) {
    return error_of(decode_tree(doc.get(), limits));
  }
};

TEST(MBFileHostile, UidPastObjectsNamesTheField) {
  Edited e;
  plist_dict_set_item(e.root(), "EncryptionKey", plist_new_uid(9));
  EXPECT_EQ(e.decode(), "corruption: MBFile: EncryptionKey: UID 9 past $objects (6)");
  Edited top;
  plist_dict_set_item(plist_dict_get_item(top.doc.get(), "$top"), "root", plist_new_uid(6));
  EXPECT_EQ(top.decode(), "corruption: MBFile: $top.root: UID 6 past $objects (6)");
  Edited cls;
  plist_dict_set_item(cls.root(), "$class", plist_new_uid(65536));
  EXPECT_EQ(cls.decode(), "corruption: MBFile: $class: UID 65536 past $objects (6)");
}

// A record laid out by hand (one-byte offsets and references): $objects[3] and $objects[4] are
// one object, {NS.string: <wrapped>}, which libplist's tree copies into two; RelativePath is
// `path_uid` (UID 3), Size a 16-byte integer of which libplist keeps the low 8 bytes (42).
Bytes shared_wrapper_record(
    const std::string& wrapped, const std::string& path_uid,
    const std::string& size =
        std::string("\x14\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x2A", 17)) {
  const std::string bytes = test::binary_plist_bytes({
      std::string("\xD4\x01\x02\x03\x04\x05\x06\x07\x08", 9),
      "\x59$archiver",
      "\x58$version",
      "\x58$objects",
      "\x54$top",
      "\x5F\x10\x0FNSKeyedArchiver",
      std::string("\x12\x00\x01\x86\xA0", 5),  // 100000
      std::string("\xA5\x09\x0A\x0E\x0F\x0F", 6),
      std::string("\xD1\x10\x11", 3),
      "\x55$null",
      std::string("\xD3\x0B\x0C\x17\x0D\x12\x18", 7),
      "\x56$class",
      "\x5CRelativePath",
      std::string("\x80\x02", 2),
      std::string("\xD1\x13\x14", 3),
      std::string("\xD1\x15\x16", 3),
      "\x54root",
      std::string("\x80\x01", 2),
      path_uid,
      "\x5A$classname",
      "\x56MBFile",
      "\x59NS.string",
      wrapped,
      "\x54Size",
      size,
  });
  return Bytes(bytes.begin(), bytes.end());
}

// In place an object is identified by its $objects index, as libplist's copies are: a wrapper
// met again through another index of the same object is a cycle at the same step both ways.
TEST(MBFile, ABinaryRecordReadsInPlaceAsThroughLibplist) {
  const std::string uid3("\x80\x03", 2);
  auto cycle = decode_both_ways(shared_wrapper_record(std::string("\x80\x04", 2), uid3));
  EXPECT_EQ(error_of(cycle),
            "corruption: MBFile: RelativePath: UID cycle through a NS.string wrapper");
  // A UID of three bytes (libplist takes one to four) to the same object; the wrapped text.
  auto text = decode_both_ways(shared_wrapper_record("\x51p", std::string("\x82\x00\x00\x03", 4)));
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  EXPECT_EQ(text->relative_path, "p");
  EXPECT_EQ(text->size, 42u);
  // UIDs of five and of nine bytes (libplist keeps the last eight, and at most 2^32 - 1), and
  // one past 2^32 - 1, which libplist refuses with the record; in place it is refused when read.
  for (const std::string& uid : {std::string("\x84\x00\x00\x00\x00\x03", 6),
                                 std::string("\x88\x01\x00\x00\x00\x00\x00\x00\x00\x03", 10)}) {
    auto long_uid = decode_both_ways(shared_wrapper_record("\x51p", uid));
    ASSERT_TRUE(long_uid.ok()) << long_uid.status().to_string();
    EXPECT_EQ(long_uid->relative_path, "p");
  }
  const Bytes too_far = shared_wrapper_record("\x51p", std::string("\x84\x01\x00\x00\x00\x03", 6));
  EXPECT_FALSE(decode_mbfile_through_libplist(too_far).ok());
  EXPECT_EQ(error_of(decode_mbfile(too_far)),
            "corruption: MBFile: RelativePath: UID 4294967299 past 2^32 - 1");
  // The last object an 8-byte integer with one byte left before the offset table: libplist
  // refuses the record, in place Size is refused when read (nothing is read past the objects).
  const Bytes cut = shared_wrapper_record("\x51p", uid3, "\x13\x01");
  EXPECT_FALSE(decode_mbfile_through_libplist(cut).ok());
  EXPECT_EQ(error_of(decode_mbfile(cut)),
            "corruption: MBFile: Size: an integer runs past the object table");
  for (const MBFile& f : {keychain_file(), MBFile{}}) {
    const Bytes record = encode_mbfile(f);
    auto both = decode_both_ways(record);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(*both, f);
  }
}

TEST(MBFileHostile, UidCyclesAreRefused) {
  // Through UIDs stored in $objects: 2 -> 3 -> 2.
  Edited hops;
  plist_array_set_item(objects_of(hops.doc.get()), plist_new_uid(3), 2);
  plist_array_set_item(objects_of(hops.doc.get()), plist_new_uid(2), 3);
  EXPECT_EQ(hops.decode(), "corruption: MBFile: RelativePath: UID cycle through object 2");
  // Through NS.string wrappers that point at each other: 2 {NS.string: UID 3}, 3 {NS.string: UID
  // 2}.
  Edited wrappers;
  plist_t a = plist_new_dict();
  plist_dict_set_item(a, "NS.string", plist_new_uid(3));
  plist_t b = plist_new_dict();
  plist_dict_set_item(b, "NS.string", plist_new_uid(2));
  plist_array_set_item(objects_of(wrappers.doc.get()), a, 2);
  plist_array_set_item(objects_of(wrappers.doc.get()), b, 3);
  EXPECT_EQ(wrappers.decode(),
            "corruption: MBFile: RelativePath: UID cycle through a NS.string wrapper");
  // A field pointing at the root object itself: a dictionary, but not a wrapper.
  Edited self;
  plist_dict_set_item(self.root(), "Target", plist_new_uid(1));
  EXPECT_EQ(self.decode(), "corruption: MBFile: Target: a dictionary without NS.string");
  // A chain longer than the cap, without a cycle.
  Edited chain;
  plist_t objects = objects_of(chain.doc.get());
  const uint32_t first = plist_array_get_size(objects);
  for (uint32_t i = 0; i < 12; ++i)
    plist_array_append_item(objects, plist_new_uid(i == 11 ? 2 : first + i + 1));
  plist_dict_set_item(chain.root(), "RelativePath", plist_new_uid(first));
  EXPECT_EQ(chain.decode(), "resource exhausted: MBFile: RelativePath: more than 8 UID hops");
}

TEST(MBFileHostile, WrongTypesNameTheField) {
  Edited size;
  plist_dict_set_item(size.root(), "Size", plist_new_string("1620"));
  EXPECT_EQ(size.decode(), "corruption: MBFile: Size: expected an integer, found a string");
  Edited mode;
  plist_dict_set_item(mode.root(), "Mode", plist_new_uid(2));
  EXPECT_EQ(mode.decode(), "corruption: MBFile: Mode: expected an integer, found a UID");
  Edited path;
  plist_array_set_item(objects_of(path.doc.get()), plist_new_data("ab", 2), 2);
  EXPECT_EQ(path.decode(), "corruption: MBFile: RelativePath: expected a string, found data");
  Edited key;
  plist_dict_set_item(key.root(), "EncryptionKey", plist_new_uid(2));
  EXPECT_EQ(key.decode(), "corruption: MBFile: EncryptionKey: expected data, found a string");
  Edited cls;
  plist_dict_set_item(object(cls.doc.get(), 5), "$classname", plist_new_string("NSString"));
  EXPECT_EQ(cls.decode(), "corruption: MBFile: $class: class 'NSString', expected MBFile");
  Edited big;
  plist_dict_set_item(big.root(), "ProtectionClass", plist_new_uint(uint64_t{1} << 32));
  EXPECT_EQ(big.decode(),
            "corruption: MBFile: ProtectionClass: 4294967296 does not fit in 32 bits");
  Edited root;
  plist_dict_set_item(plist_dict_get_item(root.doc.get(), "$top"), "root", plist_new_uid(2));
  EXPECT_EQ(root.decode(), "corruption: MBFile: $top.root: expected a dictionary, found a string");
  Edited nil_path;
  plist_dict_set_item(nil_path.root(), "RelativePath", plist_new_uid(0));
  EXPECT_EQ(nil_path.decode(), "corruption: MBFile: RelativePath: missing");
}

TEST(MBFileHostile, EnvelopeIsChecked) {
  Edited archiver;
  plist_dict_set_item(archiver.doc.get(), "$archiver", plist_new_string("NSArchiver"));
  EXPECT_EQ(archiver.decode(),
            "corruption: MBFile: $archiver: 'NSArchiver', expected NSKeyedArchiver");
  Edited version;
  plist_dict_set_item(version.doc.get(), "$version", plist_new_uint(99999));
  EXPECT_EQ(version.decode(), "unsupported: MBFile: $version 99999, expected 100000");
  Edited null;
  plist_array_set_item(objects_of(null.doc.get()), plist_new_string("$nil"), 0);
  EXPECT_EQ(null.decode(), "corruption: MBFile: $objects[0]: '$nil', expected $null");
  Edited no_objects;
  plist_dict_remove_item(no_objects.doc.get(), "$objects");
  EXPECT_EQ(no_objects.decode(), "corruption: MBFile: $objects: expected an array, found nothing");
  EXPECT_EQ(error_of(decode_mbfile(as_bytes("not a plist at all"))),
            "corruption: MBFile: not a property list (neither binary nor XML could be parsed)");
  PlistPtr array(plist_new_array());
  EXPECT_EQ(error_of(decode_tree(array.get())),
            "corruption: MBFile: expected a dictionary, found an array");
}

TEST(MBFileHostile, EncryptionKeyOfTheWrongSize) {
  for (size_t n : {0, 4, 43, 45, 60}) {
    Edited e;
    const Bytes k(n, 1);
    plist_dict_set_item(object(e.doc.get(), 3), "NS.data",
                        plist_new_data(reinterpret_cast<const char*>(k.data()), n));
    EXPECT_EQ(e.decode(), "corruption: MBFile: EncryptionKey: " + std::to_string(n) + " byte" +
                              (n == 1 ? "" : "s") +
                              ", expected 44 (4-byte class + 40-byte wrapped key)");
  }
}

TEST(MBFileHostile, HugeObjectCountAndSizeAreCapped) {
  Edited e;
  plist_t objects = objects_of(e.doc.get());
  for (int i = 0; i < 5000; ++i)
    plist_array_append_item(objects, plist_new_uid(0));
  EXPECT_EQ(e.decode(), "resource exhausted: MBFile: $objects: 5006 objects, over the cap of 1024");
  MBFileLimits small;
  small.max_bytes = 100;
  Edited sized;
  EXPECT_EQ(sized.decode(small).rfind("resource exhausted: MBFile: ", 0), 0u);
}

}  // namespace
}  // namespace kcb

// to_binary_plist (engine/binary_plist_writer.cc): Apple's layout byte for byte, every size class
// of counts, references and offsets, UTF-16 strings, and output that depends on the tree only.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/binary_plist_writer.h"
#include "engine/setup_profile.h"
#include "input/property_list.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"

namespace kcb {
namespace {

struct Trailer {
  size_t offset_size, ref_size;
  uint64_t objects, top, table;
};

uint64_t big_endian(const Bytes& b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v = v << 8 | b[at + i];
  return v;
}

Trailer trailer_of(const Bytes& b) {
  const size_t t = b.size() - 32;
  return {b[t + 6], b[t + 7], big_endian(b, t + 8, 8), big_endian(b, t + 16, 8),
          big_endian(b, t + 24, 8)};
}

KeychainArchive archive_of(size_t items, const Bytes& blob) {
  KeychainArchive a;
  a.keybag_uuid = "00112233-4455-6677-8899-AABBCCDDEEFF";
  for (size_t i = 0; i < items; ++i) {
    a.items[0].push_back({blob, make_persistent_ref(ItemClass::kGenp, static_cast<int64_t>(i))});
  }
  return a;
}

TEST(BinaryPlistWriter, WritesApplesLayoutByteForByte) {
  // {"a": true}, children before their container.
  PlistPtr root(plist_new_dict());
  plist_dict_set_item(root.get(), "a", plist_new_bool(1));
  EXPECT_EQ(to_hex(to_binary_plist(root.get())),
            "62706c6973743030"  // bplist00
            "5161"              // object 0 at 8: "a"
            "09"                // object 1 at 10: true
            "d10001"            // object 2 at 11: dict of 1 pair, key object 0, value object 1
            "080a0b"            // offset table at 14
            "000000000000"
            "01"
            "01"
            "0000000000000003"
            "0000000000000002"
            "000000000000000e");
}

TEST(BinaryPlistWriter, EqualBlobsAreWrittenOncePerOccurrence) {
  // libplist's writer uniques two equal blobs only when their node addresses happen to share one
  // of its 4,096 hash buckets, so whether it writes a blob once or twice depends on malloc (the
  // archive fuzz target caught one such pair). Ours writes every occurrence, always. Objects: root,
  // 5 top-level keys, 4 arrays, the uuid, 2 item keys, and per item its dictionary and two data
  // objects (the refs differ, the blobs are equal).
  const Bytes written = write_keychain_archive(archive_of(300, Bytes(64, 0xAB)));
  EXPECT_EQ(trailer_of(written).objects, 1u + 5 + 4 + 1 + 2 + 3 * 300);
  EXPECT_EQ(write_keychain_archive(archive_of(300, Bytes(64, 0xAB))), written);
}

TEST(BinaryPlistWriter, EveryCountAndLengthSizeRoundTrips) {
  for (size_t items : {0, 1, 14, 15, 16, 255, 256}) {
    for (size_t blob : {0, 14, 15, 255, 256, 65536}) {
      const KeychainArchive a = archive_of(items, Bytes(blob, 0x5A));
      auto back = read_keychain_archive(write_keychain_archive(a));
      ASSERT_TRUE(back.ok()) << items << " items of " << blob
                             << " bytes: " << back.status().to_string();
      ASSERT_EQ(back->items[0].size(), items);
      for (size_t i = 0; i < items; ++i) {
        ASSERT_EQ(back->items[0][i].blob, a.items[0][i].blob);
        ASSERT_EQ(back->items[0][i].persistent_ref, a.items[0][i].persistent_ref);
      }
    }
  }
}

TEST(BinaryPlistWriter, WidensReferencesAndOffsetsPast16Bits) {
  // 22,000 items make 66,000+ objects (4-byte references) and a file past 64 KiB (4-byte offsets).
  const KeychainArchive a = archive_of(22'000, Bytes{1, 2, 3});
  const Bytes written = write_keychain_archive(a);
  const Trailer t = trailer_of(written);
  EXPECT_EQ(t.ref_size, 4u);
  EXPECT_EQ(t.offset_size, 4u);
  auto back = read_keychain_archive(written);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_EQ(back->items[0].size(), a.items[0].size());
  EXPECT_EQ(back->items[0].back().persistent_ref, a.items[0].back().persistent_ref);
}

TEST(BinaryPlistWriter, NonAsciiTextIsUtf16AndReadsBack) {
  Manifest m;
  m.backup_keybag = Bytes{1, 2, 3};
  m.lockdown.unique_device_id =
      "caf\xC3\xA9-\xF0\x9F\x93\xB1";  // "café-" and U+1F4F1 (a surrogate pair)
  m.journey = "local";
  const Bytes written = write_manifest(m);
  // 5 code units of "café-" plus the pair: marker 0x67, then UTF-16BE.
  EXPECT_NE(to_hex(written).find("6700630061006600e9002dd83ddcf1"), std::string::npos);
  auto back = read_manifest(written);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->lockdown.unique_device_id, m.lockdown.unique_device_id);
}

// A document of `n` distinct strings, each once as a key and once as a value (ASCII and not), in
// a dictionary holding also an array of every third of them again: what the writer must unique.
Bytes document_of(size_t n) {
  std::vector<std::string> texts;
  for (size_t i = 0; i < n; ++i)
    texts.push_back((i % 5 == 0 ? "cl\xC3\xA9-" : "key-") + std::to_string(i));
  BinaryPlistWriter w;
  std::vector<BinaryPlistWriter::Ref> again;
  std::vector<std::pair<BinaryPlistWriter::Ref, BinaryPlistWriter::Ref>> entries;
  for (size_t i = 0; i < n; ++i) {
    entries.emplace_back(w.string(texts[i]), w.string(texts[(i + 1) % n]));
    if (i % 3 == 0) again.push_back(w.string(texts[i]));
  }
  entries.emplace_back(w.string("again"), w.array(again));
  return w.finish(w.dict(entries));
}

struct BaselineGuard {
  explicit BaselineGuard(bool on) : before(baseline_setup()) { set_baseline_setup(on); }
  ~BaselineGuard() { set_baseline_setup(before); }
  bool before;
};

TEST(BinaryPlistWriter, APooledWriterWritesWhatAFreshOneWrites) {
  // The working memory of a writer goes back to a per-thread pool; the next writer must not see
  // anything of the last one's strings. Fresh writers first (the baseline set-up pools nothing),
  // then pooled ones in an order that puts each size after a different one.
  const std::vector<size_t> sizes = {1, 2000, 0, 17, 300, 2000, 1, 40'000, 5};
  std::vector<Bytes> fresh;
  {
    BaselineGuard baseline(true);
    for (size_t n : sizes)
      fresh.push_back(document_of(n));
  }
  BaselineGuard pooled(false);
  for (size_t i = 0; i < sizes.size(); ++i)
    EXPECT_EQ(document_of(sizes[i]), fresh[i])
        << sizes[i] << " strings after " << sizes[(i + 8) % 9];
  // Each distinct string is one object: n texts, "again", the array and the dictionary.
  for (size_t i = 0; i < sizes.size(); ++i)
    EXPECT_EQ(trailer_of(fresh[i]).objects, sizes[i] + 3) << sizes[i];
  // And libplist, an independent reader, reads every string back.
  PlistPtr back(nullptr);
  plist_t root = nullptr;
  plist_from_bin(reinterpret_cast<const char*>(fresh[1].data()),
                 static_cast<uint32_t>(fresh[1].size()), &root);
  back.reset(root);
  ASSERT_NE(root, nullptr);
  ASSERT_EQ(plist_dict_get_size(root), 2001u);
  plist_t value = plist_dict_get_item(root, "cl\xC3\xA9-1995");
  ASSERT_NE(value, nullptr);
  uint64_t length = 0;
  EXPECT_EQ(std::string(plist_get_string_ptr(value, &length)), "key-1996");
}

}  // namespace
}  // namespace kcb

// Reader loops over counted plist input are linear, checked without a clock: this executable
// interposes libplist's accessors (the dynamic linker resolves the readers' calls to these
// definitions first) and counts them. libplist 2.2's plist_array_get_item(array, i) walks the
// list from its start, so a reader indexing an array of N entries costs N²/2 node visits; one
// that iterates calls plist_array_next_item N + 1 times and plist_array_get_item never.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <plist/plist.h>

#include <string>

#include "engine/archive_internal.h"
#include "input/document.h"
#include "input/property_list.h"
#include "kcbackup/archive.h"

namespace {

struct Calls {
  size_t array_get_item = 0;
  size_t array_next_item = 0;
  size_t dict_next_item = 0;
  size_t from_memory = 0;
};
Calls calls;

template <typename F>
F next_definition(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) std::abort();
  return reinterpret_cast<F>(f);
}

}  // namespace

extern "C" {
plist_t plist_array_get_item(plist_t node, uint32_t n) {
  static auto real = next_definition<plist_t (*)(plist_t, uint32_t)>("plist_array_get_item");
  ++calls.array_get_item;
  return real(node, n);
}
void plist_array_next_item(plist_t node, plist_array_iter iter, plist_t* item) {
  static auto real =
      next_definition<void (*)(plist_t, plist_array_iter, plist_t*)>("plist_array_next_item");
  ++calls.array_next_item;
  real(node, iter, item);
}
void plist_from_memory(const char* data, uint32_t length, plist_t* plist) {
  static auto real =
      next_definition<void (*)(const char*, uint32_t, plist_t*)>("plist_from_memory");
  ++calls.from_memory;
  real(data, length, plist);
}
void plist_dict_next_item(plist_t node, plist_dict_iter iter, char** key, plist_t* val) {
  static auto real =
      next_definition<void (*)(plist_t, plist_dict_iter, char**, plist_t*)>("plist_dict_next_item");
  ++calls.dict_next_item;
  real(node, iter, key, val);
}
}

namespace kcb {
namespace {

TEST(PlistLinear, TheSeamSeesLibplistCalls) {
  // The interposition works (else the tests below would pass vacuously).
  plist_t a = plist_new_array();
  plist_array_append_item(a, plist_new_bool(1));
  calls = {};
  EXPECT_NE(plist_array_get_item(a, 0), nullptr);
  EXPECT_EQ(calls.array_get_item, 1u);
  ASSERT_TRUE(for_each_plist_item(a, "a", [](size_t, plist_t) { return Status::Ok(); }).ok());
  EXPECT_EQ(calls.array_next_item, 2u);
  plist_free(a);
}

KeychainArchive archive_of(size_t items) {
  KeychainArchive a;
  a.keybag_uuid = "00112233-4455-6677-8899-AABBCCDDEEFF";
  for (size_t i = 0; i < items; ++i)
    a.items[i % 4].push_back({Bytes{uint8_t(i)}, make_persistent_ref(ItemClass::kGenp, 1)});
  return a;
}

// The tree path: an XML archive, and a binary one read through libplist for the comparison.
TEST(PlistLinear, TheArchiveReaderIteratesEveryClassOnce) {
  constexpr size_t kItems = 3000;
  const KeychainArchive a = archive_of(kItems);
  const Bytes binary = write_keychain_archive(a);
  PlistPtr tree = *parse_plist(binary, "archive");
  const Bytes xml = to_xml_plist(tree.get());
  for (bool through_xml : {true, false}) {
    SCOPED_TRACE(through_xml ? "XML" : "binary through libplist");
    calls = {};
    auto back =
        through_xml ? read_keychain_archive(xml) : read_keychain_archive_through_libplist(binary);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->items, a.items);
    EXPECT_EQ(calls.from_memory, 1u);
    EXPECT_EQ(calls.array_get_item, 0u);
    EXPECT_EQ(calls.array_next_item, kItems + 4);  // one past the end of each class
    EXPECT_EQ(calls.dict_next_item, 5u + 1);       // the top level: 4 classes, the UUID, the end
  }
}

// A binary archive (what every writer makes) is read in place: libplist builds no tree of it.
TEST(PlistLinear, ABinaryArchiveIsReadWithoutLibplistsTree) {
  const KeychainArchive a = archive_of(400);
  const Bytes binary = write_keychain_archive(a);
  calls = {};
  auto back = read_keychain_archive(binary);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->items, a.items);
  EXPECT_EQ(back->keybag_uuid, a.keybag_uuid);
  EXPECT_EQ(calls.from_memory, 0u);
  EXPECT_EQ(calls.array_next_item + calls.dict_next_item + calls.array_get_item, 0u);
}

TEST(PlistLinear, TheDocumentReaderIteratesArraysAndDictionaries) {
  constexpr size_t kEntries = 2000;
  std::string xml = "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>items</key><array>";
  for (size_t i = 0; i < kEntries; ++i)
    xml += "<integer>" + std::to_string(i) + "</integer>";
  xml += "</array></dict></plist>";
  calls = {};
  auto tree = input::read_document(as_bytes(xml), input::Limits{});
  ASSERT_TRUE(tree.ok()) << tree.status().to_string();
  EXPECT_EQ((*tree)["items"].size(), kEntries);
  EXPECT_EQ(calls.array_get_item, 0u);
  EXPECT_EQ(calls.array_next_item, kEntries + 1);
  EXPECT_EQ(calls.dict_next_item, 2u);
}

}  // namespace
}  // namespace kcb

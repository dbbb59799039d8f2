// Reader loops over counted plist input are linear, checked without a clock: this executable
// interposes libplist's accessors (the dynamic linker resolves the readers' calls to these
// definitions first) and counts them. libplist 2.2's plist_array_get_item(array, i) walks the
// list from its start, so a reader indexing an array of N entries costs N²/2 node visits; one
// that iterates calls plist_array_next_item N + 1 times and plist_array_get_item never.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <plist/plist.h>

#include <string>

#include "input/document.h"
#include "input/property_list.h"
#include "kcbackup/archive.h"

namespace {

struct Calls {
  size_t array_get_item = 0;
  size_t array_next_item = 0;
  size_t dict_next_item = 0;
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

TEST(PlistLinear, TheArchiveReaderIteratesEveryClassOnce) {
  constexpr size_t kItems = 3000;
  KeychainArchive a;
  a.keybag_uuid = "00112233-4455-6677-8899-AABBCCDDEEFF";
  for (size_t i = 0; i < kItems; ++i)
    a.items[i % 4].push_back({Bytes{uint8_t(i)}, make_persistent_ref(ItemClass::kGenp, 1)});
  const Bytes bytes = write_keychain_archive(a);
  calls = {};
  auto back = read_keychain_archive(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->items, a.items);
  EXPECT_EQ(calls.array_get_item, 0u);
  EXPECT_EQ(calls.array_next_item, kItems + 4);  // one past the end of each class
  EXPECT_EQ(calls.dict_next_item, 5u + 1);       // the top level: 4 classes, the UUID, the end
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

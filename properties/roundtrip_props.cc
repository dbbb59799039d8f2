// Round trips: DER values <-> bytes (equal and byte-stable), blob seal/open, keybag
// create -> serialize -> parse -> serialize (identical) -> unlock (same class keys), and archive,
// manifest and bundle write -> read (equal).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <set>

#include <unistd.h>

#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/archive.h"
#include "kcbackup/der.h"
#include "properties/generators.h"

namespace kcb {

namespace {

RC_GTEST_PROP(RoundTrip, DerValueEncodesDecodesEqualAndByteStable, ()) {
  const DerValue value = *props::gen_der_value(3).as("value");
  auto bytes = encode_der(value);
  RC_ASSERT(bytes.ok());
  auto decoded = decode_der(*bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == value);
  auto again = encode_der(*decoded);
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *bytes);
}

RC_GTEST_PROP(RoundTrip, BlobSealsAndOpens, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const uint32_t key_class = *rc::gen::inRange<uint32_t>(6, 13).as("key class");
  const Bytes plaintext = *props::gen_secret().as("plaintext");
  Bytes class_key(kClassKeySize);
  r->fill(class_key);
  auto blob = seal_blob(key_class, class_key, plaintext, *r);
  RC_ASSERT(blob.ok());
  RC_ASSERT(blob->size() == plaintext.size() + kBlobOverhead);
  auto parsed = parse_blob(*blob);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(parsed->key_class == key_class);
  auto opened = open_blob(*parsed, class_key);
  RC_ASSERT(opened.ok());
  RC_ASSERT(Bytes(opened->view().begin(), opened->view().end()) == plaintext);
  class_key[*rc::gen::inRange<size_t>(0, kClassKeySize)] ^= 0x80;
  RC_ASSERT(!open_blob(*parsed, class_key).ok());
}

RC_GTEST_PROP(RoundTrip, KeybagWriteParseSerializeIdenticalAndUnlocks, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const auto classes = *props::gen_keybag_classes(false).as("classes");
  const std::string password = *props::gen_password().as("password");
  const auto type = *rc::gen::element(KeybagType::kSystem, KeybagType::kBackup).as("type");
  Bytes device_key(16);
  r->fill(device_key);
  auto made = create_keybag(type, classes, as_bytes(password), ByteView(device_key),
                            KeybagKdf{2, true, 3}, *r);
  RC_ASSERT(made.ok());
  const Bytes bytes = serialize_keybag(made->bag);
  auto parsed = parse_keybag(bytes);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(serialize_keybag(*parsed) == bytes);
  RC_ASSERT(parsed->classes.size() == classes.size());
  auto keys = unlock_keybag(*parsed, as_bytes(password), ByteView(device_key));
  RC_ASSERT(keys.ok());
  for (const NewClassKey& c : classes) {
    const SecretBytes* got = keys->key_for(c.class_number);
    const SecretBytes* want = made->keys.key_for(c.class_number);
    RC_ASSERT(got != nullptr);
    RC_ASSERT(want != nullptr);
    RC_ASSERT(*got == *want);
  }
}

rc::Gen<KeychainArchive> gen_archive() {
  auto item = rc::gen::apply(
      [](ItemClass c, Bytes blob, int64_t rowid) {
        return std::pair<ItemClass, ArchivedItem>(
            c, ArchivedItem{std::move(blob), make_persistent_ref(c, rowid)});
      },
      props::gen_item_class(), rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()),
      rc::gen::inRange<int64_t>(1, int64_t{1} << 40));
  return rc::gen::map(
      rc::gen::pair(rc::gen::container<std::vector<std::pair<ItemClass, ArchivedItem>>>(item),
                    rc::gen::container<Bytes>(16, rc::gen::arbitrary<uint8_t>())),
      [](const std::pair<std::vector<std::pair<ItemClass, ArchivedItem>>, Bytes>& p) {
        KeychainArchive a;
        for (const auto& [c, it] : p.first)
          a.items[static_cast<size_t>(c)].push_back(it);
        a.keybag_uuid = uuid_text(p.second);
        return a;
      });
}

rc::Gen<Manifest> gen_manifest() {
  return rc::gen::apply(
      [](Bytes bag, bool encrypted, Bytes udid, Journey j) {
        return Manifest{std::move(bag), encrypted, to_hex(udid), std::string(name_of(j))};
      },
      rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>()), rc::gen::arbitrary<bool>(),
      rc::gen::container<Bytes>(20, rc::gen::arbitrary<uint8_t>()),
      rc::gen::element(Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup,
                       Journey::kQuickStart));
}

// Items and uuid; warnings are the reader's remarks, not content.
bool same_archive(const KeychainArchive& a, const KeychainArchive& b) {
  return a.items == b.items && a.keybag_uuid == b.keybag_uuid;
}

RC_GTEST_PROP(RoundTrip, ArchiveWritesAndReadsEqual, ()) {
  const KeychainArchive archive = *gen_archive().as("archive");
  auto read = read_keychain_archive(write_keychain_archive(archive));
  RC_ASSERT(read.ok());
  RC_ASSERT(same_archive(*read, archive));
  RC_ASSERT(read->warnings.empty());
}

RC_GTEST_PROP(RoundTrip, ManifestWritesAndReadsEqual, ()) {
  const Manifest manifest = *gen_manifest().as("manifest");
  auto read = read_manifest(write_manifest(manifest));
  RC_ASSERT(read.ok());
  RC_ASSERT(*read == manifest);
}

RC_GTEST_PROP(RoundTrip, BundleWritesAndReadsEqual, ()) {
  Bundle bundle{*gen_manifest().as("manifest"), *gen_archive().as("archive")};
  const auto dir =
      std::filesystem::temp_directory_path() / ("kcb-props-bundle-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  RC_ASSERT(write_bundle(default_env(), dir, bundle).ok());
  auto read = read_bundle(default_env(), dir);
  std::filesystem::remove_all(dir);
  RC_ASSERT(read.ok());
  RC_ASSERT(read->manifest == bundle.manifest);
  RC_ASSERT(same_archive(read->archive, bundle.archive));
}

}  // namespace
}  // namespace kcb

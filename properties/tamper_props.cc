// Tamper: one bit flipped or one file cut short anywhere in any file of a real backup folder
// (Info.plist, Manifest.plist, Manifest.db, Status.plist, the keychain's blob, encrypted or not).
// Either the restore fails with an error and the target is unchanged, or it succeeds and (a) every
// item on the target equals an original item, attributes and secret, so a modified secret is never
// restored, and (b) every item whose bytes were not touched (its blob in the decrypted keychain
// file, its class's keybag group and the keybag header unchanged) and that the unmodified folder
// restores is still restored. A changed keybag UUID on either side fails the whole restore (R7).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "properties/generators.h"

namespace kcb {
namespace {

using props::ItemSpec;

const std::string kPassword = "hunter2";

std::string account_of(const Item& item) {
  return std::string(item.account().begin(), item.account().end());
}

// The restore scene: a source with items, its bundle, and a target with an item of its own; built
// twice from one seed so that the baseline and the tampered run start from identical devices.
struct Scene {
  std::unique_ptr<Random> r;
  std::unique_ptr<Device> source;
  std::unique_ptr<Device> target;
  std::vector<Item> originals;  // the source's readable items
  BackupFolder folder;
};

Scene make_scene(uint64_t seed, Journey journey, const std::vector<ItemSpec>& specs) {
  Scene s;
  s.r = make_seeded_random(seed);
  s.source = std::move(Device::create_in_memory({true, false, std::nullopt}, *s.r)).value();
  for (const ItemSpec& spec : specs)
    (void)s.source->add(props::new_item_of(spec), *s.r);
  for (auto& stored : *s.source->list())
    s.originals.push_back(stored.item);
  auto folder = make_backup(
      *s.source, {journey, journey == Journey::kLocalEncrypted ? kPassword : "", kFastKdf}, *s.r);
  RC_ASSERT(folder.ok());
  s.folder = std::move(folder).value();
  // A password-less backup restores only onto its source; an encrypted one onto another device.
  if (journey == Journey::kLocalEncrypted) {
    s.target = std::move(Device::create_in_memory({true, false, std::nullopt}, *s.r)).value();
  } else {
    s.target = std::move(s.source);
  }
  props::ItemSpec own{Traits{}, "target-own", Bytes{1, 2, 3}};
  (void)s.target->add(props::new_item_of(own), *s.r);
  return s;
}

std::vector<KeybagRecord> group_of(const Keybag& bag, uint32_t class_number) {
  const KeybagClass* c = bag.find_class(class_number);
  return c ? c->records : std::vector<KeybagRecord>{};
}

bool same_records(const std::vector<KeybagRecord>& a, const std::vector<KeybagRecord>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const KeybagRecord& x, const KeybagRecord& y) {
                      return x.tag == y.tag && x.value == y.value;
                    });
}

// The keychain file as the target's restore reads it (the folder's own keys; none changed yet).
std::optional<KeychainArchive> archive_of(const BackupFolder& folder, const Device& target) {
  BackupOpenOptions o;
  o.password = kPassword;
  o.device = &target;
  auto backup = OpenedBackup::open(folder, o);
  if (!backup.ok()) return std::nullopt;
  auto archive = backup->read_keychain();
  if (!archive.ok()) return std::nullopt;
  return std::move(archive).value();
}

std::optional<Keybag> bag_of(const BackupFolder& folder) {
  auto manifest = read_folder_manifest(folder);
  if (!manifest.ok()) return std::nullopt;
  auto bag = parse_keybag(manifest->backup_keybag);
  if (!bag.ok()) return std::nullopt;
  return std::move(bag).value();
}

RC_GTEST_PROP(Tamper, AFlippedBitOrTruncationInAnyFileFailsCleanlyOrDropsOnlyTouchedItems, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(1, 6, props::gen_addable_traits(true)).as("items");
  const auto mutation = *props::gen_byte_mutation().as("mutation");

  // Baseline: the unmodified folder onto an identical target.
  Scene base = make_scene(seed, journey, specs);
  auto base_report = restore_backup(base.folder, *base.target, {kPassword, {}, {}}, *base.r);
  RC_ASSERT(base_report.ok());
  Scene s = make_scene(seed, journey, specs);
  const std::optional<KeychainArchive> base_archive = archive_of(s.folder, *s.target);
  RC_ASSERT(base_archive.has_value());
  std::vector<std::pair<ItemClass, Bytes>> restored_in_base;  // (class, blob) restored
  for (const ItemFate& f : base_report->items) {
    if (f.restored) {
      restored_in_base.emplace_back(
          f.item_class, base_archive->items[static_cast<size_t>(f.item_class)][f.index].blob);
    }
  }

  std::vector<std::string> names;
  for (const auto& [name, bytes] : s.folder.files)
    names.push_back(name);
  const std::string file = *rc::gen::elementOf(names).as("file");
  RC_TAG(file.find('/') != std::string::npos ? "keychain blob" : file);
  BackupFolder tampered = s.folder;
  const Bytes& original = s.folder.files.at(file);
  tampered.files[file] = props::apply_mutation(original, mutation);
  RC_PRE(tampered.files[file] != original);

  auto before = DeviceInternals::store(*s.target).list_all();
  RC_ASSERT(before.ok());
  auto report = restore_backup(tampered, *s.target, {kPassword, {}, {}}, *s.r);
  if (!report.ok()) {
    RC_TAG("restore failed");
    RC_ASSERT(*DeviceInternals::store(*s.target).list_all() == *before);
    return;
  }
  RC_TAG("restore succeeded");
  auto listed = s.target->list();
  RC_ASSERT(listed.ok());
  for (const StoredItem& stored : *listed) {
    const bool original_item =
        std::find(s.originals.begin(), s.originals.end(), stored.item) != s.originals.end();
    RC_ASSERT(original_item || account_of(stored.item) == "target-own");
  }
  // R7: a restore that succeeded read a bag with the original UUID and a keychain file naming it.
  const std::optional<Keybag> bag = bag_of(s.folder);
  const std::optional<Keybag> tampered_bag = bag_of(tampered);
  RC_ASSERT(bag.has_value() && tampered_bag.has_value());
  RC_ASSERT(tampered_bag->uuid == bag->uuid);
  // The keychain file as the restore decrypted it (its keys may have changed with the bag: open it
  // with the tampered folder's own).
  const std::optional<KeychainArchive> now_archive = archive_of(tampered, *s.target);
  RC_ASSERT(now_archive.has_value());
  if (!now_archive->keybag_uuid.empty()) {
    RC_ASSERT(*parse_uuid_text(now_archive->keybag_uuid) == bag->uuid);
  }
  // Untouched items that the baseline restored are restored again.
  const bool header_same = same_records(bag->header_records, tampered_bag->header_records);
  for (const auto& [c, blob] : restored_in_base) {
    const auto& now = now_archive->items[static_cast<size_t>(c)];
    auto at =
        std::find_if(now.begin(), now.end(), [&](const ArchivedItem& a) { return a.blob == blob; });
    if (at == now.end()) continue;  // its bytes changed or it went missing
    auto parsed = parse_blob(blob);
    RC_ASSERT(parsed.ok());
    if (!header_same || !same_records(group_of(*bag, parsed->key_class),
                                      group_of(*tampered_bag, parsed->key_class))) {
      continue;  // the key that opens it was touched
    }
    const size_t index = static_cast<size_t>(at - now.begin());
    const bool restored = std::any_of(
        report->items.begin(), report->items.end(),
        [&](const ItemFate& f) { return f.item_class == c && f.index == index && f.restored; });
    RC_ASSERT(restored);
  }
}

}  // namespace
}  // namespace kcb

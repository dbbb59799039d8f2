// Tamper: one bit flipped or the file cut short anywhere in Manifest.plist or
// keychain-backup.plist. Either reading or restoring fails with an error and the target is
// unchanged, or the restore succeeds and (a) every item on the target equals an original item,
// attributes and secret, so a modified secret is never restored, and (b) every item whose bytes
// were not touched (its blob, its class's keybag group and the keybag header unchanged) and that
// the unmodified bundle restores is still restored. A changed keybag UUID on either side fails the
// whole restore (R7).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "kcbackup/backup.h"
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
  Bundle bundle;
};

Scene make_scene(uint64_t seed, Journey journey, const std::vector<ItemSpec>& specs) {
  Scene s;
  s.r = make_seeded_random(seed);
  s.source = std::move(Device::create_in_memory({true, false, std::nullopt}, *s.r)).value();
  for (const ItemSpec& spec : specs)
    (void)s.source->add(props::new_item_of(spec), *s.r);
  for (auto& stored : *s.source->list())
    s.originals.push_back(stored.item);
  auto bundle = make_backup(
      *s.source, {journey, journey == Journey::kLocalEncrypted ? kPassword : "", kFastKdf}, *s.r);
  RC_ASSERT(bundle.ok());
  s.bundle = std::move(bundle).value();
  // A password-less bundle restores only onto its source; an encrypted one onto another device.
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

RC_GTEST_PROP(Tamper, AFlippedBitOrTruncationFailsCleanlyOrDropsOnlyTouchedItems, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const auto specs = *props::gen_item_batch(1, 6, props::gen_addable_traits(true)).as("items");
  const bool in_manifest = *rc::gen::arbitrary<bool>().as("mutate Manifest.plist (else archive)");
  const auto mutation = *props::gen_byte_mutation().as("mutation");

  // Baseline: the unmodified bundle onto an identical target.
  Scene base = make_scene(seed, journey, specs);
  auto base_report = restore_backup(base.bundle, *base.target, {kPassword, {}}, *base.r);
  RC_ASSERT(base_report.ok());
  std::vector<std::pair<ItemClass, Bytes>> restored_in_base;  // (class, blob) restored
  for (const ItemFate& f : base_report->items) {
    if (f.restored) {
      restored_in_base.emplace_back(
          f.item_class, base.bundle.archive.items[static_cast<size_t>(f.item_class)][f.index].blob);
    }
  }

  Scene s = make_scene(seed, journey, specs);
  const Bytes original =
      in_manifest ? write_manifest(s.bundle.manifest) : write_keychain_archive(s.bundle.archive);
  const Bytes mutated = props::apply_mutation(original, mutation);
  RC_PRE(mutated != original);
  Bundle tampered = s.bundle;
  if (in_manifest) {
    auto m = read_manifest(mutated);
    if (!m.ok()) return;  // refused at read: nothing was restored
    tampered.manifest = std::move(m).value();
  } else {
    auto a = read_keychain_archive(mutated);
    if (!a.ok()) return;
    tampered.archive = std::move(a).value();
  }
  auto before = DeviceInternals::store(*s.target).list_all();
  RC_ASSERT(before.ok());
  auto report = restore_backup(tampered, *s.target, {kPassword, {}}, *s.r);
  // R7: an archive that no longer names its keybag's UUID (or a bag with another UUID) is refused
  // as a whole.
  auto original_bag = parse_keybag(s.bundle.manifest.backup_keybag);
  auto new_bag = parse_keybag(tampered.manifest.backup_keybag);
  auto new_uuid = parse_uuid_text(tampered.archive.keybag_uuid);
  RC_ASSERT(original_bag.ok());
  if (new_bag.ok() && new_uuid.ok() &&
      (*new_uuid != original_bag->uuid || new_bag->uuid != original_bag->uuid)) {
    RC_ASSERT(!report.ok());
  }
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
  // Untouched items that the baseline restored are restored again.
  auto bag = parse_keybag(s.bundle.manifest.backup_keybag);
  auto tampered_bag = parse_keybag(tampered.manifest.backup_keybag);
  RC_ASSERT(bag.ok());
  if (!tampered_bag.ok()) return;  // unreachable: the restore parsed it
  const bool header_same = same_records(bag->header_records, tampered_bag->header_records);
  for (const auto& [c, blob] : restored_in_base) {
    const auto& now = tampered.archive.items[static_cast<size_t>(c)];
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

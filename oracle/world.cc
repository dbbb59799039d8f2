#include "kcbackup/world.h"

#include <algorithm>

#include "kcbackup/oracle.h"
#include "kcbackup/status.h"

namespace kcb::oracle {
namespace {

// Device and backup indexes are the ones add_device, quick_start and back_up returned: another is
// the caller's bug, stopped here by an assert rather than thrown from deep inside a property.
template <typename T>
T& at_index(std::vector<T>& v, size_t i) {
  KCB_ASSERT(i < v.size());
  return v[i];
}
template <typename T>
const T& at_index(const std::vector<T>& v, size_t i) {
  KCB_ASSERT(i < v.size());
  return v[i];
}

std::vector<WorldItem>::iterator find_in(std::vector<WorldItem>& items, std::string_view account) {
  return std::find_if(items.begin(), items.end(),
                      [&](const WorldItem& i) { return i.account == account; });
}

// The device talks to the account: it holds the sync key and its setting is on.
bool syncs(const WorldDevice& d) {
  return d.member && d.icloud_keychain;
}

void insert_sorted(std::vector<WorldItem>& items, WorldItem item) {
  auto at = std::lower_bound(
      items.begin(), items.end(), item,
      [](const WorldItem& a, const WorldItem& b) { return a.account < b.account; });
  items.insert(at, std::move(item));
}

// SQLite without AUTOINCREMENT: one more than the largest rowid of the table, 1 when empty.
int64_t next_rowid(const WorldDevice& d, ItemClass c) {
  int64_t largest = 0;
  for (const WorldItem& i : d.items) {
    if (i.traits.item_class == c) largest = std::max(largest, i.rowid);
  }
  return largest + 1;
}

bool rowid_taken(const WorldDevice& d, ItemClass c, int64_t rowid) {
  return std::any_of(d.items.begin(), d.items.end(), [&](const WorldItem& i) {
    return i.traits.item_class == c && i.rowid == rowid;
  });
}

bool by_class_then_rowid(const WorldItem& a, const WorldItem& b) {
  if (a.traits.item_class != b.traits.item_class) return a.traits.item_class < b.traits.item_class;
  return a.rowid < b.rowid;
}

}  // namespace

size_t World::add_device(bool passcode, PersistentRefKind refs) {
  WorldDevice d;
  d.passcode = passcode;
  d.persistent_refs = refs;
  devices_.push_back(std::move(d));
  return devices_.size() - 1;
}

WorldRef World::new_ref(const WorldDevice& d, int64_t rowid) {
  if (d.persistent_refs == PersistentRefKind::kRowid) return {PersistentRefKind::kRowid, rowid};
  return {PersistentRefKind::kUuid, ++uuid_serials_};
}

void World::insert_row(WorldDevice& d, WorldItem item, int64_t rowid, WorldRef ref) {
  item.rowid = rowid;
  item.ref = ref;
  insert_sorted(d.items, std::move(item));
}

AddError World::add_item(size_t device, const WorldItem& item) {
  WorldDevice& d = at_index(devices_, device);
  accounts_.insert(item.account);
  const AddError e = check_add(item.traits, d.passcode);
  if (e != AddError::kNone) return e;
  if (find_in(d.items, item.account) != d.items.end()) return AddError::kDuplicateItem;
  const int64_t rowid = next_rowid(d, item.traits.item_class);
  insert_row(d, item, rowid, new_ref(d, rowid));
  return AddError::kNone;
}

bool World::remove_item(size_t device, std::string_view account) {
  WorldDevice& d = at_index(devices_, device);
  auto it = find_in(d.items, account);
  if (it == d.items.end()) return false;
  if (syncs(d) && it->traits.synchronizable) cloud_.erase(it->account);
  d.items.erase(it);
  return true;
}

void World::set_passcode(size_t device, bool on) {
  WorldDevice& d = at_index(devices_, device);
  if (!on) {
    std::erase_if(d.items,
                  [](const WorldItem& i) { return deleted_when_passcode_removed(i.traits); });
  }
  d.passcode = on;
}

void World::set_icloud_keychain(size_t device, bool on) {
  WorldDevice& d = at_index(devices_, device);
  d.icloud_keychain = on;
  d.member = on;
  if (on) sync(device);
}

void World::switch_icloud_keychain(size_t device, bool on) {
  at_index(devices_, device).icloud_keychain = on;
}

void World::set_persistent_refs(size_t device, PersistentRefKind kind) {
  at_index(devices_, device).persistent_refs = kind;
}

void World::set_sos(size_t device, bool on) {
  at_index(devices_, device).sos = on;
}

std::vector<WorldItem> World::exported(const WorldDevice& d) {
  std::vector<WorldItem> out;
  for (const WorldItem& i : d.items) {
    if (is_exportable(i.traits, d.sos)) out.push_back(i);  // R1, R10, R15
  }
  std::sort(out.begin(), out.end(), by_class_then_rowid);
  return out;
}

size_t World::back_up(size_t device, Journey journey) {
  const WorldDevice& d = at_index(devices_, device);
  backups_.push_back({device, journey, d.passcode, exported(d)});
  return backups_.size() - 1;
}

void World::erase(size_t device) {
  at_index(devices_, device).items.clear();
}

bool World::carried(const WorldItem& item, Journey journey, bool source_passcode,
                    bool same_hardware) {
  // The backup road alone: iCloud Keychain off, so a restored verdict means the backup brought it.
  Traits row = item.traits;
  row.tombstone = false;  // R15: the row travels; what it is does not change the keys
  DeviceSettings settings;
  settings.passcode = source_passcode;
  settings.icloud_keychain = Switch::kOff;
  Question q{row, journey, same_hardware ? Target::kSameDevice : Target::kOtherDevice, settings};
  auto v = predict(q);
  return v.ok() && v->outcome == Outcome::kRestored && v->road == Road::kBackup;
}

void World::receive(WorldDevice& d, const WorldItem& item) {
  if (check_add(item.traits, d.passcode) != AddError::kNone) return;
  if (find_in(d.items, item.account) != d.items.end()) return;  // duplicate: the one there stays
  const int64_t rowid = next_rowid(d, item.traits.item_class);
  insert_row(d, item, rowid, new_ref(d, rowid));
}

void World::reinsert(WorldDevice& d, const WorldItem& item, const WorldRef& ref) {
  if (check_add(item.traits, d.passcode) != AddError::kNone) return;
  // R13: the target's item with this primary key stays and the copy is skipped. Accounts are
  // unique across the world, so it is the same item: the one that never left the device.
  if (find_in(d.items, item.account) != d.items.end()) return;
  const ItemClass c = item.traits.item_class;
  const bool taken = ref.kind == PersistentRefKind::kRowid && rowid_taken(d, c, ref.value);
  if (reinserted_ref(ref.kind, d.persistent_refs, taken).fate == RefFate::kKept) {
    // R11: the carried reference is re-applied; an old-style one is the row's rowid itself.
    const int64_t rowid = ref.kind == PersistentRefKind::kRowid ? ref.value : next_rowid(d, c);
    insert_row(d, item, rowid, ref);
    return;
  }
  const int64_t rowid = next_rowid(d, c);
  insert_row(d, item, rowid, new_ref(d, rowid));
}

bool World::restore(size_t backup, size_t device, bool right_password) {
  const WorldBackup& b = at_index(backups_, backup);
  if (b.journey == Journey::kLocalEncrypted && !right_password) return false;
  WorldDevice& d = at_index(devices_, device);
  // R12: the target's own system-bound items go out before the import and come back after it.
  std::vector<WorldItem> preserved;
  for (const WorldItem& i : d.items) {
    if (!i.traits.synchronizable && i.traits.system_bound != SystemBound::kNone) {
      preserved.push_back(i);
    }
  }
  std::sort(preserved.begin(), preserved.end(), by_class_then_rowid);
  std::erase_if(d.items, [](const WorldItem& i) { return !i.traits.synchronizable; });  // R7
  for (const WorldItem& i : b.items) {
    if (carried(i, b.journey, b.source_passcode, b.source == device)) reinsert(d, i, i.ref);
  }
  for (const WorldItem& i : preserved)
    reinsert(d, i, i.ref);
  return true;
}

size_t World::quick_start(size_t from, bool new_device_passcode,
                          PersistentRefKind new_device_refs) {
  const size_t to = add_device(new_device_passcode, new_device_refs);
  const std::vector<WorldItem> transfer = exported(at_index(devices_, from));
  const bool source_passcode = at_index(devices_, from).passcode;
  WorldDevice& target = at_index(devices_, to);
  for (const WorldItem& i : transfer) {
    if (carried(i, Journey::kQuickStart, source_passcode, /*same_hardware=*/false)) {
      reinsert(target, i, i.ref);
    }
  }
  return to;
}

void World::sync(size_t device) {
  WorldDevice& d = at_index(devices_, device);
  if (!syncs(d)) return;
  for (const WorldItem& i : d.items) {
    if (can_sync(i.traits)) cloud_[i.account] = i;
  }
  for (const auto& [account, record] : cloud_) {
    if (find_in(d.items, account) == d.items.end()) receive(d, record);
  }
}

void World::sync_members() {
  for (size_t i = 0; i < devices_.size(); ++i)
    sync(i);
}

const WorldItem* World::find(size_t device, std::string_view account) const {
  const auto& items = at_index(devices_, device).items;
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const WorldItem& i) { return i.account == account; });
  return it == items.end() ? nullptr : &*it;
}

bool World::account_in_use(std::string_view account) const {
  return accounts_.count(account) != 0;
}

}  // namespace kcb::oracle

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

}  // namespace

size_t World::add_device(bool passcode) {
  devices_.push_back({passcode, false, false, {}});
  return devices_.size() - 1;
}

AddError World::add_item(size_t device, const WorldItem& item) {
  WorldDevice& d = at_index(devices_, device);
  accounts_.insert(item.account);
  const AddError e = check_add(item.traits, d.passcode);
  if (e != AddError::kNone) return e;
  if (find_in(d.items, item.account) != d.items.end()) return AddError::kDuplicateItem;
  insert_sorted(d.items, item);
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

size_t World::back_up(size_t device, Journey journey) {
  const WorldDevice& d = at_index(devices_, device);
  WorldBackup b{device, journey, d.passcode, {}};
  for (const WorldItem& i : d.items) {
    if (is_exportable(i.traits)) b.items.push_back(i);
  }
  backups_.push_back(std::move(b));
  return backups_.size() - 1;
}

void World::erase(size_t device) {
  at_index(devices_, device).items.clear();
}

bool World::carried(const WorldItem& item, Journey journey, bool source_passcode,
                    bool same_hardware) {
  // The backup road alone: iCloud Keychain off, so a restored verdict means the backup brought it.
  Question q{item.traits, journey, same_hardware ? Target::kSameDevice : Target::kOtherDevice,
             DeviceSettings{source_passcode, Switch::kOff}};
  auto v = predict(q);
  return v.ok() && v->outcome == Outcome::kRestored && v->road == Road::kBackup;
}

void World::receive(WorldDevice& d, const WorldItem& item) {
  if (check_add(item.traits, d.passcode) != AddError::kNone) return;
  if (find_in(d.items, item.account) != d.items.end()) return;  // duplicate: the one there stays
  insert_sorted(d.items, item);
}

bool World::restore(size_t backup, size_t device, bool right_password) {
  const WorldBackup& b = at_index(backups_, backup);
  if (b.journey == Journey::kLocalEncrypted && !right_password) return false;
  WorldDevice& d = at_index(devices_, device);
  std::erase_if(d.items, [](const WorldItem& i) { return replaced_by_restore(i.traits); });  // R7
  for (const WorldItem& i : b.items) {
    if (carried(i, b.journey, b.source_passcode, b.source == device)) receive(d, i);
  }
  return true;
}

size_t World::quick_start(size_t from, bool new_device_passcode) {
  const size_t to = add_device(new_device_passcode);
  const WorldDevice& source = at_index(devices_, from);
  WorldDevice& target = at_index(devices_, to);
  for (const WorldItem& i : source.items) {
    if (is_exportable(i.traits) &&
        carried(i, Journey::kQuickStart, source.passcode, /*same_hardware=*/false)) {
      receive(target, i);
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

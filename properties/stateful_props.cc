// Stateful: random command sequences run against the engine's devices and one iCloud account, and
// against oracle::World, the model. After every command every device's readable items (traits,
// account, secret) equal the model's.
//
// After every command the devices' settings (passcode, iCloud Keychain switch, membership) equal
// the model's too.
//
// Sync policy (the same in model and engine): after every command, every device is asked to sync
// once, in device order; members whose iCloud Keychain setting is on sync, every other device must
// be refused (FailedPrecondition). Joining also syncs the joining device first, as
// CloudAccount::join does. The switch alone (no join/leave) changes the setting, not membership.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <optional>

#include "kcbackup/backup.h"
#include "engine/icloud_keychain.h"
#include "kcbackup/world.h"
#include "properties/generators.h"

namespace kcb::oracle {
inline void showValue(const WorldItem& i, std::ostream& os) {
  showValue(i.traits, os);
  os << " acct=" << i.account << " secret=" << i.secret.size() << "B";
}
}  // namespace kcb::oracle

namespace kcb {
namespace {

using oracle::World;
using oracle::WorldItem;

constexpr std::string_view kEscrow = "apple-id-secret";
constexpr size_t kMaxDevices = 5;
const std::string kPassword = "correct horse";
const std::string kWrongPassword = "correct horse?";

struct Engine {
  std::unique_ptr<Random> random;
  std::vector<std::unique_ptr<Device>> devices;
  std::optional<CloudAccount> account;
  std::vector<Bundle> backups;
};

std::unique_ptr<Device> new_device(bool passcode, Random& random) {
  auto d = Device::create_in_memory({passcode, false, std::nullopt}, random);
  RC_ASSERT(d.ok());
  return std::move(d).value();
}

std::vector<WorldItem> readable_items(const Device& d) {
  auto listed = d.list();
  RC_ASSERT(listed.ok());
  std::vector<WorldItem> out;
  for (const StoredItem& s : *listed) {
    out.push_back(
        {traits_of(s.item), std::string(s.item.account().begin(), s.item.account().end()),
         std::string(s.item.secret().data(), s.item.secret().data() + s.item.secret().size())});
  }
  std::sort(out.begin(), out.end(),
            [](const WorldItem& a, const WorldItem& b) { return a.account < b.account; });
  return out;
}

// Every device is asked to sync, in device order: the model says which may (members whose
// setting is on); every other one must be refused, so a switched-off member cannot slip through.
void sync_members(const World& model, Engine& e) {
  RC_ASSERT(model.devices().size() == e.devices.size());
  for (size_t i = 0; i < e.devices.size(); ++i) {
    const oracle::WorldDevice& m = model.devices()[i];
    auto synced = e.account->sync(*e.devices[i], *e.random);
    if (m.member && m.icloud_keychain) {
      RC_ASSERT(synced.ok());
    } else if (synced.ok() || synced.status().code() != Code::kFailedPrecondition) {
      RC_FAIL("device " + std::to_string(i) + " (member " + std::to_string(m.member) +
              ", iCloud Keychain " + std::to_string(m.icloud_keychain) +
              ") was not refused a sync: " + synced.status().to_string());
    }
  }
}

void expect_same_settings(const World& model, Engine& e) {
  for (size_t i = 0; i < e.devices.size(); ++i) {
    const oracle::WorldDevice& m = model.devices()[i];
    const Device& d = *e.devices[i];
    if (d.has_passcode() != m.passcode || d.icloud_keychain() != m.icloud_keychain ||
        e.account->is_member(d) != m.member) {
      RC_FAIL("device " + std::to_string(i) + " settings: engine passcode " +
              std::to_string(d.has_passcode()) + ", iCloud Keychain " +
              std::to_string(d.icloud_keychain()) + ", member " +
              std::to_string(e.account->is_member(d)) + "; model " + std::to_string(m.passcode) +
              ", " + std::to_string(m.icloud_keychain) + ", " + std::to_string(m.member));
    }
  }
}

void expect_same(const World& model, Engine& e) {
  RC_ASSERT(model.devices().size() == e.devices.size());
  expect_same_settings(model, e);
  for (size_t i = 0; i < e.devices.size(); ++i) {
    const auto got = readable_items(*e.devices[i]);
    if (got != model.devices()[i].items) {
      RC_LOG() << "device " << i << ": engine " << rc::toString(got) << "\n  model "
               << rc::toString(model.devices()[i].items) << "\n";
      RC_FAIL("device " + std::to_string(i) + " differs from the model");
    }
  }
}

// A command changes the model (model()) and drives the engine (engine()); both then sync every
// member, and the engine must equal the model.
struct WorldCommand : rc::state::Command<World, Engine> {
  virtual void model(World& w) const = 0;
  virtual void engine(const World& before, Engine& e) const = 0;
  void apply(World& w) const override {
    model(w);
    w.sync_members();
  }
  void run(const World& before, Engine& e) const override {
    engine(before, e);
    const World after = nextState(before);
    expect_same_settings(after, e);
    sync_members(after, e);
    expect_same(after, e);
  }
};

size_t pick_device(const World& w) {
  return *rc::gen::inRange<size_t>(0, w.devices().size());
}

struct AddItem : WorldCommand {
  size_t device;
  WorldItem item;
  explicit AddItem(const World& w)
      : device(pick_device(w)),
        item{*props::gen_traits(),
             "acct-" + std::to_string(*rc::gen::inRange<uint32_t>(0, 1u << 30)),
             *rc::gen::container<std::string>(rc::gen::arbitrary<char>())} {}
  void checkPreconditions(const World& w) const override {
    RC_PRE(device < w.devices().size());
    RC_PRE(!w.account_in_use(item.account));
  }
  void model(World& w) const override { w.add_item(device, item); }
  void engine(const World& before, Engine& e) const override {
    World after = before;
    const AddError expected = after.add_item(device, item);
    props::ItemSpec spec{item.traits, item.account, Bytes(item.secret.begin(), item.secret.end())};
    auto added = e.devices[device]->add(props::new_item_of(spec), *e.random);
    RC_ASSERT(sec_error_of(added.status()) == expected);
  }
  void show(std::ostream& os) const override {
    os << "add to device " << device << ": ";
    oracle::showValue(item, os);
  }
};

struct DeleteItem : WorldCommand {
  size_t device = 0;
  std::string account;
  explicit DeleteItem(const World& w) {
    std::vector<std::pair<size_t, std::string>> all;
    for (size_t d = 0; d < w.devices().size(); ++d) {
      for (const WorldItem& i : w.devices()[d].items)
        all.emplace_back(d, i.account);
    }
    if (all.empty()) RC_DISCARD("no item to delete");
    std::tie(device, account) = *rc::gen::elementOf(all);
  }
  void checkPreconditions(const World& w) const override {
    RC_PRE(device < w.devices().size());
    RC_PRE(w.find(device, account) != nullptr);
  }
  void model(World& w) const override { w.remove_item(device, account); }
  void engine(const World&, Engine& e) const override {
    Device& d = *e.devices[device];
    auto listed = d.list();
    RC_ASSERT(listed.ok());
    for (const StoredItem& s : *listed) {
      if (std::string(s.item.account().begin(), s.item.account().end()) != account) continue;
      RC_ASSERT(d.remove(s.item.item_class(), s.rowid).ok());
      if (s.item.synchronizable() && e.account->is_member(d) && d.icloud_keychain()) {
        e.account->forget(s.item);
      }
      return;
    }
    RC_FAIL("the engine has no item " + account);
  }
  void show(std::ostream& os) const override {
    os << "delete " << account << " on device " << device;
  }
};

struct SetPasscode : WorldCommand {
  size_t device;
  bool on;
  explicit SetPasscode(const World& w) : device(pick_device(w)), on(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const World& w) const override { RC_PRE(device < w.devices().size()); }
  void model(World& w) const override { w.set_passcode(device, on); }
  void engine(const World&, Engine& e) const override {
    RC_ASSERT(e.devices[device]->set_passcode(on, *e.random).ok());
  }
  void show(std::ostream& os) const override {
    os << "passcode " << (on ? "on" : "off") << " on device " << device;
  }
};

struct SetIcloudKeychain : WorldCommand {
  size_t device;
  bool on;
  explicit SetIcloudKeychain(const World& w)
      : device(pick_device(w)), on(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const World& w) const override { RC_PRE(device < w.devices().size()); }
  void model(World& w) const override { w.set_icloud_keychain(device, on); }
  void engine(const World&, Engine& e) const override {
    if (on) {
      RC_ASSERT(e.account->join(*e.devices[device], kEscrow, *e.random).ok());
    } else {
      RC_ASSERT(e.account->leave(*e.devices[device]).ok());
    }
  }
  void show(std::ostream& os) const override {
    os << "iCloud Keychain " << (on ? "on (join)" : "off (leave)") << " on device " << device;
  }
};

// The Settings switch alone, without joining or leaving the account.
struct SwitchIcloudKeychain : WorldCommand {
  size_t device;
  bool on;
  explicit SwitchIcloudKeychain(const World& w)
      : device(pick_device(w)), on(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const World& w) const override { RC_PRE(device < w.devices().size()); }
  void model(World& w) const override { w.switch_icloud_keychain(device, on); }
  void engine(const World&, Engine& e) const override {
    RC_ASSERT(e.devices[device]->set_icloud_keychain(on).ok());
  }
  void show(std::ostream& os) const override {
    os << "iCloud Keychain switch " << (on ? "on" : "off") << " (no join/leave) on device "
       << device;
  }
};

struct BackUp : WorldCommand {
  size_t device;
  Journey journey;
  explicit BackUp(const World& w) : device(pick_device(w)), journey(*props::gen_backup_journey()) {}
  void checkPreconditions(const World& w) const override { RC_PRE(device < w.devices().size()); }
  void model(World& w) const override { w.back_up(device, journey); }
  void engine(const World&, Engine& e) const override {
    const std::string password = journey == Journey::kLocalEncrypted ? kPassword : "";
    auto bundle = make_backup(*e.devices[device], {journey, password, kFastKdf}, *e.random);
    RC_ASSERT(bundle.ok());
    e.backups.push_back(std::move(bundle).value());
  }
  void show(std::ostream& os) const override {
    os << name_of(journey) << " backup of device " << device;
  }
};

struct Erase : WorldCommand {
  size_t device;
  explicit Erase(const World& w) : device(pick_device(w)) {}
  void checkPreconditions(const World& w) const override { RC_PRE(device < w.devices().size()); }
  void model(World& w) const override { w.erase(device); }
  void engine(const World&, Engine& e) const override {
    RC_ASSERT(e.devices[device]->erase(*e.random).ok());
  }
  void show(std::ostream& os) const override { os << "erase device " << device; }
};

struct Restore : WorldCommand {
  size_t backup = 0;
  size_t device;
  bool right_password;
  explicit Restore(const World& w)
      : device(pick_device(w)),
        right_password(
            *rc::gen::weightedOneOf<bool>({{3, rc::gen::just(true)}, {1, rc::gen::just(false)}})) {
    if (w.backups().empty()) RC_DISCARD("no backup yet");
    backup = *rc::gen::inRange<size_t>(0, w.backups().size());
  }
  void checkPreconditions(const World& w) const override {
    RC_PRE(device < w.devices().size());
    RC_PRE(backup < w.backups().size());
  }
  void model(World& w) const override { w.restore(backup, device, right_password); }
  void engine(const World& before, Engine& e) const override {
    World after = before;
    const bool accepted = after.restore(backup, device, right_password);
    auto report = restore_backup(e.backups[backup], *e.devices[device],
                                 {right_password ? kPassword : kWrongPassword, {}}, *e.random);
    RC_ASSERT(report.ok() == accepted);
    if (!accepted) RC_ASSERT(report.status().code() == Code::kPermissionDenied);
  }
  void show(std::ostream& os) const override {
    os << "restore backup " << backup << " onto device " << device
       << (right_password ? "" : " with a wrong password");
  }
};

struct QuickStart : WorldCommand {
  size_t from;
  bool passcode;
  explicit QuickStart(const World& w)
      : from(pick_device(w)), passcode(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const World& w) const override {
    RC_PRE(from < w.devices().size());
    RC_PRE(w.devices().size() < kMaxDevices);
  }
  void model(World& w) const override { w.quick_start(from, passcode); }
  void engine(const World&, Engine& e) const override {
    e.devices.push_back(new_device(passcode, *e.random));
    RC_ASSERT(quick_start(*e.devices[from], *e.devices.back(), kFastKdf, *e.random).ok());
  }
  void show(std::ostream& os) const override {
    os << "quick-start from device " << from << " to a new device (passcode "
       << (passcode ? "on" : "off") << ")";
  }
};

RC_GTEST_PROP(Stateful, EveryDeviceEqualsTheWorldModel, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const auto passcodes = *rc::gen::container<std::vector<bool>>(3, rc::gen::arbitrary<bool>())
                              .as("initial devices' passcodes");
  Engine engine;
  engine.random = make_seeded_random(seed);
  auto account = CloudAccount::create(kEscrow, *engine.random);
  RC_ASSERT(account.ok());
  engine.account.emplace(std::move(account).value());
  World world;
  for (bool p : passcodes) {
    world.add_device(p);
    engine.devices.push_back(new_device(p, *engine.random));
  }
  rc::state::check(
      world, engine,
      rc::state::gen::execOneOfWithArgs<AddItem, AddItem, AddItem, DeleteItem, SetPasscode,
                                        SetIcloudKeychain, SetIcloudKeychain, SwitchIcloudKeychain,
                                        BackUp, Erase, Restore, Restore, QuickStart>());
}

}  // namespace
}  // namespace kcb

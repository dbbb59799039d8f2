// Stateful: random command sequences over several devices and one iCloud account. Every command is
// a scenario step run through the harness's lockstep driver (kcbackup/lockstep.h): the engine's
// devices beside oracle::World, and after every step every device's settings (passcode, iCloud
// Keychain switch, membership, kind of persistent reference, SOS) and items (traits, App Clip and
// tombstone included; account, service, secret, persistent reference) equal the model's, and so
// do the step's own answers (SecItemAdd's error, a restore accepted or refused). A restore onto a
// device that still holds synchronizable items of the backup collides with them (R13); a device
// switching kinds between a backup and a restore gets renewed references (R11).
//
// Sync policy (the same in model and engine): after every command a sync step asks every device to
// sync once, in device order; members whose iCloud Keychain setting is on sync, every other device
// must be refused (FailedPrecondition). Joining also syncs the joining device first, as
// CloudAccount::join does. The switch alone (no join/leave) changes the setting, not membership.
//
// A failure writes the steps so far as a scenario file, stateful-counterexample.json in
// $KCB_COUNTEREXAMPLE_DIR (default: the current folder), and names it in the message: RapidCheck
// rewrites it at every smaller failing sequence, so after shrinking it holds the shrunk one, which
// `kcbackup simulate FILE --seed N` replays step for step.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "kcbackup/env.h"
#include "kcbackup/lockstep.h"
#include "kcbackup/names.h"
#include "kcbackup/scenario.h"
#include "properties/generators.h"

namespace kcb {
namespace {

using harness::Op;
using harness::Step;
using Model = harness::ScenarioModel;

constexpr size_t kMaxDevices = 5;
const std::string kPassword = "correct horse";
const std::string kWrongPassword = "correct horse?";
constexpr std::string_view kCounterexampleFile = "stateful-counterexample.json";

// The engine's side and what it has run, for the counterexample.
struct Engine {
  uint64_t seed = 0;
  std::unique_ptr<Random> random;
  std::unique_ptr<harness::Lockstep> driver;
  harness::Scenario steps_so_far;
};

std::filesystem::path counterexample_path() {
  const char* dir = std::getenv("KCB_COUNTEREXAMPLE_DIR");
  return std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : ".") / kCounterexampleFile;
}

// Writes the steps so far; returns how to replay them (or why they could not be written).
std::string write_counterexample(const Engine& e) {
  const std::filesystem::path path = counterexample_path();
  const std::string text = harness::write_scenario(e.steps_so_far);
  const Status st = write_file_atomically(default_env(), path, as_bytes(text));
  if (!st.ok()) return "could not write the counterexample: " + st.to_string();
  return "replay: kcbackup simulate " + path.string() + " --seed " + std::to_string(e.seed);
}

void run_step(Engine& e, const Step& step) {
  e.steps_so_far.steps.push_back(step);
  const std::string where = harness::step_path(e.steps_so_far.steps.size() - 1);
  auto result = e.driver->apply(step);
  if (!result.ok()) {
    RC_FAIL(where + ": engine failed: " + result.status().to_string() + "\n  " +
            write_counterexample(e));
  }
  if (result->mismatches.empty()) return;
  std::string what = where + " (" + result->line + "): engine and model differ";
  for (const harness::Mismatch& m : result->mismatches)
    what += "\n  " + harness::describe(m);
  RC_FAIL(what + "\n  " + write_counterexample(e));
}

Step sync_step() {
  Step s;
  s.op = Op::kSync;
  return s;
}
const Step kSync = sync_step();

// A command is one scenario step followed by the sync step, on the model and through the driver.
struct StepCommand : rc::state::Command<Model, Engine> {
  Step step;

  // Op-specific preconditions (the step names what exists), checked before the common ones.
  virtual void check(const Model& m) const = 0;

  void checkPreconditions(const Model& m) const override {
    RC_PRE(step.device < m.device_names().size());
    check(m);
    // Keep every sequence replayable by `kcbackup simulate`, whose scenarios hold at most
    // kMaxHeldItems items at a time.
    Model after = m;
    apply(after);
    RC_PRE(after.held_items() <= harness::kMaxHeldItems);
  }
  void apply(Model& m) const override {
    m.apply(step);
    m.apply(kSync);
  }
  void run(const Model&, Engine& e) const override {
    run_step(e, step);
    run_step(e, kSync);
  }
};

size_t pick_device(const Model& m) {
  return *rc::gen::inRange<size_t>(0, m.device_names().size());
}

struct AddItem : StepCommand {
  explicit AddItem(const Model& m) {
    step.op = Op::kAdd;
    step.device = pick_device(m);
    step.traits = *props::gen_traits();
    step.account = "acct-" + std::to_string(*rc::gen::inRange<uint32_t>(0, 1u << 30));
    step.secret = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  }
  void check(const Model& m) const override { RC_PRE(!m.world().account_in_use(step.account)); }
  void show(std::ostream& os) const override {
    os << "add to device " << step.device << ": ";
    showValue(step.traits, os);
    os << " acct=" << step.account << " secret=" << step.secret.size() << "B";
  }
};

struct DeleteItem : StepCommand {
  explicit DeleteItem(const Model& m) {
    std::vector<std::pair<size_t, std::string>> all;
    for (size_t d = 0; d < m.world().devices().size(); ++d) {
      for (const oracle::WorldItem& i : m.world().devices()[d].items)
        all.emplace_back(d, i.account);
    }
    if (all.empty()) RC_DISCARD("no item to delete");
    step.op = Op::kDelete;
    std::tie(step.device, step.account) = *rc::gen::elementOf(all);
  }
  void check(const Model& m) const override {
    RC_PRE(m.world().find(step.device, step.account) != nullptr);
  }
  void show(std::ostream& os) const override {
    os << "delete " << step.account << " on device " << step.device;
  }
};

// passcode, icloud-keychain (join/leave) and icloud-keychain-switch (the Settings switch alone).
template <Op kOp>
struct SetSwitch : StepCommand {
  explicit SetSwitch(const Model& m) {
    step.op = kOp;
    step.device = pick_device(m);
    step.on = *rc::gen::arbitrary<bool>();
  }
  void check(const Model&) const override {}
  void show(std::ostream& os) const override {
    os << harness::name_of(kOp) << " " << (step.on ? "on" : "off") << " on device " << step.device;
  }
};
using SetPasscode = SetSwitch<Op::kPasscode>;
using SetSos = SetSwitch<Op::kSos>;

// The kind of persistent reference a device's new rows get (R11): a device switching to UUID
// references between a backup and a restore renews what the restore brings back.
struct SetPersistentRefs : StepCommand {
  explicit SetPersistentRefs(const Model& m) {
    step.op = Op::kPersistentRefs;
    step.device = pick_device(m);
    step.persistent_refs = *props::gen_persistent_ref_kind();
  }
  void check(const Model&) const override {}
  void show(std::ostream& os) const override {
    os << name_of(step.persistent_refs) << " references for device " << step.device;
  }
};
using SetIcloudKeychain = SetSwitch<Op::kIcloudKeychain>;
using SwitchIcloudKeychain = SetSwitch<Op::kIcloudKeychainSwitch>;

struct BackUp : StepCommand {
  explicit BackUp(const Model& m) {
    step.op = Op::kBackup;
    step.device = pick_device(m);
    step.journey = *props::gen_backup_journey();
    step.name = "b" + std::to_string(m.backup_count());
    if (step.journey == Journey::kLocalEncrypted) step.password = kPassword;
  }
  void check(const Model& m) const override {
    for (size_t b = 0; b < m.backup_count(); ++b)
      RC_PRE(m.backup_name(b) != step.name);
  }
  void show(std::ostream& os) const override {
    os << name_of(step.journey) << " backup " << step.name << " of device " << step.device;
  }
};

struct Erase : StepCommand {
  explicit Erase(const Model& m) {
    step.op = Op::kErase;
    step.device = pick_device(m);
  }
  void check(const Model&) const override {}
  void show(std::ostream& os) const override { os << "erase device " << step.device; }
};

struct Restore : StepCommand {
  explicit Restore(const Model& m) {
    if (m.backup_count() == 0) RC_DISCARD("no backup yet");
    step.op = Op::kRestore;
    step.device = pick_device(m);
    const bool right =
        *rc::gen::weightedOneOf<bool>({{3, rc::gen::just(true)}, {1, rc::gen::just(false)}});
    step.password = right ? kPassword : kWrongPassword;
    step.backup = *rc::gen::inRange<size_t>(0, m.backup_count());
  }
  void check(const Model& m) const override { RC_PRE(step.backup < m.backup_count()); }
  void show(std::ostream& os) const override {
    os << "restore backup " << step.backup << " onto device " << step.device
       << (step.password == kPassword ? "" : " with a wrong password");
  }
};

struct QuickStart : StepCommand {
  explicit QuickStart(const Model& m) {
    step.op = Op::kMigrate;
    step.device = pick_device(m);
    step.passcode = *rc::gen::arbitrary<bool>();
    step.persistent_refs = *props::gen_persistent_ref_kind();
    step.name = "d" + std::to_string(m.device_names().size());
  }
  void check(const Model& m) const override {
    RC_PRE(m.device_names().size() < kMaxDevices);
    for (const std::string& n : m.device_names())
      RC_PRE(n != step.name);
  }
  void show(std::ostream& os) const override {
    os << "quick-start from device " << step.device << " to new device " << step.name
       << " (passcode " << (step.passcode ? "on" : "off") << ")";
  }
};

RC_GTEST_PROP(Stateful, EveryDeviceEqualsTheWorldModel, ()) {
  Engine engine;
  engine.seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const auto passcodes = *rc::gen::container<std::vector<bool>>(3, rc::gen::arbitrary<bool>())
                              .as("initial devices' passcodes");
  const auto kinds =
      *rc::gen::container<std::vector<PersistentRefKind>>(3, props::gen_persistent_ref_kind())
           .as("initial devices' kinds of reference");
  const auto sos = *rc::gen::container<std::vector<bool>>(3, rc::gen::arbitrary<bool>())
                        .as("initial devices' SOS");
  for (size_t i = 0; i < passcodes.size(); ++i) {
    engine.steps_so_far.devices.push_back(
        {"d" + std::to_string(i), passcodes[i], false, kinds[i], sos[i]});
  }
  engine.steps_so_far.description =
      "A counterexample of the stateful property (properties/stateful_props.cc), seed " +
      std::to_string(engine.seed) + ": replay with --seed " + std::to_string(engine.seed);
  engine.random = make_seeded_random(engine.seed);
  auto driver = harness::Lockstep::start(engine.steps_so_far.devices, *engine.random);
  RC_ASSERT(driver.ok());
  engine.driver = std::move(driver).value();
  const Model model(engine.steps_so_far.devices);
  rc::state::check(
      model, engine,
      rc::state::gen::execOneOfWithArgs<AddItem, AddItem, AddItem, DeleteItem, SetPasscode,
                                        SetIcloudKeychain, SetIcloudKeychain, SwitchIcloudKeychain,
                                        BackUp, Erase, Restore, Restore, QuickStart,
                                        SetPersistentRefs, SetSos>());
}

}  // namespace
}  // namespace kcb

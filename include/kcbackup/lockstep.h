// The one lockstep driver: a scenario's steps run side by side on the engine (simulated devices
// with real cryptography and one iCloud account, CloudAccount) and on the model (oracle::World),
// one step at a time. After every step every device is compared, engine against model:
//   - its settings: passcode, the iCloud Keychain switch, membership of the account;
//   - every readable item: present on both, traits, account, service, secret, and its persistent
//     reference: an old-style one byte for byte (class + the world's rowid), a UUID-based one
//     through a one-to-one map between the world's UUID serials and the engine's UUIDs, kept for
//     the whole run (the same serial is always the same 16 bytes, and no two serials share them).
// Step answers are compared too: what SecItemAdd returned, whether a restore was accepted, and,
// for a sync step, which devices the account let sync. `kcbackup simulate` and the stateful
// property both run their steps through it.
//
// Conventions (those of oracle/world.h, which the model needs to be exact):
//   - a sync step asks every device to sync, in device order: members whose switch is on must
//     sync, every other device must be refused;
//   - deleting a synchronizable item on a syncing device also deletes the account's record;
//   - a restore is given the step's password ("" for none); the model calls it right when the
//     backup is not encrypted or the password is the backup's.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/scenario.h"
#include "kcbackup/status.h"
#include "kcbackup/world.h"

namespace kcb::harness {

// The service every scenario item is added with (the model has none: it is the driver's).
inline constexpr std::string_view kService = "kcbackup.harness";

// What a mismatch is about.
enum class Field {
  kAdd,             // SecItemAdd's answer (item: the account)
  kRestore,         // restore accepted or refused (item: the backup's name)
  kSync,            // the account let the device sync or refused it
  kPasscode,        // device settings (item empty)
  kIcloudKeychain,  // the device's iCloud Keychain switch
  kMember,          // membership of the account
  kPersistentRefs,  // the kind of persistent reference the device's new rows get
  kSos,             // the legacy sync circle switch
  kPresence,        // the item is readable on one side only
  kTraits,          // accessibility, class, sync, token, auth, system-bound, App Clip, tombstone
  kReference,       // the item's persistent reference (R11)
  kService,
  kSecret,
};
std::string_view name_of(Field f);  // "add", "icloud-keychain", "secret"

// One difference: which device, which item, which field, and the two values as text.
struct Mismatch {
  std::string device;  // the device's name
  std::string item;    // an account, a backup's name (restore), or "" (a device setting)
  Field field = Field::kPresence;
  std::string engine;
  std::string model;
  bool operator==(const Mismatch&) const = default;
};

// One line for a person: "new-phone: engine has 'x', oracle expects it lost".
std::string describe(const Mismatch& m);

struct StepResult {
  std::string line;                  // what happened: "restore 'b' onto new: 1 of 1 items restored"
  std::vector<Mismatch> mismatches;  // empty when engine and model agree
};

// The model's side of a scenario: the world and what the steps named. A value (copyable), so the
// stateful property can use it as RapidCheck's model state.
class ScenarioModel {
 public:
  explicit ScenarioModel(const std::vector<DeviceSpec>& devices);

  // What the model answers to a step.
  struct Answer {
    AddError add = AddError::kNone;  // add
    bool restore_accepted = true;    // restore
  };
  // Applies a step that refers to existing devices and backups (as parse_scenario checks).
  Answer apply(const Step& step);

  const oracle::World& world() const { return world_; }
  // Mutable for tests that plant a difference the engine did not make.
  oracle::World& world() { return world_; }
  const std::vector<std::string>& device_names() const { return names_; }
  size_t backup_count() const { return backups_.size(); }
  const std::string& backup_name(size_t backup) const { return backups_[backup].name; }
  // Items on all devices together.
  size_t held_items() const;

 private:
  oracle::World world_;
  std::vector<std::string> names_;
  struct Backup {
    std::string name;
    bool encrypted = false;
    std::string password;
  };
  std::vector<Backup> backups_;  // in backup-step order
};

class Lockstep {
 public:
  // The devices, created on both sides (and joined to the account when they say so). `random`
  // must outlive the driver.
  static Result<std::unique_ptr<Lockstep>> start(const std::vector<DeviceSpec>& devices,
                                                 Random& random);
  ~Lockstep();
  Lockstep(const Lockstep&) = delete;
  Lockstep& operator=(const Lockstep&) = delete;

  // Runs one step on both sides, then compares every device. An error is an engine failure on a
  // valid step or a cap (ResourceExhausted: more than kMaxHeldItems items held), never a
  // disagreement; the step must refer only to devices and backups that exist.
  Result<StepResult> apply(const Step& step);

  // Every device, engine against model, settings first.
  Result<std::vector<Mismatch>> compare() const;

  const ScenarioModel& model() const { return model_; }
  ScenarioModel& model() { return model_; }

 private:
  struct Engine;
  Lockstep(std::unique_ptr<Engine> engine, const std::vector<DeviceSpec>& devices);
  std::unique_ptr<Engine> engine_;
  ScenarioModel model_;
  // The world's UUID serials and the engine's UUIDs seen so far, both ways (see compare()).
  mutable std::map<int64_t, Bytes> uuid_of_serial_;
  mutable std::map<Bytes, int64_t> serial_of_uuid_;
};

// Every device's name and readable accounts, by the model, in device order.
using Holdings = std::vector<std::pair<std::string, std::vector<std::string>>>;
Holdings holdings_of(const ScenarioModel& model);

// Runs every step of `scenario` through a Lockstep, calling `each(index, result, holdings)` after
// every step; returns the final holdings. A run stops at the first error, which names the step
// (`steps[3]: ...`) or the device (`devices[1]: ...`).
Result<Holdings> run_scenario(
    const Scenario& scenario, Random& random,
    const std::function<void(size_t, const StepResult&, const Holdings&)>& each);

}  // namespace kcb::harness

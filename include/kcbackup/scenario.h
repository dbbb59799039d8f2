// A scenario: a scripted sequence of device operations over several simulated phones and one
// iCloud account, the language of `kcbackup simulate` and of the stateful property's
// counterexamples (docs/cli.md lists the fields of every step).
//
// parse_scenario() checks the whole document before anything runs. The one strict reader
// (input/) refuses bad JSON (line and column), keys given twice, NUL characters, numbers no double
// holds and nesting past kMaxNesting; the scenario's own checks refuse unknown ("did you mean") or
// missing fields, wrong types, names that must refer to a device or backup of an earlier step, and
// the caps below. Every error is one line naming the JSON path (`steps[3].accessible`). Nothing
// defaults silently that changes a verdict: an encrypted backup names its password.
// write_scenario() is its inverse: parse_scenario(write_scenario(s)) == s for every scenario that
// parses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb::harness {

// Caps. A scenario tells one person's (or one family's) story: an old phone, a new one, a
// replacement, a few backups, tens of steps. Each cap is several times what such a story needs and
// keeps a scenario at the caps within a few seconds and tens of megabytes:
//   - every device is an in-memory SQLite keychain (~0.3 MB and ~3 ms to create: 20,000 devices
//     took 47 s and ~6 GB, all of it in KeychainStore::open_in_memory);
//   - after every step every item on every device is decrypted and compared (~7 us per item), and
//     simulate's JSON output records every device's holdings after every step, so the cost of a
//     run is steps x items held: 1,000 steps x 256 items bounds it;
//   - every backup keeps a sealed copy of its device's items in memory.
inline constexpr size_t kMaxScenarioBytes = 256 * 1024;
inline constexpr size_t kMaxNesting = 16;  // a scenario's own depth is 3 (document, list, object)
inline constexpr size_t kMaxDevices = 16;  // declared devices and Quick Start targets together
inline constexpr size_t kMaxSteps = 1000;
inline constexpr size_t kMaxBackups = 64;      // backup steps
inline constexpr size_t kMaxHeldItems = 256;   // items on all devices together, after any step
inline constexpr size_t kMaxNameBytes = 128;   // device, backup and account names
inline constexpr size_t kMaxTextBytes = 1024;  // secrets, passwords, the description

enum class Op {
  kAdd,
  kDelete,
  kPasscode,
  kIcloudKeychain,        // join (on) or leave (off) the account
  kIcloudKeychainSwitch,  // the Settings switch alone: no join, no leave
  kBackup,
  kErase,
  kRestore,
  kMigrate,         // Quick Start onto a new device
  kSync,            // every device is asked to sync, in device order
  kPersistentRefs,  // the kind of persistent reference the device's new rows get (R11)
  kSos,             // the legacy sync circle: backups carry tombstones (R15)
};

// The step's "do" word: "add", "icloud-keychain-switch".
std::string_view name_of(Op op);

struct DeviceSpec {
  std::string name;
  bool passcode = true;
  bool icloud_keychain = false;  // joins the account when created
  PersistentRefKind persistent_refs = PersistentRefKind::kRowid;
  bool sos = false;
  bool operator==(const DeviceSpec&) const = default;
};

// One step with every name resolved to an index (devices: declared ones, then Quick Start targets,
// in order; backups: in backup-step order). Only the fields of its op are meaningful; the others
// keep their defaults, which write_scenario() relies on to omit them.
struct Step {
  Op op = Op::kSync;
  size_t device = 0;    // the device it acts on; migrate: the source
  size_t backup = 0;    // restore: which backup
  std::string account;  // add, delete
  std::string name;     // backup: the backup's name; migrate: the new device's
  Traits traits;        // add
  std::string secret;   // add: any bytes (JSON: secret, or secret_hex when not UTF-8 or NUL)
  bool on = true;       // passcode, icloud-keychain, icloud-keychain-switch, sos
  // persistent-refs: the device's new kind; migrate: the new device's
  PersistentRefKind persistent_refs = PersistentRefKind::kRowid;
  bool passcode = true;  // migrate: whether the new device has a passcode
  Journey journey = Journey::kLocal;
  std::string password;  // backup: set iff local-encrypted; restore: "" when none is given
  bool operator==(const Step&) const = default;
};

struct Scenario {
  std::string description;
  std::vector<DeviceSpec> devices;
  std::vector<Step> steps;
  bool operator==(const Scenario&) const = default;
};

// "steps[3]": how messages name a step.
std::string step_path(size_t index);

// The device names a scenario defines, in index order: declared devices, then migrate targets.
std::vector<std::string> device_names(const Scenario& scenario);

// `json` is the document's bytes (at most kMaxScenarioBytes; the caller reads the file).
Result<Scenario> parse_scenario(ByteView json);

// The scenario as a JSON document, one step per line. A secret that is not valid UTF-8 or holds a
// NUL character (which the reader refuses in strings) is written as secret_hex.
std::string write_scenario(const Scenario& scenario);

}  // namespace kcb::harness

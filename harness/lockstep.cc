// The lockstep driver (include/kcbackup/lockstep.h): the model's side, the engine's side, and the
// comparison of the two after every step.
#include "kcbackup/lockstep.h"

#include <map>
#include <optional>

#include "engine/icloud_keychain.h"
#include "engine/setup_profile.h"
#include "harness/scenario_text.h"
#include "kcbackup/backup.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "kcbackup/persistent_ref.h"

namespace kcb::harness {
namespace {

// The account's escrow secret (the user's iCloud credentials, simulated): every join gives it.
constexpr std::string_view kEscrow = "simulated-apple-id";

std::string text_of(ByteView b) {
  return std::string(b.begin(), b.end());
}

std::string on_off(bool on) {
  return on ? "on" : "off";
}

std::string traits_text(const Traits& t) {
  return "{" + std::string(names_of(t.accessible).pdmn) + " " + std::string(name_of(t.item_class)) +
         (t.synchronizable ? " sync" : "") + (t.token == Token::kSecureEnclave ? " token" : "") +
         (t.auth_constraint ? " auth" : "") +
         (t.system_bound != SystemBound::kNone ? " sysb" : "") + (t.app_clip ? " clip" : "") +
         (t.tombstone ? " tomb" : "") + "}";
}

// One readable item as the engine holds it.
struct EngineItem {
  Traits traits;
  std::string service;
  std::string secret;
  Bytes persistent_ref;
};

void compare_settings(const std::string& name, const Device& d, bool member,
                      const oracle::WorldDevice& m, std::vector<Mismatch>& out) {
  if (d.has_passcode() != m.passcode) {
    out.push_back({name, "", Field::kPasscode, on_off(d.has_passcode()), on_off(m.passcode)});
  }
  if (d.icloud_keychain() != m.icloud_keychain) {
    out.push_back(
        {name, "", Field::kIcloudKeychain, on_off(d.icloud_keychain()), on_off(m.icloud_keychain)});
  }
  if (member != m.member) {
    out.push_back({name, "", Field::kMember, member ? "member" : "not a member",
                   m.member ? "member" : "not a member"});
  }
  if (d.persistent_refs() != m.persistent_refs) {
    out.push_back({name, "", Field::kPersistentRefs, std::string(name_of(d.persistent_refs())),
                   std::string(name_of(m.persistent_refs))});
  }
  if (d.sos() != m.sos) out.push_back({name, "", Field::kSos, on_off(d.sos()), on_off(m.sos)});
}

void compare_item(const std::string& name, const oracle::WorldItem& m, const EngineItem& e,
                  std::vector<Mismatch>& out) {
  if (e.traits != m.traits) {
    out.push_back({name, m.account, Field::kTraits, traits_text(e.traits), traits_text(m.traits)});
  }
  if (e.service != kService) {
    out.push_back({name, m.account, Field::kService, e.service, std::string(kService)});
  }
  if (e.secret != m.secret) {
    out.push_back({name, m.account, Field::kSecret, std::to_string(e.secret.size()) + " bytes",
                   std::to_string(m.secret.size()) + " bytes"});
  }
}

// R11: the engine's reference against the world's. Old-style: byte for byte (class + rowid).
// UUID-based: the world's serial and the engine's 16 bytes must map one to one over the whole run.
void compare_reference(const std::string& name, const oracle::WorldItem& want, const Bytes& got,
                       std::map<int64_t, Bytes>& uuid_of_serial,
                       std::map<Bytes, int64_t>& serial_of_uuid, std::vector<Mismatch>& out) {
  const ItemClass c = want.traits.item_class;
  const oracle::WorldRef& ref = want.ref;
  const std::string model = std::string(name_of(ref.kind)) + " " + std::to_string(ref.value);
  auto parsed = parse_persistent_ref(got, c);
  if (!parsed.ok() || parsed->kind != ref.kind) {
    out.push_back({name, want.account, Field::kReference, to_hex(got), model});
    return;
  }
  if (ref.kind == PersistentRefKind::kRowid) {
    if (parsed->rowid != ref.value) {
      out.push_back(
          {name, want.account, Field::kReference, "rowid " + std::to_string(parsed->rowid), model});
    }
    return;
  }
  const auto [by_serial, new_serial] = uuid_of_serial.emplace(ref.value, parsed->uuid);
  const auto [by_uuid, new_uuid] = serial_of_uuid.emplace(parsed->uuid, ref.value);
  if (by_serial->second != parsed->uuid || by_uuid->second != ref.value) {
    out.push_back(
        {name, want.account, Field::kReference, "uuid " + to_hex(parsed->uuid),
         model + (new_serial ? " (that UUID is another serial's)"
                             : " (that serial was UUID " + to_hex(by_serial->second) + ")")});
  }
}

// The device's readable items by account; a second row of one account is a mismatch by itself
// (the model names an item by its account).
Result<std::map<std::string, EngineItem>> engine_items(const std::string& name, const Device& d,
                                                       std::vector<Mismatch>& out) {
  KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> listed, d.list());
  std::map<std::string, EngineItem> items;
  for (const StoredItem& s : listed) {
    const std::string account = text_of(s.item.account());
    EngineItem e{traits_of(s.item), text_of(s.item.service()),
                 text_of(ByteView(s.item.secret().view())), s.persistent_ref};
    if (!items.emplace(account, std::move(e)).second) {
      out.push_back({name, account, Field::kPresence, "two items", "one"});
    }
  }
  return items;
}

}  // namespace

std::string_view name_of(Field f) {
  switch (f) {
    case Field::kAdd:
      return "add";
    case Field::kRestore:
      return "restore";
    case Field::kSync:
      return "sync";
    case Field::kPasscode:
      return "passcode";
    case Field::kIcloudKeychain:
      return "icloud-keychain";
    case Field::kMember:
      return "member";
    case Field::kPersistentRefs:
      return "persistent-refs";
    case Field::kSos:
      return "sos";
    case Field::kReference:
      return "reference";
    case Field::kPresence:
      return "presence";
    case Field::kTraits:
      return "traits";
    case Field::kService:
      return "service";
    case Field::kSecret:
      return "secret";
  }
  return "?";
}

std::string describe(const Mismatch& m) {
  const std::string item = "'" + m.item + "'";
  switch (m.field) {
    case Field::kAdd:
      return "add " + item + ": oracle expects " + m.model + ", engine returned " + m.engine;
    case Field::kRestore:
      return "restore " + item + " onto " + m.device + ": oracle expects it to " + m.model +
             ", engine " + m.engine;
    case Field::kPresence:
      if (m.model == "present" && m.engine == "absent") {
        return m.device + ": oracle expects " + item + ", engine lost it";
      }
      if (m.engine == "present" && m.model == "absent") {
        return m.device + ": engine has " + item + ", oracle expects it lost";
      }
      return m.device + ": " + item + ": oracle expects " + m.model + ", engine has " + m.engine;
    case Field::kSecret:
      return m.device + ": " + item + " has a different secret";
    case Field::kTraits:
    case Field::kService:
    case Field::kReference:
      return m.device + ": " + item + " " + std::string(name_of(m.field)) + ": oracle expects " +
             m.model + ", engine has " + m.engine;
    case Field::kSync:
    case Field::kPasscode:
    case Field::kIcloudKeychain:
    case Field::kMember:
    case Field::kPersistentRefs:
    case Field::kSos:
      return m.device + ": " + std::string(name_of(m.field)) + ": oracle expects " + m.model +
             ", engine " + m.engine;
  }
  return m.device + ": " + std::string(name_of(m.field));
}

// ---- The model's side. ----

ScenarioModel::ScenarioModel(const std::vector<DeviceSpec>& devices) {
  for (const DeviceSpec& d : devices) {
    const size_t i = world_.add_device(d.passcode, d.persistent_refs);
    names_.push_back(d.name);
    if (d.sos) world_.set_sos(i, true);
    if (d.icloud_keychain) world_.set_icloud_keychain(i, true);
  }
}

size_t ScenarioModel::held_items() const {
  size_t n = 0;
  for (const oracle::WorldDevice& d : world_.devices())
    n += d.items.size();
  return n;
}

ScenarioModel::Answer ScenarioModel::apply(const Step& s) {
  Answer a;
  switch (s.op) {
    case Op::kAdd:
      a.add = world_.add_item(s.device, {s.traits, s.account, s.secret});
      break;
    case Op::kDelete:
      world_.remove_item(s.device, s.account);
      break;
    case Op::kPasscode:
      world_.set_passcode(s.device, s.on);
      break;
    case Op::kIcloudKeychain:
      world_.set_icloud_keychain(s.device, s.on);
      break;
    case Op::kIcloudKeychainSwitch:
      world_.switch_icloud_keychain(s.device, s.on);
      break;
    case Op::kBackup: {
      const size_t b = world_.back_up(s.device, s.journey);
      KCB_ASSERT(b == backups_.size());
      backups_.push_back({s.name, s.journey == Journey::kLocalEncrypted, s.password});
      break;
    }
    case Op::kErase:
      world_.erase(s.device);
      break;
    case Op::kRestore: {
      KCB_ASSERT(s.backup < backups_.size());
      const Backup& b = backups_[s.backup];
      a.restore_accepted =
          world_.restore(s.backup, s.device, !b.encrypted || s.password == b.password);
      break;
    }
    case Op::kMigrate: {
      const size_t d = world_.quick_start(s.device, s.passcode, s.persistent_refs);
      KCB_ASSERT(d == names_.size());
      names_.push_back(s.name);
      break;
    }
    case Op::kSync:
      world_.sync_members();
      break;
    case Op::kPersistentRefs:
      world_.set_persistent_refs(s.device, s.persistent_refs);
      break;
    case Op::kSos:
      world_.set_sos(s.device, s.on);
      break;
  }
  return a;
}

Holdings holdings_of(const ScenarioModel& model) {
  Holdings out;
  const auto& devices = model.world().devices();
  for (size_t d = 0; d < devices.size(); ++d) {
    std::vector<std::string> accounts;
    for (const oracle::WorldItem& i : devices[d].items)
      accounts.push_back(i.account);
    out.emplace_back(model.device_names()[d], std::move(accounts));
  }
  return out;
}

// ---- The engine's side. ----

struct Lockstep::Engine {
  Random& random;
  std::optional<CloudAccount> account;
  std::vector<std::unique_ptr<Device>> devices;
  std::vector<BackupFolder> backups;  // in backup-step order

  explicit Engine(Random& r) : random(r) {}

  Status add_device(const DeviceSpec& spec) {
    DeviceConfig config{spec.passcode, false, std::nullopt, spec.persistent_refs, spec.sos};
    KCB_ASSIGN_OR_RETURN(auto device, Device::create_in_memory(config, random));
    devices.push_back(std::move(device));
    return spec.icloud_keychain ? account->join(*devices.back(), kEscrow, random) : Status::Ok();
  }
};

Lockstep::Lockstep(std::unique_ptr<Engine> engine, const std::vector<DeviceSpec>& devices)
    : engine_(std::move(engine)), model_(devices) {}

Lockstep::~Lockstep() = default;

Result<std::unique_ptr<Lockstep>> Lockstep::start(const std::vector<DeviceSpec>& devices,
                                                  Random& random) {
  auto engine = std::make_unique<Engine>(random);
  // Every join gives the right secret, so the escrow KDF's cost decides nothing: the fast count,
  // as the journey runner uses, unless the baseline set-up is asked for (engine/setup_profile.h).
  const uint32_t rounds = baseline_setup() ? kEscrowIterations : kFastEscrowIterations;
  KCB_ASSIGN_OR_RETURN(CloudAccount account, CloudAccount::create(kEscrow, random, rounds));
  engine->account.emplace(std::move(account));
  for (size_t i = 0; i < devices.size(); ++i) {
    const Status st = engine->add_device(devices[i]);
    if (!st.ok()) return st.with_context("devices[" + std::to_string(i) + "]");
  }
  return std::unique_ptr<Lockstep>(new Lockstep(std::move(engine), devices));
}

Result<std::vector<Mismatch>> Lockstep::compare() const {
  std::vector<Mismatch> out;
  const auto& model_devices = model_.world().devices();
  KCB_ASSERT(model_devices.size() == engine_->devices.size());
  for (size_t d = 0; d < model_devices.size(); ++d) {
    const std::string& name = model_.device_names()[d];
    const Device& device = *engine_->devices[d];
    const oracle::WorldDevice& m = model_devices[d];
    compare_settings(name, device, engine_->account->is_member(device), m, out);
    KCB_ASSIGN_OR_RETURN(auto items, engine_items(name, device, out));
    for (const oracle::WorldItem& want : m.items) {
      const auto it = items.find(want.account);
      if (it == items.end()) {
        out.push_back({name, want.account, Field::kPresence, "absent", "present"});
        continue;
      }
      compare_item(name, want, it->second, out);
      compare_reference(name, want, it->second.persistent_ref, uuid_of_serial_, serial_of_uuid_,
                        out);
      items.erase(it);
    }
    for (const auto& [account, item] : items)
      out.push_back({name, account, Field::kPresence, "present", "absent"});
  }
  return out;
}

namespace {

// One step on the engine, given the model's answer; returns the step's line and appends the
// step's own disagreements (an answer that differs) to `out`.
class EngineStep {
 public:
  EngineStep(std::vector<std::unique_ptr<Device>>& devices, CloudAccount& account,
             std::vector<BackupFolder>& backups, Random& random, const ScenarioModel& model)
      : devices_(devices), account_(account), backups_(backups), random_(random), model_(model) {}

  Result<std::string> run(const Step& s, const ScenarioModel::Answer& a,
                          std::vector<Mismatch>& out) {
    switch (s.op) {
      case Op::kAdd:
        return add(s, a, out);
      case Op::kDelete:
        return remove(s);
      case Op::kPasscode:
        KCB_RETURN_IF_ERROR(device(s).set_passcode(s.on, random_));
        return "passcode " + on_off(s.on) + " on " + name(s.device);
      case Op::kIcloudKeychain:
        KCB_RETURN_IF_ERROR(s.on ? account_.join(device(s), kEscrow, random_)
                                 : account_.leave(device(s)));
        return "iCloud Keychain " + on_off(s.on) + " on " + name(s.device);
      case Op::kIcloudKeychainSwitch:
        KCB_RETURN_IF_ERROR(device(s).set_icloud_keychain(s.on));
        return "iCloud Keychain switch " + on_off(s.on) + " (no join or leave) on " +
               name(s.device);
      case Op::kBackup:
        return backup(s);
      case Op::kErase:
        KCB_RETURN_IF_ERROR(device(s).erase(random_));
        return "erase " + name(s.device);
      case Op::kRestore:
        return restore(s, a, out);
      case Op::kMigrate:
        return migrate(s);
      case Op::kSync:
        return sync(out);
      case Op::kPersistentRefs:
        KCB_RETURN_IF_ERROR(device(s).set_persistent_refs(s.persistent_refs, random_));
        return std::string(name_of(s.persistent_refs)) + " references for new rows of " +
               name(s.device);
      case Op::kSos:
        KCB_RETURN_IF_ERROR(device(s).set_sos(s.on));
        return "SOS " + on_off(s.on) + " on " + name(s.device);
    }
    return Status::InvalidArgument("unknown step");
  }

 private:
  Device& device(const Step& s) {
    KCB_ASSERT(s.device < devices_.size());
    return *devices_[s.device];
  }
  const std::string& name(size_t d) const { return model_.device_names()[d]; }

  Result<std::string> add(const Step& s, const ScenarioModel::Answer& a,
                          std::vector<Mismatch>& out) {
    NewItem item = new_item_with(s.traits);
    item.account = s.account;
    item.service = std::string(kService);
    item.label = s.account;  // cert and keys items are told apart by label
    item.secret = SecretBytes(as_bytes(s.secret));
    const AddError got = sec_error_of(device(s).add(item, random_).status());
    if (got != a.add) {
      out.push_back({name(s.device), s.account, Field::kAdd, std::string(name_of(got)),
                     std::string(name_of(a.add))});
    }
    return "add '" + s.account + "' on " + name(s.device) + ": " + std::string(name_of(got));
  }

  Result<std::string> remove(const Step& s) {
    Device& d = device(s);
    KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, d.list());
    for (const StoredItem& stored : items) {
      if (text_of(stored.item.account()) != s.account) continue;
      KCB_RETURN_IF_ERROR(d.remove(stored.item.item_class(), stored.rowid));
      // World: a synchronizable item deleted on a syncing device is forgotten by the account.
      if (stored.item.synchronizable() && account_.is_member(d) && d.icloud_keychain()) {
        account_.forget(stored.item);
      }
    }
    return "delete '" + s.account + "' on " + name(s.device);
  }

  Result<std::string> backup(const Step& s) {
    KCB_ASSIGN_OR_RETURN(BackupFolder bundle,
                         make_backup(device(s), {s.journey, s.password, kFastKdf}, random_));
    backups_.push_back(std::move(bundle));
    return "backup '" + s.name + "' of " + name(s.device) + " (" + std::string(name_of(s.journey)) +
           ")";
  }

  // A restore of an encrypted backup with no password or a wrong one changes nothing: the engine
  // refuses it (PermissionDenied, exit 3 from `kcbackup restore`) and the model agrees.
  Result<std::string> restore(const Step& s, const ScenarioModel::Answer& a,
                              std::vector<Mismatch>& out) {
    KCB_ASSERT(s.backup < backups_.size());
    auto report = restore_backup(backups_[s.backup], device(s), {s.password, {}, {}}, random_);
    if (!report.ok() && report.status().code() != Code::kPermissionDenied) return report.status();
    const std::string& backup = model_backup_name(s.backup);
    const std::string what = "restore '" + backup + "' onto " + name(s.device);
    if (report.ok() != a.restore_accepted) {
      out.push_back({name(s.device), backup, Field::kRestore, report.ok() ? "succeeded" : "failed",
                     a.restore_accepted ? "succeed" : "fail"});
      return what;
    }
    if (!report.ok()) {
      return what + (s.password.empty() ? ": no password" : ": wrong password") +
             ", nothing changed";
    }
    const size_t kept = report->kept_count();
    return what + ": " + std::to_string(report->restored_count()) + " of " +
           std::to_string(report->items.size()) + " items restored" +
           (kept > 0 ? ", " + std::to_string(kept) + " kept (R13)" : "");
  }

  Result<std::string> migrate(const Step& s) {
    const DeviceConfig config{s.passcode, false, std::nullopt, s.persistent_refs, false};
    KCB_ASSIGN_OR_RETURN(auto fresh, Device::create_in_memory(config, random_));
    KCB_RETURN_IF_ERROR(quick_start(device(s), *fresh, kFastKdf, random_).status());
    devices_.push_back(std::move(fresh));
    return "Quick Start from " + name(s.device) + " to new device " + s.name;
  }

  // Every device is asked: members whose switch is on must sync, every other one must be refused
  // (FailedPrecondition), so that a switched-off member cannot slip through.
  Result<std::string> sync(std::vector<Mismatch>& out) {
    size_t synced = 0;
    for (size_t d = 0; d < devices_.size(); ++d) {
      const oracle::WorldDevice& m = model_.world().devices()[d];
      const bool may = m.member && m.icloud_keychain;
      auto report = account_.sync(*devices_[d], random_);
      const bool refused = !report.ok() && report.status().code() == Code::kFailedPrecondition;
      if (may && !report.ok() && !refused) return report.status().with_context("sync");
      if (report.ok()) ++synced;
      const std::string got = report.ok() ? "synced"
                              : refused   ? "refused"
                                          : "failed: " + report.status().to_string();
      const std::string want = may ? "synced" : "refused";
      if (got != want) out.push_back({name(d), "", Field::kSync, got, want});
    }
    return "iCloud Keychain sync of " + std::to_string(synced) + " devices";
  }

  const std::string& model_backup_name(size_t b) const { return model_.backup_name(b); }

  std::vector<std::unique_ptr<Device>>& devices_;
  CloudAccount& account_;
  std::vector<BackupFolder>& backups_;
  Random& random_;
  const ScenarioModel& model_;
};

}  // namespace

Result<StepResult> Lockstep::apply(const Step& s) {
  const ScenarioModel::Answer answer = model_.apply(s);
  EngineStep engine(engine_->devices, *engine_->account, engine_->backups, engine_->random, model_);
  StepResult result;
  KCB_ASSIGN_OR_RETURN(result.line, engine.run(s, answer, result.mismatches));
  // A disagreement on the step itself: the line names the step, the mismatch says the rest.
  if (!result.mismatches.empty()) result.line = std::string(name_of(s.op));
  if (model_.held_items() > kMaxHeldItems) {
    return Status::ResourceExhausted(
        "after this step the devices hold " + std::to_string(model_.held_items()) +
        " items; a scenario holds at most " + std::to_string(kMaxHeldItems) + " at a time");
  }
  KCB_ASSIGN_OR_RETURN(std::vector<Mismatch> compared, compare());
  result.mismatches.insert(result.mismatches.end(), compared.begin(), compared.end());
  return result;
}

Result<Holdings> run_scenario(
    const Scenario& scenario, Random& random,
    const std::function<void(size_t, const StepResult&, const Holdings&)>& each) {
  KCB_ASSIGN_OR_RETURN(std::unique_ptr<Lockstep> run, Lockstep::start(scenario.devices, random));
  for (size_t i = 0; i < scenario.steps.size(); ++i) {
    auto result = run->apply(scenario.steps[i]);
    if (!result.ok()) return result.status().with_context(step_path(i));
    each(i, *result, holdings_of(run->model()));
  }
  return holdings_of(run->model());
}

}  // namespace kcb::harness

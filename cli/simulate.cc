// `kcbackup simulate SCENARIO.json`: a scripted sequence of device operations over several
// simulated phones and one iCloud account, run twice side by side — through the engine (real
// cryptography) and through the oracle's world model (oracle/world.h) — with every device's
// readable items compared after every step. Exit 1 on any disagreement, 2 on a malformed scenario
// (the message names the JSON path).
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/seed.h"
#include "engine/archive.h"
#include "engine/backup.h"
#include "engine/icloud_keychain.h"
#include "model/names.h"
#include "oracle/world.h"

namespace kcb::cli {
namespace {

constexpr const char* kService = "kcbackup.simulate";
constexpr const char* kAccountSecret = "simulated-apple-id";
constexpr size_t kMaxScenarioBytes = 1 << 20;
constexpr size_t kMaxSteps = 10'000;

// A JSON field reader whose errors carry the field's path.
struct Fields {
  const Json& obj;
  std::string path;

  Result<std::string> text(const char* key, std::optional<std::string> fallback = {}) const {
    if (!obj.contains(key)) {
      if (fallback) return *fallback;
      return Status::InvalidArgument(path + "." + key + ": missing");
    }
    if (!obj[key].is_string())
      return Status::InvalidArgument(path + "." + key + ": expected a string");
    return obj[key].get<std::string>();
  }
  Result<bool> flag(const char* key, bool fallback) const {
    if (!obj.contains(key)) return fallback;
    if (!obj[key].is_boolean())
      return Status::InvalidArgument(path + "." + key + ": expected true or false");
    return obj[key].get<bool>();
  }
  template <typename T>
  Result<T> named(const char* key, Result<T> (*parse)(std::string_view),
                  std::string fallback) const {
    KCB_ASSIGN_OR_RETURN(std::string s, text(key, fallback));
    auto v = parse(s);
    if (!v.ok()) return Status::InvalidArgument(path + "." + key + ": " + v.status().message());
    return v;
  }
};

struct Backup {
  Bundle bundle;
  size_t world_index = 0;
  std::string password;
};

// The two worlds side by side.
class Simulation {
 public:
  explicit Simulation(Random& random) : random_(random) {}

  Status add_device(const std::string& name, bool passcode, bool icloud) {
    if (index_.count(name)) return Status::InvalidArgument("device '" + name + "' exists already");
    KCB_ASSIGN_OR_RETURN(auto device,
                         Device::create_in_memory({passcode, false, std::nullopt}, random_));
    index_[name] = devices_.size();
    names_.push_back(name);
    devices_.push_back(std::move(device));
    const size_t w = world_.add_device(passcode);
    KCB_ASSERT(w == devices_.size() - 1);
    return icloud ? set_icloud(name, true) : Status::Ok();
  }

  Result<size_t> device(const Fields& f, const char* key) const {
    KCB_ASSIGN_OR_RETURN(std::string name, f.text(key));
    auto it = index_.find(name);
    if (it == index_.end()) {
      return Status::InvalidArgument(f.path + "." + key + ": no device named '" + name + "'");
    }
    return it->second;
  }

  // Runs one step; returns a one-line description of what happened.
  Result<std::string> step(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(std::string op, f.text("do"));
    if (op == "add") return add(f);
    if (op == "delete") return remove(f);
    if (op == "passcode") return passcode(f);
    if (op == "icloud-keychain") return icloud(f);
    if (op == "backup") return backup(f);
    if (op == "erase") return erase(f);
    if (op == "restore") return restore(f);
    if (op == "migrate") return migrate(f);
    if (op == "sync") return sync();
    return Status::InvalidArgument(f.path + ".do: unknown step '" + op +
                                   "'; expected add, delete, passcode, icloud-keychain, backup, "
                                   "erase, restore, migrate or sync");
  }

  // Every device's readable items, engine against model; one line per difference.
  Result<std::vector<std::string>> compare() {
    std::vector<std::string> diffs;
    for (size_t d = 0; d < devices_.size(); ++d) {
      std::map<std::string, std::string> engine, model;
      KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, devices_[d]->list());
      for (const StoredItem& s : items) {
        engine[text(s.item.account())] = text(s.item.secret().view());
      }
      for (const oracle::WorldItem& i : world_.devices()[d].items)
        model[i.account] = i.secret;
      for (const auto& [account, secret] : model) {
        if (!engine.count(account)) {
          diffs.push_back(names_[d] + ": oracle expects '" + account + "', engine lost it");
        } else if (engine[account] != secret) {
          diffs.push_back(names_[d] + ": '" + account + "' has a different secret");
        }
      }
      for (const auto& [account, secret] : engine) {
        if (!model.count(account)) {
          diffs.push_back(names_[d] + ": engine has '" + account + "', oracle expects it lost");
        }
      }
    }
    return diffs;
  }

  Json holdings() const {
    Json out = Json::object();
    for (size_t d = 0; d < devices_.size(); ++d) {
      Json accounts = Json::array();
      for (const oracle::WorldItem& i : world_.devices()[d].items)
        accounts.push_back(i.account);
      out[names_[d]] = accounts;
    }
    return out;
  }

 private:
  static std::string text(ByteView b) { return std::string(b.begin(), b.end()); }

  Result<std::string> add(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    NewItem item;
    KCB_ASSIGN_OR_RETURN(item.account, f.text("account"));
    KCB_ASSIGN_OR_RETURN(item.item_class, f.named<ItemClass>("class", parse_item_class, "genp"));
    KCB_ASSIGN_OR_RETURN(item.accessible,
                         f.named<Accessibility>("accessible", parse_accessibility, "WhenUnlocked"));
    KCB_ASSIGN_OR_RETURN(item.token, f.named<Token>("token", parse_token, "none"));
    KCB_ASSIGN_OR_RETURN(item.synchronizable, f.flag("synchronizable", false));
    KCB_ASSIGN_OR_RETURN(item.auth_constraint, f.flag("auth_constraint", false));
    KCB_ASSIGN_OR_RETURN(std::string secret, f.text("secret", "secret of " + item.account));
    item.service = kService;
    item.label = item.account;  // cert and keys items are told apart by label
    item.secret = SecretBytes(as_bytes(secret));
    const Traits traits{item.accessible, item.item_class, item.synchronizable, item.token,
                        item.auth_constraint};
    const AddError expected = world_.add_item(d, {traits, item.account, secret});
    const AddError got = sec_error_of(devices_[d]->add(item, random_).status());
    if (got != expected) {
      return Status::FailedPrecondition("add '" + item.account + "': oracle expects " +
                                        std::string(name_of(expected)) + ", engine returned " +
                                        std::string(name_of(got)));
    }
    return "add '" + item.account + "' on " + names_[d] + ": " + std::string(name_of(got));
  }

  Result<std::string> remove(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    KCB_ASSIGN_OR_RETURN(std::string account, f.text("account"));
    world_.remove_item(d, account);
    KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, devices_[d]->list());
    for (const StoredItem& s : items) {
      if (text(s.item.account()) != account) continue;
      KCB_RETURN_IF_ERROR(devices_[d]->remove(s.item.item_class(), s.rowid));
      if (s.item.synchronizable() && cloud_ && cloud_->is_member(*devices_[d]))
        cloud_->forget(s.item);
    }
    return "delete '" + account + "' on " + names_[d];
  }

  Result<std::string> passcode(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    KCB_ASSIGN_OR_RETURN(bool on, f.flag("on", true));
    world_.set_passcode(d, on);
    KCB_RETURN_IF_ERROR(devices_[d]->set_passcode(on, random_));
    return "passcode " + std::string(on ? "on" : "off") + " on " + names_[d];
  }

  Status set_icloud(const std::string& name, bool on) {
    const size_t d = index_.at(name);
    if (!cloud_) {
      KCB_ASSIGN_OR_RETURN(CloudAccount account, CloudAccount::create(kAccountSecret, random_));
      cloud_ = std::make_unique<CloudAccount>(std::move(account));
    }
    world_.set_icloud_keychain(d, on);
    return on ? cloud_->join(*devices_[d], kAccountSecret, random_) : cloud_->leave(*devices_[d]);
  }

  Result<std::string> icloud(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    KCB_ASSIGN_OR_RETURN(bool on, f.flag("on", true));
    KCB_RETURN_IF_ERROR(set_icloud(names_[d], on));
    return "iCloud Keychain " + std::string(on ? "on" : "off") + " on " + names_[d];
  }

  Result<std::string> backup(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    KCB_ASSIGN_OR_RETURN(Journey journey, f.named<Journey>("journey", parse_journey, "local"));
    KCB_ASSIGN_OR_RETURN(std::string name, f.text("name"));
    KCB_ASSIGN_OR_RETURN(std::string password, f.text("password", "scenario-password"));
    if (journey == Journey::kQuickStart || journey == Journey::kIcloudKeychain) {
      return Status::InvalidArgument(f.path + ".journey: use a migrate or sync step for " +
                                     std::string(name_of(journey)));
    }
    if (backups_.count(name))
      return Status::InvalidArgument(f.path + ".name: '" + name + "' exists already");
    const bool encrypted = journey == Journey::kLocalEncrypted;
    KCB_ASSIGN_OR_RETURN(
        Bundle bundle,
        make_backup(*devices_[d], {journey, encrypted ? password : "", kFastKdf}, random_));
    backups_[name] = {std::move(bundle), world_.back_up(d, journey), password};
    return "backup '" + name + "' of " + names_[d] + " (" + std::string(name_of(journey)) + ")";
  }

  Result<std::string> erase(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    world_.erase(d);
    KCB_RETURN_IF_ERROR(devices_[d]->erase(random_));
    return "erase " + names_[d];
  }

  Result<std::string> restore(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t d, device(f, "device"));
    KCB_ASSIGN_OR_RETURN(std::string name, f.text("backup"));
    auto it = backups_.find(name);
    if (it == backups_.end())
      return Status::InvalidArgument(f.path + ".backup: no backup named '" + name + "'");
    KCB_ASSIGN_OR_RETURN(std::string password, f.text("password", it->second.password));
    const bool model_ok =
        world_.restore(it->second.world_index, d, password == it->second.password);
    auto report = restore_backup(it->second.bundle, *devices_[d], {password, {}}, random_);
    if (!report.ok() && report.status().code() != Code::kPermissionDenied) return report.status();
    if (report.ok() != model_ok) {
      return Status::FailedPrecondition("restore '" + name + "': oracle expects it to " +
                                        (model_ok ? "succeed" : "fail") + ", engine " +
                                        (report.ok() ? "succeeded" : "failed"));
    }
    if (!report.ok())
      return "restore '" + name + "' onto " + names_[d] + ": wrong password, nothing changed";
    return "restore '" + name + "' onto " + names_[d] + ": " +
           std::to_string(report->restored_count()) + " of " +
           std::to_string(report->items.size()) + " items restored";
  }

  Result<std::string> migrate(const Fields& f) {
    KCB_ASSIGN_OR_RETURN(size_t from, device(f, "from"));
    KCB_ASSIGN_OR_RETURN(std::string to, f.text("to"));
    KCB_ASSIGN_OR_RETURN(bool passcode, f.flag("passcode", true));
    if (index_.count(to))
      return Status::InvalidArgument(f.path + ".to: Quick Start needs a new device name");
    KCB_ASSIGN_OR_RETURN(auto device,
                         Device::create_in_memory({passcode, false, std::nullopt}, random_));
    KCB_RETURN_IF_ERROR(quick_start(*devices_[from], *device, kFastKdf, random_).status());
    index_[to] = devices_.size();
    names_.push_back(to);
    devices_.push_back(std::move(device));
    const size_t w = world_.quick_start(from, passcode);
    KCB_ASSERT(w == devices_.size() - 1);
    return "Quick Start from " + names_[from] + " to new device " + to;
  }

  Result<std::string> sync() {
    world_.sync_members();
    size_t members = 0;
    for (auto& d : devices_) {
      if (!cloud_ || !cloud_->is_member(*d)) continue;
      KCB_RETURN_IF_ERROR(cloud_->sync(*d, random_).status());
      ++members;
    }
    return "iCloud Keychain sync of " + std::to_string(members) + " devices";
  }

  Random& random_;
  oracle::World world_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::string> names_;
  std::map<std::string, size_t> index_;
  std::map<std::string, Backup> backups_;
  std::unique_ptr<CloudAccount> cloud_;
};

Result<Json> load_scenario(const std::string& path) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, read_file(path, kMaxScenarioBytes));
  Json doc = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument(path + ": expected an object");
  for (const char* key : {"devices", "steps"}) {
    if (!doc.contains(key) || !doc[key].is_array()) {
      return Status::InvalidArgument(path + ": '" + key + "' must be an array");
    }
  }
  if (doc["steps"].size() > kMaxSteps) return Status::ResourceExhausted(path + ": too many steps");
  return doc;
}

struct SimulateOptions {
  std::string scenario;
  Format format = Format::kText;
  std::string seed = "1";
};

int run_simulate(const SimulateOptions& o) {
  auto random = random_for(o.seed);
  if (!random.ok()) return report_error(random.status());
  auto doc = load_scenario(o.scenario);
  if (!doc.ok()) return report_error(doc.status());
  Simulation sim(**random);
  const Json& devices = (*doc)["devices"];
  for (size_t i = 0; i < devices.size(); ++i) {
    const Fields f{devices[i], "devices[" + std::to_string(i) + "]"};
    if (!devices[i].is_object())
      return report_error(Status::InvalidArgument(f.path + ": expected an object"));
    auto name = f.text("name");
    auto passcode = f.flag("passcode", true);
    auto icloud = f.flag("icloud_keychain", false);
    for (const Status& st : {name.status(), passcode.status(), icloud.status()}) {
      if (!st.ok()) return report_error(st);
    }
    Status st = sim.add_device(*name, *passcode, *icloud);
    if (!st.ok()) return report_error(st.with_context(f.path));
  }
  Json steps = Json::array();
  bool agree = true;
  const Json& list = (*doc)["steps"];
  for (size_t i = 0; i < list.size(); ++i) {
    const Fields f{list[i], "steps[" + std::to_string(i) + "]"};
    if (!list[i].is_object())
      return report_error(Status::InvalidArgument(f.path + ": expected an object"));
    auto what = sim.step(f);
    std::vector<std::string> diffs;
    if (!what.ok() && what.status().code() != Code::kFailedPrecondition)
      return report_error(what.status());
    if (!what.ok()) diffs.push_back(what.status().message());
    auto compared = sim.compare();
    if (!compared.ok()) return report_error(compared.status());
    diffs.insert(diffs.end(), compared->begin(), compared->end());
    agree = agree && diffs.empty();
    const std::string line = what.ok() ? *what : list[i].value("do", "?");
    steps.push_back({{"index", i},
                     {"step", line},
                     {"agree", diffs.empty()},
                     {"disagreements", diffs},
                     {"devices", sim.holdings()}});
    if (o.format == Format::kText) {
      std::cout << (diffs.empty() ? paint("ok  ", "32") : paint("NO  ", "31")) << i << ". " << line
                << "\n";
      for (const std::string& d : diffs)
        std::cout << "      " << d << "\n";
    }
  }
  if (o.format == Format::kJson) {
    Json out = json_envelope("simulate");
    out["scenario"] = o.scenario;
    out["steps"] = steps;
    out["agree"] = agree;
    print_json(std::cout, out);
  } else {
    std::cout << "\nFinal keychains (oracle = engine" << (agree ? "" : " except where marked NO")
              << "):\n";
    const Json holdings = sim.holdings();
    for (const auto& [device, accounts] : holdings.items()) {
      std::cout << "  " << device << ": " << (accounts.empty() ? "(empty)" : "");
      for (size_t k = 0; k < accounts.size(); ++k) {
        std::cout << (k ? ", " : "") << accounts[k].get<std::string>();
      }
      std::cout << "\n";
    }
  }
  return agree ? kExitOk : kExitCheckFailed;
}

}  // namespace

void add_simulate_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Run a scripted scenario over several simulated phones; engine vs oracle after "
      "every step");
  cmd->add_option("SCENARIO", o->scenario, "Scenario JSON (see examples/scenario-*.json)")
      ->required();
  add_format_option(cmd, &o->format, false);
  add_seed_option(cmd, &o->seed);
  cmd->footer(
      "Steps: add, delete, passcode, icloud-keychain, backup, erase, restore, migrate, sync.\n"
      "Example:\n  kcbackup simulate examples/scenario-new-phone.json");
  cmd->callback([o, &exit_code] { exit_code = run_simulate(*o); });
}

}  // namespace kcb::cli

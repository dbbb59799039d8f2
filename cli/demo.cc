// `kcbackup demo`: the seed's experiment (Apple DTS, 2018) in the simulator. A phone saves a
// WhenUnlocked ("Normal") and a WhenUnlockedThisDeviceOnly generic password, is backed up three
// ways, and each backup is restored onto a different phone and onto the same phone after an erase.
// Every engine column comes from real cryptography; the oracle is asked separately; the measured
// column is the published table. Exit 1 on any disagreement.
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/seed.h"
#include "kcbackup/backup.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"

namespace kcb::cli {
namespace {

constexpr const char* kDemoPassword = "seed-experiment";
constexpr const char* kNormal = "normal";
constexpr const char* kThisDeviceOnly = "thisDeviceOnly";

// What the engine did with each item of the experiment: (accessible, journey, target) -> restored.
using EngineResults = std::map<std::tuple<Accessibility, Journey, Target>, bool>;

NewItem seed_item(Accessibility accessible, const char* account, Random& random) {
  NewItem item;
  item.accessible = accessible;
  item.account = account;
  item.service = "com.example.seed";
  // The seed's app stored the time it saved, so a restored value is recognisable.
  item.secret = SecretBytes(as_bytes("saved at " + std::to_string(random.now_unix_seconds())));
  return item;
}

Result<bool> holds(Device& device, std::string_view account) {
  KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, device.list());
  for (const StoredItem& s : items) {
    if (std::string_view(reinterpret_cast<const char*>(s.item.account().data()),
                         s.item.account().size()) == account) {
      return true;
    }
  }
  return false;
}

Status record(Device& target, Journey journey, Target where, EngineResults& out) {
  KCB_ASSIGN_OR_RETURN(bool normal, holds(target, kNormal));
  KCB_ASSIGN_OR_RETURN(bool tdo, holds(target, kThisDeviceOnly));
  out[{Accessibility::kWhenUnlocked, journey, where}] = normal;
  out[{Accessibility::kWhenUnlockedThisDeviceOnly, journey, where}] = tdo;
  return Status::Ok();
}

// One journey of the experiment: back up, restore onto a new phone, erase, restore onto the same.
Status run_journey(Journey journey, Random& random, EngineResults& out) {
  KCB_ASSIGN_OR_RETURN(auto phone, Device::create_in_memory({}, random));
  KCB_RETURN_IF_ERROR(
      phone->add(seed_item(Accessibility::kWhenUnlocked, kNormal, random), random).status());
  KCB_RETURN_IF_ERROR(
      phone
          ->add(seed_item(Accessibility::kWhenUnlockedThisDeviceOnly, kThisDeviceOnly, random),
                random)
          .status());
  const bool encrypted = journey == Journey::kLocalEncrypted;
  KCB_ASSIGN_OR_RETURN(
      Bundle bundle,
      make_backup(*phone, {journey, encrypted ? kDemoPassword : "", kFastKdf}, random));
  const RestoreOptions restore{encrypted ? kDemoPassword : "", {}};

  KCB_ASSIGN_OR_RETURN(auto other, Device::create_in_memory({}, random));
  KCB_RETURN_IF_ERROR(restore_backup(bundle, *other, restore, random).status());
  KCB_RETURN_IF_ERROR(record(*other, journey, Target::kOtherDevice, out));

  KCB_RETURN_IF_ERROR(phone->erase(random));
  KCB_RETURN_IF_ERROR(restore_backup(bundle, *phone, restore, random).status());
  return record(*phone, journey, Target::kSameDevice, out);
}

struct DemoOptions {
  Format format = Format::kText;
  std::string seed = "2018";
};

int run_demo(const DemoOptions& o) {
  auto random = random_for(o.seed);
  if (!random.ok()) return report_error(random.status());
  EngineResults engine;
  for (Journey j : {Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup}) {
    Status st = run_journey(j, **random, engine);
    if (!st.ok()) return report_error(st.with_context("demo"));
  }
  Table table{{"accessible", "backed up by", "restore on", "measured", "oracle", "engine", "agree"},
              {}};
  Json rows = Json::array();
  bool all_agree = true;
  for (const auto& row : oracle::measured_table()) {
    auto verdict =
        oracle::predict({{row.accessible, ItemClass::kGenp}, row.journey, row.target, {}});
    KCB_ASSERT(verdict.ok());
    const Outcome by_engine =
        engine.at({row.accessible, row.journey, row.target}) ? Outcome::kRestored : Outcome::kLost;
    const bool agree = verdict->outcome == row.measured && by_engine == row.measured;
    all_agree = all_agree && agree;
    const std::string accessible(names_of(row.accessible).name);
    table.rows.push_back({accessible, std::string(name_of(row.journey)),
                          std::string(name_of(row.target)), std::string(name_of(row.measured)),
                          std::string(name_of(verdict->outcome)), std::string(name_of(by_engine)),
                          agree ? paint("yes", "32") : paint("NO", "31")});
    rows.push_back({{"accessible", accessible},
                    {"journey", name_of(row.journey)},
                    {"target", name_of(row.target)},
                    {"measured", name_of(row.measured)},
                    {"oracle", name_of(verdict->outcome)},
                    {"engine", name_of(by_engine)},
                    {"agree", agree}});
  }
  if (o.format == Format::kJson) {
    Json doc = json_envelope("demo");
    doc["rows"] = rows;
    doc["agree"] = all_agree;
    doc["kdf"] = {{"iterations", kFastKdf.iterations}, {"dp_iterations", kFastKdf.dp_iterations}};
    print_json(std::cout, doc);
  } else {
    std::cout
        << "The seed's experiment (Apple DTS, iOS 12), replayed in the simulator: a phone "
           "saves a WhenUnlocked\nand a WhenUnlockedThisDeviceOnly item, is backed up three "
           "ways, and each backup is restored\nonto a different phone and onto the same phone "
           "after an erase.\n\n";
    print_table(std::cout, table, o.format);
    std::cout << "\nengine: simulated phones with their own hardware UID, real AES key wrap, "
                 "AES-GCM and PBKDF2.\nThe backup password's KDF runs with ITER "
              << kFastKdf.iterations << " and DPIC " << kFastKdf.dp_iterations
              << " so the demo takes a moment; real backups use\n10,000 and 10,000,000 (kcbackup "
                 "backup does too, unless given --fast-kdf).\n"
              << (all_agree ? "All 12 rows agree: measured = oracle = engine.\n"
                            : "DISAGREEMENT: see the rows marked NO.\n");
  }
  return all_agree ? kExitOk : kExitCheckFailed;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "The seed's experiment (Apple DTS, 2018): measured / oracle / engine for 12 rows");
  add_format_option(cmd, &o->format, false);
  add_seed_option(cmd, &o->seed);
  cmd->footer(
      "Runs in a few seconds with reduced KDF iteration counts (said in its output).\n"
      "Example:\n  kcbackup demo\n  kcbackup demo --format json");
  cmd->callback([o, &exit_code] { exit_code = run_demo(*o); });
}

}  // namespace kcb::cli

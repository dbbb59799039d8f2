#include "cli/app.h"

#include "cli/commands.h"
#include "cli/output.h"

namespace kcb::cli {
namespace {

// CLI11 answers an unknown command word with "A subcommand is required"; a user who typed
// `kcbackup devise list` deserves to hear which word was wrong and what the choices are.
std::string unknown_command(const CLI::App& app, const std::vector<std::string>& args,
                            std::size_t at) {
  const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  if (commands.empty() || at >= args.size() || args[at].empty() || args[at][0] == '-') return "";
  std::string names;
  for (const CLI::App* command : commands) {
    if (command->check_name(args[at])) return unknown_command(*command, args, at + 1);
    names += (names.empty() ? "" : ", ") + command->get_name();
  }
  return "unknown command '" + args[at] + "'; expected one of: " + names;
}

}  // namespace

int run_kcbackup(const std::vector<std::string>& args) {
  CLI::App app{
      "kcbackup: which iOS keychain items survive which backup, restore or migration, and why.\n"
      "Ask the oracle (predict, table, rules), audit an app's items, or run simulated devices.",
      "kcbackup"};
  app.set_version_flag("--version", std::string("kcbackup ") + KCB_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 a check said no, 2 invalid input, 3 authentication failed, "
      "4 I/O error.\nRun `kcbackup COMMAND --help` for a command's options and an example.");
  int exit_code = kExitOk;
  add_predict_command(app, exit_code);
  add_table_command(app, exit_code);
  add_rules_command(app, exit_code);
  add_demo_command(app, exit_code);
  add_audit_command(app, exit_code);
  add_device_command(app, exit_code);
  add_backup_commands(app, exit_code);
  add_inspect_command(app, exit_code);
  add_simulate_command(app, exit_code);
  if (const std::string message = unknown_command(app, args, 0); !message.empty()) {
    return report_error(Status::InvalidArgument(message));
  }
  try {
    // CLI11 wants the arguments in reverse order when given as a vector.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitInvalidInput;
  }
  return exit_code;
}

}  // namespace kcb::cli

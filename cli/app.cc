#include "cli/app.h"

#include "cli/commands.h"
#include "cli/output.h"

namespace kcb::cli {
namespace {

bool has_commands(const CLI::App& app) {
  return !app.get_subcommands([](const CLI::App*) { return true; }).empty();
}

std::string command_names(const CLI::App& app) {
  std::string names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + command->get_name();
  }
  return names;
}

// The command words at the start of args that name (nested) commands, e.g. {"device", "add"};
// `*reached` is the last of them (or the app). Stops at the first word that is not one;
// `*unknown` gets a message when that word should have named a command and does not.
std::vector<std::string> command_words(const CLI::App& app, const std::vector<std::string>& args,
                                       std::string* unknown, const CLI::App** reached) {
  std::vector<std::string> words;
  *reached = &app;
  for (const std::string& arg : args) {
    if (!has_commands(**reached) || arg.empty() || arg[0] == '-') break;
    const CLI::App* next = nullptr;
    for (const CLI::App* command :
         (*reached)->get_subcommands([](const CLI::App*) { return true; })) {
      if (command->check_name(arg)) next = command;
    }
    if (next == nullptr) {
      // CLI11 would say "A subcommand is required"; a user who typed `kcbackup devise list`
      // deserves to hear which word was wrong and what the choices are.
      *unknown = "unknown command '" + arg + "'; expected one of: " + command_names(**reached);
      break;
    }
    words.push_back(next->get_name());
    *reached = next;
  }
  return words;
}

// CLI11's own messages ("--journey is required" + "Run with --help ...") become our one line:
// "kcbackup: invalid argument: predict: --journey is required (see `kcbackup predict --help`)".
int report_usage_error(const CLI::ParseError& e, const std::vector<std::string>& words,
                       const CLI::App& reached) {
  std::string command;
  for (const std::string& w : words)
    command += w + " ";
  // A command that has commands of its own, given none of them.
  const bool no_command = has_commands(reached) && dynamic_cast<const CLI::RequiredError*>(&e);
  const std::string what = no_command
                               ? "a command is needed; expected one of: " + command_names(reached)
                               : std::string(e.what());
  const std::string where = command.empty() ? "" : command.substr(0, command.size() - 1) + ": ";
  return report_error(
      Status::InvalidArgument(where + what + " (see `kcbackup " + command + "--help`)"));
}

}  // namespace

std::string command_path(const CLI::App& parent, const std::string& name) {
  return parent.get_parent() == nullptr ? name : parent.get_name() + " " + name;
}

CLI::App& add_group(CLI::App& app, const std::string& name) {
  const CommandHelp& help = help_for(name);
  CLI::App& group = *app.add_subcommand(name, std::string(help.about));
  group.require_subcommand(1);
  group.footer(std::string(help.footer));
  return group;
}

int run_kcbackup(const std::vector<std::string>& args) {
  CLI::App app{
      "kcbackup: which iOS keychain items survive which backup, restore or migration, and why.\n"
      "Ask the oracle (predict, table, rules), audit an app's items, or run simulated devices.",
      "kcbackup"};
  app.set_version_flag("--version", std::string("kcbackup ") + KCB_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 a check said no, 2 invalid input, 3 authentication failed, "
      "4 I/O error.\n\nExamples:\n  kcbackup demo\n  kcbackup predict --accessible "
      "AfterFirstUnlock --journey local-encrypted --target other-device\n  kcbackup audit "
      "examples/audit-banking-app.json\n\nRun `kcbackup COMMAND --help` for a command's options "
      "and an example.");
  Status status;
  add_oracle_commands(app, status);
  add_demo_command(app, status);
  add_audit_command(app, status);
  add_device_command(app, status);
  add_backup_commands(app, status);
  add_inspect_command(app, status);
  add_simulate_command(app, status);
  std::string unknown;
  const CLI::App* reached = nullptr;
  const std::vector<std::string> words = command_words(app, args, &unknown, &reached);
  if (!unknown.empty()) return report_error(Status::InvalidArgument(unknown));
  try {
    // CLI11 wants the arguments in reverse order when given as a vector.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0: CLI11 prints them.
    if (e.get_exit_code() == 0) return app.exit(e);
    return report_usage_error(e, words, *reached);
  }
  return status.ok() ? kExitOk : report_error(status);
}

}  // namespace kcb::cli

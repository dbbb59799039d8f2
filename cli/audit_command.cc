#include "cli/audit_command.h"

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "kcbackup/audit.h"
#include "kcbackup/audit_render.h"

namespace kcb::cli {

// The audit library does the work and the rendering (kcbackup/audit_render.h); this reads the
// options and the file and hands the report to `out`.
Status run_audit(const AuditOptions& options, Env& env, std::ostream& out, std::ostream& err) {
  const Wrapper* wrapper = nullptr;
  if (options.wrapper_given || !options.wrapper.empty()) {
    KCB_ASSIGN_OR_RETURN(wrapper, find_wrapper(options.wrapper));
  }
  KCB_ASSIGN_OR_RETURN(const ReportFormat format, parse_report_format(options.format));
  KCB_ASSIGN_OR_RETURN(const FailOn fail_on, parse_fail_on(options.fail_on));
  if (options.summary && format != ReportFormat::kMarkdown) {
    return Status::InvalidArgument("--summary is for --format markdown, not " +
                                   std::string(name_of(format)));
  }
  std::vector<IgnoreRule> ignores;
  for (const std::string& text : options.ignore) {
    KCB_ASSIGN_OR_RETURN(IgnoreRule rule, parse_ignore_rule(text));
    ignores.push_back(std::move(rule));
  }
  if (options.backup.empty() == options.items_path.empty()) {
    return Status::InvalidArgument("give ITEMS or --backup DIR --access-group G");
  }
  if (!options.backup.empty() && options.access_group.empty()) {
    return Status::InvalidArgument("--backup needs --access-group: the app whose items to audit");
  }
  AuditInput input;
  std::string source = options.items_path;
  if (!options.backup.empty()) {
    source = options.backup;  // a real path: SARIF and JUnit name it as the artifact
    KCB_ASSIGN_OR_RETURN(
        input, audit_input_from_backup(
                   options.backup, options.access_group, options.keys,
                   format == ReportFormat::kText ? Format::kText : Format::kJson, err, env));
  } else {
    KCB_ASSIGN_OR_RETURN(const Bytes bytes, env.read_file(options.items_path, kMaxAuditFileBytes));
    KCB_ASSIGN_OR_RETURN(input, parse_audit_document(bytes, wrapper, options.items_path));
  }
  AuditReport report = audit(input);
  KCB_ASSIGN_OR_RETURN(const size_t ignored, apply_ignores(report, ignores));
  RenderOptions render;
  render.format = format;
  render.wrapper = wrapper;
  render.source = source;
  render.version = KCB_VERSION;
  render.colour = format == ReportFormat::kText && use_colour();
  render.summary = options.summary;
  render.fail_on = fail_on;
  render.ignored_warnings = ignored;
  out << render_report(report, render);
  return gate_status(report, fail_on);
}

void add_audit_command(CLI::App& app, Status& status) {
  add_command(app, status, "audit", run_audit, [](CLI::App* cmd, AuditOptions& o) {
    cmd->add_option("ITEMS", o.items_path,
                    "The items: JSON, XML property list or binary property list "
                    "(docs/audit.md); - reads standard input; or --backup");
    cmd->add_option("--backup", o.backup,
                    "Audit the items of one app found in this real backup folder instead of ITEMS");
    cmd->add_option("--access-group", o.access_group,
                    "With --backup: the app's keychain access group (TEAMID.com.example.app)");
    add_backup_key_options(
        cmd, &o.keys, "With --backup: the source device, whose key opens the device-layer classes");
    std::string wrapper_help =
        "Keychain wrapper whose default accessibility applies when an item omits "
        "`accessible`:";
    for (const Wrapper& w : wrappers())
      wrapper_help += " " + std::string(w.name);
    // Given at all, even as "": so `--wrapper ""` is an unknown wrapper, not none.
    cmd->add_option("--wrapper", o.wrapper, wrapper_help)->each([&o](const std::string&) {
      o.wrapper_given = true;
    });
    cmd->add_option("--format", o.format,
                    "Output format: sarif for code scanning, junit for test reports, markdown "
                    "for a PR comment or job summary")
        ->type_name("text|json|markdown|csv|sarif|junit")
        ->default_str("text");
    cmd->add_flag("--summary", o.summary,
                  "Markdown: counts, violations and warnings only (automatic past 60,000 "
                  "characters)");
    cmd->add_option("--fail-on", o.fail_on,
                    "violation (default) or warning: warnings fail the run too")
        ->type_name("violation|warning")
        ->default_str("violation");
    cmd->add_option("--ignore", o.ignore,
                    "A warning kind to leave out, everywhere (half-restored) or on one item "
                    "(half-restored:session-token); repeatable")
        ->type_name("KIND[:ITEM]");
  });
}

}  // namespace kcb::cli

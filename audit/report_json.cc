#include "audit/report_json.h"

#include "kcbackup/names.h"
#include "kcbackup/rules.h"

namespace kcb::report {

Json json_envelope(std::string_view command, std::string_view version) {
  Json out;
  out["schema"] = "kcbackup." + std::string(command) + ".v1";
  out["version"] = std::string(version);
  return out;
}

std::string json_text(const Json& doc) {
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Json traits_json(const Traits& t) {
  return {{"accessible", names_of(t.accessible).name},
          {"pdmn", names_of(t.accessible).pdmn},
          {"class", name_of(t.item_class)},
          {"synchronizable", t.synchronizable},
          {"token", name_of(t.token)},
          {"auth_constraint", t.auth_constraint},
          {"app_clip", t.app_clip}};
}

Json rules_json(RuleSet rules) {
  Json list = Json::array();
  for (RuleId id : kAllRules) {
    if (rules.has(id)) list.push_back(name_of(id));
  }
  return list;
}

std::string rules_text(RuleSet rules) {
  std::string out;
  for (RuleId id : kAllRules) {
    if (!rules.has(id)) continue;
    if (!out.empty()) out += ' ';
    out += name_of(id);
  }
  return out.empty() ? "-" : out;
}

Json verdict_json(const Verdict& v) {
  Json notes = Json::array();
  for (int i = 0; i < kNoteCount; ++i) {
    const Note n = static_cast<Note>(i);
    if (v.notes.has(n)) notes.push_back(oracle::note_text(n));
  }
  Json ios = Json::object();
  for (RuleId id : kAllRules) {
    if (v.rules.has(id)) ios[std::string(name_of(id))] = oracle::rule(id).ios_versions;
  }
  return {{"outcome", name_of(v.outcome)},
          {"road", name_of(v.road)},
          {"rules", rules_json(v.rules)},
          {"confidence", name_of(v.confidence)},
          {"notes", notes},
          {"ios_versions", ios}};
}

std::string traits_text(const Traits& t) {
  const auto& n = names_of(t.accessible);
  std::string out = std::string(n.name) + " (" + std::string(n.pdmn) + ", class " +
                    std::to_string(n.key_class) + ") " + std::string(name_of(t.item_class));
  if (t.synchronizable) out += ", synchronizable";
  if (t.token != Token::kNone) out += ", token " + std::string(name_of(t.token));
  if (t.auth_constraint) out += ", auth constraint";
  if (t.system_bound != SystemBound::kNone) out += ", system-bound";
  if (t.app_clip) out += ", App Clip";
  return out;
}

}  // namespace kcb::report

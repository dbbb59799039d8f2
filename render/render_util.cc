#include "render/render_util.h"

#include "kcbackup/device.h"
#include "kcbackup/names.h"

namespace kcb::render {

Json envelope(std::string_view command) {
  return report::json_envelope(command, KCB_VERSION);
}

std::string document(const Json& doc) {
  return report::json_text(doc);
}

std::string table_text(const Table& table, Format format) {
  const report::TableStyle style = format == Format::kMarkdown ? report::TableStyle::kMarkdown
                                   : format == Format::kCsv    ? report::TableStyle::kCsv
                                                               : report::TableStyle::kText;
  return report::table_text(table, style);
}

std::string paint(std::string_view text, std::string_view code, bool colour) {
  if (!colour) return std::string(text);
  return "\x1b[" + std::string(code) + "m" + std::string(text) + "\x1b[0m";
}

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

Json der_value_json(const DerValue& v) {
  switch (v.kind()) {
    case DerKind::kNull:
      return nullptr;
    case DerKind::kBoolean:
      return *v.as_boolean();
    case DerKind::kInteger:
      return *v.as_integer();
    case DerKind::kString:
      return json_text(as_bytes(*v.as_string()));
    case DerKind::kData:
      return Json{{"data_hex", to_hex(*v.as_data())}};
    case DerKind::kDate:
      return Json{{"date", der_date_text(*v.as_date())}};
    case DerKind::kArray: {
      Json out = Json::array();
      for (const DerValue& e : *v.as_array())
        out.push_back(der_value_json(e));
      return out;
    }
    case DerKind::kDictionary: {
      Json out = Json::object();
      for (const DerEntry& e : v.as_dictionary()->entries())
        out[json_text(as_bytes(e.key))] = der_value_json(e.value);
      return out;
    }
  }
  return nullptr;
}

Json item_json(const Item& item, bool show_secrets) {
  const Traits t = traits_of(item);
  Json out = {{"class", name_of(item.item_class())},
              {"account", json_text(item.account())},
              {"service", json_text(item.service())},
              {"access_group", json_text(as_bytes(item.access_group()))},
              {"accessible", names_of(t.accessible).pdmn},
              {"synchronizable", t.synchronizable},
              {"token", name_of(t.token)},
              {"auth_constraint", t.auth_constraint}};
  if (show_secrets) out["secret_hex"] = to_hex(item.secret().view());
  return out;
}

Json attributes_json(const Item& item, bool show_secrets) {
  Json out = Json::object();
  for (const DerEntry& e : item.attributes().entries())
    out[json_text(as_bytes(e.key))] = der_value_json(e.value);
  if (show_secrets) {
    out[std::string(attr::kValueData)] = Json{{"data_hex", to_hex(item.secret().view())}};
  } else {
    out[std::string(attr::kValueData)] = Json{{"data_bytes", item.secret().size()}};
  }
  return out;
}

Json warnings_json(const std::vector<std::string>& warnings) {
  Json list = Json::array();
  for (const std::string& w : warnings)
    list.push_back(json_text(as_bytes(w)));
  return list;
}

std::string warnings_text(const std::vector<std::string>& warnings) {
  std::string out;
  for (const std::string& w : warnings)
    out += "warning: " + display_text(w) + "\n";
  return out;
}

}  // namespace kcb::render

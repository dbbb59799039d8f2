// Naming one item of a device (find_row) and saying why SecItem refused it (sec_item_refusal).
// Accounts and services come from the user and from rows that may hold any bytes: messages show
// them through printable_text.
#include <algorithm>
#include <string>
#include <vector>

#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

bool same_text(const Bytes& column, std::string_view text) {
  return std::equal(column.begin(), column.end(), text.begin(), text.end(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

std::string matched_text(const ItemQuery& q) {
  return "account '" + printable_text(q.account) + "' and service '" + printable_text(q.service) +
         "'";
}

}  // namespace

Status sec_item_refusal(const Status& st, std::string_view call) {
  const bool refused = st.code() == Code::kInvalidArgument ||
                       st.code() == Code::kFailedPrecondition ||
                       st.code() == Code::kAlreadyExists || st.code() == Code::kNotFound;
  if (!refused) return st;
  const AddError e = sec_error_of(st);
  return st.with_context(std::string(call) + " refused the item: " + std::string(name_of(e)) +
                         " (" + std::to_string(static_cast<int32_t>(e)) + ")");
}

Result<RowInfo> find_row(const Device& device, const ItemQuery& q) {
  KCB_ASSIGN_OR_RETURN(std::vector<RowInfo> rows, device.rows());
  const std::string kind(name_of(q.item_class));
  std::vector<const RowInfo*> matches;
  for (const RowInfo& r : rows) {
    if (r.item_class != q.item_class) continue;
    const bool match = q.rowid ? r.rowid == *q.rowid
                               : same_text(r.account, q.account) && same_text(r.service, q.service);
    if (match) matches.push_back(&r);
  }
  if (matches.empty()) {
    if (q.rowid) return Status::NotFound("no " + kind + " row " + std::to_string(*q.rowid));
    return Status::NotFound("no " + kind + " item with " + matched_text(q));
  }
  if (matches.size() == 1) return *matches.front();
  std::string list;
  for (const RowInfo* m : matches)
    list += (list.empty() ? "" : ", ") + std::to_string(m->rowid);
  return Status::InvalidArgument(matched_text(q) + " match " + std::to_string(matches.size()) +
                                 " " + kind + " rows (" + list + ")");
}

}  // namespace kcb

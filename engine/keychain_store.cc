// keychain-2.db over the sqlite3 C API; see keychain_store.h for the contract. Every statement is
// prepared once at open and reused (bulk restore inserts run at prepared-insert speed). In-memory
// stores are pooled per thread (open_in_memory, ~KeychainStore): building the schema and preparing
// the statements cost 50 times what a fuzzed journey's own SQL does.
#include "engine/keychain_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/idle_pool.h"
#include "engine/setup_profile.h"
#include "kcbackup/names.h"

namespace kcb {

namespace {

// 1: the first schema; 2 added persistref, clip and tomb (upgrade_from_version_1).
constexpr int kSchemaVersion = 2;

// Primary keys, modeled on Apple's (SecItemSchema.c). Apple's cert key (ctyp, issr, slnr) and keys
// key (kcls, klbl, atag, type, bsiz, esiz, ...) use attributes we do not model: a label stands
// in for them.
std::string_view unique_columns(ItemClass c) {
  switch (c) {
    case ItemClass::kGenp:
      return "acct, svce, agrp, sync, tkid";
    case ItemClass::kInet:
      return "acct, srvr, ptcl, port, path, agrp, sync, tkid";
    case ItemClass::kCert:
    case ItemClass::kKeys:
      return "labl, agrp, sync, tkid";
  }
  return "";
}

// In the order rows are read and bound (rowid first).
constexpr std::string_view kColumns =
    "rowid, cdat, mdat, labl, agrp, acct, svce, srvr, ptcl, port, path, pdmn, sync, tkid, sysb, "
    "accc, data, persistref, clip, tomb";
constexpr int kColumnCount = 20;
constexpr int kDataColumn = 16;
constexpr int kPersistrefColumn = 17;

std::string create_persistref_index_sql(ItemClass c);

// rowid without AUTOINCREMENT (Apple has it): that costs a sqlite_sequence update per insert, and
// the only difference is that SQLite may reuse the rowid of a deleted highest row.
std::string create_table_sql(ItemClass c) {
  std::string t(name_of(c));
  return "CREATE TABLE IF NOT EXISTS " + t +
         " (rowid INTEGER PRIMARY KEY,"
         " cdat INTEGER NOT NULL DEFAULT 0, mdat INTEGER NOT NULL DEFAULT 0,"
         " labl TEXT NOT NULL DEFAULT '', agrp TEXT NOT NULL DEFAULT '',"
         " acct BLOB NOT NULL DEFAULT x'', svce BLOB NOT NULL DEFAULT x'',"
         " srvr TEXT NOT NULL DEFAULT '', ptcl INTEGER NOT NULL DEFAULT 0,"
         " port INTEGER NOT NULL DEFAULT 0, path TEXT NOT NULL DEFAULT '',"
         " pdmn TEXT NOT NULL, sync INTEGER NOT NULL DEFAULT 0, tkid TEXT NOT NULL DEFAULT '',"
         " sysb INTEGER NOT NULL DEFAULT 0, accc INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL,"
         " persistref BLOB, clip INTEGER NOT NULL DEFAULT 0, tomb INTEGER NOT NULL DEFAULT 0,"
         " UNIQUE (" +
         std::string(unique_columns(c)) + "));" + create_persistref_index_sql(c);
}

// NULL (no UUID) is never equal to NULL: rows without a UUID do not collide.
std::string create_persistref_index_sql(ItemClass c) {
  const std::string t(name_of(c));
  return "CREATE UNIQUE INDEX IF NOT EXISTS " + t + "_persistref ON " + t + " (persistref);";
}

// The columns version 2 added, as ALTER TABLE appends them (the order create_table_sql has).
std::string upgrade_table_sql(ItemClass c) {
  const std::string alter = "ALTER TABLE " + std::string(name_of(c)) + " ADD COLUMN ";
  return alter + "persistref BLOB;" + alter + "clip INTEGER NOT NULL DEFAULT 0;" + alter +
         "tomb INTEGER NOT NULL DEFAULT 0;" + create_persistref_index_sql(c);
}

Status sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xFF;
  std::string msg = "keychain-store: " + std::string(what) + ": " +
                    (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::AlreadyExists(std::move(msg));
  }
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
    return Status::Corruption(std::move(msg));
  if (primary == SQLITE_BUSY) {
    return Status::IOError(std::move(msg) +
                           " (busy: another connection held the database past the timeout)");
  }
  return Status::IOError(std::move(msg));
}

struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// Resets a reused statement when the call is done with it, whatever the path out.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* s) : s_(s) {}
  ~StatementUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  sqlite3_stmt* s_;
};

// unique_columns(c) as a WHERE clause over bind_columns' parameters.
std::string primary_key_condition(ItemClass c) {
  static constexpr std::pair<std::string_view, int> kParameter[] = {
      {"labl", 4}, {"agrp", 5},  {"acct", 6},  {"svce", 7},  {"srvr", 8},
      {"ptcl", 9}, {"port", 10}, {"path", 11}, {"sync", 13}, {"tkid", 14}};
  std::string out;
  std::string_view columns = unique_columns(c);
  while (!columns.empty()) {
    const size_t comma = columns.find(',');
    const std::string_view column = columns.substr(0, comma);
    columns = comma == std::string_view::npos ? std::string_view() : columns.substr(comma + 2);
    const auto* p = std::find_if(std::begin(kParameter), std::end(kParameter),
                                 [&](const auto& e) { return e.first == column; });
    KCB_ASSERT(p != std::end(kParameter));
    out += (out.empty() ? "" : " AND ") + std::string(column) + " = ?" + std::to_string(p->second);
  }
  return out;
}

size_t class_index(ItemClass c) {
  return static_cast<size_t>(c);
}

}  // namespace

struct KeychainStore::Impl {
  struct ClassStatements {
    Statement insert, update, remove, get, list, count, delete_unbound, delete_pdmn, has_persistref,
        find_primary_key, rowids, delete_all;
  };

  sqlite3* db = nullptr;
  bool in_memory = false;  // ":memory:": goes back to the pool when its KeychainStore is destroyed
  // False only for a class whose table is known empty: a new in-memory database, or since
  // replace_all emptied it and put no row of that class back. Every row enters through
  // insert_row, which sets it. Emptying an empty table costs as much as a small one (secure_delete
  // clears its root pages), so replace_all skips those: 7 % of a fuzzed journey.
  std::array<bool, 4> may_have_rows{true, true, true, true};
  std::array<ClassStatements, 4> by_class;
  Statement begin, commit, rollback, savepoint, release, rollback_to;

  ~Impl() {
    by_class = {};
    begin.reset(), commit.reset(), rollback.reset();
    savepoint.reset(), release.reset(), rollback_to.reset();
    sqlite3_close(db);
  }

  Status exec(const std::string& sql, std::string_view what) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return sqlite_error(db, sqlite3_extended_errcode(db), what);
    return Status::Ok();
  }

  Status prepare(const std::string& sql, Statement* out) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
      // A statement of ours that does not prepare means the file holds some other schema.
      return Status::Corruption("keychain-store: unexpected schema: " +
                                std::string(sqlite3_errmsg(db)));
    }
    out->reset(s);
    return Status::Ok();
  }

  // Runs a statement that returns no rows.
  Status run(sqlite3_stmt* s, std::string_view what) {
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return sqlite_error(db, sqlite3_extended_errcode(db), what);
    return Status::Ok();
  }

  Status run_simple(const Statement& s, std::string_view what) {
    StatementUse use(s.get());
    return run(s.get(), what);
  }
};

namespace {

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  // A null pointer (an empty view may have one) would bind NULL, which NOT NULL refuses.
  sqlite3_bind_text(s, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

void bind_blob(sqlite3_stmt* s, int i, ByteView v) {
  // A null pointer would bind NULL, which NOT NULL refuses: an empty blob is a zero blob.
  if (v.empty()) {
    sqlite3_bind_zeroblob(s, i, 0);
  } else {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
}

// Binds columns 2..20 (everything but rowid) in kColumns order. A statement that uses fewer of
// them (find_primary_key) ignores the rest: binding an index past its last one is SQLITE_RANGE.
void bind_columns(sqlite3_stmt* s, const KeychainRowView& r, std::string_view pdmn) {
  if (r.persistref.empty()) {
    sqlite3_bind_null(s, 18);
  } else {
    sqlite3_bind_blob(s, 18, r.persistref.data(), static_cast<int>(r.persistref.size()),
                      SQLITE_STATIC);
  }
  sqlite3_bind_int(s, 19, r.clip ? 1 : 0);
  sqlite3_bind_int(s, 20, r.tomb ? 1 : 0);
  sqlite3_bind_int64(s, 2, r.cdat.unix_millis);
  sqlite3_bind_int64(s, 3, r.mdat.unix_millis);
  bind_text(s, 4, r.labl);
  bind_text(s, 5, r.agrp);
  bind_blob(s, 6, r.acct);
  bind_blob(s, 7, r.svce);
  bind_text(s, 8, r.srvr);
  sqlite3_bind_int64(s, 9, r.ptcl);
  sqlite3_bind_int64(s, 10, r.port);
  bind_text(s, 11, r.path);
  bind_text(s, 12, pdmn);
  sqlite3_bind_int(s, 13, r.sync ? 1 : 0);
  bind_text(s, 14, r.tkid);
  sqlite3_bind_int64(s, 15, r.sysb);
  sqlite3_bind_int(s, 16, r.accc ? 1 : 0);
  bind_blob(s, 17, r.data);
}

std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

Bytes column_blob(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, i));
  const int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? Bytes() : Bytes(p, p + n);
}

Status read_row(sqlite3_stmt* s, ItemClass c, KeychainRow* r) {
  r->item_class = c;
  r->rowid = sqlite3_column_int64(s, 0);
  r->cdat.unix_millis = sqlite3_column_int64(s, 1);
  r->mdat.unix_millis = sqlite3_column_int64(s, 2);
  r->labl = column_text(s, 3);
  r->agrp = column_text(s, 4);
  r->acct = column_blob(s, 5);
  r->svce = column_blob(s, 6);
  r->srvr = column_text(s, 7);
  r->ptcl = sqlite3_column_int64(s, 8);
  r->port = sqlite3_column_int64(s, 9);
  r->path = column_text(s, 10);
  const std::string pdmn = column_text(s, 11);
  auto a = accessibility_from_pdmn(pdmn);
  if (!a) {
    return Status::Corruption("keychain-store: " + std::string(name_of(c)) + " rowid " +
                              std::to_string(r->rowid) + ": unknown pdmn '" + pdmn + "'");
  }
  r->pdmn = *a;
  r->sync = sqlite3_column_int64(s, 12) != 0;
  r->tkid = column_text(s, 13);
  r->sysb = sqlite3_column_int64(s, 14);
  r->accc = sqlite3_column_int64(s, 15) != 0;
  r->data = column_blob(s, kDataColumn);
  r->persistref = column_blob(s, kPersistrefColumn);
  r->clip = sqlite3_column_int64(s, 18) != 0;
  r->tomb = sqlite3_column_int64(s, 19) != 0;
  return Status::Ok();
}

Status prepare_class(KeychainStore::Impl* impl, ItemClass c) {
  const std::string t(name_of(c));
  auto& st = impl->by_class[class_index(c)];
  std::string placeholders = "?1";
  for (int i = 2; i <= kColumnCount; ++i)
    placeholders += ", ?" + std::to_string(i);
  KCB_RETURN_IF_ERROR(impl->prepare(
      "INSERT INTO " + t + " (" + std::string(kColumns) + ") VALUES (" + placeholders + ")",
      &st.insert));
  KCB_RETURN_IF_ERROR(impl->prepare(
      "UPDATE " + t +
          " SET cdat = ?2, mdat = ?3, labl = ?4, agrp = ?5, acct = ?6, svce = ?7, srvr = ?8,"
          " ptcl = ?9, port = ?10, path = ?11, pdmn = ?12, sync = ?13, tkid = ?14, sysb = ?15,"
          " accc = ?16, data = ?17, persistref = ?18, clip = ?19, tomb = ?20 WHERE rowid = ?1",
      &st.update));
  KCB_RETURN_IF_ERROR(impl->prepare("DELETE FROM " + t + " WHERE rowid = ?1", &st.remove));
  KCB_RETURN_IF_ERROR(impl->prepare(
      "SELECT " + std::string(kColumns) + " FROM " + t + " WHERE rowid = ?1", &st.get));
  KCB_RETURN_IF_ERROR(impl->prepare(
      "SELECT " + std::string(kColumns) + " FROM " + t + " ORDER BY rowid", &st.list));
  KCB_RETURN_IF_ERROR(impl->prepare("SELECT count(*) FROM " + t, &st.count));
  KCB_RETURN_IF_ERROR(
      impl->prepare("DELETE FROM " + t + " WHERE sync = 0 AND sysb = 0", &st.delete_unbound));
  KCB_RETURN_IF_ERROR(
      impl->prepare("SELECT 1 FROM " + t + " WHERE persistref = ?1", &st.has_persistref));
  KCB_RETURN_IF_ERROR(impl->prepare("SELECT rowid FROM " + t + " WHERE " + primary_key_condition(c),
                                    &st.find_primary_key));
  KCB_RETURN_IF_ERROR(impl->prepare("SELECT rowid FROM " + t + " ORDER BY rowid", &st.rowids));
  KCB_RETURN_IF_ERROR(impl->prepare("DELETE FROM " + t + " WHERE pdmn = ?1", &st.delete_pdmn));
  KCB_RETURN_IF_ERROR(impl->prepare("DELETE FROM " + t, &st.delete_all));
  return Status::Ok();
}

Result<int64_t> schema_version(KeychainStore::Impl* impl, const std::string& where) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(impl->db, "PRAGMA user_version", -1, &raw, nullptr);
  Statement s(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return sqlite_error(impl->db, sqlite3_extended_errcode(impl->db), where);
  return sqlite3_column_int64(s.get(), 0);
}

// The first read of the file: a non-database fails here with SQLITE_NOTADB -> Corruption.
Status check_schema_version(KeychainStore::Impl* impl, const std::string& where) {
  KCB_ASSIGN_OR_RETURN(const int64_t version, schema_version(impl, where));
  if (version != 0 && version != 1 && version != kSchemaVersion) {
    return Status::Corruption("keychain-store: " + where + ": schema version " +
                              std::to_string(version) + ", expected " +
                              std::to_string(kSchemaVersion));
  }
  return Status::Ok();
}

// A reader neither creates nor upgrades the schema, nor changes the journal mode: all are writes.
Status check_read_only_schema(KeychainStore::Impl* impl, const std::string& where) {
  KCB_ASSIGN_OR_RETURN(const int64_t version, schema_version(impl, where));
  if (version == 1) {
    return Status::FailedPrecondition(
        "keychain-store: " + where +
        ": schema version 1 (before persistent references); a command that writes the device "
        "(e.g. `kcbackup device set`) upgrades it");
  }
  if (version != kSchemaVersion) {
    return Status::Corruption("keychain-store: " + where +
                              ": no keychain schema (an empty or foreign database)");
  }
  return Status::Ok();
}

Result<bool> is_version_1(KeychainStore::Impl* impl, const std::string& where) {
  KCB_ASSIGN_OR_RETURN(const int64_t version, schema_version(impl, where));
  return version == 1;
}

// Every class's statements and the transaction ones, once per connection; `begin` opens a
// transaction ("BEGIN IMMEDIATE" for a writer, which takes the write lock at once).
Status prepare_statements(KeychainStore::Impl* impl, const char* begin) {
  for (ItemClass c : kAllItemClasses)
    KCB_RETURN_IF_ERROR(prepare_class(impl, c));
  KCB_RETURN_IF_ERROR(impl->prepare(begin, &impl->begin));
  KCB_RETURN_IF_ERROR(impl->prepare("COMMIT", &impl->commit));
  KCB_RETURN_IF_ERROR(impl->prepare("ROLLBACK", &impl->rollback));
  KCB_RETURN_IF_ERROR(impl->prepare("SAVEPOINT kcb_multi_row", &impl->savepoint));
  KCB_RETURN_IF_ERROR(impl->prepare("RELEASE kcb_multi_row", &impl->release));
  KCB_RETURN_IF_ERROR(impl->prepare("ROLLBACK TO kcb_multi_row", &impl->rollback_to));
  return Status::Ok();
}

Status set_up(KeychainStore::Impl* impl, bool in_memory, const KeychainStoreOptions& options,
              const std::string& where) {
  KCB_RETURN_IF_ERROR(check_schema_version(impl, where));
  if (options.read_only) {
    KCB_RETURN_IF_ERROR(check_read_only_schema(impl, where));
    // A reader's transaction takes no write lock (BEGIN, not BEGIN IMMEDIATE).
    return prepare_statements(impl, "BEGIN");
  }
  if (!in_memory) KCB_RETURN_IF_ERROR(impl->exec("PRAGMA journal_mode=DELETE", where));
  KCB_RETURN_IF_ERROR(
      impl->exec(options.durable ? "PRAGMA synchronous=EXTRA" : "PRAGMA synchronous=OFF", where));
  KCB_RETURN_IF_ERROR(impl->exec("PRAGMA secure_delete=ON", where));
  std::string schema = "BEGIN;";
  KCB_ASSIGN_OR_RETURN(const bool version_1, is_version_1(impl, where));
  for (ItemClass c : kAllItemClasses)
    schema += version_1 ? upgrade_table_sql(c) : create_table_sql(c);
  schema += "PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";COMMIT;";
  Status created = impl->exec(schema, where + ": create schema");
  if (!created.ok()) {
    if (sqlite3_get_autocommit(impl->db) == 0) (void)impl->exec("ROLLBACK", where);
    return created;
  }
  return prepare_statements(impl, "BEGIN IMMEDIATE");
}

Result<std::unique_ptr<KeychainStore::Impl>> open_impl(const std::string& path, bool in_memory,
                                                       const KeychainStoreOptions& options) {
  auto impl = std::make_unique<KeychainStore::Impl>();
  // NOMUTEX: a store is one thread's (keychain_store.h), so SQLite's per-call connection mutex
  // guards nothing; other processes are kept apart by SQLite's file locks, which stay.
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr);
  const std::string where = "open '" + path + "'";
  if (rc != SQLITE_OK) return sqlite_error(impl->db, rc, where);
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, options.busy_timeout_ms);
  KCB_RETURN_IF_ERROR(set_up(impl.get(), in_memory, options, where));
  impl->in_memory = in_memory;
  if (in_memory) impl->may_have_rows.fill(false);
  return impl;
}

Status insert_row(KeychainStore::Impl* impl, const KeychainRowView& row);

// Every table emptied, then `rows` inserted with their rowids, in one transaction: what a fresh
// store holding `rows` would answer. The tables have no AUTOINCREMENT, so the next rowid SQLite
// picks depends on the rows present only.
Status replace_all_rows(KeychainStore::Impl* impl, const std::vector<KeychainRow>& rows) {
  if (sqlite3_get_autocommit(impl->db) == 0) {
    return Status::FailedPrecondition("keychain-store: replace_all inside a transaction");
  }
  KCB_RETURN_IF_ERROR(impl->run_simple(impl->begin, "begin"));
  Status st = Status::Ok();
  const std::array<bool, 4> had_rows = impl->may_have_rows;
  for (ItemClass c : kAllItemClasses) {
    if (!had_rows[class_index(c)]) continue;
    st = impl->run_simple(impl->by_class[class_index(c)].delete_all,
                          "delete from " + std::string(name_of(c)));
    if (!st.ok()) break;
    impl->may_have_rows[class_index(c)] = false;
  }
  for (size_t i = 0; st.ok() && i < rows.size(); ++i)
    st = insert_row(impl, view_of(rows[i]));
  if (st.ok()) st = impl->run_simple(impl->commit, "commit");
  if (!st.ok()) {
    if (sqlite3_get_autocommit(impl->db) == 0) (void)impl->run_simple(impl->rollback, "rollback");
    impl->may_have_rows = had_rows;  // the deletes were rolled back too
  }
  return st;
}

// Idle in-memory connections of this thread: schema built, statements prepared, every table
// empty. A connection is one thread's (keychain_store.h), so the pool is too.
struct IdleStoresTag;
using IdleStores = IdlePool<IdleStoresTag, std::unique_ptr<KeychainStore::Impl>, 8>;

void return_to_pool(std::unique_ptr<KeychainStore::Impl> impl) {
  if (baseline_setup() || !IdleStores::has_room()) return;
  // A store destroyed inside a transaction loses it, as closing the connection would.
  if (sqlite3_get_autocommit(impl->db) == 0) (void)impl->run_simple(impl->rollback, "rollback");
  if (!replace_all_rows(impl.get(), {}).ok()) return;  // closed instead
  IdleStores::give(std::move(impl));
}

}  // namespace

KeychainStore::KeychainStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KeychainStore::~KeychainStore() {
  if (impl_ != nullptr && impl_->in_memory) return_to_pool(std::move(impl_));
}

Result<std::unique_ptr<KeychainStore>> KeychainStore::open(const std::string& path,
                                                           const KeychainStoreOptions& options) {
  KCB_ASSIGN_OR_RETURN(auto impl, open_impl(path, false, options));
  return std::unique_ptr<KeychainStore>(new KeychainStore(std::move(impl)));
}

Result<std::unique_ptr<KeychainStore>> KeychainStore::open_in_memory() {
  if (auto idle = baseline_setup() ? std::nullopt : IdleStores::take()) {
    return std::unique_ptr<KeychainStore>(new KeychainStore(std::move(*idle)));
  }
  KCB_ASSIGN_OR_RETURN(auto impl, open_impl(":memory:", true, KeychainStoreOptions{}));
  return std::unique_ptr<KeychainStore>(new KeychainStore(std::move(impl)));
}

size_t KeychainStore::idle_in_memory_stores() {
  return IdleStores::size();
}

Result<std::string> KeychainStore::describe_schema() {
  KCB_ASSIGN_OR_RETURN(const int64_t version, schema_version(impl_.get(), "describe schema"));
  std::string out = "user_version " + std::to_string(version) + "\n";
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(impl_->db,
                              "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
                              -1, &raw, nullptr);
  Statement s(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(s.get());
  for (; rc == SQLITE_ROW; rc = sqlite3_step(s.get())) {
    for (int i = 0; i < 4; ++i)
      out += column_text(s.get(), i) + (i == 3 ? "\n" : " | ");
  }
  if (rc != SQLITE_DONE) {
    return sqlite_error(impl_->db, sqlite3_extended_errcode(impl_->db), "describe schema");
  }
  return out;
}

Status KeychainStore::replace_all(const std::vector<KeychainRow>& rows) {
  return replace_all_rows(impl_.get(), rows);
}

bool KeychainStore::in_transaction() const {
  return sqlite3_get_autocommit(impl_->db) == 0;
}

Status KeychainStore::begin() {
  if (in_transaction())
    return Status::FailedPrecondition("keychain-store: already in a transaction");
  return impl_->run_simple(impl_->begin, "begin");
}

Status KeychainStore::commit() {
  if (!in_transaction()) return Status::FailedPrecondition("keychain-store: commit without begin");
  return impl_->run_simple(impl_->commit, "commit");
}

Status KeychainStore::rollback() {
  if (!in_transaction())
    return Status::FailedPrecondition("keychain-store: rollback without begin");
  return impl_->run_simple(impl_->rollback, "rollback");
}

Result<KeychainTransaction> KeychainStore::transaction() {
  KCB_RETURN_IF_ERROR(begin());
  return KeychainTransaction(this);
}

namespace {

// "insert into genp": built once, not per inserted row.
const std::string& insert_context(ItemClass c) {
  static const std::array<std::string, 4> texts = [] {
    std::array<std::string, 4> t;
    for (ItemClass k : kAllItemClasses)
      t[class_index(k)] = "insert into " + std::string(name_of(k));
    return t;
  }();
  return texts[class_index(c)];
}

Status insert_row(KeychainStore::Impl* impl, const KeychainRowView& row) {
  // Before the insert: a failed one inside a transaction that later commits leaves nothing, and
  // "may have rows" stays true either way.
  impl->may_have_rows[class_index(row.item_class)] = true;
  sqlite3_stmt* s = impl->by_class[class_index(row.item_class)].insert.get();
  StatementUse use(s);
  if (row.rowid != 0) sqlite3_bind_int64(s, 1, row.rowid);  // else NULL: SQLite assigns one
  bind_columns(s, row, names_of(row.pdmn).pdmn);
  return impl->run(s, insert_context(row.item_class));
}

}  // namespace

Result<int64_t> KeychainStore::insert(const KeychainRowView& row) {
  KCB_RETURN_IF_ERROR(insert_row(impl_.get(), row));
  return static_cast<int64_t>(sqlite3_last_insert_rowid(impl_->db));
}

Status KeychainStore::update(const KeychainRow& row) {
  sqlite3_stmt* s = impl_->by_class[class_index(row.item_class)].update.get();
  StatementUse use(s);
  sqlite3_bind_int64(s, 1, row.rowid);
  bind_columns(s, view_of(row), names_of(row.pdmn).pdmn);
  const std::string table(name_of(row.item_class));
  KCB_RETURN_IF_ERROR(impl_->run(s, "update " + table));
  if (sqlite3_changes(impl_->db) == 0) {
    return Status::NotFound("keychain-store: " + table + " rowid " + std::to_string(row.rowid));
  }
  return Status::Ok();
}

Status KeychainStore::remove(ItemClass item_class, int64_t rowid) {
  sqlite3_stmt* s = impl_->by_class[class_index(item_class)].remove.get();
  StatementUse use(s);
  sqlite3_bind_int64(s, 1, rowid);
  const std::string table(name_of(item_class));
  KCB_RETURN_IF_ERROR(impl_->run(s, "delete from " + table));
  if (sqlite3_changes(impl_->db) == 0) {
    return Status::NotFound("keychain-store: " + table + " rowid " + std::to_string(rowid));
  }
  return Status::Ok();
}

Result<KeychainRow> KeychainStore::get(ItemClass item_class, int64_t rowid) {
  sqlite3_stmt* s = impl_->by_class[class_index(item_class)].get.get();
  StatementUse use(s);
  sqlite3_bind_int64(s, 1, rowid);
  const int rc = sqlite3_step(s);
  const std::string table(name_of(item_class));
  if (rc == SQLITE_DONE) {
    return Status::NotFound("keychain-store: " + table + " rowid " + std::to_string(rowid));
  }
  if (rc != SQLITE_ROW) {
    return sqlite_error(impl_->db, sqlite3_extended_errcode(impl_->db), "read " + table);
  }
  KeychainRow row;
  KCB_RETURN_IF_ERROR(read_row(s, item_class, &row));
  return row;
}

namespace {

// Runs one bound-or-unbound delete per class inside a savepoint, so that the whole is atomic
// whether or not the caller holds a transaction.
template <typename Bind>
Result<int64_t> delete_in_all_classes(KeychainStore::Impl* impl,
                                      Statement KeychainStore::Impl::ClassStatements::*which,
                                      Bind bind) {
  KCB_RETURN_IF_ERROR(impl->run_simple(impl->savepoint, "savepoint"));
  int64_t deleted = 0;
  for (ItemClass c : kAllItemClasses) {
    sqlite3_stmt* s = (impl->by_class[class_index(c)].*which).get();
    StatementUse use(s);
    bind(s);
    Status st = impl->run(s, "delete from " + std::string(name_of(c)));
    if (!st.ok()) {
      (void)impl->run_simple(impl->rollback_to, "rollback to savepoint");
      (void)impl->run_simple(impl->release, "release savepoint");
      return st;
    }
    deleted += sqlite3_changes(impl->db);
  }
  KCB_RETURN_IF_ERROR(impl->run_simple(impl->release, "release savepoint"));
  return deleted;
}

}  // namespace

Result<int64_t> KeychainStore::delete_unbound_non_synchronizable() {
  return delete_in_all_classes(impl_.get(), &Impl::ClassStatements::delete_unbound,
                               [](sqlite3_stmt*) {});
}

namespace {

// Steps a statement that returns at most one row: whether it returned one.
Result<bool> returns_a_row(KeychainStore::Impl* impl, sqlite3_stmt* s, const std::string& what) {
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(impl->db, sqlite3_extended_errcode(impl->db), what);
}

}  // namespace

Result<bool> KeychainStore::has_rowid(ItemClass item_class, int64_t rowid) {
  sqlite3_stmt* s = impl_->by_class[class_index(item_class)].get.get();
  StatementUse use(s);
  sqlite3_bind_int64(s, 1, rowid);
  return returns_a_row(impl_.get(), s, "read " + std::string(name_of(item_class)));
}

Result<bool> KeychainStore::has_persistref(ItemClass item_class, ByteView persistref) {
  if (persistref.empty()) return false;
  sqlite3_stmt* s = impl_->by_class[class_index(item_class)].has_persistref.get();
  StatementUse use(s);
  sqlite3_bind_blob(s, 1, persistref.data(), static_cast<int>(persistref.size()), SQLITE_STATIC);
  return returns_a_row(impl_.get(), s, "read " + std::string(name_of(item_class)));
}

Result<std::optional<int64_t>> KeychainStore::find_primary_key(const KeychainRowView& row) {
  sqlite3_stmt* s = impl_->by_class[class_index(row.item_class)].find_primary_key.get();
  StatementUse use(s);
  bind_columns(s, row, names_of(row.pdmn).pdmn);
  KCB_ASSIGN_OR_RETURN(
      const bool found,
      returns_a_row(impl_.get(), s, "read " + std::string(name_of(row.item_class))));
  if (!found) return std::optional<int64_t>();
  return std::optional<int64_t>(sqlite3_column_int64(s, 0));
}

Result<int64_t> KeychainStore::delete_accessibility(Accessibility a) {
  const std::string pdmn(names_of(a).pdmn);
  return delete_in_all_classes(impl_.get(), &Impl::ClassStatements::delete_pdmn,
                               [&pdmn](sqlite3_stmt* s) { bind_text(s, 1, pdmn); });
}

Result<std::vector<int64_t>> KeychainStore::rowids(ItemClass item_class) {
  sqlite3_stmt* s = impl_->by_class[class_index(item_class)].rowids.get();
  StatementUse use(s);
  std::vector<int64_t> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    out.push_back(sqlite3_column_int64(s, 0));
  if (rc != SQLITE_DONE) {
    return sqlite_error(impl_->db, sqlite3_extended_errcode(impl_->db),
                        "list " + std::string(name_of(item_class)));
  }
  return out;
}

Result<std::vector<KeychainRow>> KeychainStore::list_all() {
  std::vector<KeychainRow> rows;
  KCB_ASSIGN_OR_RETURN(const int64_t total, count());
  rows.reserve(static_cast<size_t>(total));
  for (ItemClass c : kAllItemClasses) {
    sqlite3_stmt* s = impl_->by_class[class_index(c)].list.get();
    StatementUse use(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      KCB_RETURN_IF_ERROR(read_row(s, c, &rows.emplace_back()));
    }
    if (rc != SQLITE_DONE) {
      return sqlite_error(impl_->db, sqlite3_extended_errcode(impl_->db),
                          "list " + std::string(name_of(c)));
    }
  }
  return rows;
}

Status KeychainStore::for_each_encrypted_item(const EncryptedItemVisitor& fn) {
  for (ItemClass c : kAllItemClasses) {
    sqlite3_stmt* s = impl_->by_class[class_index(c)].list.get();
    StatementUse use(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(s, kDataColumn));
      const auto size = static_cast<size_t>(sqlite3_column_bytes(s, kDataColumn));
      const auto* uuid = static_cast<const uint8_t*>(sqlite3_column_blob(s, kPersistrefColumn));
      const auto uuid_size = static_cast<size_t>(sqlite3_column_bytes(s, kPersistrefColumn));
      KCB_RETURN_IF_ERROR(
          fn(c, sqlite3_column_int64(s, 0), ByteView(uuid, uuid_size), ByteView(data, size)));
    }
    if (rc != SQLITE_DONE) {
      return sqlite_error(impl_->db, sqlite3_extended_errcode(impl_->db),
                          "list " + std::string(name_of(c)));
    }
  }
  return Status::Ok();
}

Result<int64_t> KeychainStore::count(ItemClass item_class) {
  sqlite3_stmt* s = impl_->by_class[class_index(item_class)].count.get();
  StatementUse use(s);
  if (sqlite3_step(s) != SQLITE_ROW) {
    return sqlite_error(impl_->db, sqlite3_extended_errcode(impl_->db),
                        "count " + std::string(name_of(item_class)));
  }
  return static_cast<int64_t>(sqlite3_column_int64(s, 0));
}

Result<int64_t> KeychainStore::count() {
  int64_t total = 0;
  for (ItemClass c : kAllItemClasses) {
    KCB_ASSIGN_OR_RETURN(const int64_t n, count(c));
    total += n;
  }
  return total;
}

KeychainTransaction::KeychainTransaction(KeychainTransaction&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)) {}

KeychainTransaction::~KeychainTransaction() {
  if (store_ != nullptr) (void)store_->rollback();
}

Status KeychainTransaction::commit() {
  if (store_ == nullptr) return Status::FailedPrecondition("keychain-store: transaction is over");
  KeychainStore* store = std::exchange(store_, nullptr);
  Status s = store->commit();
  // A failed COMMIT (busy, disk full) can leave the transaction open: all or nothing.
  if (!s.ok() && store->in_transaction()) (void)store->rollback();
  return s;
}

Status KeychainTransaction::rollback() {
  if (store_ == nullptr) return Status::FailedPrecondition("keychain-store: transaction is over");
  return std::exchange(store_, nullptr)->rollback();
}

KeychainRowView view_of(const KeychainRow& row) {
  return {row.item_class, row.rowid, row.cdat, row.mdat, row.labl,       row.agrp, row.acct,
          row.svce,       row.srvr,  row.ptcl, row.port, row.path,       row.pdmn, row.sync,
          row.tkid,       row.sysb,  row.accc, row.data, row.persistref, row.clip, row.tomb};
}

KeychainRowView keychain_row_view_for(const Item& item, ByteView data) {
  KeychainRowView r;
  r.item_class = item.item_class();
  r.cdat = item.creation_date();
  r.mdat = item.modification_date();
  r.labl = item.label();
  r.agrp = item.access_group();
  r.acct = item.account();
  r.svce = item.service();
  r.srvr = item.server();
  r.ptcl = item.protocol();
  r.port = item.port();
  r.path = item.path();
  r.pdmn = item.accessibility();
  r.sync = item.synchronizable();
  r.tkid = item.token_id();
  r.sysb = item.system_bound_flags();
  r.accc = item.auth_constraint();
  r.data = data;
  r.clip = item.app_clip();
  r.tomb = item.tombstone();
  return r;
}

KeychainRow keychain_row_for(const Item& item, Bytes data) {
  KeychainRow r;
  r.item_class = item.item_class();
  r.cdat = item.creation_date();
  r.mdat = item.modification_date();
  r.labl = std::string(item.label());
  r.agrp = std::string(item.access_group());
  r.acct = Bytes(item.account().begin(), item.account().end());
  r.svce = Bytes(item.service().begin(), item.service().end());
  r.srvr = std::string(item.server());
  r.ptcl = item.protocol();
  r.port = item.port();
  r.path = std::string(item.path());
  r.pdmn = item.accessibility();
  r.sync = item.synchronizable();
  r.tkid = std::string(item.token_id());
  r.sysb = item.system_bound_flags();
  r.accc = item.auth_constraint();
  r.data = std::move(data);
  r.clip = item.app_clip();
  r.tomb = item.tombstone();
  return r;
}

}  // namespace kcb

// keychain-2.db store: CRUD, per-class duplicates, all-or-nothing transactions, R7/R8 deletes,
// the persistent-reference UUID, App Clip and tombstone columns (and the upgrade of a version 1
// file that lacks them), files (reopen, not-a-database, secure delete).
#include "engine/keychain_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace kcb {
namespace {

std::unique_ptr<KeychainStore> memory_store() {
  auto s = KeychainStore::open_in_memory();
  KCB_ASSERT(s.ok());
  return std::move(s).value();
}

KeychainRow genp(std::string acct, std::string svce, std::string data = "blob") {
  KeychainRow r;
  r.item_class = ItemClass::kGenp;
  r.acct.assign(acct.begin(), acct.end());
  r.svce.assign(svce.begin(), svce.end());
  r.agrp = "TEAM.app";
  r.pdmn = Accessibility::kAfterFirstUnlock;
  r.data.assign(data.begin(), data.end());
  return r;
}

std::string temp_path(const std::string& name) {
  std::string p = ::testing::TempDir() + "kcb_store_" + std::to_string(getpid()) + "_" + name;
  std::remove(p.c_str());
  std::remove((p + "-journal").c_str());
  return p;
}

TEST(KeychainStore, InsertGetUpdateRemove) {
  auto store = memory_store();
  KeychainRow r = genp("alice", "mail");
  r.cdat = DerDate{1'700'000'000'123};
  r.mdat = DerDate{-5};
  r.labl = "Mail";
  r.tkid = "";
  r.sysb = 3;
  r.accc = true;
  r.ptcl = 7;
  r.port = 993;
  r.srvr = "imap.example.com";
  r.path = "/";
  auto id = store->insert(r);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_GT(*id, 0);
  r.rowid = *id;
  auto got = store->get(ItemClass::kGenp, *id);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(*got, r);

  r.data = Bytes{9, 9};
  r.sync = true;
  ASSERT_TRUE(store->update(r).ok());
  EXPECT_EQ(*store->get(ItemClass::kGenp, *id), r);

  // Same rowid in another class is another row.
  EXPECT_EQ(store->get(ItemClass::kInet, *id).status().code(), Code::kNotFound);
  ASSERT_TRUE(store->remove(ItemClass::kGenp, *id).ok());
  EXPECT_EQ(store->get(ItemClass::kGenp, *id).status().code(), Code::kNotFound);
  EXPECT_EQ(store->remove(ItemClass::kGenp, *id).code(), Code::kNotFound);
  r.rowid = 12345;
  EXPECT_EQ(store->update(r).code(), Code::kNotFound);
  EXPECT_EQ(*store->count(), 0);
}

TEST(KeychainStore, EmptyBlobsAndStringsRoundTrip) {
  auto store = memory_store();
  KeychainRow r;
  r.item_class = ItemClass::kKeys;
  auto id = store->insert(r);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  r.rowid = *id;
  EXPECT_EQ(*store->get(ItemClass::kKeys, *id), r);
}

TEST(KeychainStore, DuplicatePrimaryKeyIsAlreadyExists) {
  auto store = memory_store();
  ASSERT_TRUE(store->insert(genp("alice", "mail", "one")).ok());
  auto dup = store->insert(genp("alice", "mail", "two"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists) << dup.status().to_string();
  EXPECT_NE(dup.status().message().find("genp"), std::string::npos);

  // Any part of genp's key makes another item: sync, tkid, agrp, svce.
  KeychainRow synced = genp("alice", "mail");
  synced.sync = true;
  EXPECT_TRUE(store->insert(synced).ok());
  KeychainRow token = genp("alice", "mail");
  token.tkid = "com.apple.setoken";
  EXPECT_TRUE(store->insert(token).ok());
  KeychainRow group = genp("alice", "mail");
  group.agrp = "TEAM.other";
  EXPECT_TRUE(store->insert(group).ok());
  // The label is not part of genp's key.
  KeychainRow relabeled = genp("alice", "mail");
  relabeled.labl = "another label";
  EXPECT_EQ(store->insert(relabeled).status().code(), Code::kAlreadyExists);
  // The same key in another class is no duplicate.
  KeychainRow as_inet = genp("alice", "mail");
  as_inet.item_class = ItemClass::kInet;
  EXPECT_TRUE(store->insert(as_inet).ok());
}

TEST(KeychainStore, InetKeyIncludesServerPortAndPath) {
  auto store = memory_store();
  KeychainRow r = genp("bob", "");
  r.item_class = ItemClass::kInet;
  r.srvr = "example.com";
  r.port = 443;
  ASSERT_TRUE(store->insert(r).ok());
  r.port = 8443;
  ASSERT_TRUE(store->insert(r).ok());
  r.path = "/x";
  ASSERT_TRUE(store->insert(r).ok());
  r.svce = Bytes{1};  // not part of inet's key
  EXPECT_EQ(store->insert(r).status().code(), Code::kAlreadyExists);
}

TEST(KeychainStore, CertAndKeysKeyOnLabel) {
  auto store = memory_store();
  for (ItemClass c : {ItemClass::kCert, ItemClass::kKeys}) {
    KeychainRow r;
    r.item_class = c;
    r.labl = "k1";
    ASSERT_TRUE(store->insert(r).ok());
    EXPECT_EQ(store->insert(r).status().code(), Code::kAlreadyExists);
    r.labl = "k2";
    EXPECT_TRUE(store->insert(r).ok());
  }
}

TEST(KeychainStore, ExplicitRowidKeptAndDuplicateRowidRefused) {
  auto store = memory_store();
  KeychainRow r = genp("a", "s");
  r.rowid = 77;
  ASSERT_EQ(*store->insert(r), 77);
  KeychainRow other = genp("b", "s");
  other.rowid = 77;
  EXPECT_EQ(store->insert(other).status().code(), Code::kAlreadyExists);
}

TEST(KeychainStore, RolledBackTransactionLeavesTheDatabaseUnchanged) {
  auto store = memory_store();
  const int64_t first = *store->insert(genp("keep", "s"));
  ASSERT_TRUE(store->insert(genp("also", "s")).ok());
  const auto before = *store->list_all();
  {
    auto tx = store->transaction();
    ASSERT_TRUE(tx.ok()) << tx.status().to_string();
    ASSERT_TRUE(store->remove(ItemClass::kGenp, first).ok());
    ASSERT_EQ(*store->delete_unbound_non_synchronizable(), 1);
    ASSERT_TRUE(store->insert(genp("new", "s")).ok());
    // A failed statement inside does not end the transaction.
    EXPECT_EQ(store->insert(genp("new", "s")).status().code(), Code::kAlreadyExists);
    EXPECT_TRUE(store->in_transaction());
  }  // dropped without commit
  EXPECT_FALSE(store->in_transaction());
  EXPECT_EQ(*store->list_all(), before);

  ASSERT_TRUE(store->begin().ok());
  ASSERT_TRUE(store->insert(genp("new", "s")).ok());
  ASSERT_TRUE(store->rollback().ok());
  EXPECT_EQ(*store->list_all(), before);
}

TEST(KeychainStore, CommittedTransactionPersists) {
  auto store = memory_store();
  auto tx = store->transaction();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(store->insert(genp("a", "s")).ok());
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_FALSE(tx->active());
  EXPECT_EQ(tx->commit().code(), Code::kFailedPrecondition);
  EXPECT_EQ(*store->count(), 1);
}

TEST(KeychainStore, NestedOrUnpairedTransactionCallsAreFailedPrecondition) {
  auto store = memory_store();
  EXPECT_EQ(store->commit().code(), Code::kFailedPrecondition);
  EXPECT_EQ(store->rollback().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store->begin().ok());
  EXPECT_EQ(store->begin().code(), Code::kFailedPrecondition);
  EXPECT_EQ(store->transaction().status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(store->commit().ok());
}

TEST(KeychainStore, DeleteNonSynchronizableKeepsSyncAndSystemBoundRows) {
  auto store = memory_store();
  KeychainRow plain = genp("plain", "s");
  KeychainRow synced = genp("synced", "s");
  synced.sync = true;
  KeychainRow bound = genp("bound", "s");
  bound.sysb = 1;
  KeychainRow plain_key;
  plain_key.item_class = ItemClass::kKeys;
  plain_key.labl = "k";
  KeychainRow bound_cert;
  bound_cert.item_class = ItemClass::kCert;
  bound_cert.sysb = 2;
  KeychainRow synced_bound = genp("synced-bound", "s");
  synced_bound.sync = true;
  synced_bound.sysb = 1;
  for (KeychainRow* r : {&plain, &synced, &bound, &plain_key, &bound_cert, &synced_bound}) {
    auto id = store->insert(*r);
    ASSERT_TRUE(id.ok());
    r->rowid = *id;
  }
  auto deleted = store->delete_unbound_non_synchronizable();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 2);
  const std::vector<KeychainRow> expected = {synced, bound, synced_bound, bound_cert};
  EXPECT_EQ(*store->list_all(), expected);
  EXPECT_EQ(*store->rowids(ItemClass::kGenp),
            (std::vector<int64_t>{synced.rowid, bound.rowid, synced_bound.rowid}));
  EXPECT_TRUE(store->rowids(ItemClass::kKeys)->empty());
}

TEST(KeychainStore, DeleteAccessibilityRemovesOnlyThatClass) {
  auto store = memory_store();
  KeychainRow akpu = genp("a", "s");
  akpu.pdmn = Accessibility::kWhenPasscodeSetThisDeviceOnly;
  KeychainRow akpu_key;
  akpu_key.item_class = ItemClass::kKeys;
  akpu_key.pdmn = Accessibility::kWhenPasscodeSetThisDeviceOnly;
  KeychainRow aku = genp("b", "s");
  aku.pdmn = Accessibility::kWhenUnlockedThisDeviceOnly;
  ASSERT_TRUE(store->insert(akpu).ok());
  ASSERT_TRUE(store->insert(akpu_key).ok());
  const int64_t kept = *store->insert(aku);
  EXPECT_EQ(*store->delete_accessibility(Accessibility::kWhenPasscodeSetThisDeviceOnly), 2);
  auto rows = *store->list_all();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].rowid, kept);
}

TEST(KeychainStore, ListAllOrdersByClassThenRowid) {
  auto store = memory_store();
  const ItemClass order[] = {ItemClass::kKeys, ItemClass::kGenp, ItemClass::kCert, ItemClass::kInet,
                             ItemClass::kGenp};
  int n = 0;
  for (ItemClass c : order) {
    KeychainRow r = genp("acct" + std::to_string(n), "s");
    r.labl = "l" + std::to_string(n++);
    r.item_class = c;
    ASSERT_TRUE(store->insert(r).ok());
  }
  auto rows = *store->list_all();
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(*store->count(ItemClass::kGenp), 2);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::pair(a.item_class, a.rowid) < std::pair(b.item_class, b.rowid);
  }));
  EXPECT_EQ(rows.front().item_class, ItemClass::kGenp);
  EXPECT_EQ(rows.back().item_class, ItemClass::kKeys);
}

TEST(KeychainStore, EncryptedItemsStreamInListOrderAndAVisitorErrorStops) {
  auto store = memory_store();
  for (int n = 0; n < 3; ++n) {
    KeychainRow r = genp("acct" + std::to_string(n), "s", "blob" + std::to_string(n));
    r.item_class = n == 1 ? ItemClass::kKeys : ItemClass::kGenp;
    r.labl = "l" + std::to_string(n);
    ASSERT_TRUE(store->insert(r).ok());
  }
  const auto rows = *store->list_all();
  std::vector<KeychainRow> seen;
  ASSERT_TRUE(
      store
          ->for_each_encrypted_item([&](ItemClass c, int64_t rowid, ByteView uuid, ByteView data) {
            KeychainRow r;
            r.item_class = c;
            r.rowid = rowid;
            r.data.assign(data.begin(), data.end());
            r.persistref.assign(uuid.begin(), uuid.end());
            seen.push_back(r);
            return Status::Ok();
          })
          .ok());
  ASSERT_EQ(seen.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(seen[i].item_class, rows[i].item_class);
    EXPECT_EQ(seen[i].rowid, rows[i].rowid);
    EXPECT_EQ(seen[i].data, rows[i].data);
    EXPECT_EQ(seen[i].persistref, rows[i].persistref);
  }
  int calls = 0;
  const Status stopped =
      store->for_each_encrypted_item([&](ItemClass, int64_t, ByteView, ByteView) {
        ++calls;
        return Status::DataLoss("stop here");
      });
  EXPECT_EQ(stopped.code(), Code::kDataLoss);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(store->transaction().ok()) << "the walk left its statement in use";
}

TEST(KeychainStore, RowFromItem) {
  Item item(ItemClass::kInet, Accessibility::kAlwaysThisDeviceOnly, SecretBytes(as_bytes("pw")));
  item.set_synchronizable(true);
  item.set_account_data(Bytes{0, 1});
  ASSERT_TRUE(item.set_service("svc").ok());
  item.set_server("example.com");
  item.set_port(21);
  item.set_auth_constraint(true);
  item.set_creation_date(DerDate{42});
  KeychainRow r = keychain_row_for(item, Bytes{0xEE});
  EXPECT_EQ(r.item_class, ItemClass::kInet);
  EXPECT_EQ(r.pdmn, Accessibility::kAlwaysThisDeviceOnly);
  EXPECT_TRUE(r.sync);
  EXPECT_TRUE(r.accc);
  EXPECT_EQ(r.acct, (Bytes{0, 1}));
  EXPECT_EQ(r.svce, (Bytes{'s', 'v', 'c'}));
  EXPECT_EQ(r.srvr, "example.com");
  EXPECT_EQ(r.port, 21);
  EXPECT_EQ(r.cdat, DerDate{42});
  EXPECT_EQ(r.data, Bytes{0xEE});
}

TEST(KeychainStore, RowFromItemCarriesAppClipAndTombstone) {
  Item item(ItemClass::kGenp, Accessibility::kWhenUnlocked, SecretBytes(as_bytes("pw")));
  EXPECT_FALSE(keychain_row_for(item, {}).clip);
  item.set_app_clip(true);
  item.set_tombstone(true);
  const KeychainRow r = keychain_row_for(item, {});
  EXPECT_TRUE(r.clip);
  EXPECT_TRUE(r.tomb);
  EXPECT_TRUE(r.persistref.empty()) << "a row's UUID is the device's to give";
}

Bytes uuid_bytes(uint8_t fill) {
  return Bytes(16, fill);
}

TEST(KeychainStore, PersistrefClipAndTombRoundTripAndAUuidIsUniqueInItsClass) {
  auto store = memory_store();
  KeychainRow r = genp("alice", "mail");
  r.persistref = uuid_bytes(0xA1);
  r.clip = true;
  r.tomb = true;
  r.rowid = *store->insert(r);
  EXPECT_EQ(*store->get(ItemClass::kGenp, r.rowid), r);
  EXPECT_TRUE(*store->has_persistref(ItemClass::kGenp, uuid_bytes(0xA1)));
  EXPECT_FALSE(*store->has_persistref(ItemClass::kGenp, uuid_bytes(0xA2)));
  EXPECT_FALSE(*store->has_persistref(ItemClass::kInet, uuid_bytes(0xA1)));
  EXPECT_FALSE(*store->has_persistref(ItemClass::kGenp, {})) << "no UUID is never taken";
  EXPECT_TRUE(*store->has_rowid(ItemClass::kGenp, r.rowid));
  EXPECT_FALSE(*store->has_rowid(ItemClass::kGenp, r.rowid + 1));
  EXPECT_FALSE(*store->has_rowid(ItemClass::kKeys, r.rowid));

  KeychainRow twin = genp("bob", "mail");
  twin.persistref = uuid_bytes(0xA1);
  EXPECT_EQ(store->insert(twin).status().code(), Code::kAlreadyExists);
  twin.item_class = ItemClass::kKeys;
  twin.labl = "bob";
  EXPECT_TRUE(store->insert(twin).ok()) << "another class's table is another namespace";
  // Rows without a UUID (NULL) never collide with each other.
  for (int n = 0; n < 3; ++n)
    EXPECT_TRUE(store->insert(genp("none" + std::to_string(n), "mail")).ok());
  // update writes the new columns too.
  r.persistref.clear();
  r.clip = false;
  ASSERT_TRUE(store->update(r).ok());
  EXPECT_EQ(*store->get(ItemClass::kGenp, r.rowid), r);
  EXPECT_FALSE(*store->has_persistref(ItemClass::kGenp, uuid_bytes(0xA1)));
}

TEST(KeychainStore, FindPrimaryKeyUsesTheClassesKeyColumns) {
  auto store = memory_store();
  KeychainRow a = genp("alice", "mail", "one");
  a.rowid = *store->insert(a);
  KeychainRow same_key = genp("alice", "mail", "other data");
  same_key.labl = "another label";  // not part of the genp key
  same_key.pdmn = Accessibility::kWhenUnlocked;
  EXPECT_EQ(*store->find_primary_key(same_key), std::optional<int64_t>(a.rowid));
  KeychainRow synced = same_key;
  synced.sync = true;  // sync is part of the key: a synchronizable twin is another item
  EXPECT_EQ(*store->find_primary_key(synced), std::nullopt);
  KeychainRow site;
  site.item_class = ItemClass::kInet;
  site.acct = {'a'};
  site.srvr = "example.com";
  site.port = 443;
  site.rowid = *store->insert(site);
  KeychainRow other_port = site;
  other_port.port = 8443;
  EXPECT_EQ(*store->find_primary_key(site), std::optional<int64_t>(site.rowid));
  EXPECT_EQ(*store->find_primary_key(other_port), std::nullopt);
  KeychainRow key;
  key.item_class = ItemClass::kKeys;
  key.labl = "k";
  EXPECT_EQ(*store->find_primary_key(key), std::nullopt);
}

// A keychain-2.db of schema version 1 (before persistent references, App Clips and tombstones)
// opens upgraded in place: its rows keep every column, the new ones empty.
TEST(KeychainStoreFile, VersionOneFileIsUpgradedInPlace) {
  const std::string path = temp_path("v1.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::string sql = "BEGIN;";
    const std::pair<const char*, const char*> tables[] = {
        {"genp", "acct, svce, agrp, sync, tkid"},
        {"inet", "acct, srvr, ptcl, port, path, agrp, sync, tkid"},
        {"cert", "labl, agrp, sync, tkid"},
        {"keys", "labl, agrp, sync, tkid"}};
    for (const auto& [t, key] : tables) {
      sql += std::string("CREATE TABLE ") + t +
             " (rowid INTEGER PRIMARY KEY, cdat INTEGER NOT NULL DEFAULT 0,"
             " mdat INTEGER NOT NULL DEFAULT 0, labl TEXT NOT NULL DEFAULT '',"
             " agrp TEXT NOT NULL DEFAULT '', acct BLOB NOT NULL DEFAULT x'',"
             " svce BLOB NOT NULL DEFAULT x'', srvr TEXT NOT NULL DEFAULT '',"
             " ptcl INTEGER NOT NULL DEFAULT 0, port INTEGER NOT NULL DEFAULT 0,"
             " path TEXT NOT NULL DEFAULT '', pdmn TEXT NOT NULL, sync INTEGER NOT NULL DEFAULT 0,"
             " tkid TEXT NOT NULL DEFAULT '', sysb INTEGER NOT NULL DEFAULT 0,"
             " accc INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL, UNIQUE (" +
             key + "));";
    }
    sql +=
        "INSERT INTO genp (rowid, acct, svce, agrp, pdmn, data) VALUES"
        " (7, x'616c696365', x'6d61696c', 'TEAM.app', 'ck', x'626c6f62');"
        "PRAGMA user_version=1; COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = KeychainStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  KeychainRow want = genp("alice", "mail");
  want.rowid = 7;
  auto listed = (*store)->list_all();
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  EXPECT_EQ(*listed, std::vector<KeychainRow>{want});
  KeychainRow with_uuid = genp("bob", "mail");
  with_uuid.persistref = uuid_bytes(3);
  with_uuid.tomb = true;
  auto inserted = (*store)->insert(with_uuid);
  ASSERT_TRUE(inserted.ok()) << inserted.status().to_string();
  with_uuid.rowid = *inserted;
  EXPECT_EQ(*(*store)->get(ItemClass::kGenp, with_uuid.rowid), with_uuid);
  store->reset();
  auto again = KeychainStore::open(path);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->list_all()->size(), 2u);
  std::remove(path.c_str());
}

std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(KeychainStoreFile, ReopenKeepsRowsAndDeletedBytesAreOverwritten) {
  const std::string path = temp_path("reopen.db");
  const std::string marker = "SECRET-MARKER-0123456789";
  {
    auto store = KeychainStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    ASSERT_TRUE((*store)->insert(genp("kept", "s", "kept-data")).ok());
    const int64_t doomed = *(*store)->insert(genp("doomed", "s", marker));
    ASSERT_NE(file_contents(path).find(marker), std::string::npos);
    ASSERT_TRUE((*store)->remove(ItemClass::kGenp, doomed).ok());
  }
  // secure_delete: the removed row's bytes are gone from the file, not only unlinked.
  EXPECT_EQ(file_contents(path).find(marker), std::string::npos);
  auto store = KeychainStore::open(path);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto rows = *(*store)->list_all();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].data, (Bytes{'k', 'e', 'p', 't', '-', 'd', 'a', 't', 'a'}));
  std::remove(path.c_str());
}

// A keychain-2.db of a schema version we do not know (a newer kcbackup's, another tool's) is
// refused by number before anything is written: opening it as ours would create or "upgrade"
// tables over rows we cannot read.
TEST(KeychainStoreFile, AnUnknownSchemaVersionIsRefusedAndTheFileIsUntouched) {
  for (const int version : {3, 99, -1}) {
    const std::string path = temp_path("newer.db");
    {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
      const std::string sql =
          "CREATE TABLE genp (rowid INTEGER PRIMARY KEY, future BLOB);"
          "PRAGMA user_version=" +
          std::to_string(version) + ";";
      ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
          << sqlite3_errmsg(db);
      sqlite3_close(db);
    }
    const std::string before = file_contents(path);
    auto store = KeychainStore::open(path);
    ASSERT_FALSE(store.ok()) << version;
    EXPECT_EQ(store.status().code(), Code::kCorruption) << store.status().to_string();
    EXPECT_NE(
        store.status().message().find("schema version " + std::to_string(version) + ", expected 2"),
        std::string::npos)
        << store.status().to_string();
    EXPECT_EQ(file_contents(path), before) << version;
    std::remove(path.c_str());
  }
}

// An in-memory store that outlives this thread's pool of idle connections (a static holding a
// Device, destroyed at exit after the main thread's thread_locals) closes instead of going back
// to the destroyed pool: pushing into it was a use after free that aborted bench/archive_bench at
// exit. The child exits from the static's destructor: 10 when the store's connection was closed
// (SQLite's count of live allocations fell), 11 when it was kept.
struct StoreDestroyedAtExit {
  std::unique_ptr<KeychainStore> store;
  ~StoreDestroyedAtExit() {
    // Closed, its connection's memory goes back to SQLite; kept in a pool, it stays allocated.
    int before = 0, after = 0, high = 0;
    sqlite3_status(SQLITE_STATUS_MALLOC_COUNT, &before, &high, 0);
    store.reset();
    sqlite3_status(SQLITE_STATUS_MALLOC_COUNT, &after, &high, 0);
    _exit(after < before ? 10 : 11);
  }
};

TEST(KeychainStore, AStoreDestroyedAfterItsThreadsPoolClosesInstead) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    static StoreDestroyedAtExit holder;
    auto store = KeychainStore::open_in_memory();
    if (!store.ok()) _exit(2);
    holder.store = std::move(store).value();
    // One idle store in the pool at exit, as in the bench.
    if (!KeychainStore::open_in_memory().ok()) _exit(3);  // back to the pool right here
    if (KeychainStore::idle_in_memory_stores() != 1) _exit(3);
    std::exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 10) << "2 open, 3 the pool, 11 kept in the destroyed pool";
}

TEST(KeychainStoreFile, NotADatabaseIsCorruption) {
  const std::string path = temp_path("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto store = KeychainStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kCorruption) << store.status().to_string();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  std::remove(path.c_str());
}

TEST(KeychainStoreFile, MissingDirectoryIsIOError) {
  auto store = KeychainStore::open("/nonexistent-dir-kcb/keychain-2.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kIOError) << store.status().to_string();
}

// Not a benchmark (bench/ measures against the floor): a smoke check that bulk insert stays on
// the prepared-statement path, with the per-row time printed for the report.
TEST(KeychainStore, BulkInsertInOneTransaction) {
  auto store = memory_store();
  constexpr int kRows = 50'000;
  std::vector<KeychainRow> rows;
  rows.reserve(kRows);
  for (int i = 0; i < kRows; ++i)
    rows.push_back(genp("acct" + std::to_string(i), "svc", std::string(200, 'd')));
  const auto t0 = std::chrono::steady_clock::now();
  auto tx = store->transaction();
  ASSERT_TRUE(tx.ok());
  for (const KeychainRow& r : rows)
    ASSERT_TRUE(store->insert(r).ok());
  ASSERT_TRUE(tx->commit().ok());
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(*store->count(), kRows);
  const double us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kRows;
  std::printf("bulk insert: %.2f us/row (%d rows, in memory)\n", us, kRows);
}

}  // namespace
}  // namespace kcb

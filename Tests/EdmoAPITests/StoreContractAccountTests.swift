import EdmoCore
import EdmoStore
import Foundation
import Testing

/// AccountStore's contract (organisations, users, the admin rule, sessions), the same assertions on
/// every store (see StoreKind). Login throttling is in StoreContractLoginTests.
struct StoreContractAccountTests {
    @Test(arguments: StoreKind.tested)
    func organizationsAreCreatedOnceByName(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        #expect(try db.accounts.organization(named: "Uni") == nil)
        #expect(try db.organization("Uni", id: "org_1") == Organization(id: "org_1", name: "Uni"))
        #expect(try db.organization("Uni", id: "org_2") == Organization(id: "org_1", name: "Uni"))
        #expect(try db.accounts.organization(named: "Uni") == Organization(id: "org_1", name: "Uni"))
        #expect(try db.accounts.organization(named: "uni") == nil)
        #expect(try db.rows(in: "organizations") == 1)
    }

    @Test(arguments: StoreKind.tested)
    func usersAreFoundByEmailOrByIdWithinTheirOrganization(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        let ada = try db.user("usr_1", org: "org_a", email: "ada@example.edu", role: .editor)
        #expect(try db.accounts.user(email: "ada@example.edu") == ada)
        #expect(try db.accounts.user(email: "ADA@example.edu") == nil)
        #expect(try db.accounts.user(orgId: "org_a", id: "usr_1") == ada)
        #expect(try db.accounts.user(orgId: "org_b", id: "usr_1") == nil)
        // An email is taken across every organisation; the first user stays as it was.
        #expect(throws: StoreError.conflict("A user with this email already exists")) {
            try db.user("usr_2", org: "org_b", email: "ada@example.edu")
        }
        #expect(try db.accounts.user(email: "ada@example.edu") == ada)
    }

    @Test(arguments: StoreKind.tested)
    func usersPageNewestFirstWithTheOrganizationsTotal(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        for (id, second) in [("usr_1", 1), ("usr_2", 2), ("usr_3", 3), ("usr_5", 3), ("usr_4", 4)] {
            try db.user(id, org: "org_a", second: second)
        }
        try db.user("usr_9", org: "org_b", second: 9)
        func page(_ limit: Int, _ offset: Int) throws -> ([String], Int) {
            let result = try db.accounts.users(orgId: "org_a", limit: limit, offset: offset)
            return (result.items.map(\.id), result.total)
        }
        // Newest first; the same second ordered by id, highest first.
        #expect(try page(10, 0) == (["usr_4", "usr_5", "usr_3", "usr_2", "usr_1"], 5))
        #expect(try page(2, 0) == (["usr_4", "usr_5"], 5))
        #expect(try page(2, 2) == (["usr_3", "usr_2"], 5))
        #expect(try page(2, 4) == (["usr_1"], 5))
        #expect(try page(2, 5) == ([], 5))
        #expect(try db.accounts.users(orgId: "org_none", limit: 10, offset: 0).total == 0)
        // Every organisation, by organisation and email.
        try db.user("usr_0", org: "org_a", email: "aaa@example.edu")
        #expect(try db.accounts.allUsers().map(\.id) == ["usr_0", "usr_1", "usr_2", "usr_3", "usr_4", "usr_5", "usr_9"])
    }

    @Test(arguments: StoreKind.tested)
    func updatingAUserChangesOnlyWhatTheChangeNamesAndRaisesItsVersion(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        let original = try db.user("usr_1", org: "org_a", role: .editor)
        var change = UserChange()
        change.name = .value("Ada")
        change.expectedVersion = 1
        let now = t0.addingTimeInterval(60)
        let renamed = try db.accounts.updateUser(orgId: "org_a", id: "usr_1", change: change, now: now)
        var expected = original
        (expected.name, expected.version, expected.updatedAt) = ("Ada", 2, Timestamp.format(now))
        #expect(renamed == expected)
        #expect(try db.accounts.user(orgId: "org_a", id: "usr_1") == expected)

        change = UserChange()
        (change.name, change.role, change.disabled, change.passwordHash) = (.null, .viewer, true, "new-hash")
        let changed = try db.accounts.updateUser(orgId: "org_a", id: "usr_1", change: change, now: now)
        (expected.name, expected.role, expected.disabled, expected.passwordHash, expected.version) = (nil, .viewer, true, "new-hash", 3)
        #expect(changed == expected)
        #expect(try db.accounts.updateUser(orgId: "org_a", id: "usr_1", change: UserChange(), now: now).name == nil)

        change = UserChange()
        change.expectedVersion = 3
        #expect(throws: StoreError.stale) { try db.accounts.updateUser(orgId: "org_a", id: "usr_1", change: change, now: now) }
        #expect(try db.accounts.user(orgId: "org_a", id: "usr_1")?.version == 4)
        #expect(throws: StoreError.notFound("User")) { try db.accounts.updateUser(orgId: "org_b", id: "usr_1", change: UserChange(), now: now) }
        #expect(throws: StoreError.notFound("User")) { try db.accounts.updateUser(orgId: "org_a", id: "usr_x", change: UserChange(), now: now) }
    }

    @Test(arguments: StoreKind.tested)
    func theLastActiveAdminCannotBeDemotedDisabledOrDeleted(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a", "org_b"])
        try db.user("usr_admin", org: "org_a")
        try db.user("usr_off", org: "org_a", disabled: true)
        try db.user("usr_editor", org: "org_a", role: .editor)
        try db.user("usr_other", org: "org_b")
        let lastAdmin = StoreError.conflict("This is the last active admin of the organisation; promote another user first")
        var demote = UserChange()
        demote.role = .editor
        var disable = UserChange()
        disable.disabled = true
        for change in [demote, disable] {
            #expect(throws: lastAdmin) { try db.accounts.updateUser(orgId: "org_a", id: "usr_admin", change: change, now: t0) }
        }
        #expect(throws: lastAdmin) { try db.accounts.deleteUser(orgId: "org_a", id: "usr_admin", version: nil) }
        #expect(try db.accounts.user(orgId: "org_a", id: "usr_admin")?.version == 1)
        // A disabled admin is no admin to fall back on; other users change freely.
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_off", change: demote, now: t0)
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_editor", change: disable, now: t0)

        var promote = UserChange()
        promote.role = .admin
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_editor", change: promote, now: t0)
        #expect(throws: lastAdmin) { try db.accounts.updateUser(orgId: "org_a", id: "usr_admin", change: demote, now: t0) }
        var enable = UserChange()
        enable.disabled = false
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_editor", change: enable, now: t0)
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_admin", change: demote, now: t0)
        #expect(throws: lastAdmin) { try db.accounts.deleteUser(orgId: "org_a", id: "usr_editor", version: nil) }
        try db.accounts.deleteUser(orgId: "org_a", id: "usr_admin", version: 2)
        #expect(try db.accounts.user(orgId: "org_a", id: "usr_admin") == nil)
    }

    @Test(arguments: StoreKind.tested)
    func deletingAUserIsConditionalOnItsVersionAndEndsItsSessions(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        try db.user("usr_1", org: "org_a")
        try db.user("usr_2", org: "org_a", role: .viewer)
        try db.accounts.createSession(tokenHash: "s2", userId: "usr_2", orgId: "org_a", now: t0, expiresAt: t0.addingTimeInterval(3600))
        #expect(throws: StoreError.stale) { try db.accounts.deleteUser(orgId: "org_a", id: "usr_2", version: 7) }
        #expect(throws: StoreError.notFound("User")) { try db.accounts.deleteUser(orgId: "org_b", id: "usr_2", version: nil) }
        try db.accounts.deleteUser(orgId: "org_a", id: "usr_2", version: 1)
        #expect(throws: StoreError.notFound("User")) { try db.accounts.deleteUser(orgId: "org_a", id: "usr_2", version: nil) }
        #expect(try db.accounts.session(tokenHash: "s2") == nil)
    }

    @Test(arguments: StoreKind.tested)
    func disablingOrANewPasswordEndsTheUsersOtherSessions(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind, organizations: ["org_a"])
        try db.user("usr_1", org: "org_a")
        try db.user("usr_2", org: "org_a", role: .editor)
        let expiry = t0.addingTimeInterval(3600)
        for token in ["a", "b", "c"] { try db.accounts.createSession(tokenHash: token, userId: "usr_2", orgId: "org_a", now: t0, expiresAt: expiry) }
        try db.accounts.createSession(tokenHash: "admin", userId: "usr_1", orgId: "org_a", now: t0, expiresAt: expiry)
        func live() throws -> [String] { try ["a", "b", "c", "admin"].filter { try db.accounts.session(tokenHash: $0) != nil } }

        var rename = UserChange()
        rename.name = .value("Bea")
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_2", change: rename, now: t0)
        #expect(try live() == ["a", "b", "c", "admin"])
        var password = UserChange()
        (password.passwordHash, password.keepSession) = ("new", "a")
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_2", change: password, now: t0)
        #expect(try live() == ["a", "admin"])
        var disable = UserChange()
        disable.disabled = true
        _ = try db.accounts.updateUser(orgId: "org_a", id: "usr_2", change: disable, now: t0)
        #expect(try live() == ["admin"])
    }

    @Test(arguments: StoreKind.tested)
    func sessionsCarryTheirUserAndOrganizationAndExpire(_ kind: StoreKind) throws {
        let db = try ContractDatabase(kind)
        try db.organization("Uni", id: "org_a")
        try db.user("usr_1", org: "org_a", email: "ada@example.edu", role: .editor)
        let expiry = t0.addingTimeInterval(3600)
        try db.accounts.createSession(tokenHash: "s1", userId: "usr_1", orgId: "org_a", now: t0, expiresAt: expiry)
        #expect(throws: (any Error).self) {
            try db.accounts.createSession(tokenHash: "s1", userId: "usr_1", orgId: "org_a", now: t0, expiresAt: expiry)
        }
        let session = try #require(try db.accounts.session(tokenHash: "s1"))
        #expect((session.tokenHash, session.orgId, session.organizationName) == ("s1", "org_a", "Uni"))
        #expect((session.lastSeenAt, session.expiresAt) == (t0, expiry))
        // Read on every request: the user without the password hash and dates.
        #expect(session.user == UserRecord(
            id: "usr_1", orgId: "org_a", email: "ada@example.edu", name: "Name usr_1", role: .editor, disabled: false,
            passwordHash: "", createdAt: "", updatedAt: ""))
        #expect(try db.accounts.session(tokenHash: "nope") == nil)

        let later = t0.addingTimeInterval(90.25)
        try db.accounts.touchSession(tokenHash: "s1", now: later)
        #expect(try db.accounts.session(tokenHash: "s1")?.lastSeenAt == later)
        try db.accounts.createSession(tokenHash: "s2", userId: "usr_1", orgId: "org_a", now: t0, expiresAt: t0.addingTimeInterval(60))
        try db.accounts.createSession(tokenHash: "s3", userId: "usr_1", orgId: "org_a", now: t0, expiresAt: expiry)
        // Both bounds are inclusive: s2 expires at +60, s3 was last seen at t0; s1 was seen later.
        try db.accounts.deleteSessions(expiredBefore: t0.addingTimeInterval(60), idleSince: t0)
        #expect(try ["s1", "s2", "s3"].filter { try db.accounts.session(tokenHash: $0) != nil } == ["s1"])
        try db.accounts.deleteSession(tokenHash: "s1")
        try db.accounts.deleteSession(tokenHash: "s1")
        #expect(try db.rows(in: "sessions") == 0)
    }
}

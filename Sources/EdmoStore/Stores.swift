/// The stores one deployment runs on, chosen at start-up by the `edmo` command (SQLite today).
public struct Stores: Sendable {
    public var accounts: any AccountStore
    public var resources: any ResourceStore
    public var chats: any ChatStore
    public var analytics: any AnalyticsStore

    public init(accounts: any AccountStore, resources: any ResourceStore, chats: any ChatStore, analytics: any AnalyticsStore) {
        self.accounts = accounts
        self.resources = resources
        self.chats = chats
        self.analytics = analytics
    }
}

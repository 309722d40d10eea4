/// What a store reports, whatever the engine behind it.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case conflict(String)
    case notFound(String)
    case schemaTooNew(String)
    /// A conditional update lost to another writer: read the row again and redo the change.
    case stale
    /// The database cannot grow: its disk (or an operator's size limit) is full. Nothing was written.
    case storageFull

    public var description: String {
        switch self {
        case .conflict(let m), .notFound(let m), .schemaTooNew(let m): m
        case .stale: "the row was changed by another writer"
        case .storageFull: "storage is full"
        }
    }
}

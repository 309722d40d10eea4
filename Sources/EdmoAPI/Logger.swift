import Foundation

/// Log lines go to stderr (journald under systemd). Never pass a cookie, password or key here.
public struct Logger: Sendable {
    public var write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public static let stderr = Logger { line in
        var text = line
        text.append("\n")
        FileHandle.standardError.write(Data(text.utf8))
    }

    public static let silent = Logger { _ in }

    public func info(_ message: String) { write("info: \(message)") }
    public func error(_ message: String) { write("error: \(message)") }

    func access(_ request: Request, status: Int, micros: UInt64) {
        let hundredths = micros / 10
        let ms = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
        write("access: \(request.method) \(request.path) \(status) \(ms)ms id=\(request.requestId)")
    }
}

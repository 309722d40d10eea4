import EdmoCore
import EdmoProviders
import EdmoStore
import Foundation
import Synchronization

/// Log lines go to stderr (journald under systemd). Never pass a cookie, password or key here.
/// `info`, `error` and `access` escape control characters (see `escape`), so text from a request or an
/// upstream answer can never start a forged line or drive the terminal of whoever reads the log.
public struct Logger: Sendable {
    public var write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public static let stderr: Logger = {
        let out = LineWriter(fd: 2)
        return Logger { out.write($0) }
    }()

    public static let silent = Logger { _ in }

    public func info(_ message: String) { write("info: \(Self.escape(message))") }
    public func error(_ message: String) { write("error: \(Self.escape(message))") }


    /// One log line's worth of text: a backslash becomes `\\`, newline, carriage return and tab `\n`, `\r`,
    /// `\t`, other C0 controls and DEL `\xNN`, C1 controls and the Unicode line/paragraph separators `\u{NN}`.
    /// Everything else (UTF-8 included) stays as it is.
    public static func escape(_ text: String) -> String {
        // Fast path (every request's path passes here): nothing to escape.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\\") || $0 == 0xc2 || $0 == 0xe2 }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7f: out += "\\x" + hex(scalar.value, width: 2)
            case 0x80..<0xa0, 0x2028, 0x2029: out += "\\u{" + hex(scalar.value, width: 2) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// Lines onto a file descriptor, written by whichever thread finds no write under way: under load one
/// `write(2)` carries the lines of every request that finished meanwhile, where each line used to be its
/// own (and the workers queued on the file's lock). A line is never held back: the thread writing goes on
/// until nothing is pending, so a quiet server writes each line at once, and one thread's lines stay in order.
final class LineWriter: Sendable {
    let fd: Int32
    private struct State {
        var pending: [UInt8] = []
        var writing = false
    }
    /// A plain mutex (`PlainLock`): every request takes it.
    private let state = PlainLock(State())

    /// Bytes waiting behind a write under way before the threads adding to them wait too.
    static let maxPending = 1 << 20

    init(fd: Int32) { self.fd = fd }

    func write(_ line: String) {
        var batch: [UInt8] = []
        let mine = state.withLock { state in
            state.pending.append(contentsOf: line.utf8)
            state.pending.append(UInt8(ascii: "\n"))
            guard !state.writing else { return false }
            state.writing = true
            swap(&batch, &state.pending)
            return true
        }
        guard mine else {
            // A stuck reader (a full pipe) must not grow this buffer without bound: past the limit, wait for
            // the writing thread to take it, as a blocking write would have made this thread wait.
            while state.withLock({ $0.writing && $0.pending.count > Self.maxPending }) { usleep(1_000) }
            return
        }
        while true {
            writeAll(batch)
            batch.removeAll(keepingCapacity: true)
            let more = state.withLock { state in
                guard !state.pending.isEmpty else { state.writing = false; return false }
                swap(&batch, &state.pending)
                return true
            }
            if !more { return }
        }
    }

    /// A failed write (a closed pipe) drops the batch: logging must never stop a request.
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

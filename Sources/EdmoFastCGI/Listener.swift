import CFastCGI
import Foundation

public struct ListenerError: Error, CustomStringConvertible {
    public let description: String
}

/// Where the FastCGI connections come from.
public enum Listener {
    /// A Unix socket we create (libfcgi unlinks a stale file first). The mode lets nginx's workers in.
    public static func unixSocket(path: String, mode: mode_t) throws -> Int32 {
        FCGX_Init()
        let fd = FCGX_OpenSocket(path, 1024)
        guard fd >= 0 else { throw ListenerError(description: "cannot listen on \(path): \(String(cString: strerror(errno)))") }
        guard chmod(path, mode) == 0 else { throw ListenerError(description: "cannot chmod \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// `HOST:PORT`; a bare `:PORT` would listen on every interface, so a host is required.
    public static func tcp(_ address: String) throws -> Int32 {
        let parts = address.split(separator: ":")
        guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ListenerError(description: "--listen wants HOST:PORT, for example 127.0.0.1:9000")
        }
        FCGX_Init()
        let fd = FCGX_OpenSocket(address, 1024)
        guard fd >= 0 else { throw ListenerError(description: "cannot listen on \(address): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// systemd socket activation passes the socket as fd 3 with LISTEN_PID = our pid.
    /// `consume` unsets the variables, so that processes we start do not think the socket is theirs.
    public static func systemd(environment: [String: String], consume: Bool = true) -> Int32? {
        guard let pid = environment["LISTEN_PID"].flatMap({ Int32($0) }), pid == getpid(),
              let count = environment["LISTEN_FDS"].flatMap({ Int($0) }), count >= 1
        else { return nil }
        guard consume else { return 3 }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return 3
    }

    /// spawn-fcgi (and other FastCGI process managers) pass a listening socket as fd 0.
    public static func inheritedStdin() -> Int32? {
        FCGX_Init()
        return FCGX_IsCGI() == 0 ? 0 : nil
    }
}

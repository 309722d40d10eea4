import Foundation

/// Keeps outbound requests off this host and its private networks (SSRF): loopback, link-local (cloud
/// metadata at 169.254.169.254), private (10/8, 172.16/12, 192.168/16, fc00::/7), carrier-grade NAT and
/// unspecified addresses. Checked on the address libcurl is about to connect to, after DNS, so a name that
/// resolves to such an address is refused too. `EDMO_ALLOW_PRIVATE_URLS=1` lifts it (a model server on
/// the same host, the tests' fake servers).
public enum AddressGuard {
    public static func isPrivate(_ address: UnsafePointer<sockaddr>) -> Bool {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            return isPrivate(v4: v4)
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p -> [UInt8] in
                withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
            }
            return isPrivate(v6: bytes)
        default:
            return true
        }
    }

    static func isPrivate(v4 a: UInt32) -> Bool {
        let first = a >> 24, second = (a >> 16) & 0xff
        return first == 0 || first == 10 || first == 127 || (first == 169 && second == 254)
            || (first == 172 && (16...31).contains(second)) || (first == 192 && second == 168)
            || (first == 100 && (64...127).contains(second)) || first >= 224
    }

    static func isPrivate(v6 b: [UInt8]) -> Bool {
        guard b.count == 16 else { return true }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {  // IPv4-mapped
            return isPrivate(v4: UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15]))
        }
        if b[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        return b[0] & 0xfe == 0xfc || (b[0] == 0xfe && b[1] & 0xc0 == 0x80) || b[0] == 0xff
    }

    /// For URLs given in requests (tools, MCP servers): a host that is a private literal address or a
    /// `localhost` name. Names are checked again on connect.
    public static func isPrivateHost(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return isPrivate(v4: UInt32(bigEndian: v4.s_addr)) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 { return isPrivate(v6: withUnsafeBytes(of: v6) { Array($0) }) }
        return false
    }
}

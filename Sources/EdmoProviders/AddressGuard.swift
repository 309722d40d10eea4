import EdmoCore
import Foundation

/// Keeps outbound requests off this host and its private networks (SSRF): loopback, link-local (cloud
/// metadata at 169.254.169.254), private (10/8, 172.16/12, 192.168/16, fc00::/7), carrier-grade NAT,
/// unspecified, multicast, and the special-purpose ranges no service should live in (IETF protocol
/// assignments, documentation, benchmarking, reserved, site-local, discard-only). IPv6 forms that carry an
/// IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96) are judged by that address; the
/// tunnelling and local-translation forms (6to4, Teredo, NAT64 local-use 64:ff9b:1::/48) are refused
/// outright. Checked on the address libcurl is about to connect to, after DNS, so a name that resolves to
/// such an address is refused too. `EDMO_ALLOW_PRIVATE_URLS=1` lifts it (a model server on the same host,
/// the tests' fake servers).
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
        let first = a >> 24, second = (a >> 16) & 0xff, third = (a >> 8) & 0xff
        return first == 0                                       // "this network", 0.0.0.0
            || first == 10 || first == 127                      // private, loopback
            || (first == 169 && second == 254)                  // link-local, cloud metadata
            || (first == 172 && (16...31).contains(second))     // private
            || (first == 192 && second == 168)                  // private
            || (first == 100 && (64...127).contains(second))    // carrier-grade NAT
            || (first == 192 && second == 0 && third == 0)      // IETF protocol assignments 192.0.0.0/24
            || (first == 192 && second == 0 && third == 2)      // documentation TEST-NET-1
            || (first == 198 && second == 51 && third == 100)   // documentation TEST-NET-2
            || (first == 203 && second == 0 && third == 113)    // documentation TEST-NET-3
            || (first == 198 && (18...19).contains(second))     // benchmarking 198.18.0.0/15
            || first >= 224                                     // multicast, reserved 240/4, broadcast
    }

    static func isPrivate(v6 b: [UInt8]) -> Bool {
        guard b.count == 16 else { return true }
        func v4(at i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        func zero(_ range: Range<Int>) -> Bool { b[range].allSatisfy { $0 == 0 } }
        if zero(0..<10) && b[10] == 0xff && b[11] == 0xff { return isPrivate(v4: v4(at: 12)) }  // IPv4-mapped ::ffff:0:0/96
        if zero(0..<12) { return isPrivate(v4: v4(at: 12)) }  // ::, ::1 and IPv4-compatible ::/96 (0.0.0.x is private)
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b {
            if zero(4..<12) { return isPrivate(v4: v4(at: 12)) }  // NAT64 well-known prefix 64:ff9b::/96
            if b[4] == 0x00 && b[5] == 0x01 { return true }  // NAT64 local-use 64:ff9b:1::/48
        }
        if b[0] == 0x20 && b[1] == 0x02 { return true }  // 6to4 2002::/16
        if b[0] == 0x20 && b[1] == 0x01 {
            if b[2] == 0x00 && b[3] == 0x00 { return true }  // Teredo 2001::/32
            if b[2] == 0x00 && b[3] == 0x02 && b[4] == 0x00 && b[5] == 0x00 { return true }  // benchmarking 2001:2::/48
            if b[2] == 0x0d && b[3] == 0xb8 { return true }  // documentation 2001:db8::/32
        }
        if b[0] == 0x3f && b[1] == 0xff && b[2] & 0xf0 == 0 { return true }  // documentation 3fff::/20
        if b[0] == 0x01 && b[1] == 0x00 && zero(2..<8) { return true }  // discard-only 100::/64
        return b[0] & 0xfe == 0xfc  // unique local fc00::/7
            || (b[0] == 0xfe && b[1] & 0xc0 == 0x80)  // link-local fe80::/10
            || (b[0] == 0xfe && b[1] & 0xc0 == 0xc0)  // site-local fec0::/10 (deprecated)
            || b[0] == 0xff  // multicast ff00::/8
    }

    /// For URLs given in requests (tools, MCP servers): a host that is a private literal address or a
    /// `localhost` name. Names are checked again on connect. Numeric hosts are read the way resolvers and
    /// libcurl read them (inet_aton: `127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433`), not only dotted quads.
    public static func isPrivateHost(_ host: String) -> Bool {
        var name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if let zone = name.firstIndex(of: "%") { name = String(name[..<zone]) }  // fe80::1%eth0
        if name.hasSuffix(".") { name.removeLast() }  // a fully qualified `localhost.` or `127.0.0.1.`
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 { return isPrivate(v6: withUnsafeBytes(of: v6) { Array($0) }) }
        if let v4 = numericIPv4(name) { return isPrivate(v4: v4) }
        return false
    }

    /// A host that is an IPv4 address in any form glibc's inet_aton accepts (what resolvers and libcurl
    /// accept too): one to four parts, each decimal, octal (leading 0) or hex (0x), the last filling the
    /// remaining bytes. Nil for names. (inet_aton ignores anything after a space; a host has no spaces.)
    static func numericIPv4(_ name: String) -> UInt32? {
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else { return nil }
        var address = in_addr()
        guard inet_aton(name, &address) != 0 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }
}

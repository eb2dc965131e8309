import Glibc

/// A TCP port on 127.0.0.1 that the operating system says is free: bound with port 0, read back,
/// and closed, for a relay that must be given its metrics port up front (`http.port: 0` turns the
/// port off). A random number could be any other process's port.
func freeTCPPort() throws -> Int {
    struct PortError: Error, CustomStringConvertible {
        var description: String
    }
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw PortError(description: "socket: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, size) } }
    guard bound == 0 else { throw PortError(description: "bind: errno \(errno)") }
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &size) } }
    guard named == 0 else { throw PortError(description: "getsockname: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

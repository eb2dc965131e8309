import AsyncHTTPClient
import Foundation
import MParticle
import NIOCore
import NIOPosix
import NIOSSL

/// Why a request to mParticle got no answer, in the terms a person fixes it by: the host name does
/// not resolve, TLS failed (a certificate this machine does not trust, or one for another name),
/// the connection was refused, or nothing answered in time.
public struct TransportFailure: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case hostNotFound
        case tls
        case refused
        /// The connection was made and closed without an answer (a plain http:// request to a TLS
        /// port, a proxy that drops it).
        case closed
        case timeout
        case other
    }

    public var kind: Kind
    /// The HTTP client's own words, for the report.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Reads AsyncHTTPClient's (and SwiftNIO's) errors, as `EventsAPITransportError` carries them.
    public static func classify(_ error: any Error) -> TransportFailure {
        if let transport = error as? EventsAPITransportError {
            guard let underlying = transport.underlying else { return TransportFailure(.other, transport.message) }
            return classify(underlying)
        }
        return TransportFailure(kind(of: error), concise(String(describing: error)))
    }

    /// BoringSSL's errors name the reason among a build path and numbers
    /// (`...:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /.../handshake.cc:320`):
    /// the reason alone says it.
    static func concise(_ message: String) -> String {
        guard let marker = message.range(of: "OPENSSL_internal:") else { return message }
        let reason = message[marker.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return reason.isEmpty ? message : "TLS handshake failed: \(reason)"
    }

    static func kind(of error: any Error) -> Kind {
        switch error {
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            return .tls
        case let error as HTTPClientError:
            switch error {
            case .tlsHandshakeTimeout: return .tls
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout, .getConnectionFromPoolTimeout: return .timeout
            case .remoteConnectionClosed: return .closed
            default: return .other
            }
        case let error as NIOConnectionError:
            // Every address failed: the name did not resolve to any, or each connection failed.
            if error.connectionErrors.isEmpty {
                return error.dnsAError != nil || error.dnsAAAAError != nil ? .hostNotFound : .other
            }
            let kinds = error.connectionErrors.map { kind(of: $0.error) }
            return kinds.first { $0 != .other } ?? .other
        case is SocketAddressError:
            return .hostNotFound
        case let error as IOError:
            return error.errnoCode == ECONNREFUSED ? .refused : .other
        case let error as ChannelError:
            if case .connectTimeout = error { return .timeout }
            return .other
        default:
            return .other
        }
    }
}

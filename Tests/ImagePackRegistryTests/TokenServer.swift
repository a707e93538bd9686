import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A registry token service (distribution's docs/spec/auth/token.md) on 127.0.0.1, for the tests
/// of bearer auth against a real docker-registry: it checks HTTP basic credentials, grants each
/// user the actions its table allows on the scopes asked for, and answers with a JWT signed
/// ES256 whose `x5c` header holds the certificate the registry's `rootcertbundle` trusts.
final class TokenServer: Sendable {
    /// The actions each user (by name and password) may be granted on any repository.
    struct Account: Sendable {
        var password: String
        var actions: Set<String>
    }

    let service: String
    let issuer: String
    let port: Int
    /// What each token request asked for and was granted, for the tests to check.
    final class Grants: Sendable {
        let entries = Mutex<[(user: String?, asked: [String], granted: [String])]>([])
        func append(_ grant: (user: String?, asked: [String], granted: [String])) { entries.withLock { $0.append(grant) } }
        func contains(where match: ((user: String?, asked: [String], granted: [String])) -> Bool) -> Bool { entries.withLock { $0.contains(where: match) } }
    }
    let grants = Grants()
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    var realm: String { "http://127.0.0.1:\(port)/token" }

    /// Starts the service, signing with the PEM private key at `keyFile` and naming the PEM
    /// certificate at `certificateFile` (both made by openssl) in every token.
    init(keyFile: String, certificateFile: String, accounts: [String: Account], service: String, issuer: String) throws {
        let key = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: keyFile, encoding: .utf8))
        // A PEM certificate's body is its DER in base64: what x5c holds (RFC 7515 §4.1.6).
        let certificate = try String(contentsOfFile: certificateFile, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        self.service = service
        self.issuer = issuer
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let issue = Issuer(key: key, certificate: certificate, service: service, issuer: issuer, accounts: accounts)
        let grants = self.grants
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TokenHandler(issuer: issue, grants: grants))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// Makes the tokens: checks credentials, narrows the scopes, signs.
    struct Issuer: Sendable {
        let key: P256.Signing.PrivateKey
        let certificate: String
        let service: String
        let issuer: String
        let accounts: [String: Account]

        /// The response to `GET /token?service=…&scope=…` with `authorization`, as (status, body).
        func answer(query: [URLQueryItem], authorization: String?) -> (HTTPResponseStatus, String, user: String?, asked: [String], granted: [String]) {
            let asked = query.filter { $0.name == "scope" }.compactMap(\.value).flatMap { $0.split(separator: " ").map(String.init) }
            var user: String?
            var allowed: Set<String> = []
            if let authorization {
                guard authorization.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(authorization.dropFirst(6))),
                    let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":"),
                    let account = accounts[String(pair[..<colon])], account.password == String(pair[pair.index(after: colon)...])
                else {
                    return (.unauthorized, #"{"errors":[{"code":"UNAUTHORIZED","message":"wrong user name or password"}]}"#, nil, asked, [])
                }
                user = String(pair[..<colon])
                allowed = account.actions
            }
            guard query.first(where: { $0.name == "service" })?.value == service else {
                return (.badRequest, #"{"errors":[{"code":"DENIED","message":"unknown service"}]}"#, user, asked, [])
            }
            // repository:NAME:ACTIONS, granted the actions the account has (token.md: a
            // narrower grant, not a refusal, so the registry says what is missing).
            var access: [[String: Any]] = []
            var granted: [String] = []
            for scope in asked {
                let parts = scope.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "repository" else { continue }
                let name = parts[1...(parts.count - 2)].joined(separator: ":")
                let actions = parts.last!.split(separator: ",").map(String.init).filter { allowed.contains($0) }
                access.append(["type": "repository", "name": name, "actions": actions])
                granted.append("repository:\(name):\(actions.joined(separator: ","))")
            }
            let now = Int(Date().timeIntervalSince1970)
            let claims: [String: Any] = [
                "iss": issuer, "sub": user ?? "", "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
                "jti": UUID().uuidString, "access": access,
            ]
            let header: [String: Any] = ["typ": "JWT", "alg": "ES256", "x5c": [certificate]]
            guard let token = try? sign(header: header, claims: claims) else {
                return (.internalServerError, #"{"errors":[{"code":"UNKNOWN","message":"signing failed"}]}"#, user, asked, [])
            }
            let issued = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(now)))
            return (.ok, #"{"token":"\#(token)","access_token":"\#(token)","expires_in":300,"issued_at":"\#(issued)"}"#, user, asked, granted)
        }

        /// A compact JWS: base64url(header).base64url(claims).base64url(r ‖ s) (RFC 7518 §3.4).
        func sign(header: [String: Any], claims: [String: Any]) throws -> String {
            func encode(_ data: Data) -> String {
                data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            }
            let input = encode(try JSONSerialization.data(withJSONObject: header)) + "." + encode(try JSONSerialization.data(withJSONObject: claims))
            let signature = try key.signature(for: Data(input.utf8))
            return input + "." + encode(signature.rawRepresentation)
        }
    }

    /// One HTTP/1 connection: answers `GET /token` requests, anything else 404.
    final class TokenHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let issuer: Issuer
        let grants: Grants
        var head: HTTPRequestHead?

        init(issuer: Issuer, grants: Grants) {
            self.issuer = issuer
            self.grants = grants
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                let components = URLComponents(string: head.uri)
                var status = HTTPResponseStatus.notFound
                var body = #"{"errors":[{"code":"NOT_FOUND"}]}"#
                if head.method == .GET, components?.path == "/token" {
                    let answer = issuer.answer(query: components?.queryItems ?? [], authorization: head.headers.first(name: "Authorization"))
                    (status, body) = (answer.0, answer.1)
                    grants.append((answer.user, answer.asked, answer.granted))
                }
                var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.utf8.count)")])
                if status == .unauthorized { headers.add(name: "WWW-Authenticate", value: #"Basic realm="imgpack-token-tests""#) }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

import AsyncHTTPClient
import Foundation
import ImagePack
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// How a ``RegistryClient`` connects and authenticates.
public struct RegistryClientOptions: Sendable {
    /// Credentials for basic auth, or for the token service of a bearer challenge. Nil: anonymous
    /// (a registry that asks for credentials then fails with `.registryAuthenticationFailed`).
    public var credentials: RegistryCredentials?
    /// A PEM file of CA certificates trusted in addition to the system's roots.
    public var caFile: String?
    /// Plain HTTP instead of HTTPS; allowed only for loopback hosts, where nothing crosses a network.
    public var insecure = false
    /// Blob transfers in flight at once (each on its own connection).
    public var maxConcurrentTransfers = 4
    /// A request fails when no byte moves for this long.
    public var idleTimeout: TimeAmount = .seconds(120)

    public init(credentials: RegistryCredentials? = nil, caFile: String? = nil, insecure: Bool = false, maxConcurrentTransfers: Int = 4) {
        self.credentials = credentials
        self.caFile = caFile
        self.insecure = insecure
        self.maxConcurrentTransfers = max(1, maxConcurrentTransfers)
    }
}

/// The OCI distribution protocol (distribution-spec 1.1) against one registry, over AsyncHTTPClient.
///
/// Authentication follows the registry's `WWW-Authenticate` challenge: `Basic` sends the
/// credentials; `Bearer` fetches a token from the challenge's realm for the repository's scope
/// (with the credentials, if any) and sends that. Tokens are kept per scope. Credentials never
/// appear in errors, messages or descriptions.
///
/// - Important: call ``shutdown()`` when done; the connection pool lives until then.
public final class RegistryClient: Sendable {
    public let registry: String
    let baseURL: String
    let http: HTTPClient
    let options: RegistryClientOptions
    /// Authorization header values by scope key ("" for basic auth, which covers every scope).
    private let authorizations = Mutex<[String: String]>([:])

    /// - Throws: `.invalidArgument` for `insecure` with a host that is not loopback, or an
    ///   unreadable `caFile`.
    public init(registry: String, options: RegistryClientOptions = .init()) throws(ImagePackError) {
        self.registry = registry
        self.options = options
        let probe = RegistryReference(registry: registry, repository: "x")
        if options.insecure && !probe.isLoopback {
            throw ImagePackError(.invalidArgument, "--insecure (plain HTTP) is allowed only for a loopback registry (127.0.0.0/8, ::1, localhost), not \(registry); use HTTPS, with --ca-file for a private CA", field: "insecure")
        }
        baseURL = (options.insecure ? "http://" : "https://") + registry
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = options.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ImagePackError(.invalidArgument, "cannot read the CA file", path: caFile)
            }
            tls.additionalTrustRoots = [.file(caFile)]
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: .init(connect: .seconds(30), read: options.idleTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.maxConcurrentTransfers + 2)
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes the connection pool.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Checks that the registry answers the distribution API (`GET /v2/`), authenticating if asked.
    public func ping() async throws(ImagePackError) {
        let response = try await send(.GET, "/v2/", scopes: [])
        try await Self.expect(response, [200], "the registry's API root (/v2/)", registry: registry)
    }

    // MARK: Requests

    /// A request body that can be made again (for the retry after an authentication challenge).
    public typealias BodyMaker = @Sendable () async throws(ImagePackError) -> HTTPClientRequest.Body

    /// Sends a request, answering one authentication challenge and retrying once.
    /// - Parameters:
    ///   - path: starts with `/v2/`, or a full URL (an upload location).
    ///   - scopes: the token scopes the request needs (`repository:NAME:pull,push`).
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: BodyMaker? = nil, scopes: [String],
        timeout: TimeAmount = .hours(24)
    ) async throws(ImagePackError) -> HTTPClientResponse {
        let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + path
        let key = scopes.joined(separator: " ")
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let authorization = authorizations.withLock({ $0[key] ?? $0[""] }) {
                request.headers.replaceOrAdd(name: "Authorization", value: authorization)
            }
            if let body { request.body = try await body() }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: timeout)
            } catch {
                throw ImagePackError(.registryUnreachable, "\(method) \(Self.redacted(url)) failed: \(error); is the registry running, and is it HTTPS (or HTTP with --insecure on loopback)?", field: "registry")
            }
            guard response.status == .unauthorized, attempt == 0 else {
                if response.status == .unauthorized {
                    // A bearer token the service issued without the actions asked for: the account
                    // may not do this (a pull-only account pushing), which new credentials would fix,
                    // not a retry.
                    let challenge = response.headers.first(name: "WWW-Authenticate").flatMap(AuthChallenge.parse)
                    if challenge?.parameters["error"] == "insufficient_scope" {
                        throw ImagePackError(
                            .registryAuthenticationFailed,
                            "\(registry) refused \(method) \(Self.redacted(url)): the token its token service issued does not grant \(challenge?.parameters["scope"] ?? scopes.joined(separator: " ")) to \(options.credentials == nil ? "anonymous users" : "this account"); use an account allowed to do this",
                            field: "credentials")
                    }
                    throw ImagePackError(.registryAuthenticationFailed, "\(registry) refused the credentials for \(method) \(Self.redacted(url)); check --username/--password-stdin or the auth.json entry for \(registry)", field: "credentials")
                }
                return response
            }
            let challenge = response.headers.first(name: "WWW-Authenticate").flatMap(AuthChallenge.parse)
            _ = try? await response.body.collect(upTo: 1 << 16)
            try await authorize(challenge, scopes: scopes, key: key)
        }
        preconditionFailure("the loop returns or throws")
    }

    /// Answers a challenge: stores the Authorization header the scope needs.
    private func authorize(_ challenge: AuthChallenge?, scopes: [String], key: String) async throws(ImagePackError) {
        guard let challenge else {
            throw ImagePackError(.registryAuthenticationFailed, "\(registry) answered 401 without a WWW-Authenticate challenge", field: "credentials")
        }
        switch challenge.scheme {
        case "basic":
            guard let credentials = options.credentials else {
                throw ImagePackError(.registryAuthenticationFailed, "\(registry) asks for a user name and password: pass --username and --password-stdin, or log in with podman/docker so auth.json has them", field: "credentials")
            }
            authorizations.withLock { $0[""] = credentials.basicAuthorization }
        case "bearer":
            guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) else {
                throw ImagePackError(.registryAuthenticationFailed, "\(registry) sent a bearer challenge without a realm", field: "credentials")
            }
            var items = components.queryItems ?? []
            if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
            let wanted = scopes.isEmpty ? (challenge.parameters["scope"].map { [$0] } ?? []) : scopes
            for scope in wanted { items.append(URLQueryItem(name: "scope", value: scope)) }
            components.queryItems = items.isEmpty ? nil : items
            guard let tokenURL = components.string else {
                throw ImagePackError(.registryAuthenticationFailed, "\(registry) sent a bearer realm that is not a URL", field: "credentials")
            }
            var request = HTTPClientRequest(url: tokenURL)
            if let credentials = options.credentials { request.headers.add(name: "Authorization", value: credentials.basicAuthorization) }
            let response: HTTPClientResponse
            let body: ByteBuffer
            do {
                response = try await http.execute(request, timeout: .seconds(60))
                body = try await response.body.collect(upTo: 1 << 20)
            } catch {
                throw ImagePackError(.registryUnreachable, "the token service \(Self.redacted(tokenURL)) failed: \(error)", field: "registry")
            }
            guard response.status == .ok else {
                throw ImagePackError(.registryAuthenticationFailed, "the token service of \(registry) refused \(options.credentials == nil ? "an anonymous request" : "the credentials") (HTTP \(response.status.code)) for \(wanted.joined(separator: " "))", field: "credentials")
            }
            let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            guard let token = (json?["token"] as? String) ?? (json?["access_token"] as? String) else {
                throw ImagePackError(.registryAuthenticationFailed, "the token service of \(registry) answered without a token", field: "credentials")
            }
            authorizations.withLock { $0[key] = "Bearer " + token }
        default:
            throw ImagePackError(.registryAuthenticationFailed, "\(registry) asks for authentication scheme '\(challenge.scheme)', which ImagePack does not speak (it speaks Basic and Bearer)", field: "credentials")
        }
    }

    /// `url` without its query, which may hold upload state or tokens.
    static func redacted(_ url: String) -> String {
        String(url.split(separator: "?", maxSplits: 1).first ?? "")
    }

    /// Throws unless `response` has one of `statuses`, with the registry's own error text.
    static func expect(_ response: HTTPClientResponse, _ statuses: Set<UInt>, _ what: String, registry: String) async throws(ImagePackError) {
        guard !statuses.contains(response.status.code) else { return }
        let detail = await errorText(response)
        let code: ImagePackError.Code = response.status == .notFound ? .manifestUnknown : .registryRequestFailed
        throw ImagePackError(code, "\(registry) answered HTTP \(response.status.code) for \(what)\(detail.isEmpty ? "" : ": \(detail)")", field: "registry")
    }

    /// The registry's error list (`{"errors":[{"code","message"}]}`) as one line, or "".
    static func errorText(_ response: HTTPClientResponse) async -> String {
        guard let body = try? await response.body.collect(upTo: 1 << 16) else { return "" }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let errors = json["errors"] as? [[String: Any]]
        else { return String(buffer: body).prefix(200).trimmingCharacters(in: .whitespacesAndNewlines) }
        return errors.map { "\($0["code"] as? String ?? "?") \($0["message"] as? String ?? "")" }.joined(separator: "; ")
    }
}

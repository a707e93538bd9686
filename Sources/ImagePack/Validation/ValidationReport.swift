import Foundation

/// Everything ``ImageValidator`` found wrong with an image, in the order it checked: structure,
/// then metadata and stream table, then every chunk.
public struct ValidationReport: Sendable, Codable, CustomStringConvertible {
    /// The file that was validated.
    public var path: String
    public var fileLength: UInt64
    /// Every problem found (up to ``ValidationOptions/maxProblems``), each naming its rule,
    /// byte offset and, where one applies, chunk, stream and field.
    public var problems: [ImagePackError]
    /// Chunks whose content was checked: records decoded and hashed, plus zero chunks whose digest was checked.
    public var checkedChunks: Int
    /// Whether more problems were found than the report keeps (validation then stopped early).
    public var truncatedProblemList: Bool
    /// Whether the chunks were located through the index; false when the footer or index was
    /// unusable and the records were walked from the start instead (spec §12.3).
    public var usedIndex: Bool
    /// The root digest, when the index is intact and the footer agrees with it.
    public var rootDigest: Digest?

    /// True when no problem was found.
    public var isValid: Bool { problems.isEmpty && !truncatedProblemList }

    package init(
        path: String, fileLength: UInt64, problems: [ImagePackError], checkedChunks: Int, truncatedProblemList: Bool,
        usedIndex: Bool, rootDigest: Digest?
    ) {
        self.path = path
        self.fileLength = fileLength
        self.problems = problems
        self.checkedChunks = checkedChunks
        self.truncatedProblemList = truncatedProblemList
        self.usedIndex = usedIndex
        self.rootDigest = rootDigest
    }

    enum CodingKeys: String, CodingKey {
        case path, fileLength, problems, checkedChunks, truncatedProblemList, usedIndex, rootDigest, isValid
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        fileLength = try c.decode(UInt64.self, forKey: .fileLength)
        problems = try c.decode([ImagePackError].self, forKey: .problems)
        checkedChunks = try c.decode(Int.self, forKey: .checkedChunks)
        truncatedProblemList = try c.decode(Bool.self, forKey: .truncatedProblemList)
        usedIndex = try c.decode(Bool.self, forKey: .usedIndex)
        rootDigest = try c.decodeIfPresent(String.self, forKey: .rootDigest).flatMap { Digest(hex: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(fileLength, forKey: .fileLength)
        try c.encode(isValid, forKey: .isValid)
        try c.encode(problems, forKey: .problems)
        try c.encode(checkedChunks, forKey: .checkedChunks)
        try c.encode(truncatedProblemList, forKey: .truncatedProblemList)
        try c.encode(usedIndex, forKey: .usedIndex)
        try c.encodeIfPresent(rootDigest?.description, forKey: .rootDigest)
    }

    /// The report as JSON (keys sorted), for `imgpack validate --json`.
    public func jsonData(prettyPrinted: Bool = true) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, integer or boolean: encoding cannot fail.
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// A human summary: one line per problem, then the verdict.
    public var description: String {
        var lines = problems.map { "  " + $0.description }
        if truncatedProblemList { lines.append("  … more problems were found; validation stopped after \(problems.count)") }
        let verdict: String
        if isValid {
            verdict = "\(path): valid (\(checkedChunks) chunks checked\(rootDigest.map { ", root \($0)" } ?? ""))"
        } else {
            let count = truncatedProblemList ? "more than \(problems.count)" : "\(problems.count)"
            verdict = "\(path): INVALID, \(count) problem\(problems.count == 1 ? "" : "s") (\(checkedChunks) chunks checked\(usedIndex ? "" : ", index unusable: records walked from the start"))"
        }
        return ([verdict] + lines).joined(separator: "\n")
    }
}

extension ImagePackError: Codable {
    enum CodingKeys: String, CodingKey {
        case code, category, message, rule, offset, chunk, stream, field, cause, path
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .code)
        let category = try c.decodeIfPresent(String.self, forKey: .category).flatMap(Category.init(rawValue:)) ?? .invalidImage
        self.init(
            Code(name, category), try c.decode(String.self, forKey: .message), rule: try c.decodeIfPresent(Rule.self, forKey: .rule),
            offset: try c.decodeIfPresent(UInt64.self, forKey: .offset), chunk: try c.decodeIfPresent(Int.self, forKey: .chunk),
            stream: try c.decodeIfPresent(String.self, forKey: .stream), field: try c.decodeIfPresent(String.self, forKey: .field),
            cause: try c.decodeIfPresent(Int.self, forKey: .cause), path: try c.decodeIfPresent(String.self, forKey: .path))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code.name, forKey: .code)
        try c.encode(code.category.rawValue, forKey: .category)
        try c.encode(message, forKey: .message)
        try c.encodeIfPresent(rule, forKey: .rule)
        try c.encodeIfPresent(offset, forKey: .offset)
        try c.encodeIfPresent(chunk, forKey: .chunk)
        try c.encodeIfPresent(stream, forKey: .stream)
        try c.encodeIfPresent(field, forKey: .field)
        try c.encodeIfPresent(cause, forKey: .cause)
        try c.encodeIfPresent(path, forKey: .path)
    }
}

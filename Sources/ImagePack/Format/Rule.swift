/// A numbered validation rule of spec/FORMAT.md, such as V42.
///
/// Errors name the rule they break so that code, tests, samples (`samples/invalid/V42-*.imgpack`)
/// and the spec can cite each other. A struct rather than a string keeps the set of rules in one
/// place (`Rule.v42`) while tests and JSON keep reading and writing the plain name: `rule == "V42"`
/// compiles through the string literal, and the JSON report encodes `"V42"`.
public struct Rule: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The rule's name as the spec writes it ("V42").
    public let name: String

    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }
    public init(from decoder: any Decoder) throws { name = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
    public var description: String { name }
}

extension Rule {
    // Header (spec §3).
    public static let v1: Rule = "V1", v2: Rule = "V2", v3: Rule = "V3", v4: Rule = "V4", v5: Rule = "V5", v6: Rule = "V6"
    // Records, metadata, stream table, signatures (spec §4-§6).
    public static let v7: Rule = "V7", v8: Rule = "V8", v10: Rule = "V10", v11: Rule = "V11", v12: Rule = "V12"
    public static let v13: Rule = "V13", v14: Rule = "V14", v15: Rule = "V15"
    // Chunk records (spec §7).
    public static let v20: Rule = "V20", v21: Rule = "V21", v22: Rule = "V22", v23: Rule = "V23", v24: Rule = "V24"
    public static let v26: Rule = "V26", v27: Rule = "V27", v28: Rule = "V28"
    // Index (spec §8).
    public static let v30: Rule = "V30", v31: Rule = "V31", v32: Rule = "V32", v33: Rule = "V33", v34: Rule = "V34"
    public static let v35: Rule = "V35", v36: Rule = "V36"
    // Work budget (spec §10).
    public static let v46: Rule = "V46"
    // Footer, root digest, signatures, parent (spec §9-§11).
    public static let v40: Rule = "V40", v41: Rule = "V41", v42: Rule = "V42", v43: Rule = "V43", v44: Rule = "V44", v45: Rule = "V45"
    // Signatures checked against each other and against keys (spec §9.2).
    public static let v47: Rule = "V47", v48: Rule = "V48"
    // Parents (spec §9.3, format 1.1).
    public static let v49: Rule = "V49", v50: Rule = "V50"
    // The catalogue and the tail area (spec §5.4, §9.4, format 1.2).
    public static let v51: Rule = "V51", v52: Rule = "V52", v53: Rule = "V53", v54: Rule = "V54", v55: Rule = "V55"
    // Reference chunks (spec §7.2, §10): the target lies within maxReferenceDistance before.
    public static let v60: Rule = "V60"
}

/// A JSON value as the metadata parser reads it (spec §5.2): objects keep their members in
/// document order, and integers keep their decimal text so that the consumer decides what range
/// a field allows (an integer outside it breaks V12, not the parser).
indirect enum JSONValue: Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(String)
    case bool(Bool)
    case null

    /// The member named `key` of an object; nil for a missing key or a non-object.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}

/// The strict JSON reader and canonical writer of the META document (spec §5.2, §5.3).
///
/// Foundation's `JSONDecoder` keeps the first of two equal keys (Python and JavaScript keep the
/// last, so one image could show two different values under one root digest), reads `2.0` and
/// `2e0` as the integer 2, skips a byte order mark and allows 512 levels of nesting. This reader
/// refuses all of these (rule V11), so every conforming reader of an accepted document sees the
/// same values.
enum CanonicalJSON {
    /// Deepest nesting of objects and arrays a document may have; the top-level object is level 1.
    static let maxDepth = 64

    /// Parses `bytes`, a whole document that must be one JSON object. `base` is the file offset of
    /// `bytes[0]`, so errors point at the offending byte.
    /// - Throws: `.invalidMetadata` with rule V11 for anything but one strict JSON object.
    static func parse(_ bytes: [UInt8], base: UInt64) throws(ImagePackError) -> JSONValue {
        var parser = Parser(bytes: bytes, base: base)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw parser.error("the document starts with a UTF-8 byte order mark, which JSON text must not have (RFC 8259 §8.1)")
        }
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{") else { throw parser.error("the document is not a JSON object") }
        let value = try parser.value(depth: 1)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("bytes follow the JSON object") }
        return value
    }

    /// Writes `value` in canonical form (spec §5.3): object members sorted by the UTF-8 bytes of
    /// their keys, no white space, the escapes of ``escape(_:into:)``, integers as they are held.
    static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        encode(value, into: &out)
        return out
    }

    private static func encode(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                escape(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                encode(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                encode(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let s): escape(s, into: &out)
        case .integer(let digits): out += digits.utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .null: out += "null".utf8
        }
    }

    /// Writes `s` as a JSON string: `"` and `\` as `\"` and `\\`; U+0008, U+0009, U+000A, U+000C
    /// and U+000D as `\b`, `\t`, `\n`, `\f`, `\r`; the other characters below U+0020 as `\u00xx`
    /// with lowercase hex; everything else, `/` and DEL included, as its raw UTF-8 bytes.
    static func escape(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x08: out += #"\b"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0C: out += #"\f"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += #"\u00"#.utf8
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private struct Parser {
        let bytes: [UInt8]
        let base: UInt64
        var position = 0

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        func error(_ message: String, at: Int? = nil) -> ImagePackError {
            ImagePackError(.invalidMetadata, "metadata is not strict JSON: " + message, rule: "V11", offset: base + UInt64(at ?? position))
        }

        mutating func skipWhitespace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { position += 1 }
        }

        mutating func expect(_ literal: String) throws(ImagePackError) {
            let start = position
            for byte in literal.utf8 {
                guard peek == byte else { throw error("expected \(literal)", at: start) }
                position += 1
            }
        }

        mutating func value(depth: Int) throws(ImagePackError) -> JSONValue {
            skipWhitespace()
            guard let b = peek else { throw error("the document ends where a value should be") }
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth <= CanonicalJSON.maxDepth else {
                    throw error("objects and arrays nest deeper than \(CanonicalJSON.maxDepth) levels")
                }
                return b == UInt8(ascii: "{") ? try object(depth: depth) : try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try integer())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default: throw error("byte 0x\(String(b, radix: 16)) cannot start a value")
            }
        }

        mutating func object(depth: Int) throws(ImagePackError) -> JSONValue {
            position += 1
            var members: [(key: String, value: JSONValue)] = []
            // Swift compares strings by canonical equivalence: a set of Strings also catches two
            // spellings (NFC, NFD) of one key, which would collapse into one dictionary entry.
            var seen = Set<String>()
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                let keyStart = position
                guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                guard seen.insert(key).inserted else {
                    throw error("the key \"\(Self.printable(key))\" appears twice in one object (JSON parsers disagree on which one counts)", at: keyStart)
                }
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
                position += 1
                members.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                guard let b = peek else { throw error("the document ends inside an object") }
                position += 1
                if b == UInt8(ascii: "}") { return .object(members) }
                guard b == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object", at: position - 1) }
            }
        }

        mutating func array(depth: Int) throws(ImagePackError) -> JSONValue {
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard let b = peek else { throw error("the document ends inside an array") }
                position += 1
                if b == UInt8(ascii: "]") { return .array(elements) }
                guard b == UInt8(ascii: ",") else { throw error("expected ',' or ']' in an array", at: position - 1) }
            }
        }

        /// An integer in canonical form: `0`, or an optional `-` and a digit 1-9 followed by digits.
        mutating func integer() throws(ImagePackError) -> String {
            let start = position
            if peek == UInt8(ascii: "-") { position += 1 }
            guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw error("'-' is not followed by a digit") }
            while let b = peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { position += 1 }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if let b = peek, b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                throw error("numbers must be integers without fraction or exponent (spec §5.2)", at: start)
            }
            guard first != UInt8(ascii: "0") || position - start == (text.hasPrefix("-") ? 2 : 1) else {
                throw error("the integer \(text) has a leading zero", at: start)
            }
            guard text != "-0" else { throw error("-0 is not a canonical integer; write 0", at: start) }
            return text
        }

        mutating func string() throws(ImagePackError) -> String {
            position += 1
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw error("the document ends inside a string") }
                position += 1
                switch b {
                case UInt8(ascii: "\""):
                    // The whole document was checked to be UTF-8 and escapes add only scalars.
                    return String(decoding: out, as: UTF8.self)
                case 0x00..<0x20: throw error("a control character (0x\(String(b, radix: 16))) inside a string must be escaped", at: position - 1)
                case UInt8(ascii: "\\"): try escape(into: &out)
                default: out.append(b)
                }
            }
        }

        mutating func escape(into out: inout [UInt8]) throws(ImagePackError) {
            let start = position - 1
            guard let b = peek else { throw error("the document ends inside an escape") }
            position += 1
            let simple: [UInt8: UInt8] = [
                UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F, UInt8(ascii: "b"): 0x08,
                UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
            ]
            if let c = simple[b] {
                out.append(c)
                return
            }
            guard b == UInt8(ascii: "u") else { throw error("\\\(Character(Unicode.Scalar(b))) is not a JSON escape", at: start) }
            var scalar = try hex4()
            if (0xDC00...0xDFFF).contains(scalar) {
                throw error("\\u\(String(scalar, radix: 16)) is a lone low surrogate, not a character", at: start)
            }
            if (0xD800...0xDBFF).contains(scalar) {
                guard bytes[position...].starts(with: Array(#"\u"#.utf8)) else {
                    throw error("\\u\(String(scalar, radix: 16)) is a high surrogate without the low surrogate that must follow it", at: start)
                }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("\\u\(String(scalar, radix: 16)) is a high surrogate without the low surrogate that must follow it", at: start)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            out += String(Character(Unicode.Scalar(scalar)!)).utf8
        }

        mutating func hex4() throws(ImagePackError) -> UInt32 {
            guard position + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16),
                bytes[position..<position + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
            else { throw error("\\u must be followed by four hex digits") }
            position += 4
            return v
        }

        /// `key` with non-printable characters escaped, for error messages.
        static func printable(_ key: String) -> String { ImageMetadata.escapedForDisplay(key) }
    }
}

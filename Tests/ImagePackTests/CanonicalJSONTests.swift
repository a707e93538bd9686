import Foundation
import Testing
@testable import ImagePack

@Suite("Metadata JSON: the strict parser and the canonical writer (spec §5.2, §5.3)")
struct CanonicalJSONTests {
    /// The rule and code decoding `json` as a META document fails with; nil if it is accepted.
    func failure(_ json: String) -> String? {
        do {
            _ = try MetadataRecord.decodeBody(MetadataRecord.encodeBody(json: Array(json.utf8), schemaVersion: 1), at: 80, limits: .init())
            return nil
        } catch {
            return "\(error.rule ?? "-")/\(error.code)"
        }
    }

    func base() throws -> String { try InvalidSamples.jsonText() }

    @Test("the canonical writer gives the bytes Foundation's sorted JSONEncoder gave, for every string the schema allows")
    func writerMatchesFoundation() throws {
        var metadata = testMetadata()
        metadata.description = "tab\there, \"quotes\" \\ back/slash, é, 😀, \u{7F}-free, \u{200F}RTL mark"
        metadata.tags = ["b": "1", "B": "2", "a": "3", "k10": "x", "k9": "y", "é": "acute", "e\u{301}x": "combining", "_": "u"]
        metadata.region = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(try MetadataRecord.canonicalJSON(metadata) == Array(try encoder.encode(metadata)))
    }

    @Test("escapes: quote, backslash, the five short forms, \\u00xx in lowercase hex for other controls, nothing else")
    func escapes() {
        var out: [UInt8] = []
        CanonicalJSON.escape("\"\\/\u{08}\u{09}\u{0A}\u{0C}\u{0D}\u{01}\u{1F}\u{7F}é", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\"\\\"\\\\/\\b\\t\\n\\f\\r\\u0001\\u001f\u{7F}é\"")
    }

    @Test("a canonical document decodes and re-encodes to the same bytes; white space and key order are not required")
    func roundTrip() throws {
        let json = try base()
        let tree = try CanonicalJSON.parse(Array(json.utf8), base: 0)
        #expect(CanonicalJSON.encode(tree) == Array(json.utf8))
        #expect(failure(json) == nil)
        let spaced = json.replacingOccurrences(of: ",\"", with: " ,\n\t\"").replacingOccurrences(of: "\":", with: "\" : ")
        #expect(failure(spaced) == nil)
    }

    @Test("duplicate keys are refused at the top level, nested, and as two spellings of one Unicode key")
    func duplicates() throws {
        let json = try base()
        #expect(failure(json.replacingOccurrences(of: "\"region\":", with: "\"region\":\"x\",\"region\":")) == "V11/invalidMetadata")
        #expect(failure(json.replacingOccurrences(of: "\"family\":", with: "\"family\":\"bsd\",\"family\":")) == "V11/invalidMetadata")
        #expect(failure(json.replacingOccurrences(of: "\"env\":\"test\"", with: "\"\u{E9}\":\"1\",\"e\u{301}\":\"2\"")) == "V11/invalidMetadata")
        #expect(failure(json.replacingOccurrences(of: "\"env\":\"test\"", with: "\"env\":\"test\",\"Env\":\"x\"")) == nil)
    }

    @Test("integers only in canonical form; out of range breaks V12 whatever the size")
    func integers() throws {
        let json = try base()
        for bad in ["2.0", "2e0", "2E0", "-0", "02", "+2", "0x2", "2.", ".2"] {
            #expect(failure(json.replacingOccurrences(of: "\"vcpuCount\":2", with: "\"vcpuCount\":\(bad)")) == "V11/invalidMetadata", "\(bad)")
        }
        for big in ["5000", "9223372036854775808", "99999999999999999999", "-1"] {
            #expect(failure(json.replacingOccurrences(of: "\"vcpuCount\":2", with: "\"vcpuCount\":\(big)")) == "V12/invalidMetadata", "\(big)")
        }
        #expect(failure("{\"unknown\":-120," + json.dropFirst()) == nil)
    }

    @Test("nesting: 64 levels are read, 65 are refused")
    func nesting() throws {
        let json = try base()
        func nested(_ levels: Int) -> String {
            "{\"x\":" + String(repeating: "[", count: levels - 1) + String(repeating: "]", count: levels - 1) + "," + json.dropFirst()
        }
        #expect(failure(nested(64)) == nil)
        #expect(failure(nested(65)) == "V11/invalidMetadata")
    }

    @Test("BOM, lone and unpaired surrogates, raw control characters and bad escapes are refused; a surrogate pair is read")
    func strings() throws {
        let json = try base()
        #expect(failure("\u{FEFF}" + json) == "V11/invalidMetadata")
        for bad in [#"\ud800"#, #"\udc00"#, #"\ud800\u0041"#, #"\ud800x"#, "\u{01}", #"\x"#, #"\u12"#, #"\u+123"#] {
            #expect(failure(json.replacingOccurrences(of: "\"test-image\"", with: "\"test-image\(bad)\"")) == "V11/invalidMetadata", "\(bad)")
        }
        let pair = json.replacingOccurrences(of: "\"test-image\"", with: #""test-\ud83d\ude00""#)
        let tree = try CanonicalJSON.parse(Array(pair.utf8), base: 0)
        #expect(try ImageMetadata(json: tree).name == "test-😀")
        var invalidUTF8 = Array(json.utf8)
        invalidUTF8.insert(0xFF, at: invalidUTF8.count - 3)
        #expect(throws: ImagePackError(.invalidMetadata, "")) {
            try MetadataRecord.decodeBody(MetadataRecord.encodeBody(json: invalidUTF8, schemaVersion: 1), at: 80, limits: .init())
        }
    }

    @Test("invisible and direction characters are refused in names, tags and accounts, allowed in the description; controls nowhere")
    func characters() throws {
        var metadata = testMetadata()
        metadata.description = "\u{200F}שלום\u{202E}"
        try metadata.validate()
        for bad in ["\u{202E}", "\u{2066}", "\u{200B}", "\u{200D}", "\u{FEFF}", "\u{2028}", "\u{061C}", "\u{7F}", "\u{85}", "\u{1B}[31m"] {
            for field in ["name", "tag", "owner", "sharedWith", "os"] {
                var m = testMetadata()
                switch field {
                case "name": m.name += bad
                case "tag": m.tags["k" + bad] = "v"
                case "owner": m.ownerAccount! += bad
                case "sharedWith": m.sharedWith[0] += bad
                default: m.os.distribution! += bad
                }
                #expect(throws: ImagePackError(.invalidMetadata, "")) { try m.validate() }
            }
        }
        for control in ["\u{7F}", "\u{9B}", "\u{1B}"] {
            var m = testMetadata()
            m.description! += control
            #expect(throws: ImagePackError(.invalidMetadata, "")) { try m.validate() }
        }
    }

    @Test("which rule: missing keys, wrong types and unknown enumeration values break V11; bounds break V12")
    func rules() throws {
        let json = try base()
        #expect(failure(json.replacingOccurrences(of: "\"name\":\"test-image\",", with: "")) == "V11/invalidMetadata")
        #expect(failure(json.replacingOccurrences(of: "\"name\":\"test-image\"", with: "\"name\":7")) == "V11/invalidMetadata")
        #expect(failure(json.replacingOccurrences(of: "\"x86_64\"", with: "\"vax\"")) == "V11/invalidMetadata")
        #expect(failure(json.replacingOccurrences(of: "\"region\":\"eu-west-1\"", with: "\"region\":null")) == nil)
        #expect(failure(json.replacingOccurrences(of: "\"name\":\"test-image\"", with: "\"name\":\"\"")) == "V12/invalidMetadata")
        #expect(failure("[]") == "V11/invalidMetadata")
        #expect(failure(json + " {}") == "V11/invalidMetadata")
    }

    @Test("every truncation and every replacement of one byte by a JSON-significant byte is read or refused with V11 or V12")
    func mutationSweep() throws {
        let json = Array(try base().utf8)
        var outcomes: [String: Int] = [:]
        func decode(_ bytes: [UInt8]) {
            do {
                _ = try MetadataRecord.decodeBody(MetadataRecord.encodeBody(json: bytes, schemaVersion: 1), at: 80, limits: .init())
                outcomes["accepted", default: 0] += 1
            } catch {
                let outcome = "\(error.rule ?? "-")/\(error.code)"
                #expect(outcome == "V11/invalidMetadata" || outcome == "V12/invalidMetadata", "\(String(decoding: bytes, as: UTF8.self)): \(error)")
                #expect(error.offset.map { $0 >= 88 && $0 <= 88 + UInt64(bytes.count) } ?? false, "offset \(String(describing: error.offset))")
                outcomes[outcome, default: 0] += 1
            }
        }
        for end in 0..<json.count { decode(Array(json[0..<end])) }
        for i in json.indices {
            for byte in Array("{}[]\":,\\u0-.e ".utf8) + [0x00, 0x7F, 0xC3, 0xFF] where byte != json[i] {
                var mutated = json
                mutated[i] = byte
                decode(mutated)
            }
        }
        #expect(outcomes["V11/invalidMetadata", default: 0] > 0 && outcomes["V12/invalidMetadata", default: 0] > 0 && outcomes["accepted", default: 0] > 0)
    }

    @Test("display escaping shows control, format and separator characters as \\u{...} and leaves printable text alone")
    func display() {
        #expect(ImageMetadata.escapedForDisplay("prod-\u{202E}bd\u{1B}[2J\u{200B}é\\") == "prod-\\u{202E}bd\\u{1B}[2J\\u{200B}é\\\\")
        #expect(ImageMetadata.escapedForDisplay("web server 😀") == "web server 😀")
    }
}

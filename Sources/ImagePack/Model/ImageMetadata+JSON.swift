/// Between ``ImageMetadata`` and the JSON tree of the META document (spec §5.1).
///
/// Done by hand rather than through `Codable`: the tree comes from the strict parser (no
/// duplicate keys, integers as text), and which rule a bad value breaks is decided here, the same
/// for every reader: a missing key, a wrong JSON type or a string outside an enumeration breaks
/// V11; an integer outside its field's range, 64-bit range included, breaks V12.
extension ImageMetadata {
    /// The version 1 document (spec §5.1): instance facts and catalogue together, as format 1.0
    /// images store them. Absent optional fields are left out.
    var jsonValue: JSONValue { .object(instanceMembers(schemaVersion: 1) + catalogueMembers) }

    /// The version 2 document (spec §5.1, format 1.2): only what the launched instance is.
    var instanceJSONValue: JSONValue { .object(instanceMembers(schemaVersion: 2)) }

    private func instanceMembers(schemaVersion: Int) -> [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .integer(String(schemaVersion))),
            ("architecture", .string(architecture.rawValue)), ("bootMode", .string(bootMode.rawValue)),
            ("vcpuCount", .integer(String(vcpuCount))), ("memoryMiB", .integer(String(memoryMiB))),
            ("tags", .object(tags.map { ($0.key, JSONValue.string($0.value)) })),
        ]
        var osMembers: [(key: String, value: JSONValue)] = [("family", .string(os.family))]
        if let v = os.distribution { osMembers.append(("distribution", .string(v))) }
        if let v = os.version { osMembers.append(("version", .string(v))) }
        members.append(("os", .object(osMembers)))
        for (key, value) in [("createdAt", createdAt), ("sourceInstanceID", sourceInstanceID)] {
            if let value { members.append((key, .string(value))) }
        }
        return members
    }

    /// The catalogue fields (spec §5.4), which a version 1 META document holds too.
    var catalogueMembers: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)), ("visibility", .string(visibility.rawValue)),
            ("sharedWith", .array(sharedWith.map(JSONValue.string))),
        ]
        for (key, value) in [("description", description), ("region", region), ("ownerAccount", ownerAccount)] {
            if let value { members.append((key, .string(value))) }
        }
        return members
    }

    /// Reads the fields of schema version 1 from `json`; unknown keys are ignored (spec §5.1).
    /// `null` for an optional field means absent. Bounds are checked by ``validate()``.
    init(json: JSONValue) throws(ImagePackError) {
        let reader = FieldReader(path: "")
        self.init(name: try reader.string(json, "name"))
        try readInstance(json)
        try readCatalogue(json, reader: reader)
    }

    /// Reads the fields of META schema version 2 (format 1.2: instance facts only, spec §5.1). The
    /// catalogue fields keep neutral values until the CTLG record fills them; a document that holds
    /// one of them breaks V55, so that no reader takes a name or a share list from the digest-covered
    /// record while another takes it from the catalogue.
    init(instanceJSON json: JSONValue) throws(ImagePackError) {
        self.init(name: "")
        if case .object(let members) = json, let key = members.map(\.key).first(where: { Self.catalogueKeys.contains($0) }) {
            throw ImagePackError(.invalidMetadata, "the metadata (schema 2) holds the catalogue field \"\(key)\"; in a format 1.2 image it belongs in the CTLG record only", rule: .v55, field: key)
        }
        try readInstance(json)
    }

    /// The keys of the catalogue (spec §5.4).
    static let catalogueKeys: Set<String> = ["name", "description", "ownerAccount", "region", "visibility", "sharedWith"]

    /// Reads the catalogue fields from `json`, a version 1 META document or a CTLG document
    /// (whose reader names rules V53 and V54 rather than V11 and V12).
    mutating func readCatalogue(_ json: JSONValue, reader: FieldReader) throws(ImagePackError) {
        name = try reader.string(json, "name")
        description = try reader.optionalString(json, "description")
        region = try reader.optionalString(json, "region")
        ownerAccount = try reader.optionalString(json, "ownerAccount")
        visibility = try reader.enumeration(json, "visibility")
        guard case .array(let accounts)? = json["sharedWith"] else {
            throw json["sharedWith"] == nil ? reader.missing("sharedWith") : reader.wrongType("sharedWith", "an array of strings")
        }
        sharedWith = []
        for account in accounts {
            guard case .string(let s) = account else { throw reader.wrongType("sharedWith", "an array of strings") }
            sharedWith.append(s)
        }
    }

    private mutating func readInstance(_ json: JSONValue) throws(ImagePackError) {
        let reader = FieldReader(path: "")
        schemaVersion = try reader.integer(json, "schemaVersion")
        guard let osValue = json["os"] else { throw reader.missing("os") }
        let osReader = FieldReader(path: "os.")
        os = OperatingSystem(
            family: try osReader.string(osValue, "family"), distribution: try osReader.optionalString(osValue, "distribution"),
            version: try osReader.optionalString(osValue, "version"))
        architecture = try reader.enumeration(json, "architecture")
        bootMode = try reader.enumeration(json, "bootMode")
        vcpuCount = try reader.integer(json, "vcpuCount")
        memoryMiB = try reader.integer(json, "memoryMiB")
        createdAt = try reader.optionalString(json, "createdAt")
        sourceInstanceID = try reader.optionalString(json, "sourceInstanceID")
        guard case .object(let members)? = json["tags"] else {
            throw json["tags"] == nil ? reader.missing("tags") : reader.wrongType("tags", "an object of strings")
        }
        tags = [:]
        for (key, value) in members {
            guard case .string(let s) = value else { throw reader.wrongType("tags.\(Self.escapedForDisplay(key))", "a string") }
            // The parser refuses equal keys, canonically equivalent ones included, so none is lost here.
            tags[key] = s
        }
    }

    /// Reads typed fields of one object, naming them by their dotted path in errors.
    struct FieldReader {
        let path: String
        /// The rule a missing key, a wrong type or an unknown enumerated value breaks (V11; V53 in a catalogue).
        var typeRule: Rule = .v11
        /// The rule a value out of bounds breaks (V12; V54 in a catalogue).
        var boundsRule: Rule = .v12
        var what = "metadata"

        func missing(_ key: String) -> ImagePackError {
            ImagePackError(.invalidMetadata, "\(what) lacks the required field \"\(path + key)\"", rule: typeRule, field: path + key)
        }
        func wrongType(_ key: String, _ expected: String) -> ImagePackError {
            ImagePackError(.invalidMetadata, "\(what) field \"\(path + key)\" has the wrong type (expected \(expected))", rule: typeRule, field: path + key)
        }
        func value(_ object: JSONValue, _ key: String) throws(ImagePackError) -> JSONValue {
            guard case .object = object else { throw wrongType(String(path.dropLast()), "an object") }
            guard let v = object[key] else { throw missing(key) }
            return v
        }
        func string(_ object: JSONValue, _ key: String) throws(ImagePackError) -> String {
            guard case .string(let s) = try value(object, key) else { throw wrongType(key, "a string") }
            return s
        }
        func optionalString(_ object: JSONValue, _ key: String) throws(ImagePackError) -> String? {
            guard case .object = object else { throw wrongType(String(path.dropLast()), "an object") }
            switch object[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw wrongType(key, "a string")
            }
        }
        func integer(_ object: JSONValue, _ key: String) throws(ImagePackError) -> Int {
            guard case .integer(let text) = try value(object, key) else { throw wrongType(key, "an integer") }
            guard let n = Int(text) else {
                throw ImagePackError(.invalidMetadata, "\(what) field \"\(path + key)\" is \(text), outside the range of the field", rule: boundsRule, field: path + key)
            }
            return n
        }
        func enumeration<E: RawRepresentable & CaseIterable>(_ object: JSONValue, _ key: String) throws(ImagePackError) -> E where E.RawValue == String {
            let s = try string(object, key)
            guard let v = E(rawValue: s) else {
                let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw ImagePackError(.invalidMetadata, "\(what) field \"\(path + key)\" is \"\(ImageMetadata.escapedForDisplay(s))\", not one of \(allowed)", rule: typeRule, field: path + key)
            }
            return v
        }
    }
}

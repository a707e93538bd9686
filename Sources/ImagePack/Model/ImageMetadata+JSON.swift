/// Between ``ImageMetadata`` and the JSON tree of the META document (spec §5.1).
///
/// Done by hand rather than through `Codable`: the tree comes from the strict parser (no
/// duplicate keys, integers as text), and which rule a bad value breaks is decided here, the same
/// for every reader: a missing key, a wrong JSON type or a string outside an enumeration breaks
/// V11; an integer outside its field's range, 64-bit range included, breaks V12.
extension ImageMetadata {
    /// The document the writer stores: absent optional fields are left out.
    var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("schemaVersion", .integer(String(schemaVersion))), ("name", .string(name)),
            ("architecture", .string(architecture.rawValue)), ("bootMode", .string(bootMode.rawValue)),
            ("vcpuCount", .integer(String(vcpuCount))), ("memoryMiB", .integer(String(memoryMiB))),
            ("visibility", .string(visibility.rawValue)), ("sharedWith", .array(sharedWith.map(JSONValue.string))),
            ("tags", .object(tags.map { ($0.key, JSONValue.string($0.value)) })),
        ]
        var osMembers: [(key: String, value: JSONValue)] = [("family", .string(os.family))]
        if let v = os.distribution { osMembers.append(("distribution", .string(v))) }
        if let v = os.version { osMembers.append(("version", .string(v))) }
        members.append(("os", .object(osMembers)))
        for (key, value) in [("description", description), ("createdAt", createdAt), ("sourceInstanceID", sourceInstanceID), ("region", region), ("ownerAccount", ownerAccount)] {
            if let value { members.append((key, .string(value))) }
        }
        return .object(members)
    }

    /// Reads the fields of schema version 1 from `json`; unknown keys are ignored (spec §5.1).
    /// `null` for an optional field means absent. Bounds are checked by ``validate()``.
    init(json: JSONValue) throws(ImagePackError) {
        let reader = FieldReader(path: "")
        self.init(name: try reader.string(json, "name"))
        schemaVersion = try reader.integer(json, "schemaVersion")
        description = try reader.optionalString(json, "description")
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
    private struct FieldReader {
        let path: String

        func missing(_ key: String) -> ImagePackError {
            ImagePackError(.invalidMetadata, "metadata lacks the required field \"\(path + key)\"", rule: "V11", field: path + key)
        }
        func wrongType(_ key: String, _ expected: String) -> ImagePackError {
            ImagePackError(.invalidMetadata, "metadata field \"\(path + key)\" has the wrong type (expected \(expected))", rule: "V11", field: path + key)
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
                throw ImagePackError(.invalidMetadata, "metadata field \"\(path + key)\" is \(text), outside the range of the field", rule: "V12", field: path + key)
            }
            return n
        }
        func enumeration<E: RawRepresentable & CaseIterable>(_ object: JSONValue, _ key: String) throws(ImagePackError) -> E where E.RawValue == String {
            let s = try string(object, key)
            guard let v = E(rawValue: s) else {
                let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw ImagePackError(.invalidMetadata, "metadata field \"\(path + key)\" is \"\(ImageMetadata.escapedForDisplay(s))\", not one of \(allowed)", rule: "V11", field: path + key)
            }
            return v
        }
    }
}

import ArgumentParser
import Foundation

/// A size on the command line: `65536`, `64K`, `4M`, `4MiB`, `1.5G`.
///
/// Every unit is binary (K = 1024, M = 1024², G = 1024³, T = 1024⁴); `B`, `iB` and the case of
/// the letters are optional, so `4M`, `4m`, `4MB` and `4MiB` all mean 4,194,304 bytes.
struct ByteCount: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    var bytes: UInt64

    init(_ bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        guard let value = Self.parse(argument) else { return nil }
        bytes = value
    }

    var description: String { String(bytes) }
    var defaultValueDescription: String { Self.format(bytes) }

    /// Parses a size as described on the type; nil if malformed or over 2⁶⁴ - 1.
    static func parse(_ text: String) -> UInt64? {
        let scalars = Array(text.unicodeScalars)
        var split = 0
        while split < scalars.count, ("0"..."9").contains(scalars[split]) || scalars[split] == "." { split += 1 }
        let number = String(String.UnicodeScalarView(scalars[..<split]))
        var unit = String(String.UnicodeScalarView(scalars[split...])).lowercased()
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number.first != ".", number.last != "." else { return nil }
        if unit.hasSuffix("ib") { unit.removeLast(2) } else if unit.hasSuffix("b") { unit.removeLast() }
        let shift: UInt64
        switch unit {
        case "": shift = 0
        case "k": shift = 10
        case "m": shift = 20
        case "g": shift = 30
        case "t": shift = 40
        default: return nil
        }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = UInt64(parts[0]) else { return nil }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { return nil }
        guard parts.count == 2 else { return scaled }
        // A fraction, exact to the byte (rounded down): "1.5G".
        var fraction: UInt64 = 0
        var denominator: UInt64 = 1
        for digit in parts[1].prefix(6) {
            fraction = fraction * 10 + UInt64(digit.wholeNumberValue!)
            denominator *= 10
        }
        let (extra, overflow2) = (fraction << shift).quotientAndRemainder(dividingBy: denominator).quotient.addingReportingOverflow(scaled)
        return overflow2 ? nil : extra
    }

    /// `1.5 GiB`, `512 MiB`, `300 B`.
    static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
    }

    /// `251.3 MiB/s`.
    static func formatRate(bytes: UInt64, seconds: Double) -> String {
        guard seconds > 0 else { return "-" }
        return format(UInt64(Double(bytes) / seconds)) + "/s"
    }
}

/// `3.82`: a number with `digits` decimals, for text output.
func decimal(_ value: Double, digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

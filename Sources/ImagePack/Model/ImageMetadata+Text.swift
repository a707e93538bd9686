/// Which characters metadata strings may hold (spec §5.1, rule V12) and how to show them safely.
///
/// A metadata string reaches terminals, web consoles and logs. Control characters can move the
/// cursor or retitle a terminal; bidirectional overrides and isolates reorder what is displayed
/// (a name that reads "prod-db" can be stored as something else); zero-width characters make two
/// different names look alike. None of these has a meaning in a name, tag or account id.
extension ImageMetadata {
    /// Characters no metadata string may hold: C0 controls other than TAB, DEL and the C1 controls.
    static func isForbiddenControl(_ s: Unicode.Scalar) -> Bool {
        (s.value < 0x20 && s != "\t") || (0x7F...0x9F).contains(s.value)
    }

    /// Invisible and direction-changing characters, refused in identifier-like values (names,
    /// OS fields, ids, regions, accounts, tags): U+061C, U+200B–U+200F, U+2028–U+202E,
    /// U+2060–U+206F and U+FEFF. Free text (`description`) may hold them: right-to-left text
    /// legitimately uses marks such as U+200F.
    static func isInvisibleFormat(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0xFEFF: true
        default: false
        }
    }

    /// `text` made safe to print on a terminal: control, format and line or paragraph separator
    /// characters (general categories Cc, Cf, Zl, Zp) become `\u{XXXX}`, and a backslash becomes
    /// `\\`, so what is printed shows exactly what is stored and cannot move the cursor or
    /// reorder the line. Printable text, non-ASCII included, is left as it is.
    public static func escapedForDisplay(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default:
                if scalar == "\\" { out += "\\\\" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}

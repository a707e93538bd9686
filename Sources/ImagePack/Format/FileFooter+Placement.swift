/// Where a footer puts the index and the signature region, checked once for every reader
/// (rules V42 and V44).
///
/// The random-access reader and the validator check a footer against the file it ends; the
/// streaming reader checks it against the input it has just read. All three call ``check(at:fileLength:)``
/// so a given footer breaks the same rule for each of them, and ``FooterPlacement/problems``
/// lists the problems in the order the readers throw them (the first) and the validator reports
/// them (all).
struct FooterPlacement {
    /// Everything wrong with the footer's lengths and offsets, in a fixed order.
    var problems: [ImagePackError] = []
    /// The index record's location, when the footer gives a consistent one.
    var index: (offset: UInt64, length: UInt64)?
    /// The signature region, when the footer gives one that is consistent and within the limit;
    /// nil when there are no signatures or the region is unusable.
    var signatures: (offset: UInt64, length: UInt64)?
    /// The CTLG record's location (format 1.2), when the footer gives one inside the tail area.
    var catalogue: (offset: UInt64, length: UInt64)?
}

extension FileFooter {
    /// Most bytes of signature records a reader accepts between index and footer (spec §10).
    static let maxSignatureBytes = 1 << 20
    /// Most bytes between the index and the footer of a 1.2 image (spec §9.4, §10): room for two
    /// states of the largest catalogue and signature region, and alignment.
    static let maxTailArea: UInt64 = 8 << 20

    /// Checks the footer found at `footerOffset` of an image of `fileLength` bytes: the recorded
    /// file length (V42), the signature region (V42 for an offset of 0 with a length, V44 over
    /// the limit) and that index and signatures end exactly where the footer begins (V42); for an
    /// image with the `catalogue` feature the index ends where the tail area begins, and the
    /// catalogue and the signatures lie in it (V51, spec §9.4).
    func check(at footerOffset: UInt64, fileLength: UInt64, catalogue: Bool) -> FooterPlacement {
        var placement = FooterPlacement()
        if self.fileLength != fileLength {
            let appended = self.fileLength < fileLength
            placement.problems.append(ImagePackError(
                appended ? .trailingData : .truncated,
                "the footer says the image is \(self.fileLength) bytes but the file is \(fileLength): it \(appended ? "has \(fileLength - self.fileLength) bytes appended after its end" : "was cut off")",
                rule: .v42, offset: footerOffset + 32, field: "fileLength"))
        }
        if !catalogue, catalogueOffset != 0 || catalogueLength != 0 {
            placement.problems.append(ImagePackError(
                .reservedFieldNotZero,
                "the footer's bytes 72-83 are reserved (zero) in an image without the 'catalogue' feature, but hold a catalogue location (\(catalogueOffset), \(catalogueLength) bytes)",
                rule: .v6, offset: footerOffset + 72, field: "reserved"))
        }
        // An offset of 0 means "no signatures" (0 is the header's place), so a length with it is a
        // contradiction, not signatures at offset 0.
        let signed = signaturesOffset != 0
        if !signed, signaturesLength != 0 {
            placement.problems.append(ImagePackError(
                .malformedField, "the footer gives \(signaturesLength) bytes of signatures but no signature offset",
                rule: .v42, offset: footerOffset + 24, field: "signaturesLength"))
        }
        // And an offset with no length names an empty region: signatures are present iff both are set.
        if signed, signaturesLength == 0 {
            placement.problems.append(ImagePackError(
                .malformedField, "the footer gives a signature offset (\(signaturesOffset)) but no signature bytes; with no signatures both fields are 0",
                rule: .v42, offset: footerOffset + 16, field: "signaturesOffset"))
        }
        let (computedEnd, overflow) = indexOffset.addingReportingOverflow(indexLength)
        if catalogue {
            guard !overflow, indexOffset >= UInt64(Layout.headerSize), computedEnd <= footerOffset else {
                placement.problems.append(ImagePackError(
                    .malformedField, "the footer's index location (\(indexOffset), \(indexLength) bytes) does not end before the footer (\(footerOffset))",
                    rule: .v42, offset: footerOffset, field: "indexOffset"))
                return placement
            }
            placement.index = (indexOffset, indexLength)
            checkTailArea(start: computedEnd, footerOffset: footerOffset, signed: signed, into: &placement)
            return placement
        }
        let indexEnd = signed ? signaturesOffset : footerOffset
        guard !overflow, indexOffset >= UInt64(Layout.headerSize), computedEnd == indexEnd,
            !signed || signaturesOffset.addingReportingOverflow(signaturesLength) == (footerOffset, false)
        else {
            placement.problems.append(ImagePackError(
                .malformedField,
                "the footer's index location (\(indexOffset), \(indexLength) bytes) and signature region (\(signaturesOffset), \(signaturesLength) bytes) do not end where the footer begins (\(footerOffset))",
                rule: .v42, offset: footerOffset, field: "indexOffset"))
            return placement
        }
        placement.index = (indexOffset, indexLength)
        guard signed else { return placement }
        guard signaturesLength <= UInt64(Self.maxSignatureBytes) else {
            placement.problems.append(ImagePackError(
                .limitExceeded, "the signature region is \(signaturesLength) bytes, over the limit of \(Self.maxSignatureBytes)",
                rule: .v44, offset: footerOffset + 24, field: "signaturesLength"))
            return placement
        }
        placement.signatures = (signaturesOffset, signaturesLength)
        return placement
    }

    /// The tail area of a 1.2 image, from the end of the index (`start`) to the footer (spec §9.4,
    /// V51): at most ``maxTailArea`` bytes; the CTLG record inside it, and the signature records,
    /// if any, right after the CTLG record and inside it too. The rest of the tail area is free
    /// space, which no reader interprets.
    private func checkTailArea(start: UInt64, footerOffset: UInt64, signed: Bool, into placement: inout FooterPlacement) {
        guard footerOffset - start <= Self.maxTailArea else {
            placement.problems.append(ImagePackError(
                .limitExceeded, "the tail area between the index and the footer is \(footerOffset - start) bytes, over the limit of \(Self.maxTailArea)",
                rule: .v51, offset: start))
            return
        }
        let catalogueEnd = catalogueOffset.addingReportingOverflow(UInt64(catalogueLength))
        guard catalogueOffset >= start, catalogueLength >= UInt32(Layout.envelopeSize), !catalogueEnd.overflow, catalogueEnd.partialValue <= footerOffset else {
            placement.problems.append(ImagePackError(
                .malformedField,
                "the footer places the catalogue at \(catalogueOffset) (\(catalogueLength) bytes), not inside the tail area \(start)..<\(footerOffset) between the index and the footer",
                rule: .v51, offset: footerOffset + 72, field: "catalogueOffset"))
            return
        }
        placement.catalogue = (catalogueOffset, UInt64(catalogueLength))
        guard signed, signaturesLength != 0 else { return }
        let signaturesEnd = signaturesOffset.addingReportingOverflow(signaturesLength)
        guard signaturesOffset == catalogueEnd.partialValue, !signaturesEnd.overflow, signaturesEnd.partialValue <= footerOffset else {
            placement.problems.append(ImagePackError(
                .malformedField,
                "the footer places the signatures at \(signaturesOffset) (\(signaturesLength) bytes); in a 1.2 image they follow the catalogue record (ending at \(catalogueEnd.partialValue)) inside the tail area, which ends at \(footerOffset)",
                rule: .v51, offset: footerOffset + 16, field: "signaturesOffset"))
            return
        }
        guard signaturesLength <= UInt64(Self.maxSignatureBytes) else {
            placement.problems.append(ImagePackError(
                .limitExceeded, "the signature region is \(signaturesLength) bytes, over the limit of \(Self.maxSignatureBytes)",
                rule: .v44, offset: footerOffset + 24, field: "signaturesLength"))
            return
        }
        placement.signatures = (signaturesOffset, signaturesLength)
    }
}

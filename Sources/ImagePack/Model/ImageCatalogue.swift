/// Where and to whom an image is offered: its catalogue (spec §5.4).
///
/// In a format 1.2 image these fields live in the CTLG record, outside the root digest, so that
/// renaming an image, sharing it with one more account or copying it to another region leaves
/// what it is — its root digest — and every signature over it unchanged. In a format 1.0 image
/// they are part of the META document and so of the root digest.
public struct ImageCatalogue: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var ownerAccount: String?
    public var region: String?
    public var visibility: ImageMetadata.Visibility
    /// Accounts the image is shared with (only with visibility `shared`).
    public var sharedWith: [String]

    public init(
        name: String, description: String? = nil, ownerAccount: String? = nil, region: String? = nil,
        visibility: ImageMetadata.Visibility = .custom, sharedWith: [String] = []
    ) {
        self.name = name
        self.description = description
        self.ownerAccount = ownerAccount
        self.region = region
        self.visibility = visibility
        self.sharedWith = sharedWith
    }
}

extension ImageMetadata {
    /// The catalogue fields of this metadata (spec §5.4).
    public var catalogue: ImageCatalogue {
        get {
            ImageCatalogue(name: name, description: description, ownerAccount: ownerAccount, region: region, visibility: visibility, sharedWith: sharedWith)
        }
        set {
            name = newValue.name
            description = newValue.description
            ownerAccount = newValue.ownerAccount
            region = newValue.region
            visibility = newValue.visibility
            sharedWith = newValue.sharedWith
        }
    }
}

/// Numbers of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md), big-endian on the wire.
///
/// Only what the server speaks is named here: the fixed newstyle handshake, structured replies,
/// the `base:allocation` metadata context and the commands of a (possibly writable) disk.
enum NBDProtocol {
    // MARK: Handshake

    /// "NBDMAGIC", the first 8 bytes the server sends.
    static let initialMagic: UInt64 = 0x4e42_444d_4147_4943
    /// "IHAVEOPT": follows the initial magic, and starts every option the client sends.
    static let optionMagic: UInt64 = 0x4948_4156_454f_5054
    /// Starts every option reply.
    static let optionReplyMagic: UInt64 = 0x0003_e889_0455_65a9

    /// Handshake flags (server → client, 16 bits).
    static let flagFixedNewstyle: UInt16 = 1 << 0
    static let flagNoZeroes: UInt16 = 1 << 1
    /// Client flags (client → server, 32 bits): the same two bits; any other bit is a reason to hang up.
    static let clientFlagFixedNewstyle: UInt32 = 1 << 0
    static let clientFlagNoZeroes: UInt32 = 1 << 1

    /// Options.
    enum Option: UInt32 {
        case exportName = 1
        case abort = 2
        case list = 3
        case startTLS = 5
        case info = 6
        case go = 7
        case structuredReply = 8
        case listMetaContext = 9
        case setMetaContext = 10
    }

    /// Option reply types; errors have bit 31 set.
    enum OptionReply: UInt32 {
        case ack = 1
        case server = 2
        case info = 3
        case metaContext = 4
        case errorUnsupported = 0x8000_0001
        case errorPolicy = 0x8000_0002
        case errorInvalid = 0x8000_0003
        case errorUnknown = 0x8000_0006
        case errorTooBig = 0x8000_0009
    }

    /// Information types in NBD_REP_INFO.
    static let infoExport: UInt16 = 0
    static let infoName: UInt16 = 1
    static let infoDescription: UInt16 = 2
    static let infoBlockSize: UInt16 = 3

    // MARK: Transmission

    static let requestMagic: UInt32 = 0x2560_9513
    static let simpleReplyMagic: UInt32 = 0x6744_6698
    static let structuredReplyMagic: UInt32 = 0x668e_33ef

    /// Transmission flags (per export, 16 bits).
    static let flagHasFlags: UInt16 = 1 << 0
    static let flagReadOnly: UInt16 = 1 << 1
    static let flagSendFlush: UInt16 = 1 << 2
    static let flagSendFUA: UInt16 = 1 << 3
    static let flagSendTrim: UInt16 = 1 << 5
    static let flagSendWriteZeroes: UInt16 = 1 << 6
    static let flagSendDF: UInt16 = 1 << 7
    static let flagCanMultiConn: UInt16 = 1 << 8

    enum Command: UInt16 {
        case read = 0
        case write = 1
        case disconnect = 2
        case flush = 3
        case trim = 4
        case cache = 5
        case writeZeroes = 6
        case blockStatus = 7
    }

    /// Command flags.
    static let commandFlagFUA: UInt16 = 1 << 0
    static let commandFlagNoHole: UInt16 = 1 << 1
    static let commandFlagDF: UInt16 = 1 << 2
    static let commandFlagReqOne: UInt16 = 1 << 3
    static let commandFlagFastZero: UInt16 = 1 << 4

    /// Structured reply chunk types and flags.
    static let replyFlagDone: UInt16 = 1 << 0
    static let replyTypeNone: UInt16 = 0
    static let replyTypeOffsetData: UInt16 = 1
    static let replyTypeOffsetHole: UInt16 = 2
    static let replyTypeBlockStatus: UInt16 = 5
    static let replyTypeError: UInt16 = 0x8001
    static let replyTypeErrorOffset: UInt16 = 0x8002

    /// `base:allocation` states.
    static let stateHole: UInt32 = 1 << 0
    static let stateZero: UInt32 = 1 << 1
    static let baseAllocation = "base:allocation"
    /// The id the server hands out for `base:allocation` (any number the server picks).
    static let baseAllocationID: UInt32 = 1

    /// The largest payload of one request or reply: the spec's recommended maximum, and what
    /// `NBD_INFO_BLOCK_SIZE` advertises; longer reads get EOVERFLOW (structured) or EINVAL.
    static let maxPayload = 32 << 20
    /// The preferred block size NBD_INFO_BLOCK_SIZE advertises: the overlay's block, and the unit
    /// in which the chunk cache remembers what clients read (``ReadBlocks``).
    static let preferredBlockSize = 4096
    /// The largest option the server reads; options carry names and queries, never data.
    static let maxOptionLength = 64 << 10
}

/// The error values NBD puts on the wire (Linux numbering, whatever the host's errno says).
enum NBDErrno: UInt32, Sendable {
    case permission = 1
    case io = 5
    case noMemory = 12
    case invalid = 22
    case noSpace = 28
    case overflow = 75
    case notSupported = 95
    case shutdown = 108
}

// Which of Redis Cluster's 16384 hash slots a key lives in: CRC16 (XMODEM) of the key, or of its {hash tag}.
public enum RedisKeySlot {
    public static let count = 16384

    public static func slot(for key: String) -> Int {
        slot(for: Array(key.utf8))
    }

    /// Only the part between the first `{` and the next `}` is hashed, when it is not empty, so that keys sharing
    /// a tag (`{user1000}.following`, `{user1000}.followers`) land on one node and can be used together.
    public static func slot<Key: Collection>(for key: Key) -> Int where Key.Element == UInt8 {
        Int(crc16(hashedPart(of: key)) % UInt16(count))
    }

    static func hashedPart<Key: Collection>(of key: Key) -> Key.SubSequence where Key.Element == UInt8 {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else { return key[...] }
        return key[afterOpen..<close]
    }

    /// CRC16-CCITT as XMODEM computes it: polynomial 0x1021, initial value 0, no reflection, no final XOR.
    static func crc16<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ crcTable[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let crcTable: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}

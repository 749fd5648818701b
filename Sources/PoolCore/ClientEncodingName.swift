// The name PostgreSQL reports for a client_encoding a client asked for under any of its accepted spellings.

public enum ClientEncodingName {
    /// Each encoding's reported name with the spellings PostgreSQL accepts for it, written as PostgreSQL compares them:
    /// lower case, letters and digits only. Checked against PostgreSQL 15's pg_char_to_encoding.
    static let spellings: [String: [String]] = [
        "SQL_ASCII": ["sqlascii"],
        "EUC_JP": ["eucjp"], "EUC_CN": ["euccn"], "EUC_KR": ["euckr"], "EUC_TW": ["euctw"],
        "EUC_JIS_2004": ["eucjis2004"],
        "UTF8": ["utf8", "unicode"],
        "MULE_INTERNAL": ["muleinternal"],
        "LATIN1": ["latin1", "iso88591"], "LATIN2": ["latin2", "iso88592"], "LATIN3": ["latin3", "iso88593"],
        "LATIN4": ["latin4", "iso88594"], "LATIN5": ["latin5", "iso88599"], "LATIN6": ["latin6", "iso885910"],
        "LATIN7": ["latin7", "iso885913"], "LATIN8": ["latin8", "iso885914"], "LATIN9": ["latin9", "iso885915"],
        "LATIN10": ["latin10", "iso885916"],
        "ISO_8859_5": ["iso88595"], "ISO_8859_6": ["iso88596"], "ISO_8859_7": ["iso88597"], "ISO_8859_8": ["iso88598"],
        "WIN866": ["win866", "windows866", "alt"], "WIN874": ["win874", "windows874"],
        "WIN1250": ["win1250", "windows1250"], "WIN1251": ["win1251", "windows1251", "win"],
        "WIN1252": ["win1252", "windows1252"], "WIN1253": ["win1253", "windows1253"], "WIN1254": ["win1254", "windows1254"],
        "WIN1255": ["win1255", "windows1255"], "WIN1256": ["win1256", "windows1256"], "WIN1257": ["win1257", "windows1257"],
        "WIN1258": ["win1258", "windows1258", "abc", "tcvn", "tcvn5712", "vscii"],
        "KOI8R": ["koi8r", "koi8"], "KOI8U": ["koi8u"],
        "SJIS": ["sjis", "shiftjis", "mskanji", "win932", "windows932"], "SHIFT_JIS_2004": ["shiftjis2004"],
        "BIG5": ["big5", "win950", "windows950"], "GBK": ["gbk", "win936", "windows936"],
        "UHC": ["uhc", "win949", "windows949"], "GB18030": ["gb18030"], "JOHAB": ["johab"],
    ]

    static let byCleanName: [String: String] = {
        var out: [String: String] = [:]
        for (name, cleaned) in spellings {
            for c in cleaned { out[c] = name }
        }
        return out
    }()

    /// PostgreSQL refuses names this long before looking them up (NAMEDATALEN).
    static let maxLength = 63

    /// What PostgreSQL reports back for `value`, or nil for a name it does not accept. "UNICODE" written exactly so is
    /// reported as given, which old clients rely on.
    public static func reported(_ value: String) -> String? {
        guard value.utf8.count <= maxLength else { return nil }
        if value == "UNICODE" { return value }
        let cleaned = String(decoding: value.utf8.compactMap { b -> UInt8? in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): b
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): b + 32
            default: nil
            }
        }, as: UTF8.self)
        return byCleanName[cleaned]
    }
}

// A console table: typed columns as PgBouncer declares them, and rows of text cells or NULL.

/// Column types PgBouncer's console uses (text, int4, int8, numeric), by OID.
public enum AdminType: UInt32, Sendable {
    case text = 25
    case int4 = 23
    case int8 = 20
    case numeric = 1700

    public var size: Int16 {
        switch self {
        case .int4: 4
        case .int8: 8
        case .text, .numeric: -1
        }
    }
}

public struct AdminTable: Sendable {
    public var columns: [(name: String, type: AdminType)]
    public var rows: [[String?]] = []

    public init(_ columns: [(String, AdminType)]) {
        self.columns = columns.map { (name: $0.0, type: $0.1) }
    }

    public mutating func add(_ values: [AdminValue]) {
        rows.append(values.map(\.text))
    }
}

/// One cell: anything the console prints, or NULL.
public enum AdminValue: Sendable {
    case text(String)
    case int(Int)
    case null

    public var text: String? {
        switch self {
        case .text(let s): s
        case .int(let n): String(n)
        case .null: nil
        }
    }
}

extension AdminValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
}

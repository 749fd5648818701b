// A list holding its first element inline: the pool's usual zero or one action per event allocates nothing.

/// Built by `append` only, so two lists with the same elements are laid out alike and compare equal.
public struct SmallList<Element>: RandomAccessCollection, ExpressibleByArrayLiteral {
    private var head: Element?
    private var tail: [Element] = []

    public init() {}

    public init(_ element: Element) {
        head = element
    }

    /// For tests and rare paths: a literal passes its elements through an array.
    public init(arrayLiteral elements: Element...) {
        for element in elements { append(element) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { head == nil ? 0 : 1 + tail.count }

    public subscript(position: Int) -> Element {
        position == 0 ? head! : tail[position - 1]
    }

    public mutating func append(_ element: Element) {
        if head == nil { head = element } else { tail.append(element) }
    }

    public mutating func append(contentsOf elements: some Sequence<Element>) {
        for element in elements { append(element) }
    }
}

extension SmallList: Equatable where Element: Equatable {}
extension SmallList: Sendable where Element: Sendable {}

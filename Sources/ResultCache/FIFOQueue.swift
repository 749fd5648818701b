// A first-in first-out queue over an array: appends at the back, takes from the front, and gives the taken slots
// back in batches, so each operation costs O(1) amortised with no node allocated per element.
struct FIFOQueue<Element: Sendable>: Sendable {
    private var items: [Element] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }

    mutating func push(_ element: Element) {
        items.append(element)
    }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        // Taken slots are dropped once they are half the array: the copy is paid for by the pops that made them.
        if head >= 64, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func removeAll() {
        items.removeAll()
        head = 0
    }
}

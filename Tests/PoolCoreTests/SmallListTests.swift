// SmallList: the pool's action list, first element inline.
import PoolCore
import Testing

@Suite("SmallList")
struct SmallListTests {
    @Test("appending keeps order, and a list built by appends equals the literal of the same elements")
    func order() {
        var list = SmallList<Int>()
        #expect(list.isEmpty && list.count == 0)
        #expect(list == [])
        list.append(7)
        #expect(list == SmallList(7) && list.count == 1 && list[0] == 7)
        list.append(contentsOf: [8, 9])
        #expect(list == [7, 8, 9])
        #expect(Array(list) == [7, 8, 9])
        #expect(list.map { $0 * 2 } == [14, 16, 18])
        #expect(list != [7, 9, 8])
        #expect(list != [7, 8])
    }
}

// The heap bytes malloc reserved for one object, for SHOW MEM.
import Foundation

enum HeapSize {
    static func of(_ object: AnyObject) -> Int {
        let pointer = Unmanaged.passUnretained(object).toOpaque()
        #if os(Linux)
        return usableSize(pointer)
        #else
        return Int(malloc_size(pointer))
        #endif
    }
}

#if os(Linux)
/// glibc's malloc_usable_size (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("malloc_usable_size")
private func usableSize(_ pointer: UnsafeMutableRawPointer) -> Int
#endif

// %include in config files: relative paths from the working directory (as PgBouncer), errors at the %include line, include loops.
import Foundation
import Testing

@testable import Config

// Serialized because one test changes the process's working directory.
@Suite("ConfigLoader: %include", .serialized)
struct ConfigIncludeTests {
    @Test("a relative %include is taken from the working directory, as PgBouncer does, nested, with the section carried over")
    func relativeInclude() throws {
        let dir = try TempDir()
        let main = try dir.write("conf/main.ini", """
            [pgbouncer]
            listen_port = 7000
            %include sub/extra.ini
            max_client_conn = 43
            """)
        try dir.write("conf/sub/extra.ini", """
            ; keys here belong to the section open in main.ini
            auth_type = trust
            %include sub/more.ini
            """)
        try dir.write("conf/sub/more.ini", "default_pool_size = 7\nmax_client_conn = 42\n")
        // Where a resolution relative to the including file would look instead: must not be read.
        try dir.write("conf/sub/sub/more.ini", "default_pool_size = 99\n")
        let fm = FileManager.default
        let saved = fm.currentDirectoryPath
        #expect(fm.changeCurrentDirectoryPath(dir.path + "/conf"))
        defer { _ = fm.changeCurrentDirectoryPath(saved) }

        let c = try loadValid(main)
        #expect(c.int("listen_port") == 7000)
        #expect(c.string("auth_type") == "trust")
        #expect(c.int("default_pool_size") == 7)
        // A later line of the including file wins over the included one.
        #expect(c.int("max_client_conn") == 43)
        #expect(c.settings["auth_type"]?.source == .file("sub/extra.ini", line: 2))
        #expect(c.settings["default_pool_size"]?.source == .file("sub/more.ini", line: 1))
        #expect(c.settings["max_client_conn"]?.source == .file(main, line: 4))
    }

    @Test("an absolute %include path is used as it is")
    func absoluteInclude() throws {
        let dir = try TempDir()
        let other = try TempDir()
        let inc = try other.write("abs.ini", "auth_type = trust\n")
        let main = try dir.write("main.ini", "[pgswift]\n%include \(inc)\n")
        let c = try loadValid(main)
        #expect(c.settings["auth_type"]?.source == .file(inc, line: 1))
    }

    @Test("a relative %include in a file named without a directory resolves against the working directory")
    func includeFromBareFileName() throws {
        let dir = try TempDir()
        try dir.write("main.ini", "[pgbouncer]\n%include extra.ini\n")
        try dir.write("extra.ini", "auth_type = trust\n")
        let fm = FileManager.default
        let saved = fm.currentDirectoryPath
        #expect(fm.changeCurrentDirectoryPath(dir.path))
        defer { _ = fm.changeCurrentDirectoryPath(saved) }

        let c = try loadValid("main.ini")
        #expect(c.string("auth_type") == "trust")
        #expect(c.settings["auth_type"]?.source == .file("extra.ini", line: 1))
    }

    @Test("problems inside an included file name that file and its line")
    func errorsInIncludedFile() throws {
        let dir = try TempDir()
        let main = try dir.write("main.ini", "[pgbouncer]\nauth_type = trust\n%include \(dir.path)/inc.ini\n")
        let inc = try dir.write("inc.ini", "; c\nlisten_port = nope\n")
        let errors = loadErrors(main)
        #expect(errors == [ConfigError(file: inc, line: 2, key: "listen_port", message: "invalid integer \"nope\"")])
        #expect(errors.first?.description == "\(inc):2: listen_port: invalid integer \"nope\"")
    }

    @Test("a missing included file is reported at the %include line")
    func missingInclude() throws {
        let dir = try TempDir()
        let main = try dir.write("main.ini", "[pgbouncer]\nauth_type = trust\n%include \(dir.path)/gone.ini\n%include\n")
        let errors = loadErrors(main)
        #expect(errors == [
            ConfigError(file: main, line: 3, key: nil, message: "cannot read included file \(dir.path)/gone.ini"),
            ConfigError(file: main, line: 4, key: nil, message: "%include needs a file name"),
        ])
    }

    @Test("a file including itself is reported as a loop at its %include line")
    func selfIncludeLoop() throws {
        let dir = try TempDir()
        let main = try dir.write("loop.ini", "[pgbouncer]\nauth_type = trust\n%include \(dir.path)/loop.ini\n")
        let errors = loadErrors(main)
        #expect(errors.count == 1)
        let e = try #require(errors.first)
        #expect(e.file == main)
        #expect(e.line == 3)
        #expect(e.key == nil)
        #expect(e.message.contains("loop"))
    }

    @Test("two files including each other are reported as a loop at an %include line")
    func mutualIncludeLoop() throws {
        let dir = try TempDir()
        let a = try dir.write("a.ini", "[pgbouncer]\nauth_type = trust\n%include \(dir.path)/b.ini\n")
        let b = try dir.write("b.ini", "; b\n%include \(dir.path)/a.ini\n")
        let errors = loadErrors(a)
        #expect(errors.count == 1)
        let e = try #require(errors.first)
        #expect((e.file == a && e.line == 3) || (e.file == b && e.line == 2), "at \(e.file):\(e.line)")
        #expect(e.message.contains("loop"))
    }
}

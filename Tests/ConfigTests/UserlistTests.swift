// Userlist.parse of auth_file text: quoting, doubled quotes, plain/md5/SCRAM secret detection, bad lines with line numbers.
import Foundation
import Testing

@testable import Config

@Suite("Userlist")
struct UserlistTests {
    static let md5Secret = "md5" + String(repeating: "0123456789abcdef", count: 2)
    static let scramSecret = "SCRAM-SHA-256$4096:jLWYZ95lYU7EmsTzbAdn2w==$Dlwz13Diboqp2cBSYRP/w3z96ud2tzn5vENx5ZSw0Vs=:GZjPF9/3xDLYEDiJpShZhD0f0d6aBiJ1pZyhPzcuuuM="

    @Test("users, secrets, comments and quoting")
    func parsesFile() throws {
        let text = """
            ; comment
            # another comment

            "alice" "plain password"
              "bob"   "\(Self.md5Secret)"   trailing text is ignored
            "carol" "\(Self.scramSecret)"
            "dq""user" "pa""ss"
            "empty" ""
            """
        let users = try Userlist.parse(text, file: "userlist.txt")
        #expect(users == [
            "alice": .plain("plain password"),
            "bob": .md5(Self.md5Secret),
            "carol": .scram(Self.scramSecret),
            "dq\"user": .plain("pa\"ss"),
            "empty": .plain(""),
        ])
    }

    @Test("a later line for the same user wins")
    func laterLineWins() throws {
        let users = try Userlist.parse("\"a\" \"one\"\n\"a\" \"two\"\n", file: "u")
        #expect(users == ["a": .plain("two")])
    }

    @Test("CRLF line ends are accepted")
    func crlf() throws {
        let users = try Userlist.parse("\"a\" \"one\"\r\n\"b\" \"two\"\r\n", file: "u")
        #expect(users == ["a": .plain("one"), "b": .plain("two")])
    }

    struct SecretCase: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: StoredSecret
        var testDescription: String { text }
    }

    static let secretCases: [SecretCase] = [
        SecretCase(text: "hunter2", expected: .plain("hunter2")),
        SecretCase(text: md5Secret, expected: .md5(md5Secret)),
        SecretCase(text: scramSecret, expected: .scram(scramSecret)),
        // Not exactly "md5" + 32 lowercase hex digits: a password that happens to start with md5.
        SecretCase(text: "md5" + String(repeating: "0", count: 31), expected: .plain("md5" + String(repeating: "0", count: 31))),
        SecretCase(text: "md5" + String(repeating: "0", count: 33), expected: .plain("md5" + String(repeating: "0", count: 33))),
        SecretCase(text: "md5" + String(repeating: "z", count: 32), expected: .plain("md5" + String(repeating: "z", count: 32))),
        SecretCase(text: "MD5" + String(repeating: "0", count: 32), expected: .plain("MD5" + String(repeating: "0", count: 32))),
        SecretCase(text: "scram-sha-256$x", expected: .plain("scram-sha-256$x")),
    ]

    @Test("secret kinds are told apart as PostgreSQL does", arguments: secretCases)
    func secretDetection(_ c: SecretCase) {
        #expect(StoredSecret(c.text) == c.expected)
    }

    @Test("bad lines are all reported with their line numbers")
    func badLines() {
        let text = """
            "good" "pw"
            "only-user"
            unquoted secret
            "ok2" "pw"
            "unterminated" "secr
            "also "bad
            """
        do throws(ConfigErrors) {
            _ = try Userlist.parse(text, file: "/etc/userlist.txt")
            Issue.record("expected bad lines to be rejected")
        } catch {
            #expect(error.errors.map(\.line) == [2, 3, 5, 6])
            #expect(error.errors.allSatisfy { $0.file == "/etc/userlist.txt" && $0.key == nil })
            #expect(error.errors.first?.description == "/etc/userlist.txt:2: expected \"user\" \"secret\"")
        }
    }

    @Test("an unreadable auth_file is reported against its path")
    func unreadable() throws {
        let dir = try TempDir()
        do throws(ConfigErrors) {
            _ = try Userlist.load(path: dir.path + "/missing.txt")
            Issue.record("expected a missing file to be rejected")
        } catch {
            #expect(error.errors == [ConfigError(file: dir.path + "/missing.txt", line: 0, key: nil, message: "cannot read auth_file")])
        }
        let path = try dir.write("users.txt", "\"x\" \"y\"\n")
        #expect(try Userlist.load(path: path) == ["x": .plain("y")])
    }
}

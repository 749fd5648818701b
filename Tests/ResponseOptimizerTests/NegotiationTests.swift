// The pure parts as tables: Accept-Encoding, fields= parsing, JSON filtering, preconditions, environment settings.
import NIOCore
import ResponseOptimizer
import Testing

@Suite struct AcceptEncodingTests {
    static let offered: [ContentCoding] = [.br, .gzip, .deflate]

    @Test(arguments: [
        (nil, ContentCoding.identity),
        ("", .identity),
        ("gzip", .gzip),
        ("gzip, deflate, br", .br),
        ("gzip;q=1.0, br;q=0.5", .gzip),
        ("deflate;q=0.9, gzip;q=0.8", .deflate),
        ("br;q=0, gzip", .gzip),
        ("*", .br),
        ("*;q=0.5, br;q=0", .gzip),
        ("identity", .identity),
        ("gzip;q=0.5, identity", .identity),
        ("gzip;q=0.5, identity;q=0.5", .gzip),
        ("x-gzip", .gzip),
        ("GZIP ; Q=0.7 , compress", .gzip),
        ("compress, zstd", .identity),
        ("gzip;q=bogus, deflate", .deflate),
    ] as [(String?, ContentCoding)])
    func negotiate(_ header: String?, _ expected: ContentCoding) {
        #expect(AcceptEncoding.negotiate(header, offered: Self.offered) == expected, "\(header ?? "nil")")
    }

    @Test func serverPreferenceBreaksTies() {
        #expect(AcceptEncoding.negotiate("br, gzip", offered: [.gzip, .br]) == .gzip)
        #expect(AcceptEncoding.negotiate("br", offered: [.gzip, .deflate]) == .identity)
    }
}

@Suite struct FieldSelectionTests {
    @Test func parsesNestedSelections() throws {
        let s = try FieldSelection.parse("id,name,owner(name,email),items(*)")
        #expect(s.fields.map(\.name) == ["id", "name", "owner", "items"])
        #expect(s.fields[2].sub?.fields.map(\.name) == ["name", "email"])
        #expect(s.fields[3].sub == FieldSelection(all: true))
        #expect(!s.all)
        #expect(try FieldSelection.parse(" id , a(b(c)) ").fields[1].sub?.fields[0].sub?.fields[0].name == "c")
    }

    @Test(arguments: [
        ("id,,name", 4, "unexpected ','"),
        ("id,name(", 9, "expected a field name"),
        ("owner(name", 11, "expected ')'"),
        ("id)", 3, "unmatched ')'"),
        ("", 1, "expected a field name"),
        ("id name", 4, "expected ','"),
        ("a(b}", 4, "expected ')'"),
        ("na%me", 3, "expected ','"),
    ])
    func reportsWhereItGoesWrong(_ expression: String, _ position: Int, _ fragment: String) {
        do {
            _ = try FieldSelection.parse(expression)
            Issue.record("\(expression) parsed")
        } catch {
            #expect(error.position == position, "\(expression): \(error)")
            #expect(error.message.contains(fragment), "\(expression): \(error.message)")
            #expect(error.description.contains("^"))
        }
    }
}

@Suite struct JSONFieldFilterTests {
    func filter(_ json: String, _ fields: String) throws -> String {
        String(decoding: try JSONFieldFilter.filter(Array(json.utf8), try FieldSelection.parse(fields)), as: UTF8.self)
    }

    @Test func keepsSelectedMembersInTheirOrder() throws {
        let doc = #"{"id": 7, "name": "a", "secret": "x", "owner": {"name": "o", "email": "e", "phone": 1}, "items": [{"k": 1}, {"k": 2}]}"#
        #expect(try filter(doc, "id,name,owner(name,email),items(*)") == #"{"id":7,"name":"a","owner":{"name":"o","email":"e"},"items":[{"k":1},{"k":2}]}"#)
        #expect(try filter(doc, "name,id") == #"{"id":7,"name":"a"}"#)
        #expect(try filter(doc, "owner(email)") == #"{"owner":{"email":"e"}}"#)
        #expect(try filter(doc, "nothing,id") == #"{"id":7}"#)
        // Members kept whole are copied as they were written, spaces included.
        #expect(try filter(doc, "*,owner(name)") == #"{"id":7,"name":"a","secret":"x","owner":{"name":"o"},"items":[{"k": 1}, {"k": 2}]}"#)
    }

    @Test func filtersArraysOfObjectsAndLeavesOtherValues() throws {
        #expect(try filter(#"[{"a":1,"b":2},{"a":3},5,"s",null]"#, "a") == #"[{"a":1},{"a":3},5,"s",null]"#)
        #expect(try filter(#"{"list":[{"x":1,"y":[1,2,{"z":0}]},{"y":{"z":1,"w":2}}]}"#, "list(y(z))") == #"{"list":[{"y":[1,2,{"z":0}]},{"y":{"z":1}}]}"#)
        #expect(try filter(#"{"a":{"b":1}}"#, "a(nope)") == #"{"a":{}}"#)
        #expect(try filter(#"{"e":[],"o":{}}"#, "e(x),o(x)") == #"{"e":[],"o":{}}"#)
        #expect(try filter("42", "a") == "42")
    }

    @Test func comparesDecodedNamesAndCopiesValuesExactly() throws {
        #expect(try filter(#"{"na\u006de":"v \"q\" \u00e9","n":1.50e3,"t":true}"#, "name,n") == #"{"na\u006de":"v \"q\" \u00e9","n":1.50e3}"#)
        #expect(try filter(#"{"s":"}{][,\\","x":1}"#, "x") == #"{"x":1}"#)
        #expect(try filter(#"{"😀":1,"b":2}"#, "b") == #"{"b":2}"#)
    }

    @Test(arguments: [#"{"a":1"#, #"{"a" 1}"#, #"[1,2"#, #"{"a":"x}"#, #"{"a":1} x"#, ""])
    func rejectsMalformedJSON(_ json: String) {
        #expect(throws: MalformedJSON.self) { try JSONFieldFilter.filter(Array(json.utf8), try! FieldSelection.parse("a")) }
    }
}

@Suite struct PreconditionTests {
    static let current = EntityTag(opaque: "abc")

    @Test(arguments: [
        ("GET", nil, #""abc""#, PreconditionOutcome.notModified),
        ("GET", nil, #"W/"abc""#, .notModified),
        ("GET", nil, #""x", "abc""#, .notModified),
        ("GET", nil, #""x","y""#, .proceed),
        ("GET", nil, "*", .notModified),
        ("HEAD", nil, #""abc""#, .notModified),
        ("GET", nil, #""abc-gzip""#, .notModified),
        ("PUT", nil, #""abc""#, .preconditionFailed),
        ("PUT", #""abc""#, nil, .proceed),
        ("PUT", #""old""#, nil, .preconditionFailed),
        ("PUT", #"W/"abc""#, nil, .preconditionFailed),
        ("DELETE", "*", nil, .proceed),
        ("PATCH", #""old", "abc""#, nil, .proceed),
        ("POST", #""abc""#, #""abc""#, .preconditionFailed),
        ("GET", nil, nil, .proceed),
    ] as [(String, String?, String?, PreconditionOutcome)])
    func evaluate(_ method: String, _ ifMatch: String?, _ ifNoneMatch: String?, _ expected: PreconditionOutcome) {
        #expect(Preconditions.evaluate(method: method, ifMatch: ifMatch, ifNoneMatch: ifNoneMatch, current: Self.current) == expected)
    }

    @Test func missingResource() {
        #expect(Preconditions.evaluate(method: "PUT", ifMatch: "*", ifNoneMatch: nil, current: nil) == .preconditionFailed)
        #expect(Preconditions.evaluate(method: "PUT", ifMatch: nil, ifNoneMatch: "*", current: nil) == .proceed)
    }

    @Test func tagsFromBodiesAndVersions() {
        let a = EntityTag(body: ByteBuffer(string: "hello"))
        #expect(a == EntityTag(body: ByteBuffer(string: "hello")))
        #expect(a != EntityTag(body: ByteBuffer(string: "hello!")))
        #expect(a.description.count == 34 && !a.weak)
        #expect(EntityTag(version: "42").description == #""v-42""#)
        #expect(EntityTag(parsing: #"W/"x""#) == EntityTag(opaque: "x", weak: true))
        #expect(EntityTag(parsing: "x") == nil)
        #expect(a.coded(.br).description.hasSuffix(#"-br""#))
    }
}

@Suite struct ConfigurationTests {
    @Test func defaults() throws {
        let c = try ResponseOptimizerConfiguration(environment: [:])
        #expect(c == ResponseOptimizerConfiguration())
        #expect(c.compressionThreshold == 512 && c.streamingThreshold == 10 << 20 && c.compressionEnabled && c.etagEnabled)
    }

    @Test func readsTheEnvironment() throws {
        let c = try ResponseOptimizerConfiguration(environment: [
            "RESPONSE_COMPRESSION_ENABLED": "false", "RESPONSE_COMPRESSION_THRESHOLD": "1k",
            "RESPONSE_STREAMING_THRESHOLD": "2MiB", "RESPONSE_ETAG_ENABLED": "0",
        ])
        #expect(!c.compressionEnabled && c.compressionThreshold == 1024 && c.streamingThreshold == 2 << 20 && !c.etagEnabled)
    }

    @Test(arguments: [("RESPONSE_COMPRESSION_ENABLED", "maybe"), ("RESPONSE_COMPRESSION_THRESHOLD", "-1"),
                      ("RESPONSE_STREAMING_THRESHOLD", "10 parsecs"), ("RESPONSE_ETAG_ENABLED", "")])
    func namesTheBadVariable(_ name: String, _ value: String) {
        do {
            _ = try ResponseOptimizerConfiguration(environment: [name: value])
            Issue.record("accepted \(name)=\(value)")
        } catch {
            #expect(error.variable == name && error.value == value)
            #expect(error.description.hasPrefix("\(name)="))
        }
    }
}

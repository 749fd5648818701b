// PostgreSQL's JDBC driver through the proxy: server-side prepared statements, a transaction, an error.
// usage: JdbcCheck HOST PORT DB USER PASSWORD [transaction]
// "transaction" adds two connections whose named statements (both S_1, S_2, ...) alternate on a small pool.
import java.sql.*;

public class JdbcCheck {
    static void expect(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2] + "?prepareThreshold=1&sslmode=disable";
        basics(url, args[3], args[4]);
        if (args.length > 5 && args[5].equals("transaction")) {
            alternatingConnections(url, args[3], args[4]);
        }
        System.out.println("jdbc ok");
    }

    // Each connection numbers its statements from S_1, so the two use the same names for different queries.
    static void alternatingConnections(String url, String user, String password) throws SQLException {
        try (Connection a = DriverManager.getConnection(url, user, password);
             Connection b = DriverManager.getConnection(url, user, password);
             PreparedStatement pa = a.prepareStatement("SELECT ?::int * 2");
             PreparedStatement pb = b.prepareStatement("SELECT 'b' || ?::text");
             PreparedStatement pa2 = a.prepareStatement("SELECT ?::text || 'a'")) {
            for (int i = 0; i < 20; i++) {
                pa.setInt(1, i);
                try (ResultSet r = pa.executeQuery()) {
                    expect(r.next() && r.getInt(1) == 2 * i, "connection a, statement 1, round " + i);
                }
                pb.setString(1, "x" + i);
                try (ResultSet r = pb.executeQuery()) {
                    expect(r.next() && r.getString(1).equals("bx" + i), "connection b, round " + i);
                }
                pa2.setString(1, "y" + i);
                try (ResultSet r = pa2.executeQuery()) {
                    expect(r.next() && r.getString(1).equals("y" + i + "a"), "connection a, statement 2, round " + i);
                }
            }
        }
    }

    static void basics(String url, String user, String password) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            // prepareThreshold=1: from the first execution the driver uses a named server-side statement.
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
                for (int i = 0; i < 5; i++) {
                    ps.setInt(1, i);
                    try (ResultSet r = ps.executeQuery()) {
                        expect(r.next() && r.getInt(1) == i + 1, "prepared result " + i);
                    }
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TEMP TABLE jd(a int)");
                s.executeUpdate("INSERT INTO jd VALUES (1), (2)");
                try (ResultSet r = s.executeQuery("SELECT count(*) FROM jd")) {
                    expect(r.next() && r.getInt(1) == 2, "rows inside the transaction");
                }
            }
            c.rollback();
            c.setAutoCommit(true);
            String state = null;
            try (Statement s = c.createStatement()) {
                s.executeQuery("SELECT 1/0");
            } catch (SQLException e) {
                state = e.getSQLState();
            }
            expect("22012".equals(state), "sqlstate " + state);
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT 2")) {
                expect(r.next() && r.getInt(1) == 2, "usable after the error");
            }
        }
    }
}
